"""Retarget mocap clips to SMPL-X body parameters by batched inverse kinematics on joint positions.

Usage: ``python -m mocap.models.mocap.retarget --root <unpacked mocap> --out <folder> [--clips N]
[--report benchmarks/reports/retarget]``; writes one ``<out>/<archive>/<clip>.npz`` per clip.

Pipeline per clip (every step a function below):

1. read, ``to_world_frame`` (y up, m), ``resample`` to 30 Hz, source FK;
2. pick the correspondence table (correspondence.py): 18 of the 22 SMPL-X body joints get a source point;
3. fit one ``betas`` (10) per clip so the model's bone lengths match the source's (``fit_betas``);
4. BONE-LENGTH SCALING (``scale_bones``): every corresponded bone (a joint and its nearest corresponded
   SMPL-X ancestor) keeps the source's per-frame direction and takes the fitted model's rest length,
   chained from the pelvis outwards; then the two branch points get the model's own geometry
   (``reshape_branches``: hips hung rigidly from the pelvis with the source root's orientation,
   neck and shoulders rigidly from spine3 with the best-fit rotation), because no pose can reproduce a
   source's hip width/tilt or shoulder line on another body; these points are the IK targets and the
   reference of ``fit_error_mm``;
5. normalise: rotate about y so that frame 0 faces +z (the SMPL-X rest facing: left hip at +x), move
   frame 0's pelvis to x = z = 0 (``facing_rotation``);
6. initialise in closed form (``init_rotations``: per joint, the rotation that points the rest bones
   at the targets, Kabsch where a joint has several), then refine all frames at once with Adam on a
   joints-only forward pass (``solve_ik``) with a temporal smoothness term, a pose prior (stronger on
   twist and on non-hinge axes of knees and elbows) and one-sided joint-limit penalties;
7. put the floor at y = 0 (``floor_height``: the 5th percentile over frames of the posed mesh's lowest
   vertex, on at most 64 frames; the only place vertices are computed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..body.smplx_layout import JOINT_NAMES, PARENTS
from .correspondence import correspondence_for
from .motion import (
    Motion,
    forward_kinematics,
    matrix_to_quat,
    resample,
    rest_positions,
    to_world_frame,
)

log = logging.getLogger("mocap.retarget")

__all__ = [
    "NUM_BODY",
    "RetargetOptions",
    "RetargetResult",
    "body_joints_fk",
    "facing_rotation",
    "fit_betas",
    "floor_height",
    "init_rotations",
    "lowest_vertex_heights",
    "matrix_to_axis_angle",
    "nearest_ancestors",
    "reshape_branches",
    "retarget_motion",
    "retarget_targets",
    "scale_bones",
    "solve_ik",
    "source_points",
]

NUM_BODY = 22  # pelvis + 21 body joints
BODY_NAMES = JOINT_NAMES[:NUM_BODY]
BODY_PARENTS = PARENTS[:NUM_BODY]
_IDX = {n: i for i, n in enumerate(BODY_NAMES)}
NPZ_KEYS = ("global_orient", "body_pose", "transl", "betas", "fps", "source", "archive", "split", "fit_error_mm")


@dataclass(frozen=True)
class RetargetOptions:
    """IK settings. Weights multiply mean squared errors in cm^2 (data) or rad^2 (pose terms)."""
    fps: float = 30.0
    iters: int = 80
    lr: float = 0.01
    w_smooth: float = 20.0        # second differences of pose (rad) over frames
    w_smooth_transl: float = 1.0  # second differences of transl (cm) over frames
    w_prior: float = 0.5          # L2 on body pose (rad), per-joint scaled by _PRIOR_SCALE
    w_limit: float = 100.0        # one-sided joint-limit penalties (rad^2)
    floor_percentile: float = 5.0
    beta_limit: float = 3.0

    def __post_init__(self) -> None:
        if self.iters < 0 or not self.lr > 0 or not self.fps > 0:
            raise ValueError(f"RetargetOptions: iters >= 0, lr > 0, fps > 0 needed, got {self}")


@dataclass
class RetargetResult:
    """One retargeted clip; arrays in the world frame (y up, floor y = 0, metres), float32."""
    global_orient: np.ndarray   # (T, 3) axis-angle
    body_pose: np.ndarray       # (T, 21, 3) axis-angle
    transl: np.ndarray          # (T, 3) m
    betas: np.ndarray           # (10,)
    fps: float
    fit_error_mm: np.ndarray    # (T,) mean over corresponded joints vs the bone-length-scaled source
    joint_error_mm: np.ndarray  # (K,) mean over frames per corresponded joint
    joint_names: list[str]      # K corresponded SMPL-X joints
    raw_error_mm: float         # mean error vs the UNscaled source (same normalisation), for context
    bones_error_mm: float       # mean error vs the bone-length-scaled source before branch reshaping
    bone_angle_deg: float       # mean angle between fitted and source bones (corresponded bones), degrees
    bone_angle_p95_deg: float
    table: str


# ----------------------------------------------------------------------------- small rotation maths

def matrix_to_axis_angle(r: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle, angle in [0, pi] (via unit quaternions)."""
    q = matrix_to_quat(r)                                                  # (..., 4) w >= 0
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0)          # small angle: 2 * xyz
    return q[..., 1:] * scale[..., None]


