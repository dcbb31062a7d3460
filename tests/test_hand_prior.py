"""Specification of the anatomical hand prior (models/body/hand_prior.py), on the open model's forward pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.models.body import hand_prior as hp
from mocap.models.body.smplx_layout import JOINT_INDEX
from mocap.models.keypoints import LEFT_HAND, RIGHT_HAND, Hand21
from mocap.models.mocap.motion import axis_angle_to_matrix

MIRROR_TOL_M = 0.004          # the baked model's two hands agree to ~0.3 mm at rest
MAX_STEP_DEG_30FPS = 20.0     # 600 deg/s: faster than the prior's fastest min-jerk move
_TIPS = [Hand21.IndexTip, Hand21.MiddleTip, Hand21.RingTip, Hand21.PinkyTip]


@pytest.fixture(scope="module")
def model():
    from mocap.models.body.smplx_model import load_body_model
    return load_body_model()


@pytest.fixture(scope="module")
def prior(model):
    return hp.HandPrior(model, seed=0)


def _forward(model, pose: np.ndarray, side: str):
    """(B, 15, 3) pose of one hand -> (joints (B, 55, 3), hand keypoints (B, 21, 3)) numpy."""
    with torch.no_grad():
        out = model(**{f"{side}_hand_pose": torch.as_tensor(pose, dtype=torch.float32)})
    return out.joints.numpy(), out.k67[:, LEFT_HAND if side == "left" else RIGHT_HAND].numpy()


def _palm(joints: np.ndarray, side: str) -> np.ndarray:
    """(B, 3) palm centre: mean of the wrist and the four MCPs."""
    idx = [JOINT_INDEX[f"{side}_wrist"]] + [JOINT_INDEX[f"{side}_{f}1"] for f in hp.LONG_FINGERS]
    return joints[:, idx].mean(1)


# -- pure helpers: known answers --------------------------------------------------------------

def _toy_hand(side: str):
    """A hand lying palm down (-y) with fingers along +x (left) / -x (right), thumb toward +z."""
    sx = 1.0 if side == "left" else -1.0
    J = np.zeros((55, 3))
    J[JOINT_INDEX[f"{side}_wrist"]] = [0, 0, 0]
    z = {"index": 0.02, "middle": 0.0, "ring": -0.02, "pinky": -0.04, "thumb": 0.04}
    tips = np.zeros((5, 3))
    for fi, f in enumerate(hp.FINGERS):
        for k in range(3):
            J[JOINT_INDEX[f"{side}_{f}{k + 1}"]] = [sx * (0.08 + 0.03 * k), 0.0, z[f]]
        tips[fi] = [sx * 0.17, 0.0, z[f]]
    return J, tips


@pytest.mark.parametrize("side", hp.SIDES)
def test_toy_hand_axes_known_answer(side):
    ax = hp.hand_axes(*_toy_hand(side), side)
    np.testing.assert_allclose(ax.palmar, [0, -1, 0], atol=1e-12)
    # d x n: left (+x) x (-y) = -z; right (-x) x (-y) = +z.
    want = [0, 0, -1] if side == "left" else [0, 0, 1]
    np.testing.assert_allclose(ax.flex[:4], np.broadcast_to(want, (4, 3, 3)), atol=1e-12)
    # Rotating the index bone +30 deg about its flexion axis tips it down (toward the palm, -y).
    d = np.array([1.0 if side == "left" else -1.0, 0, 0])
    d_flexed = axis_angle_to_matrix(np.radians(30) * ax.flex[0, 0]) @ d
    assert d_flexed[1] == pytest.approx(-0.5)
    # Abduction of the index moves it toward the thumb (+z); of the pinky away from it (-z).
    assert (axis_angle_to_matrix(0.3 * ax.abd[0]) @ d)[2] > 0
    assert (axis_angle_to_matrix(0.3 * ax.abd[2]) @ d)[2] < 0


def test_mirror_axes_of_toy_hands():
    left, right = hp.hand_axes(*_toy_hand("left"), "left"), hp.hand_axes(*_toy_hand("right"), "right")
    m = hp.mirror_axes(left)
    for name in ("flex", "abd", "thumb_cmc_abd", "thumb_cmc_rot", "palmar"):
        np.testing.assert_allclose(getattr(m, name), getattr(right, name), atol=1e-12, err_msg=name)


def test_matrix_to_axis_angle_round_trip():
    rng = np.random.default_rng(1)
    aa = rng.normal(size=(200, 3))
    aa *= (rng.uniform(0, np.pi - 1e-3, 200) / np.linalg.norm(aa, axis=1))[:, None]
    aa[0] = 0.0
    np.testing.assert_allclose(hp.matrix_to_axis_angle(axis_angle_to_matrix(aa)), aa, atol=1e-9)


def test_min_jerk_known_values():
    np.testing.assert_allclose(hp.min_jerk(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])), [0, 0, 0.5, 1, 1])


def test_couple_and_clip_limits():
    a = np.full(hp.NUM_ANGLES, 500.0)
    c = hp.couple_and_clip(a)
    np.testing.assert_array_less(c, hp.ANGLE_HIGH_DEG + 1e-9)
    i = hp.ANGLE_INDEX["index_mcp_abd"]      # MCP flexed 90 -> 40 % of the 20 deg lateral range
    assert c[i] == pytest.approx(20.0 * (1 - hp.ABDUCTION_FLEX_SHRINK))


def test_misuse_rejected(prior):
    with pytest.raises(ValueError, match="side"):
        prior.sample(2, "middle")
    with pytest.raises(ValueError, match="fps"):
        prior.sample_sequence(10, 0.0, "left")
    with pytest.raises(ValueError, match="single_prob"):
        hp.HandPriorOptions(single_prob=1.5)
    with pytest.raises(ValueError, match="angles"):
        hp.angles_to_pose(np.zeros(20), prior.axes["left"])


# -- on the model -----------------------------------------------------------------------------

@pytest.mark.parametrize("side", hp.SIDES)
def test_fist_curls_toward_the_palm(model, prior, side):
    flat = np.zeros((1, 15, 3), np.float32)
    fist = prior.synergy_pose(hp.Synergy.FIST, side)[None]
    J0, K0 = _forward(model, flat, side)
    J1, K1 = _forward(model, fist, side)
    palm = _palm(J0, side)[0]
    np.testing.assert_allclose(_palm(J1, side)[0], palm, atol=1e-6)   # fingers move, the palm does not
    d_flat = np.linalg.norm(K0[0, _TIPS] - palm, axis=-1)
    d_fist = np.linalg.norm(K1[0, _TIPS] - palm, axis=-1)
    assert np.all(d_fist < 0.6 * d_flat), (d_flat, d_fist)
    # ... and on the palmar side (a backward bend would also bring tips closer, but dorsally).
    # The curled fingers' DIP joints sit well out on the palmar side, the tips just palmar of the palm centre.
    n = prior.axes[side].palmar
    dip = J1[0, [JOINT_INDEX[f"{side}_{f}3"] for f in ("index", "middle", "ring", "pinky")]]
    assert np.all((dip - palm) @ n > 0.02), (dip - palm) @ n
    assert np.all((K1[0, _TIPS] - palm) @ n > 0.0), (K1[0, _TIPS] - palm) @ n


@pytest.mark.parametrize("side", hp.SIDES)
def test_pinch_brings_thumb_and_index_tips_together(model, prior, side):
    _, K = _forward(model, prior.synergy_pose(hp.Synergy.PINCH, side)[None], side)
    assert np.linalg.norm(K[0, Hand21.ThumbTip] - K[0, Hand21.IndexTip]) < 0.015


def test_left_and_right_are_mirror_images(model, prior):
    for syn in hp.Synergy:
        JL, KL = _forward(model, prior.synergy_pose(syn, "left")[None], "left")
        JR, KR = _forward(model, prior.synergy_pose(syn, "right")[None], "right")
        flip = np.array([-1.0, 1.0, 1.0])
        err_j = np.abs(JR[0, 40:55] * flip - JL[0, 25:40]).max()
        err_k = np.abs(KR[0] * flip - KL[0]).max()
        assert max(err_j, err_k) < MIRROR_TOL_M, (syn.name, err_j, err_k)
    # The axes derived separately per side are mirror images of each other.
    m = hp.mirror_axes(prior.axes["left"])
    np.testing.assert_allclose(m.flex, prior.axes["right"].flex, atol=0.02)


def test_samples_respect_ranges(prior):
    a = prior.sample_angles(4000)
    assert a.shape == (4000, hp.NUM_ANGLES)
    np.testing.assert_array_less(hp.ANGLE_LOW_DEG - 1e-9, a.min(0))
    np.testing.assert_array_less(a.max(0), hp.ANGLE_HIGH_DEG + 1e-9)
    for f in hp.LONG_FINGERS:          # DIP follows 2/3 of PIP
        pip, dip = a[:, hp.ANGLE_INDEX[f"{f}_pip_flex"]], a[:, hp.ANGLE_INDEX[f"{f}_dip_flex"]]
        slope = np.polyfit(pip, dip, 1)[0]
        assert 0.55 < slope < 0.75, (f, slope)
    # The pose itself: every finger joint angle stays within its largest range (110 deg PIP).
    pose = prior.sample(500, "right")
    assert pose.shape == (500, 15, 3) and pose.dtype == np.float32
    assert np.degrees(np.linalg.norm(pose, axis=-1)).max() <= 112.0
    # Coverage: both nearly flat and strongly curled index fingers occur.
    idx = a[:, hp.ANGLE_INDEX["index_pip_flex"]]
    assert idx.min() < 5 and idx.max() > 95


def test_sequences_are_smooth_at_30fps(model):
    pr = hp.HandPrior(model, seed=3)
    seq = pr.sample_sequence(300, 30.0, "left")          # 10 s
    assert seq.shape == (300, 15, 3) and seq.dtype == np.float32
    R = axis_angle_to_matrix(seq.astype(np.float64))
    rel = np.einsum("tjik,tjil->tjkl", R[:-1], R[1:])    # R_t^T R_{t+1}
    step = np.degrees(np.arccos(np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1, 1)))
    assert step.max() < MAX_STEP_DEG_30FPS, step.max()
    assert step.max() > 2.0                               # it does move
    # Independent static samples, by contrast, jump (so the check can fail).
    jumpy = pr.sample(300, "left").astype(np.float64)
    Rj = axis_angle_to_matrix(jumpy)
    rel = np.einsum("tjik,tjil->tjkl", Rj[:-1], Rj[1:])
    assert np.degrees(np.arccos(np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1, 1))).max() > 40


def test_deterministic_with_seed(model):
    a, b, c = (hp.HandPrior(model, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.sample(20, "left"), b.sample(20, "left"))
    np.testing.assert_array_equal(a.sample_sequence(50, 30.0, "right"), b.sample_sequence(50, 30.0, "right"))
    assert not np.array_equal(hp.HandPrior(model, seed=7).sample(20, "left"), c.sample(20, "left"))


def test_synergies_are_distinct(model, prior):
    side = "right"
    poses = {s: prior.synergy_pose(s, side) for s in hp.Synergy}
    tips = {}
    for s, p in poses.items():
        J, K = _forward(model, p[None], side)
        tips[s] = np.linalg.norm(K[0, _TIPS] - _palm(J, side)[0], axis=-1)   # index, middle, ring, pinky
    # Point: the index is extended (as in the open hand), the others curled (as in the fist).
    assert tips[hp.Synergy.POINT][0] > 0.9 * tips[hp.Synergy.OPEN][0]
    assert np.all(tips[hp.Synergy.POINT][1:] < 1.1 * tips[hp.Synergy.FIST][1:])
    # The curl ranks open > relaxed > grasp > fist (mean tip-to-palm distance).
    order = [tips[s].mean() for s in (hp.Synergy.OPEN, hp.Synergy.RELAXED, hp.Synergy.GRASP, hp.Synergy.FIST)]
    assert order == sorted(order, reverse=True), order
    # Every pair of synergies differs by at least 15 deg at some joint.
    names = list(poses)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            Ri, Rj = axis_angle_to_matrix(poses[names[i]].astype(float)), axis_angle_to_matrix(poses[names[j]].astype(float))
            tr = np.trace(np.einsum("jik,jil->jkl", Ri, Rj), axis1=-2, axis2=-1)
            assert np.degrees(np.arccos(np.clip((tr - 1) / 2, -1, 1))).max() > 15, (names[i], names[j])
