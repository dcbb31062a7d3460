"""Anatomical hand-pose prior: samples SMPL-X 15-joint finger poses (static and smooth in time).

No permissively licensed finger mocap exists (DESIGN 6), so the proxy data's hands come from this
prior: per-joint anatomical angles (MCP/PIP/DIP flexion with DIP coupled to PIP, limited MCP
abduction, thumb CMC/MCP/IP with opposition) drawn around postural synergies (fist, point, open,
pinch, relaxed, grasp and random blends of them), turned into axis-angle poses about joint axes
derived from the model's own rest skeleton.

Frames and conventions: the model's rest frame (metres, Y up, face toward +Z, the subject's left
at +X); each hand joint's rotation is relative to its parent in rest-aligned axes, as in
`lbs.py`. Poses use the flat-mean convention: a zero pose is the model's flat rest hand. Output
joint order is SMPL-X's (per hand: index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3; joints
25-39 left, 40-54 right). Angles are in degrees inside this module, radians in the output.

Run `python -m mocap.models.body.hand_prior --grid OUT.png` for a picture of sampled hands.
"""
from __future__ import annotations

import argparse
import enum
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.models.body.smplx_layout import JOINT_INDEX
from mocap.models.keypoints import LEFT_HAND, RIGHT_HAND, Hand21
from mocap.models.mocap.motion import axis_angle_to_matrix, matrix_to_quat

log = logging.getLogger(__name__)

SIDES = ("left", "right")
FINGERS = ("index", "middle", "pinky", "ring", "thumb")   # SMPL-X order: ring after pinky
LONG_FINGERS = FINGERS[:4]
_TIP_KEYPOINT = {"index": Hand21.IndexTip, "middle": Hand21.MiddleTip, "pinky": Hand21.PinkyTip,
                 "ring": Hand21.RingTip, "thumb": Hand21.ThumbTip}

# ---------------------------------------------------------------------------------------------
# The anatomical numbers, all in one table (degrees; (low, high); flexion and abduction positive
# as defined in `hand_axes`). Sources, as commonly quoted and rounded here:
#  [AAOS]  American Academy of Orthopaedic Surgeons, "Joint Motion: Method of Measuring and
#          Recording" (1965): finger MCP flexion 0-90, PIP 0-100, DIP 0-90; thumb MCP flexion 0-50,
#          IP 0-80, CMC palmar abduction 0-70, CMC flexion 15 / extension 20.
#  [LWH]   Lin, Wu & Huang, "Modeling the constraints of human hand motion", IEEE Workshop on
#          Human Motion 2000: static limits MCP 0-90, PIP 0-110, DIP 0-90, MCP abduction -15..15;
#          intra-finger coupling theta_DIP = 2/3 theta_PIP (after Rijpkema & Girard, SIGGRAPH 1991).
#  [HUME]  Hume et al., "Functional range of motion of the joints of the hand", J Hand Surg 15A
#          (1990): active thumb MCP flexion about 56, IP about 73.
#  [KAP]   Kapandji, "The Physiology of the Joints", vol. 1 (upper limb): MCP lateral motion about
#          +-20 for index and little finger, least for the middle finger; opposition = palmar
#          abduction + flexion + axial pronation of the first metacarpal.
#  [SFS]   Santello, Flanders & Soechting, "Postural hand synergies for tool use", J Neurosci 18
#          (1998): a few synergies explain most grasp postures (the basis of our targets).
# MCP hyperextension is allowed a little (-10; AAOS lists up to 45 passive) so open hands vary.
# The thumb CMC axial rotation (pronation) range is our estimate; see docs/hand_prior.md.
RANGES_DEG: dict[str, tuple[float, float]] = {
    "mcp_flex": (-10.0, 90.0),      # [AAOS] [LWH]
    "pip_flex": (0.0, 110.0),       # [LWH] (AAOS 100)
    "dip_flex": (0.0, 80.0),        # [AAOS] [LWH] 90, cut to 80 with the 2/3 coupling (2/3 * 110 = 73)
    "index_mcp_abd": (-20.0, 20.0),   # [KAP]
    "middle_mcp_abd": (-10.0, 10.0),  # [KAP] least lateral motion
    "ring_mcp_abd": (-15.0, 15.0),    # [LWH]
    "pinky_mcp_abd": (-20.0, 20.0),   # [KAP]
    "thumb_cmc_flex": (-20.0, 15.0),  # [AAOS] extension 20, flexion 15 (in the palm plane)
    "thumb_cmc_abd": (0.0, 70.0),     # [AAOS] palmar abduction
    "thumb_cmc_rot": (0.0, 40.0),     # [KAP] pronation of the first metacarpal (our estimate)
    "thumb_mcp_flex": (0.0, 55.0),    # [AAOS] 50, [HUME] 56
    "thumb_ip_flex": (-10.0, 80.0),   # [AAOS] 80 (+ slight hyperextension)
}
DIP_PIP_COUPLING = 2.0 / 3.0          # [LWH] theta_DIP = 2/3 theta_PIP
ABDUCTION_FLEX_SHRINK = 0.6           # [LWH]-style: at 90 deg MCP flexion only 40 % of the lateral range is left