def _rodrigues(aa: torch.Tensor) -> torch.Tensor:
    from ..body.lbs import axis_angle_to_rotmat
    return axis_angle_to_rotmat(aa)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3, 3) minimal rotations taking directions a (N, 3) onto b (N, 3) (any lengths > 0)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    v = np.cross(a, b)
    c = np.sum(a * b, -1)
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 0] = -v[..., 2], v[..., 1], v[..., 2]
    k[..., 1, 2], k[..., 2, 0], k[..., 2, 1] = -v[..., 0], -v[..., 1], v[..., 0]
    # R = I + K + K^2 / (1 + c); antiparallel (c -> -1) is clamped: the IK refines it.
    return np.eye(3) + k + (k @ k) / np.maximum(1.0 + c, 1e-6)[..., None, None]


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations R minimising sum_k |R src_k - dst_k|^2; src (K, 3) or (N, K, 3), dst (N, K, 3)."""
    h = np.einsum("...ki,nkj->nij", src, dst)                              # sum_k src_k dst_k^T
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    fix = np.ones(h.shape[:-1])
    fix[:, 2] = d
    return np.swapaxes(vt, -1, -2) @ (fix[..., None] * np.swapaxes(u, -1, -2))


# ----------------------------------------------------------------------------- targets

def source_points(motion: Motion, table: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Corresponded source joint positions in SMPL-X body order.

    Args:
        motion: clip (any frame; positions come out in its frame, metres).
        table: {smplx body joint name: source joint name}.

    Returns:
        points (T, 22, 3) metres (zeros where no counterpart), mask (22,) bool.
    """
    pos = forward_kinematics(motion)
    out = np.zeros((motion.num_frames, NUM_BODY, 3))
    mask = np.zeros(NUM_BODY, bool)
    for name, src in table.items():
        out[:, _IDX[name]] = pos[:, motion.index(src)]
        mask[_IDX[name]] = True
    return out, mask


def nearest_ancestors(mask: np.ndarray) -> dict[int, int]:
    """{joint: nearest SMPL-X ancestor that is corresponded} for every corresponded joint but the root."""
    if not mask[0]:
        raise ValueError("the pelvis (SMPL-X joint 0) must have a counterpart")
    out = {}
    for j in range(1, NUM_BODY):
        if not mask[j]:
            continue
        a = BODY_PARENTS[j]
        while not mask[a]:
            a = BODY_PARENTS[a]
        out[j] = a
    return out


def _rest_joints_fn(model) -> tuple[torch.Tensor, torch.Tensor]:
    """(J0 (22, 3), Jdirs (22, 3, 10)): rest body joints = J0 + Jdirs @ betas (joints are linear in betas)."""
    nb = model.options.num_betas
    reg = model.J_regressor[:NUM_BODY]
    j0 = reg @ model.v_template
    jd = torch.einsum("jv,vdk->jdk", reg, model.shapedirs[:, :, :nb])
    return j0.double(), jd.double()


