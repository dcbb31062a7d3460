"""Retargeting to SMPL-X: a synthetic clip made by posing the body model itself must come back exactly.

The source skeleton here IS the SMPL-X body skeleton (offsets = the open model's rest joints at betas 0),
so the correspondence is the identity and every recovered joint must land on its source joint. Nothing
outside tmp_path and the bundled model is read.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mocap.models.body.smplx_model import load_body_model
from mocap.models.mocap.motion import Motion, axis_angle_to_matrix, forward_kinematics
from mocap.models.mocap.retarget import (
    BODY_NAMES,
    BODY_PARENTS,
    NPZ_KEYS,
    NUM_BODY,
    RetargetOptions,
    _rest_joints_fn,
    body_joints_fk,
    facing_rotation,
    floor_height,
    lowest_vertex_heights,
    matrix_to_axis_angle,
    retarget_motion,
    save_npz,
)

TOL_MM = 5.0
IDENTITY = {n: n for n in BODY_NAMES}
I = {n: i for i, n in enumerate(BODY_NAMES)}


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_body_model()


@pytest.fixture(scope="module")
def rest(model):
    j0, _ = _rest_joints_fn(model)
    return j0.numpy()  # (22, 3) betas = 0


def _walk_pose(t: int, fps: float = 30.0) -> np.ndarray:
    """(t, 22, 3) axis-angle of a plausible walk: legs swing and knees bend forward, arms hang and the
    elbows bend, a little spine bend; wrists, feet and head stay at rest (nothing to see them by)."""
    ph = 2 * np.pi * 1.0 * np.arange(t) / fps
    aa = np.zeros((t, NUM_BODY, 3))
    aa[:, 0, 1] = np.radians(60.0)                                   # facing yawed by 60 deg
    aa[:, I["left_hip"], 0] = -0.5 * np.sin(ph)                      # flexion is -x at the hip
    aa[:, I["right_hip"], 0] = 0.5 * np.sin(ph)
    aa[:, I["left_knee"], 0] = 0.6 + 0.5 * np.cos(ph)                # knees bend forward (+x)
    aa[:, I["right_knee"], 0] = 0.6 - 0.5 * np.cos(ph)
    aa[:, I["left_ankle"], 0] = 0.2 * np.sin(ph)
    aa[:, I["right_ankle"], 0] = -0.2 * np.sin(ph)
    aa[:, I["spine1"], 0] = aa[:, I["spine2"], 0] = aa[:, I["spine3"], 0] = 0.08
    aa[:, I["left_shoulder"], 2] = -1.2                               # arms down (about z)
    aa[:, I["right_shoulder"], 2] = 1.2
    aa[:, I["left_elbow"], 1] = -0.7 - 0.2 * np.sin(ph)               # left elbow bends about -y
    aa[:, I["right_elbow"], 1] = 0.7 + 0.2 * np.sin(ph)
    aa[:, I["neck"], 0] = 0.1
    return aa


def _smplx_motion(rest: np.ndarray, aa: np.ndarray, lift_m: float = 0.0) -> Motion:
    """A Motion on the SMPL-X body skeleton (same FK conventions: motion.py and lbs.py)."""
    t = aa.shape[0]
    offsets = np.zeros((NUM_BODY, 3))
    offsets[1:] = rest[1:] - rest[list(BODY_PARENTS[1:])]
    root = rest[0] + np.stack([np.zeros(t), np.full(t, lift_m), np.linspace(0, 1.2, t)], -1)
    return Motion(list(BODY_NAMES), np.array(BODY_PARENTS), offsets, axis_angle_to_matrix(aa), root, fps=30.0)


def _result_joints(res, rest):
    rot = torch.as_tensor(axis_angle_to_matrix(np.concatenate([res.global_orient[:, None], res.body_pose], 1)))
    return body_joints_fk(rot, torch.as_tensor(rest, dtype=torch.float64)).numpy() + res.transl[:, None]


@pytest.fixture(scope="module")
def walk(model, rest):
    aa = _walk_pose(45)
    motion = _smplx_motion(rest, aa)
    return aa, motion, retarget_motion(motion, model, RetargetOptions(), table=IDENTITY)


def test_synthetic_clip_is_recovered(walk, rest):
    _, motion, res = walk
    assert res.fit_error_mm.shape == (45,)
    assert res.fit_error_mm.max() < TOL_MM, res.fit_error_mm.max()
    # also against the unscaled source: the bone lengths are the model's own, betas come back ~0
    assert res.raw_error_mm < TOL_MM
    assert np.abs(res.betas).max() < 0.2
    # recovered joints equal the source FK up to the documented normalisation (a yaw and a shift)
    got = _result_joints(res, rest)
    src = forward_kinematics(motion)
    src_c = src - src.mean((0, 1))
    got_c = got - got.mean((0, 1))
    r = facing_rotation(src[0])
    assert np.abs(got_c - src_c @ r.T).max() * 1000 < 2 * TOL_MM


def test_no_flipped_limbs(walk):
    aa, _, res = walk
    rec = axis_angle_to_matrix(res.body_pose.astype(np.float64))
    true = axis_angle_to_matrix(aa[:, 1:])
    for name in ("left_hip", "right_hip", "left_knee", "right_knee", "left_shoulder", "right_shoulder",
                 "left_elbow", "right_elbow"):
        k = I[name] - 1
        d = rec[:, k].transpose(0, 2, 1) @ true[:, k]
        angle = np.degrees(np.arccos(np.clip((np.trace(d, axis1=1, axis2=2) - 1) / 2, -1, 1)))
        assert angle.max() < 15.0, (name, angle.max())
    assert (res.body_pose[:, I["left_knee"] - 1, 0] > 0).all() and (res.body_pose[:, I["right_knee"] - 1, 0] > 0).all()
    assert (res.body_pose[:, I["left_elbow"] - 1, 1] < 0).all() and (res.body_pose[:, I["right_elbow"] - 1, 1] > 0).all()


def test_floor_and_facing_normalisation(walk, model, rest):
    aa, _, res = walk
    lifted = retarget_motion(_smplx_motion(rest, aa, lift_m=0.5), model, RetargetOptions(), table=IDENTITY)
    np.testing.assert_allclose(lifted.transl, res.transl, atol=1e-3)      # floor is re-estimated: y = 0
    turned = aa.copy()
    turned[:, 0, 1] = np.radians(-100.0)
    t2 = retarget_motion(_smplx_motion(rest, turned), model, RetargetOptions(), table=IDENTITY)
    # every clip starts facing +z: frame 0's global orientation no longer depends on the source's yaw
    np.testing.assert_allclose(axis_angle_to_matrix(t2.global_orient[0].astype(np.float64)),
                               axis_angle_to_matrix(res.global_orient[0].astype(np.float64)), atol=5e-2)
    np.testing.assert_allclose(res.transl[0, [0, 2]], 0.0, atol=2e-3)      # frame-0 pelvis above the origin
    got = _result_joints(res, rest)
    fwd = np.cross(got[0, I["left_hip"]] - got[0, I["right_hip"]], [0, 1, 0])
    assert fwd[2] > 0.99 * np.linalg.norm(fwd)


def test_facing_rotation_known_answer(rest):
    sym = rest.copy()  # exactly left/right symmetric hips and shoulders, facing +z
    for left, right in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        sym[I[right]] = sym[I[left]] * [-1, 1, 1]
    for yaw in (0.0, 30.0, 135.0, -90.0, 180.0):
        c, s = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
        ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])                 # turns +z toward +x by yaw
        np.testing.assert_allclose(facing_rotation(sym @ ry.T), ry.T, atol=1e-9)


def test_floor_height_known_answer():
    low = np.full(100, 0.30)
    low[:20] += np.linspace(0.1, 0.5, 20)     # airborne for a fifth of the clip: the floor stays at 0.30
    low[50] = -0.5                            # one glitch frame is ignored
    assert floor_height(low, 5.0) == pytest.approx(0.30, abs=1e-9)


def test_result_mesh_stands_on_the_floor(walk, model):
    _, _, res = walk
    low = lowest_vertex_heights(model, res.global_orient, res.body_pose, res.betas, res.transl)
    assert np.percentile(low, 5) == pytest.approx(0.0, abs=1e-4)
    assert low.min() > -0.01                  # nothing sinks into the floor


def test_npz_has_exactly_the_keys(walk, tmp_path):
    _, _, res = walk
    p = save_npz(tmp_path / "a dir" / "clip.npz", res, "arch/clip.bvh", "arch", "train")
    z = np.load(p)
    assert set(z.files) == set(NPZ_KEYS)
    t = res.fit_error_mm.shape[0]
    assert z["global_orient"].shape == (t, 3) and z["global_orient"].dtype == np.float32
    assert z["body_pose"].shape == (t, 21, 3) and z["body_pose"].dtype == np.float32
    assert z["transl"].shape == (t, 3) and z["betas"].shape == (10,)
    assert float(z["fps"]) == 30.0 and str(z["source"]) == "arch/clip.bvh" and str(z["split"]) == "train"
    assert z["fit_error_mm"].dtype == np.float32


def test_matrix_to_axis_angle_round_trip():
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(100, 3))
    aa *= (rng.uniform(0, np.pi - 1e-3, 100) / np.linalg.norm(aa, axis=1))[:, None]
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(aa)), aa, atol=1e-9)