# The anatomical angle vector: 4 per long finger (MCP flexion, MCP abduction, PIP, DIP), 5 thumb.
ANGLE_NAMES: tuple[str, ...] = tuple(
    f"{f}_{j}" for f in LONG_FINGERS for j in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex")
) + ("thumb_cmc_flex", "thumb_cmc_abd", "thumb_cmc_rot", "thumb_mcp_flex", "thumb_ip_flex")
NUM_ANGLES = len(ANGLE_NAMES)        # 21
ANGLE_INDEX = {n: i for i, n in enumerate(ANGLE_NAMES)}


def _range_of(name: str) -> tuple[float, float]:
    if name in RANGES_DEG:
        return RANGES_DEG[name]
    return RANGES_DEG[name.split("_", 1)[1]]          # "index_pip_flex" -> "pip_flex"


ANGLE_LOW_DEG = np.array([_range_of(n)[0] for n in ANGLE_NAMES])    # (21,)
ANGLE_HIGH_DEG = np.array([_range_of(n)[1] for n in ANGLE_NAMES])   # (21,)


class Synergy(enum.IntEnum):
    """Postural synergies the sampler moves between (after [SFS]; targets in `SYNERGY_TARGETS_DEG`)."""
    OPEN = 0
    RELAXED = 1
    FIST = 2
    POINT = 3
    PINCH = 4
    GRASP = 5


def _target(fingers: dict[str, tuple[float, float, float]], thumb: tuple[float, ...]) -> np.ndarray:
    """Targets as (MCP flexion, MCP abduction, PIP) per long finger (DIP coupled) + 5 thumb angles."""
    out = np.zeros(NUM_ANGLES)
    for f, (mcp, abd, pip) in fingers.items():
        out[ANGLE_INDEX[f"{f}_mcp_flex"]] = mcp
        out[ANGLE_INDEX[f"{f}_mcp_abd"]] = abd
        out[ANGLE_INDEX[f"{f}_pip_flex"]] = pip
        out[ANGLE_INDEX[f"{f}_dip_flex"]] = DIP_PIP_COUPLING * pip
    out[NUM_ANGLES - 5:] = thumb
    return out


_FIST_FINGERS = {"index": (80.0, 0.0, 100.0), "middle": (85.0, 0.0, 100.0),
                 "ring": (88.0, 0.0, 100.0), "pinky": (90.0, 0.0, 100.0)}
# Thumb: (CMC flexion, CMC palmar abduction, CMC pronation, MCP flexion, IP flexion).
_THUMB_OVER_FIST = (-10.0, 5.0, 5.0, 30.0, 70.0)
SYNERGY_TARGETS_DEG: dict[Synergy, np.ndarray] = {
    Synergy.OPEN: _target({"index": (0.0, 12.0, 0.0), "middle": (0.0, 0.0, 0.0),
                           "ring": (0.0, 10.0, 0.0), "pinky": (0.0, 15.0, 0.0)},
                          (-15.0, 10.0, 0.0, 0.0, 0.0)),
    # The resting cascade: flexion grows from index to little finger.
    Synergy.RELAXED: _target({"index": (20.0, 3.0, 30.0), "middle": (25.0, 0.0, 38.0),
                              "ring": (30.0, 3.0, 42.0), "pinky": (35.0, 5.0, 45.0)},
                             (0.0, 15.0, 5.0, 10.0, 15.0)),
    Synergy.FIST: _target(_FIST_FINGERS, _THUMB_OVER_FIST),
    Synergy.POINT: _target({**_FIST_FINGERS, "index": (0.0, 0.0, 0.0)}, _THUMB_OVER_FIST),
    # Tip-to-tip precision pinch of thumb and index; the other fingers loosely flexed.
    Synergy.PINCH: _target({"index": (45.0, 0.0, 50.0), "middle": (30.0, 0.0, 40.0),
                            "ring": (35.0, 0.0, 45.0), "pinky": (40.0, 5.0, 50.0)},
                           (0.0, 22.0, 12.0, 8.0, 12.0)),
    # Cylindrical power grasp (a bottle): all fingers wrapped halfway, thumb opposed.
    Synergy.GRASP: _target({"index": (45.0, 0.0, 60.0), "middle": (50.0, 0.0, 60.0),
                            "ring": (55.0, 0.0, 60.0), "pinky": (60.0, 0.0, 60.0)},
                           (0.0, 35.0, 20.0, 20.0, 45.0)),
}