def fit_betas(model, src_rest: np.ndarray, mask: np.ndarray, limit: float = 3.0, prior: float = 0.3) -> np.ndarray:
    """Betas whose rest bone lengths (corresponded bones, see ``nearest_ancestors``) match the source's.

    Args:
        model: SmplxModel.
        src_rest: (22, 3) source rest positions of the corresponded joints, metres.
        mask: (22,) corresponded joints.
        limit: |beta| bound; prior: weight of |beta|^2 against squared length errors in cm^2.

    Returns:
        (num_betas,) float64.
    """
    j0, jd = _rest_joints_fn(model)
    pairs = nearest_ancestors(mask)
    ch, an = list(pairs), list(pairs.values())
    target = torch.as_tensor(np.linalg.norm(src_rest[ch] - src_rest[an], axis=-1))
    beta = torch.zeros(jd.shape[-1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([beta], lr=1.0, max_iter=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        j = j0 + jd @ beta
        length = (j[ch] - j[an]).norm(dim=-1)
        loss = ((length - target) * 100).pow(2).mean() + prior * beta.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return beta.detach().clamp(-limit, limit).numpy()


def scale_bones(points: np.ndarray, mask: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Bone-length scaling: keep each corresponded bone's per-frame direction, take the model's length.

    ``out[root] = points[root]``; for each corresponded joint j (parents first) with nearest corresponded
    ancestor a: ``out[j] = out[a] + |rest[j] - rest[a]| * unit(points[j] - points[a])``.

    Args:
        points: (T, 22, 3) source points, metres; mask (22,); rest: (22, 3) model rest joints (fitted betas).

    Returns:
        (T, 22, 3) scaled points (zeros where not corresponded).
    """
    out = np.zeros_like(points)
    out[:, 0] = points[:, 0]
    for j, a in nearest_ancestors(mask).items():
        d = points[:, j] - points[:, a]
        d /= np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
        out[:, j] = out[:, a] + np.linalg.norm(rest[j] - rest[a]) * d
    return out


def reshape_branches(scaled: np.ndarray, mask: np.ndarray, rest: np.ndarray, root_rot: np.ndarray) -> np.ndarray:
    """Give the two branching points the model's own geometry (after ``scale_bones``).

    Bone-length scaling keeps each bone's direction, so where several bones leave one joint the source's
    angles between them (its hip width and tilt, its shoulder line) survive, and no SMPL-X pose can fit
    them all. Here: the hips are placed rigidly with the source ROOT's orientation,
    ``out[hip] = out[pelvis] + root_rot(t) @ (rest[hip] - rest[pelvis])`` (every source's rest pose
    stands upright facing +z like SMPL-X's, so the root's global rotation is the pelvis's); the neck and
    shoulders are placed rigidly with the rotation R(t) that best turns the model's rest vectors from
    spine3 onto the scaled ones (Kabsch). Knees, elbows etc. then keep their scaled directions from these
    new points (the chain is re-run).

    Args:
        scaled: (T, 22, 3) from ``scale_bones``; mask (22,); rest (22, 3); root_rot (T, 3, 3) source root
            global rotation in the same frame.
    Returns:
        (T, 22, 3) targets.
    """
    out = scaled.copy()
    anc = nearest_ancestors(mask)
    moved = {}
    hips = [j for j in (_IDX["left_hip"], _IDX["right_hip"]) if mask[j] and anc[j] == 0]
    for j in hips:
        moved[j] = out[:, 0] + root_rot @ (rest[j] - rest[0])
    s3 = _IDX["spine3"]
    top = [j for j in (_IDX["neck"], _IDX["left_shoulder"], _IDX["right_shoulder"]) if mask[j] and anc[j] == s3]
    if mask[s3] and len(top) >= 2:
        r = _kabsch(rest[top] - rest[s3], scaled[:, top] - scaled[:, s3][:, None])
        for j in top:
            moved[j] = out[:, s3] + r @ (rest[j] - rest[s3])
    # re-run the chain below the moved joints with the scaled directions
    for j, a in anc.items():
        if j in moved:
            out[:, j] = moved[j]
        else:  # same scaled bone vector, hung from the (possibly moved) ancestor
            out[:, j] = out[:, a] + scaled[:, j] - scaled[:, a]
    return out


def _reshaped_bone(j: int, a: int) -> bool:
    """True for the bones whose direction ``reshape_branches`` takes from the model, not the source."""
    return ((a == 0 and BODY_NAMES[j] in ("left_hip", "right_hip"))
            or (BODY_NAMES[a] == "spine3" and BODY_NAMES[j] in ("neck", "left_shoulder", "right_shoulder")))


def facing_rotation(points0: np.ndarray) -> np.ndarray:
    """(3, 3) rotation about +y that turns a body's horizontal facing direction to +z.

    Facing = up x left, i.e. the horizontal direction perpendicular to the left-minus-right vector of the
    hips and shoulders (SMPL-X rest: left at +x faces +z; reference section 1, lbs.py docstring).

    Args:
        points0: (22, 3) one frame of body points in SMPL-X order (y up); hips and shoulders used.
    """
    lr = (points0[_IDX["left_hip"]] - points0[_IDX["right_hip"]]
          + points0[_IDX["left_shoulder"]] - points0[_IDX["right_shoulder"]])
    fwd = np.cross(lr, [0.0, 1.0, 0.0])                                     # left x up = forward
    yaw = np.arctan2(fwd[0], fwd[2])                                       # angle of fwd from +z about +y
    c, s = np.cos(-yaw), np.sin(-yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def floor_height(lowest_y: np.ndarray, percentile: float = 5.0) -> float:
    """Floor height (y, m): the ``percentile``-th percentile over frames of the body's lowest point.

    Robust to a few glitch frames and to jumps (the body touches the floor in far more than 5 % of the
    frames of every clip here). The lowest point is the posed mesh's lowest vertex
    (``lowest_vertex_heights``), not a foot-joint estimate: a sole height guessed from ankle and foot
    joints put the floor 10-19 cm too high in the HDM05 lie-down and kneeling pick-up clips (measured),
    where the back or a knee is what touches the floor.

    Args:
        lowest_y: (T,) lowest body point per frame, m, y up.
    """
    return float(np.percentile(np.asarray(lowest_y), percentile))


def lowest_vertex_heights(model, global_orient: np.ndarray, body_pose: np.ndarray, betas: np.ndarray,
                          transl: np.ndarray, max_frames: int = 64) -> np.ndarray:
    """(F,) lowest mesh vertex y of up to ``max_frames`` evenly spaced frames (full forward, no hands).

    Args: axis-angle global_orient (T, 3), body_pose (T, 21, 3), betas (10,), transl (T, 3), metres.
    """
    t = global_orient.shape[0]
    idx = np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int))
    dt = model.v_template.dtype
    with torch.no_grad():
        out = model.forward(global_orient=torch.as_tensor(global_orient[idx], dtype=dt),
                            body_pose=torch.as_tensor(body_pose[idx], dtype=dt),
                            betas=torch.as_tensor(betas, dtype=dt)[None].expand(len(idx), -1),
                            transl=torch.as_tensor(transl[idx], dtype=dt))
    return out.vertices[..., 1].min(dim=1).values.double().numpy()


# ----------------------------------------------------------------------------- IK

def body_joints_fk(rotmats: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    """Joints-only forward kinematics of the 22 body joints (no vertices).

    Args:
        rotmats: (B, 22, 3, 3) local rotations (global orient first); rest: (22, 3) rest joints, m.

    Returns:
        (B, 22, 3) posed joints, model frame before translation (root pivots about rest[0], as SMPL-X).
    """
    rel = rest.clone()
    rel[1:] = rest[1:] - rest[list(BODY_PARENTS[1:])]
    g = [rotmats[:, 0]]
    p = [rest[0].expand(rotmats.shape[0], 3)]
    for j in range(1, NUM_BODY):
        a = BODY_PARENTS[j]
        p.append(p[a] + g[a] @ rel[j])
        g.append(g[a] @ rotmats[:, j])
    return torch.stack(p, 1)


# Limb root -> (hinge joint, end joint, hinge axis in the rest frame): the axis n about which a POSITIVE
# rotation flexes the hinge, n = unit(upper x lower) for a bent limb (rest: legs along -y, arms along +-x,
# flexion brings the shin to -z and the forearm to +z). Signs agree with the joint limits below.
_HINGE_LIMBS = {
    _IDX["left_hip"]: (_IDX["left_knee"], _IDX["left_ankle"], np.array([1.0, 0.0, 0.0])),
    _IDX["right_hip"]: (_IDX["right_knee"], _IDX["right_ankle"], np.array([1.0, 0.0, 0.0])),
    _IDX["left_shoulder"]: (_IDX["left_elbow"], _IDX["left_wrist"], np.array([0.0, -1.0, 0.0])),
    _IDX["right_shoulder"]: (_IDX["right_elbow"], _IDX["right_wrist"], np.array([0.0, 1.0, 0.0])),
}


def _twist_to_hinge(g_swing: np.ndarray, upper: np.ndarray, lower: np.ndarray, n_rest: np.ndarray) -> np.ndarray:
    """Add the twist about the upper bone that turns the limb root's hinge axis onto the bend-plane
    normal, so the knee/elbow then bends about its own flexion axis (no limb flip, no sideways knee).

    Args:
        g_swing: (T, 3, 3) global rotations of the limb root from the swing; upper, lower: (T, 3) target
            upper and lower limb vectors; n_rest: (3,) hinge axis in the rest frame.
    Returns:
        (T, 3, 3); the twist is faded out for limbs bent less than ~10 degrees (normal undefined there).
    """
    u = upper / np.maximum(np.linalg.norm(upper, axis=-1, keepdims=True), 1e-12)
    f = lower / np.maximum(np.linalg.norm(lower, axis=-1, keepdims=True), 1e-12)
    n_t = np.cross(u, f)
    sin_bend = np.linalg.norm(n_t, axis=-1)
    n_t = n_t / np.maximum(sin_bend, 1e-12)[:, None]
    n_cur = g_swing @ n_rest                                                # hinge axis after the swing
    n_cur = n_cur - np.sum(n_cur * u, -1, keepdims=True) * u                # both are perpendicular to u
    n_cur /= np.maximum(np.linalg.norm(n_cur, axis=-1, keepdims=True), 1e-12)
    ang = np.arctan2(np.sum(np.cross(n_cur, n_t) * u, -1), np.sum(n_cur * n_t, -1))
    w = np.clip((sin_bend - 0.1) / 0.2, 0.0, 1.0)                           # 0 below ~6 deg, 1 above ~17 deg
    from .motion import axis_angle_to_matrix
    return axis_angle_to_matrix(u * (w * ang)[:, None]) @ g_swing


def init_rotations(targets: np.ndarray, mask: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Closed-form initial local rotations that point the model's rest bones at the targets.

    Joints in order; each joint's global rotation turns the rest vectors to its nearest corresponded
    descendants onto the vectors from its posed position to their targets: the minimal (swing) rotation
    for one descendant, Kabsch for several (only the direct children when two or more are corresponded,
    i.e. the pelvis uses its hips, which are rigid with it; spine3 uses neck and shoulders); hips and
    shoulders are then twisted about their bone so that the knee/elbow bends about its flexion axis
    (``_twist_to_hinge``); no
    descendant: the parent's rotation (local identity). Limbs thus start bent the way the source bends.

    Args:
        targets: (T, 22, 3) m; mask (22,); rest: (22, 3) model rest joints.

    Returns:
        (T, 22, 3, 3) local rotations.
    """
    t = targets.shape[0]
    desc: dict[int, list[int]] = {j: [] for j in range(NUM_BODY)}
    for j in range(1, NUM_BODY):
        if mask[j]:  # j is the nearest corresponded descendant of every uncorresponded-or-not ancestor
            a = BODY_PARENTS[j]
            while True:
                desc[a].append(j)
                if mask[a] or a == 0:
                    break
                a = BODY_PARENTS[a]
    glob = np.zeros((t, NUM_BODY, 3, 3))
    local = np.zeros((t, NUM_BODY, 3, 3))
    pos = np.zeros((t, NUM_BODY, 3))
    pos[:, 0] = targets[:, 0]
    for j in range(NUM_BODY):
        a = BODY_PARENTS[j]
        g_par = np.broadcast_to(np.eye(3), (t, 3, 3)) if j == 0 else glob[:, a]
        if j > 0:
            pos[:, j] = pos[:, a] + g_par @ (rest[j] - rest[a])
        ks = desc[j]
        direct = [k for k in ks if BODY_PARENTS[k] == j]
        if len(direct) >= 2:  # the pelvis: its hips are rigid with it (reshape_branches), the spine is not
            ks = direct
        if not ks:
            glob[:, j] = g_par
        elif len(ks) == 1:
            k = ks[0]
            cur = g_par @ (rest[k] - rest[j])
            glob[:, j] = _swing(cur, targets[:, k] - pos[:, j]) @ g_par
            if j in _HINGE_LIMBS and mask[k] and _HINGE_LIMBS[j][0] == k and mask[_HINGE_LIMBS[j][1]]:
                glob[:, j] = _twist_to_hinge(glob[:, j], targets[:, k] - pos[:, j],
                                             targets[:, _HINGE_LIMBS[j][1]] - targets[:, k], _HINGE_LIMBS[j][2])
        else:
            glob[:, j] = _kabsch(rest[ks] - rest[j], targets[:, ks] - pos[:, j][:, None])
        local[:, j] = np.swapaxes(g_par, -1, -2) @ glob[:, j]
    return local


# Per-joint prior scale (body_pose joints 1..21): twist-prone and unobserved joints held harder.
_PRIOR_SCALE = np.ones((NUM_BODY - 1, 3))
for _n in ("left_wrist", "right_wrist", "left_foot", "right_foot", "head"):
    _PRIOR_SCALE[_IDX[_n] - 1] = 10.0  # no child target: stay at rest
for _n in ("left_knee", "right_knee"):
    _PRIOR_SCALE[_IDX[_n] - 1, 1:] = 20.0  # a knee is a hinge about x (flexion): y, z near zero
for _n in ("left_elbow", "right_elbow"):
    _PRIOR_SCALE[_IDX[_n] - 1, 2] = 20.0   # an elbow bends about y in the T-pose, twists about x; z small
for _n in ("left_hip", "right_hip", "left_ankle", "right_ankle"):
    _PRIOR_SCALE[_IDX[_n] - 1, 1] = 3.0    # leg twist (about the bone, y) small
for _n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow"):
    _PRIOR_SCALE[_IDX[_n] - 1, 0] = 2.0    # arm twist (about the bone, x) small
for _n in ("left_collar", "right_collar"):
    _PRIOR_SCALE[_IDX[_n] - 1] = 4.0       # collars move little; the shoulders do the work
_PRIOR_SCALE *= 0.1


def _limit_penalty(pose: torch.Tensor) -> torch.Tensor:
    """One-sided joint limits on (T, 21, 3) body pose (radians): knees bend forward only (x >= 0), elbows
    bend only toward the front (left y <= 0, right y >= 0), as in SMPLify's angle prior (Bogo et al.
    2016, ECCV, eq. 4 and its code: exp(+left elbow y), exp(-right elbow y), exp(-knee x)); and
    knee flexion <= 160 deg, elbow flexion <= 160 deg."""
    lk, rk = pose[:, _IDX["left_knee"] - 1, 0], pose[:, _IDX["right_knee"] - 1, 0]
    le, re = pose[:, _IDX["left_elbow"] - 1, 1], pose[:, _IDX["right_elbow"] - 1, 1]
    r = torch.relu
    lim = 2.8
    return (r(-lk) ** 2 + r(-rk) ** 2 + r(le) ** 2 + r(-re) ** 2
            + r(lk - lim) ** 2 + r(rk - lim) ** 2 + r(-le - lim) ** 2 + r(re - lim) ** 2).mean()


def _acc(x: torch.Tensor) -> torch.Tensor:
    """Second difference along time (dim 0): x[t+1] - 2 x[t] + x[t-1]."""
    return x[2:] - 2 * x[1:-1] + x[:-2]


def solve_ik(targets: np.ndarray, mask: np.ndarray, rest: np.ndarray, init_local: np.ndarray,
             options: RetargetOptions = RetargetOptions()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refine all frames of a clip at once: Adam on global orient (as a correction of the initial
    rotation), body pose (axis-angle) and translation, joints-only forward pass.

    Loss = mean over frames and corresponded joints of |J - target|^2 (cm^2)
    + w_smooth * mean |second difference of pose and of the global-orient correction|^2 (rad^2)
    + w_smooth_transl * mean |second difference of transl|^2 (cm^2)
    + w_prior * mean(_PRIOR_SCALE * pose^2) + w_limit * joint-limit penalty.

    Args:
        targets: (T, 22, 3) m; mask (22,); rest (22, 3) model rest joints; init_local (T, 22, 3, 3).

    Returns:
        global_rotmat (T, 3, 3), body_pose (T, 21, 3) axis-angle, transl (T, 3), all float64.
    """
    dt = torch.float32
    tgt = torch.as_tensor(targets, dtype=dt)
    rest_t = torch.as_tensor(rest, dtype=dt)
    m = torch.as_tensor(np.flatnonzero(mask))
    r0 = torch.as_tensor(init_local[:, 0], dtype=dt)
    d_go = torch.zeros(targets.shape[0], 3, dtype=dt, requires_grad=True)
    pose = torch.as_tensor(matrix_to_axis_angle(init_local[:, 1:]), dtype=dt).requires_grad_(True)
    transl = (tgt[:, 0] - rest_t[0]).clone().requires_grad_(True)
    prior_scale = torch.as_tensor(_PRIOR_SCALE, dtype=dt)
    opt = torch.optim.Adam([d_go, pose, transl], lr=options.lr)
    nt = targets.shape[0]

    def joints():
        rot = torch.cat([(r0 @ _rodrigues(d_go))[:, None], _rodrigues(pose)], 1)
        return body_joints_fk(rot, rest_t) + transl[:, None]

    for it in range(options.iters):
        opt.zero_grad()
        j = joints()
        data = ((j[:, m] - tgt[:, m]) * 100).pow(2).sum(-1).mean()
        loss = data + options.w_prior * (prior_scale * pose.pow(2)).mean() + options.w_limit * _limit_penalty(pose)
        if nt > 2:  # second differences: no pull on steady motion, so no bias at the clip ends
            loss = loss + options.w_smooth * (_acc(pose).pow(2).mean() + _acc(d_go).pow(2).mean())
            loss = loss + options.w_smooth_transl * (_acc(transl) * 100).pow(2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        go = (r0 @ _rodrigues(d_go)).double().numpy()
    return go, pose.detach().double().numpy(), transl.detach().double().numpy()


# ----------------------------------------------------------------------------- one clip

def retarget_targets(motion: Motion, model, options: RetargetOptions = RetargetOptions(),
                     table: dict[str, str] | None = None):
    """Steps 1-5: (targets (T,22,3) = bone-length scaled + branch-reshaped, bones (T,22,3) bone-length
    scaled only, raw (T,22,3) unscaled source points, all normalised (facing +z, frame-0 pelvis at x = z = 0);
    mask (22,), betas, rest (22,3) model rest joints at betas, table name)."""
    m = resample(to_world_frame(motion), options.fps)
    if table is None:
        table_name, table = correspondence_for(m.joint_names, m.meta.get("variant"))
    else:
        table_name = "given"
    pts, mask = source_points(m, table)
    root_rot = _root_global_rotation(m)
    src_rest = np.zeros((NUM_BODY, 3))
    rp = rest_positions(m)
    for n, s in table.items():
        src_rest[_IDX[n]] = rp[m.index(s)]
    betas = fit_betas(model, src_rest, mask, limit=options.beta_limit)
    j0, jd = _rest_joints_fn(model)
    rest = (j0 + jd @ torch.as_tensor(betas)).numpy()
    bones = scale_bones(pts, mask, rest)
    targets = reshape_branches(bones, mask, rest, root_rot)
    rot = facing_rotation(targets[0])
    origin = targets[0, 0] * np.array([1.0, 0.0, 1.0])
    targets, bones, raw = ((x - origin) @ rot.T for x in (targets, bones, pts))
    targets[:, ~mask] = 0.0
    return targets, bones, raw, mask, betas, rest, table_name


def _root_global_rotation(m: Motion) -> np.ndarray:
    """(T, 3, 3) the source root's global rotation relative to its rest pose (= its local rotation)."""
    return m.rotations[:, 0]


def retarget_motion(motion: Motion, model, options: RetargetOptions = RetargetOptions(),
                    table: dict[str, str] | None = None) -> RetargetResult:
    """Retarget one clip (any reader's Motion) to SMPL-X: see the module docstring for the steps.

    Args:
        motion: the clip as read (any frame rate; ``to_world_frame`` and ``resample`` are applied here).
        model: SmplxModel (``load_body_model()``).
        options: IK settings.
        table: {SMPL-X body joint: source joint}; None picks one from correspondence.py.

    Raises:
        ValueError: no correspondence table fits the skeleton.
    """
    targets, bones, raw, mask, betas, rest, table_name = retarget_targets(motion, model, options, table)
    init = init_rotations(targets, mask, rest)
    go, pose, transl = solve_ik(targets, mask, rest, init, options)
    rot = np.concatenate([go[:, None], np.asarray(_rodrigues(torch.as_tensor(pose)))], 1)
    with torch.no_grad():
        joints = (body_joints_fk(torch.as_tensor(rot), torch.as_tensor(rest)).numpy() + transl[:, None])
    go_aa = matrix_to_axis_angle(go)
    floor = floor_height(lowest_vertex_heights(model, go_aa, pose, betas, transl), options.floor_percentile)
    transl = transl - [0.0, floor, 0.0]
    joints[..., 1] -= floor
    targets = targets - [0.0, floor, 0.0]
    raw = raw - [0.0, floor, 0.0]
    bones = bones - [0.0, floor, 0.0]
    err = np.linalg.norm(joints[:, mask] - targets[:, mask], axis=-1) * 1000.0   # (T, K) mm
    raw_err = np.linalg.norm(joints[:, mask] - raw[:, mask], axis=-1) * 1000.0
    bone_err = np.linalg.norm(joints[:, mask] - bones[:, mask], axis=-1) * 1000.0
    # pose fidelity free of proportions: angle between each fitted bone and the same source bone
    # (bones that reshape_branches gives the model's own direction are left out: hips from the pelvis,
    # neck and shoulders from spine3)
    anc = {j: a for j, a in nearest_ancestors(mask).items() if not _reshaped_bone(j, a)}
    ch, an = list(anc), list(anc.values())
    fb, sb = joints[:, ch] - joints[:, an], raw[:, ch] - raw[:, an]
    cos = np.sum(fb * sb, -1) / np.maximum(np.linalg.norm(fb, axis=-1) * np.linalg.norm(sb, axis=-1), 1e-12)
    bone_angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))                   # (T, bones)
    return RetargetResult(
        global_orient=go_aa.astype(np.float32), body_pose=pose.astype(np.float32),
        transl=transl.astype(np.float32), betas=betas.astype(np.float32), fps=float(options.fps),
        fit_error_mm=err.mean(1).astype(np.float32), joint_error_mm=err.mean(0),
        joint_names=[BODY_NAMES[i] for i in np.flatnonzero(mask)], raw_error_mm=float(raw_err.mean()),
        bones_error_mm=float(bone_err.mean()), bone_angle_deg=float(bone_angle.mean()),
        bone_angle_p95_deg=float(np.percentile(bone_angle, 95)),
        table=table_name)


def save_npz(path: Path, res: RetargetResult, source: str, archive: str, split: str) -> Path:
    """Write one clip's npz (exactly ``NPZ_KEYS``) atomically; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, global_orient=res.global_orient, body_pose=res.body_pose, transl=res.transl,
             betas=res.betas, fps=np.float64(res.fps), source=np.str_(source), archive=np.str_(archive),
             split=np.str_(split), fit_error_mm=res.fit_error_mm)
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------- CLI

_CATEGORY: dict[tuple[str, str], str] = {}


def _list_clips(root: Path) -> tuple[list[tuple[str, str, float | None]], dict]:
    """(archive, clip path, true fps) for every clip with a reader, and the CMU-trial groups for the split."""
    from .inventory import archive_clips
    clips, groups = [], {}
    for adir in sorted(p for p in root.iterdir() if p.is_dir()):
        for rel, row, true_fps in archive_clips(adir):
            clips.append((adir.name, rel, true_fps))
            _CATEGORY[(adir.name, rel)] = row.get("category") or row.get("action") or ""
            if row.get("cmu_trial"):
                groups[(adir.name, rel)] = "cmu_" + row["cmu_trial"]
    return clips, groups


def _spread(items: list, n: int) -> list:
    """n items taken round-robin over archives (so a small --clips still covers every archive)."""
    by: dict[str, list] = {}
    for it in items:
        by.setdefault(it[0], []).append(it)
    out, k = [], 0
    while len(out) < min(n, len(items)):
        for a in sorted(by):
            if k < len(by[a]) and len(out) < n:
                out.append(by[a][k])
        k += 1
    return out


# ----------------------------------------------------------------------------- report

GOAL_MEAN_MM, GOAL_P95_MM = 20.0, 40.0
# Contact-sheet rows: (category, preferred archive) -- one motion of each kind from different archives.
_SHEET = [("walk", "cmu_bvh_3dsmax"), ("run", "cmu_bvh_more_daz"), ("jump", "cmu_bvh_motionbuilder"),
          ("dance", "cmu_bvh_daz"), ("hop", "hdm05_asfamc"), ("sports", "cmu_expmap_csv")]


def _stats(errs: np.ndarray) -> dict:
    return {"frames": int(errs.size), "mean_mm": float(errs.mean()), "p95_mm": float(np.percentile(errs, 95)),
            "max_mm": float(errs.max())}


def render_clip_frames(npz_path: Path, model, frames: int = 6, size: tuple[int, int] = (200, 280)) -> list[np.ndarray]:
    """Side views (camera on the body's left, +x, looking at -x, following the pelvis) of ``frames``
    evenly spaced frames of a retargeted clip, with the floor (y = 0) drawn as a dark line under the body."""
    from ..body.render import MeshRenderer, intrinsics, look_at, project

    z = np.load(npz_path)
    t = z["global_orient"].shape[0]
    idx = np.linspace(0, t - 1, frames).round().astype(int)
    w, h = size
    K = intrinsics(45.0, w, h)
    b = torch.as_tensor(z["betas"])[None].expand(len(idx), -1)
    with torch.no_grad():
        out = model.forward(global_orient=torch.as_tensor(z["global_orient"][idx]),
                            body_pose=torch.as_tensor(z["body_pose"][idx]), betas=b,
                            transl=torch.as_tensor(z["transl"][idx]))
    imgs = []
    with MeshRenderer(w, h) as r:
        for k in range(len(idx)):
            v = out.vertices[k].numpy()
            pel = out.joints[k, 0].numpy()
            target = np.array([pel[0], 0.9, pel[2]])
            R, tt = look_at(target + [2.8, 0.0, 0.0], target)
            img = r.render(v, model.faces.numpy(), K, R, tt).copy()
            for dz in np.linspace(-1.5, 1.5, 61):
                u, vv = project(np.array([pel[0], 0.0, pel[2] + dz]), K, R, tt)
                if 0 <= int(vv) < h and 0 <= int(u) < w:
                    img[max(int(vv) - 1, 0):int(vv) + 1, max(int(u) - 3, 0):int(u) + 3] = (40, 40, 40)
            imgs.append(img)
    return imgs


def write_report(report_dir: Path, rows: list[dict], failed: dict, wall_s: float, out_dir: Path, model,
                 options: RetargetOptions) -> None:
    """report.json, report.md and contact_sheet.png under ``report_dir`` (clip names relative to the root)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    errs = {}
    for r in rows:
        errs[(r["archive"], r["clip"])] = np.load(out_dir / r["npz"])["fit_error_mm"]
    allv = np.concatenate(list(errs.values())) if errs else np.zeros(1)
    per_arch = {}
    for a in sorted({r["archive"] for r in rows}):
        ra = [r for r in rows if r["archive"] == a]
        e = np.concatenate([errs[(a, r["clip"])] for r in ra])
        per_arch[a] = {"clips": len(ra), **_stats(e),
                       "bones_only_mean_mm": float(np.mean([r["bones_mean_mm"] for r in ra])),
                       "raw_mean_mm": float(np.mean([r["raw_mean_mm"] for r in ra])),
                       "bone_angle_deg": float(np.mean([r["bone_angle_deg"] for r in ra])),
                       "bone_angle_p95_deg": float(np.mean([r["bone_angle_p95_deg"] for r in ra])),
                       "table": ra[0]["table"]}
    joints: dict[str, list[float]] = {}
    for r in rows:
        for n, v in r["joint_mean_mm"].items():
            joints.setdefault(n, []).append(v)
    per_joint = {n: float(np.mean(v)) for n, v in joints.items()}
    overall = {"clips": len(rows), "failed": len(failed), **_stats(allv), "wall_s": wall_s,
               "frames_per_s": float(allv.size / max(wall_s, 1e-9)), "torch_threads": torch.get_num_threads(),
               "model": getattr(model, "model_name", "?"), "options": options.__dict__}
    over_goal = [r for r in rows if r["mean_mm"] >= GOAL_MEAN_MM or r["p95_mm"] >= GOAL_P95_MM]
    doc = {"overall": overall, "per_archive": per_arch, "per_joint_mean_mm": per_joint,
           "clips_over_goal": [f"{r['archive']}/{r['clip']}" for r in over_goal], "failed": failed, "clips": rows}
    (report_dir / "report.json").write_text(json.dumps(doc, indent=1))

    sheet_rows, used = [], []
    for cat, pref in _SHEET:
        cand = [r for r in rows if r["category"] == cat]
        cand.sort(key=lambda r: (r["archive"] != pref, r["clip"]))
        if cand and model is not None:
            try:
                sheet_rows.append(render_clip_frames(out_dir / cand[0]["npz"], model))
                used.append(f"{cat}: {cand[0]['archive']}/{cand[0]['clip']}")
            except RuntimeError as e:  # no pyrender/EGL: report without the picture
                log.warning("contact sheet skipped: %s", e)
                break
    if sheet_rows:
        from PIL import Image

        from ..body.render import contact_sheet
        cols = len(sheet_rows[0])
        Image.fromarray(contact_sheet([im for row in sheet_rows for im in row], cols)).save(report_dir / "contact_sheet.png")

    lines = [
        "# Retargeting mocap to SMPL-X: fit error",
        "",
        (f"Written by `python -m mocap.models.mocap.retarget` (model `{overall['model']}`, {options.iters} Adam "
        f"iterations, {options.fps:g} Hz). Error = per frame, the mean over the corresponded SMPL-X body joints of "
        "the distance between the fitted model's joint and the source joint after bone-length scaling "
        "(each source bone keeps its direction and takes the fitted model's rest length; the hips and the "
        "neck/shoulders are then placed with the model's own rest geometry, see `reshape_branches`). "
        "`bones only` = the same error against the bone-length-scaled points before that re-shaping; "
        "`raw` = against the unscaled source points (proportions differ: context only). `bone angle` = the "
        "angle between each fitted bone and the same source bone (joint to nearest corresponded ancestor), "
        "a pose error free of proportions (the hip bones and the spine3-to-neck/shoulder bones, whose "
        "direction the re-shaping takes from the model, are left out)."),
        "",
        f"Goal: mean < {GOAL_MEAN_MM:g} mm and p95 < {GOAL_P95_MM:g} mm.",
        "",
        "| set | clips | frames | mean mm | p95 mm | max mm | bones only mm | raw mm | bone angle deg (mean / p95 of clips) |",
        "|---|---|---|---|---|---|---|---|---|",
        (f"| **all** | {overall['clips']} | {overall['frames']} | {overall['mean_mm']:.1f} | {overall['p95_mm']:.1f} | "
        f"{overall['max_mm']:.1f} | {np.mean([r['bones_mean_mm'] for r in rows]) if rows else 0:.1f} | "
        f"{np.mean([r['raw_mean_mm'] for r in rows]) if rows else 0:.1f} | "
        f"{np.mean([r['bone_angle_deg'] for r in rows]) if rows else 0:.1f} / "
        f"{np.mean([r['bone_angle_p95_deg'] for r in rows]) if rows else 0:.1f} |"),
    ]
    for a, s in per_arch.items():
        lines.append(f"| {a} ({s['table']}) | {s['clips']} | {s['frames']} | {s['mean_mm']:.1f} | {s['p95_mm']:.1f} | "
                     f"{s['max_mm']:.1f} | {s['bones_only_mean_mm']:.1f} | {s['raw_mean_mm']:.1f} | "
                     f"{s['bone_angle_deg']:.1f} / {s['bone_angle_p95_deg']:.1f} |")
    lines += ["", (f"Time: {wall_s:.0f} s for {overall['clips']} clips ({overall['frames']} frames at 30 Hz, "
              f"{overall['frames_per_s']:.0f} frames/s, {overall['torch_threads']} torch thread(s), reading included)."),
              "", "Per joint (mean over clips, mm): " + ", ".join(f"{n} {v:.1f}" for n, v in per_joint.items()), ""]
    if over_goal:
        lines.append(f"Clips over the goal ({len(over_goal)}):")
        lines += [f"* {r['archive']}/{r['clip']}: mean {r['mean_mm']:.1f}, p95 {r['p95_mm']:.1f} mm; worst joints "
                  + ", ".join(f"{n} {v:.0f}" for n, v in sorted(r['joint_mean_mm'].items(), key=lambda x: -x[1])[:3])
                  for r in over_goal]
    else:
        lines.append("Every clip meets the goal (mean and p95).")
    worst = sorted(rows, key=lambda r: -r["p95_mm"])[:10]
    lines += ["", "Ten clips with the highest p95:", "", "| clip | category | frames | mean mm | p95 mm | max mm |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['archive']}/{r['clip']} | {r['category']} | {r['frames']} | {r['mean_mm']:.1f} | {r['p95_mm']:.1f} | "
              f"{r['max_mm']:.1f} |" for r in worst]
    if failed:
        lines += ["", "Failed:"] + [f"* {k}: {v}" for k, v in failed.items()]
    n_lim = sum(r["betas_at_limit"] for r in rows)
    lines += ["", "## Method and limits", "",
              ("* Correspondence (models/mocap/correspondence.py): 18 of the 22 SMPL-X body joints per skeleton "
              "(pelvis, hips, knees, ankles, feet, spine3, neck, head, shoulders, elbows, wrists); spine1/spine2 "
              "and the collars have no reliable counterpart and are left to the pose prior."),
              ("* Scale: one `betas` per clip, fitted (L-BFGS, small prior, |beta| <= "
              f"{options.beta_limit:g}) to the source's rest bone lengths; {n_lim} of {len(rows)} clips have a "
              "beta at that bound (the open model's 10 shape directions cannot match some proportions; the "
              "bone-length scaling absorbs the rest)."),
              ("* Bone-length scaling: each corresponded bone keeps its per-frame source direction and takes the "
              "fitted model's rest length; hips and neck/shoulders are then hung with the model's own geometry "
              "(`reshape_branches`). `bones only` is large for Daz (about 80 mm) because the Daz root sits at "
              "hip-joint height while the SMPL-X pelvis is 8 cm above the hips: re-hanging the legs moves "
              "them as a whole, not a pose error (the bone-angle column shows the pose itself is kept)."),
              ("* Normalisation: frame 0 faces +z (left hip at +x), its pelvis at x = z = 0; floor y = 0 at the "
              f"{options.floor_percentile:g}th percentile over frames of the posed mesh's lowest vertex."),
              ("* Not retargeted: wrist and head rotations (no child target among the 22 joints: they stay at "
              "rest), toe rotation (the SMPL-X foot joint is placed, its rotation is not driven; at toe-off the rigid toes can dip a few cm "
              "below the floor in runs), fingers, face."),
              ("* IK: closed-form init (swing/Kabsch per joint, limb roots twisted so knees and elbows bend about "
              f"their flexion axes), then {options.iters} Adam steps (lr {options.lr:g}) over all frames of a clip "
              "at once on a joints-only forward pass, with second-difference smoothing, a per-joint pose prior "
              "and SMPLify-style one-sided knee/elbow limits.")]
    if used:
        lines += ["", "`contact_sheet.png`: one row per clip, 6 evenly spaced frames, side view from the body's "
                  "left (+x) following the pelvis, dark line = floor y = 0 below the pelvis. Rows: " + "; ".join(used) + "."]
    (report_dir / "report.md").write_text("\n".join(lines) + "\n")
    log.info("wrote %s", report_dir)


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from ..body.smplx_model import load_body_model
    from .inventory import read_clip
    from .split import split_train_val

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="folder with one unpacked archive per sub-folder")
    ap.add_argument("--out", type=Path, required=True, help="write <out>/<archive>/<clip>.npz here")
    ap.add_argument("--clips", type=int, default=None, help="only this many clips, spread over the archives")
    ap.add_argument("--report", type=Path, default=None, help="write report.md/report.json/contact_sheet.png here")
    ap.add_argument("--smplx-model", default=None, help="SMPL-X .npz (default: the open model)")
    ap.add_argument("--iters", type=int, default=RetargetOptions.iters)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the default 1 leaves cores to others)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.root.is_dir():
        ap.error(f"--root {args.root} is not a folder")
    torch.set_num_threads(args.threads)
    options = RetargetOptions(iters=args.iters)
    model = load_body_model(args.smplx_model)
    clips, groups = _list_clips(args.root)
    _, val = split_train_val([(a, c) for a, c, _ in clips], val_fraction=0.1, seed=0, groups=groups)
    val = set(val)
    todo = clips if args.clips is None else _spread(clips, args.clips)
    rows, failed = [], {}
    t0 = time.perf_counter()
    for archive, rel, fps in tqdm(todo, desc="retarget", unit="clip"):
        try:
            motion = read_clip(args.root / archive / rel, args.root / archive, fps)
            t1 = time.perf_counter()
            res = retarget_motion(motion, model, options)
            split = "val" if (archive, rel) in val else "train"
            out = save_npz(args.out / archive / (str(Path(rel).with_suffix("")) + ".npz"), res,
                           f"{archive}/{rel}", archive, split)
        except (ValueError, OSError) as e:
            failed[f"{archive}/{rel}"] = str(e)
            log.warning("failed %s/%s: %s", archive, rel, e)
            continue
        e = res.fit_error_mm
        rows.append({"archive": archive, "clip": rel, "split": split, "category": _CATEGORY.get((archive, rel), ""), "table": res.table, "frames": len(e),
                     "mean_mm": float(e.mean()), "p95_mm": float(np.percentile(e, 95)), "max_mm": float(e.max()),
                     "raw_mean_mm": res.raw_error_mm, "bones_mean_mm": res.bones_error_mm,
                     "bone_angle_deg": res.bone_angle_deg,
                     "betas_at_limit": bool(np.any(np.abs(res.betas) >= options.beta_limit - 1e-6)), "bone_angle_p95_deg": res.bone_angle_p95_deg, "seconds": time.perf_counter() - t1,
                     "joint_mean_mm": dict(zip(res.joint_names, map(float, res.joint_error_mm))),
                     "npz": str(out.relative_to(args.out))})
    wall = time.perf_counter() - t0
    log.info("retargeted %d clips (%d failed) in %.1f s", len(rows), len(failed), wall)
    if args.report is not None:
        write_report(args.report, rows, failed, wall, args.out, model, options)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