# ---------------------------------------------------------------------------------------------
# Pure helpers

def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError("hand_axes: degenerate geometry (a zero-length bone or a flat palm)")
    return v / n


def _perp(v: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Unit part of v orthogonal to the unit vector `to`."""
    return _unit(v - np.dot(v, to) * to)


@dataclass(frozen=True)
class HandAxes:
    """Joint axes of one hand in the model's rest frame (unit vectors, (·, 3) float64).

    A positive rotation about an axis moves the distal bone in the anatomical direction:
    flexion toward the palm, abduction away from the middle finger (the middle finger's toward
    the index), thumb CMC flexion across the palm toward the little finger, palmar abduction
    away from the palm plane toward the palmar side, pronation turning the thumb pad toward
    the palm.

    Attributes:
        flex: (5, 3, 3) flexion axis of each joint, fingers in FINGERS order, joints 1-3
            (for the thumb joint 1 row holds the CMC flexion axis in the palm plane).
        abd: (4, 3) MCP abduction axes of the long fingers (LONG_FINGERS order).
        thumb_cmc_abd: (3,) CMC palmar abduction axis.
        thumb_cmc_rot: (3,) CMC axial rotation (pronation) axis, along the first metacarpal.
        palmar: (3,) unit normal of the palm, pointing out of the palm (the side fingers curl to).
    """
    flex: np.ndarray
    abd: np.ndarray
    thumb_cmc_abd: np.ndarray
    thumb_cmc_rot: np.ndarray
    palmar: np.ndarray


def palmar_normal(wrist: np.ndarray, index1: np.ndarray, pinky1: np.ndarray, side: str) -> np.ndarray:
    """(3,) unit normal pointing out of the palm, from the wrist and the index and little MCPs.

    (index1 - wrist) x (pinky1 - wrist) points to the back of a right hand and to the palm of a
    left hand, since the two hands are mirror images (a reflection flips a cross product).
    """
    _check_side(side)
    c = _unit(np.cross(index1 - wrist, pinky1 - wrist))
    return c if side == "right" else -c


def hand_axes(joints_rest: np.ndarray, tips_rest: np.ndarray, side: str,
              thumb_palmar_mix: float = 0.0) -> HandAxes:
    """Derive the joint axes of one hand from its rest skeleton (model rest frame, metres).

    A joint with bone direction d (joint -> child joint, the last one -> fingertip) flexes about
    a = d x n (n the palmar normal): rotating d by a small +t about a gives d + t (a x d) =
    d + t n, toward the palm. Abduction turns d about b = d x l toward the lateral direction l.
    The thumb's MCP and IP flex toward a mix of the ulnar direction and the palmar normal
    (`thumb_palmar_mix` = weight of the palmar normal). The default 0 (pure ulnar) was chosen by
    fitting the fist and pinch targets on the open model, whose rest thumb already points
    slightly palmar; 0.25 and 0.5 left the fist's thumb tip 3-4 cm off the index phalanges.

    Args:
        joints_rest: (55, 3) SMPL-X joints of the rest pose.
        tips_rest: (5, 3) fingertip points in FINGERS order.
        side: "left" or "right".
    Returns:
        HandAxes of that hand.
    Raises:
        ValueError: bad side or degenerate geometry.
    """
    _check_side(side)
    joints_rest = np.asarray(joints_rest, np.float64)
    tips_rest = np.asarray(tips_rest, np.float64)
    wrist = joints_rest[JOINT_INDEX[f"{side}_wrist"]]

    def chain(f: str) -> np.ndarray:          # (4, 3): joints 1-3 and the tip
        idx = [JOINT_INDEX[f"{side}_{f}{k}"] for k in (1, 2, 3)]
        return np.concatenate([joints_rest[idx], tips_rest[FINGERS.index(f)][None]])

    chains = {f: chain(f) for f in FINGERS}
    n = palmar_normal(wrist, chains["index"][0], chains["pinky"][0], side)
    ulnar = _perp(chains["pinky"][0] - chains["index"][0], n)        # index -> little finger, in the palm plane
    flex = np.zeros((5, 3, 3))
    abd = np.zeros((4, 3))
    for fi, f in enumerate(FINGERS):
        d = _unit(np.diff(chains[f], axis=0))                     # (3, 3) bone directions
        if f != "thumb":
            for k in range(3):
                flex[fi, k] = _unit(np.cross(d[k], _perp(n, d[k])))
            lateral = chains[f][0] - chains["middle"][0] if f != "middle" else chains["index"][0] - chains["middle"][0]
            abd[fi] = _unit(np.cross(d[0], _perp(_perp(lateral, n), d[0])))
        else:
            flex[fi, 0] = _unit(np.cross(d[0], _perp(ulnar, d[0])))              # CMC flexion (across the palm)
            toward = (1.0 - thumb_palmar_mix) * ulnar + thumb_palmar_mix * n
            for k in (1, 2):
                flex[fi, k] = _unit(np.cross(d[k], _perp(toward, d[k])))
            cmc_abd = _unit(np.cross(d[0], _perp(n, d[0])))
            # Pronation turns the pad (facing `ulnar` at rest) toward the palmar side: axis = ulnar x n.
            rot = d[0] if np.dot(d[0], np.cross(ulnar, n)) > 0 else -d[0]
    return HandAxes(flex=flex, abd=abd, thumb_cmc_abd=cmc_abd, thumb_cmc_rot=rot, palmar=n)


def mirror_axes(axes: HandAxes) -> HandAxes:
    """The other hand's axes by reflection across x = 0 (rotation vectors map as (x, -y, -z))."""
    pv = np.array([1.0, -1.0, -1.0])     # axial vectors: det(M) M v with M = diag(-1, 1, 1)
    return HandAxes(flex=axes.flex * pv, abd=axes.abd * pv, thumb_cmc_abd=axes.thumb_cmc_abd * pv,
                    thumb_cmc_rot=axes.thumb_cmc_rot * pv, palmar=axes.palmar * np.array([-1.0, 1.0, 1.0]))


def matrix_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 3) axis * angle (radians, angle in [0, pi])."""
    q = matrix_to_quat(R)                                  # (..., 4) w >= 0
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    scale = np.where(s > 1e-12, angle / np.where(s > 1e-12, s, 1.0), 2.0)   # small angle: 2 * v
    return q[..., 1:] * scale


def couple_and_clip(angles_deg: np.ndarray) -> np.ndarray:
    """Clip (..., 21) angles to RANGES_DEG and shrink MCP abduction with MCP flexion.

    The lateral range at an MCP shrinks linearly to (1 - ABDUCTION_FLEX_SHRINK) of itself at 90
    deg flexion (collateral ligaments tighten in flexion, [LWH], [KAP]).
    """
    a = np.clip(np.asarray(angles_deg, np.float64), ANGLE_LOW_DEG, ANGLE_HIGH_DEG)
    for f in LONG_FINGERS:
        i_abd, i_flex = ANGLE_INDEX[f"{f}_mcp_abd"], ANGLE_INDEX[f"{f}_mcp_flex"]
        shrink = 1.0 - ABDUCTION_FLEX_SHRINK * np.clip(a[..., i_flex], 0.0, 90.0) / 90.0
        a[..., i_abd] = np.clip(a[..., i_abd], ANGLE_LOW_DEG[i_abd] * shrink, ANGLE_HIGH_DEG[i_abd] * shrink)
    return a


def angles_to_pose(angles_deg: np.ndarray, axes: HandAxes) -> np.ndarray:
    """Anatomical angles -> SMPL-X hand pose.

    Per long finger: MCP R = R_abd R_flex (abduction about the metacarpal-fixed axis after
    flexion), PIP and DIP pure flexion. Thumb CMC R = R_abd R_flex R_rot (pronation about the
    bone, then flexion in the palm plane, then palmar abduction), MCP and IP pure flexion; the
    children's axes turn with their parents, as local rotations do in forward kinematics.

    Args:
        angles_deg: (..., 21) angles in ANGLE_NAMES order, degrees.
        axes: that hand's HandAxes.
    Returns:
        (..., 15, 3) axis-angle (radians) in SMPL-X hand joint order, float64.
    """
    a = np.radians(np.asarray(angles_deg, np.float64))
    if a.shape[-1] != NUM_ANGLES:
        raise ValueError(f"angles_to_pose: expected (..., {NUM_ANGLES}) angles, got {a.shape}")

    def rot(axis: np.ndarray, ang: np.ndarray) -> np.ndarray:
        return axis_angle_to_matrix(ang[..., None] * axis)

    out = np.zeros(a.shape[:-1] + (15, 3))
    for fi, f in enumerate(LONG_FINGERS):
        mcp, ab, pip, dip = (a[..., ANGLE_INDEX[f"{f}_{j}"]] for j in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"))
        out[..., 3 * fi, :] = matrix_to_axis_angle(rot(axes.abd[fi], ab) @ rot(axes.flex[fi, 0], mcp))
        out[..., 3 * fi + 1, :] = pip[..., None] * axes.flex[fi, 1]
        out[..., 3 * fi + 2, :] = dip[..., None] * axes.flex[fi, 2]
    cflex, cabd, crot, tmcp, tip = np.moveaxis(a[..., NUM_ANGLES - 5:], -1, 0)
    out[..., 12, :] = matrix_to_axis_angle(rot(axes.thumb_cmc_abd, cabd) @ rot(axes.flex[4, 0], cflex)
                                        @ rot(axes.thumb_cmc_rot, crot))
    out[..., 13, :] = tmcp[..., None] * axes.flex[4, 1]
    out[..., 14, :] = tip[..., None] * axes.flex[4, 2]
    return out


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk time scaling 10 s^3 - 15 s^4 + 6 s^5 of s in [0, 1] (Flash & Hogan 1985).

    Zero velocity and acceleration at both ends; peak velocity 1.875 at s = 0.5.
    """
    s = np.clip(s, 0.0, 1.0)
    return s ** 3 * (10.0 - 15.0 * s + 6.0 * s * s)


def _check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")


# ---------------------------------------------------------------------------------------------
# The sampler

@dataclass(frozen=True)
class HandPriorOptions:
    """Sampling knobs (degrees, seconds).

    single_prob: chance a static sample is one synergy (else a random blend of two or three).
    joint_sigma_deg: independent per-angle jitter; finger_sigma_deg: one offset shared by a
    finger's MCP and PIP flexion (curls a finger as a whole); dip_sigma_deg: DIP noise around
    the 2/3 coupling. hold_s / move_s: ranges of dwell and transition times of sequences;
    drift_sigma_deg / drift_knot_s: small smooth noise added to sequences.
    """
    single_prob: float = 0.5
    joint_sigma_deg: float = 6.0
    finger_sigma_deg: float = 10.0
    dip_sigma_deg: float = 5.0
    hold_s: tuple[float, float] = (0.1, 1.0)
    move_s: tuple[float, float] = (0.45, 1.2)
    drift_sigma_deg: float = 2.0
    drift_knot_s: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.single_prob <= 1.0:
            raise ValueError(f"single_prob must be in [0, 1], got {self.single_prob}")
        if min(self.joint_sigma_deg, self.finger_sigma_deg, self.dip_sigma_deg, self.drift_sigma_deg) < 0:
            raise ValueError("HandPriorOptions: noise sigmas must be >= 0")
        for name in ("hold_s", "move_s"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi:
                raise ValueError(f"{name} must be 0 <= low <= high, got {(lo, hi)}")
        if self.move_s[0] <= 0.0 or self.drift_knot_s <= 0.0:
            raise ValueError("HandPriorOptions: move_s low and drift_knot_s must be > 0")


def _model_rest(model) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(55, 3) rest joints and per side (5, 3) fingertips (FINGERS order) of a SmplxModel, zero pose."""
    import torch

    with torch.no_grad():
        out = model()
    joints = out.joints[0].double().numpy()
    k67 = out.k67[0].double().numpy()
    tips = {}
    for side, sl in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        hand = k67[sl]
        tips[side] = np.stack([hand[_TIP_KEYPOINT[f]] for f in FINGERS])
    return joints, tips


class HandPrior:
    """Samples hand poses (n, 15, 3) float32 axis-angle for `left_hand_pose` / `right_hand_pose`.

    Args:
        model: a SmplxModel whose rest skeleton defines the joint axes; None loads the default.
        seed: seed of the generator (sampling is deterministic given the seed and call order).
        options: HandPriorOptions.
    """

    def __init__(self, model=None, seed: int = 0, options: HandPriorOptions | None = None):
        if model is None:
            from mocap.models.body.smplx_model import load_body_model
            model = load_body_model()
        joints, tips = _model_rest(model)
        self.axes = {side: hand_axes(joints, tips[side], side) for side in SIDES}
        self.options = options or HandPriorOptions()
        self.rng = np.random.default_rng(seed)

    # -- angles ----------------------------------------------------------------------------
    def sample_angles(self, n: int) -> np.ndarray:
        """(n, 21) anatomical angles (degrees) around random synergies and blends, in range."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        o, rng = self.options, self.rng
        targets = np.stack([SYNERGY_TARGETS_DEG[s] for s in Synergy])          # (S, 21)
        S = len(targets)
        w = np.zeros((n, S))
        single = rng.random(n) < o.single_prob
        w[np.arange(n), rng.integers(0, S, n)] = 1.0
        blend = rng.dirichlet(np.full(S, 0.3), n)                          # sparse: mostly 2-3 synergies
        w = np.where(single[:, None], w, blend)
        a = w @ targets
        a += rng.normal(0.0, o.joint_sigma_deg, a.shape)
        finger_off = rng.normal(0.0, o.finger_sigma_deg, (n, len(LONG_FINGERS)))
        for fi, f in enumerate(LONG_FINGERS):
            a[:, ANGLE_INDEX[f"{f}_mcp_flex"]] += finger_off[:, fi]
            a[:, ANGLE_INDEX[f"{f}_pip_flex"]] += finger_off[:, fi]
        a = couple_and_clip(a)
        for f in LONG_FINGERS:    # DIP follows the (clipped) PIP
            a[:, ANGLE_INDEX[f"{f}_dip_flex"]] = (DIP_PIP_COUPLING * a[:, ANGLE_INDEX[f"{f}_pip_flex"]]
                                                  + rng.normal(0.0, o.dip_sigma_deg, n))
        return couple_and_clip(a)

    def sequence_angles(self, num_frames: int, fps: float) -> np.ndarray:
        """(T, 21) angles (degrees) moving between sampled targets, smooth at `fps`.

        Keyframes come from `sample_angles`; between them a minimum-jerk transition of random
        duration, then a random hold; a slow drift (min-jerk through Gaussian knots every
        `drift_knot_s`) is added, then everything is clipped to the ranges.
        """
        if num_frames < 0:
            raise ValueError(f"num_frames must be >= 0, got {num_frames}")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        o, rng = self.options, self.rng
        t = np.arange(num_frames) / fps
        duration = t[-1] if num_frames else 0.0
        # Keyframe schedule: (start time of a move, its duration, the target reached).
        key = [self.sample_angles(1)[0]]
        starts, moves = [], []
        now = rng.uniform(*o.hold_s)
        while now <= duration:
            mv = rng.uniform(*o.move_s)
            starts.append(now)
            moves.append(mv)
            key.append(self.sample_angles(1)[0])
            now += mv + rng.uniform(*o.hold_s)
        a = np.repeat(key[0][None], num_frames, 0)
        for i, (t0, mv) in enumerate(zip(starts, moves)):
            s = min_jerk((t - t0) / mv)[:, None]
            a = np.where((t >= t0)[:, None], key[i] + s * (key[i + 1] - key[i]), a)
        a = a + self._drift(t, o.drift_sigma_deg, o.drift_knot_s)
        a = couple_and_clip(a)
        return a

    def _drift(self, t: np.ndarray, sigma: float, knot_s: float) -> np.ndarray:
        """(T, 21) smooth noise: min-jerk interpolation through N(0, sigma) knots every knot_s."""
        if t.size == 0:
            return np.zeros((0, NUM_ANGLES))
        k = int(np.floor(t[-1] / knot_s)) + 2
        knots = self.rng.normal(0.0, sigma, (k, NUM_ANGLES))
        u = t / knot_s
        i = np.floor(u).astype(int)
        s = min_jerk(u - i)[:, None]
        return knots[i] + s * (knots[i + 1] - knots[i])

    # -- poses -----------------------------------------------------------------------------
    def pose(self, angles_deg: np.ndarray, side: str) -> np.ndarray:
        """(..., 21) angles (degrees) -> (..., 15, 3) float32 axis-angle pose of that hand."""
        _check_side(side)
        return angles_to_pose(angles_deg, self.axes[side]).astype(np.float32)

    def synergy_pose(self, synergy: Synergy, side: str) -> np.ndarray:
        """(15, 3) float32 noise-free pose of a synergy target."""
        return self.pose(couple_and_clip(SYNERGY_TARGETS_DEG[Synergy(synergy)]), side)

    def sample(self, n: int, side: str) -> np.ndarray:
        """(n, 15, 3) float32 static hand poses for `side` ("left" or "right")."""
        _check_side(side)
        return self.pose(self.sample_angles(n), side)

    def sample_sequence(self, num_frames: int, fps: float, side: str) -> np.ndarray:
        """(T, 15, 3) float32 hand poses of a smooth sequence at `fps` frames a second."""
        _check_side(side)
        return self.pose(self.sequence_angles(num_frames, fps), side)


# ---------------------------------------------------------------------------------------------
# The record: a grid of rendered hands

def render_grid(out_path: str | Path, seed: int = 0, num_random: int = 6, size: int = 256) -> Path:
    """Render synergies and random samples of the right hand (two views each) into one PNG.

    Rows in pairs: top = view from the thumb side and a little below (flexion profile), bottom =
    view of the palm from below. First row pair: the synergies in Synergy order; then random
    samples, len(Synergy) to a row.
    Returns the written path.
    """
    import torch
    from PIL import Image, ImageDraw

    from mocap.models.body.render import MeshRenderer, contact_sheet, intrinsics, look_at
    from mocap.models.body.smplx_model import load_body_model

    model = load_body_model()
    prior = HandPrior(model, seed=seed)
    names = [s.name.lower() for s in Synergy] + [f"random {i}" for i in range(num_random)]
    poses = np.concatenate([np.stack([prior.synergy_pose(s, "right") for s in Synergy]),
                            prior.sample(num_random, "right")])
    with torch.no_grad():
        out = model(right_hand_pose=torch.from_numpy(poses))
    verts = out.vertices.numpy()
    faces = model.faces.numpy()
    joints_rest, _ = _model_rest(model)
    wrist = joints_rest[JOINT_INDEX["right_wrist"]]
    centre = wrist + np.array([-0.08, -0.02, 0.0])               # middle of the right hand
    K = intrinsics(40.0, size, size)
    views = [look_at(centre + np.array([0.02, -0.12, 0.28]), centre),      # thumb side, below
             look_at(centre + np.array([-0.02, -0.30, 0.02]), centre, up=(0.0, 0.0, 1.0))]  # palm
    cols = len(Synergy)
    tiles = []
    with MeshRenderer(size, size) as r:
        for start in range(0, len(verts), cols):          # a row pair per group of `cols` poses
            for R, tvec in views:
                for i in range(start, min(start + cols, len(verts))):
                    img = Image.fromarray(r.render(verts[i], faces, K, R, tvec))
                    ImageDraw.Draw(img).text((6, 6), names[i], fill=(0, 0, 0))
                    tiles.append(np.asarray(img))
                tiles += [np.full_like(tiles[-1], 255)] * ((-len(tiles)) % cols)
    sheet = contact_sheet(tiles, cols=cols)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp.png")
    Image.fromarray(sheet).save(tmp)
    tmp.replace(out_path)
    return out_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mocap.models.body.hand_prior", description=__doc__.splitlines()[0])
    p.add_argument("--grid", required=True, help="output PNG of rendered sampled hands")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("wrote %s", render_grid(args.grid, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
