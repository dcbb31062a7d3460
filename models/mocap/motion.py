"""The Motion container and the pure maths on it: rotations, forward kinematics, frames, resampling, mirroring.

Conventions (used by every reader and function in this package):

* Rotations are 3x3 matrices acting on COLUMN vectors, ``x_parent = R_local @ x_child + offset``.
  This is the SMPL-X convention (reference/smplx-and-nets.md section 3: parent-aligned local frames,
  identity rest frames), so retargeting can copy these matrices without transposing.
* Local joint rotations are relative to the rest pose: with every rotation the identity, the skeleton
  stands in its rest pose (the offsets), and every joint frame is aligned with the skeleton frame.
* Quaternions (only inside resampling) are ``(w, x, y, z)``, scalar first.
* Global: ``G_j = G_parent(j) @ R_j``; ``p_j = p_parent(j) + G_parent(j) @ offset_j``;
  the root position is ``root_translation`` (readers fold the root's own OFFSET into it).
* Lengths are metres after reading; the axes are the source's, named by ``Motion.up_axis``;
  ``to_world_frame`` brings them to the project's world frame (y up, metres, right-handed, DESIGN 8).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Motion",
    "axis_angle_to_matrix",
    "euler_to_matrix",
    "forward_kinematics",
    "left_right_mirror",
    "matrix_to_quat",
    "mirror_pairs",
    "quat_slerp",
    "quat_to_matrix",
    "resample",
    "rest_positions",
    "to_world_frame",
]


@dataclass
class Motion:
    """One clip of skeletal motion.

    Attributes:
        joint_names: J names, parents before children.
        parents: (J,) int, parent index, -1 for the root (index 0).
        offsets_m: (J, 3) rest offset of each joint from its parent, metres, in the parent's frame
            (source axes). ``offsets_m[0]`` is zero (folded into ``root_translation_m``).
        rotations: (T, J, 3, 3) local rotation matrices, column-vector convention (module docstring).
        root_translation_m: (T, 3) root joint position per frame, metres, source axes.
        fps: the TRUE frame rate (Hz), not necessarily the one the file states.
        source: path of the file read ('' for synthetic motion).
        up_axis: the source's up axis, 'y' or 'z' (the sign is always +).
        end_sites: (J,) bool, True for BVH End Sites / ASF bone tips (no rotation of their own).
        meta: free-form facts about the read (variant, fps_in_file, reference_frame, ...).
    """

    joint_names: list[str]
    parents: np.ndarray
    offsets_m: np.ndarray
    rotations: np.ndarray
    root_translation_m: np.ndarray
    fps: float
    source: str = ""
    up_axis: str = "y"
    end_sites: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.offsets_m = np.asarray(self.offsets_m, dtype=np.float64)
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.root_translation_m = np.asarray(self.root_translation_m, dtype=np.float64)
        j = len(self.joint_names)
        if self.end_sites is None:
            self.end_sites = np.zeros(j, dtype=bool)
        self.end_sites = np.asarray(self.end_sites, dtype=bool)
        if self.parents.shape != (j,) or self.offsets_m.shape != (j, 3) or self.end_sites.shape != (j,):
            raise ValueError(f"Motion: {j} joint names but parents {self.parents.shape}, "
                             f"offsets {self.offsets_m.shape}, end_sites {self.end_sites.shape}")
        if self.rotations.ndim != 4 or self.rotations.shape[1:] != (j, 3, 3):
            raise ValueError(f"Motion: rotations must be (T, {j}, 3, 3), got {self.rotations.shape}")
        if self.root_translation_m.shape != (self.rotations.shape[0], 3):
            raise ValueError(f"Motion: root_translation_m must be ({self.rotations.shape[0]}, 3), "
                             f"got {self.root_translation_m.shape}")
        if self.parents[0] != -1 or np.any(self.parents[1:] >= np.arange(1, j)) or np.any(self.parents[1:] < 0):
            raise ValueError("Motion: parents must list the root first (-1) and every parent before its child")
        if not self.fps > 0:
            raise ValueError(f"Motion: fps must be > 0, got {self.fps}")
        if self.up_axis not in ("y", "z"):
            raise ValueError(f"Motion: up_axis must be 'y' or 'z', got {self.up_axis!r}")

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to one frame past the last frame, seconds (frames / fps)."""
        return self.num_frames / self.fps

    def index(self, name: str) -> int:
        return self.joint_names.index(name)


# ----------------------------------------------------------------------------- rotations

def _axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation by ``angle`` (radians) about the unit axis 'X', 'Y' or 'Z' (right-handed)."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == "X":
        m = [o, z, z, z, c, -s, z, s, c]
    elif axis == "Y":
        m = [c, z, s, z, o, z, -s, z, c]
    elif axis == "Z":
        m = [c, -s, z, s, c, z, z, z, o]
    else:
        raise ValueError(f"rotation axis must be X, Y or Z, got {axis!r}")
    return np.stack(m, axis=-1).reshape(angle.shape + (3, 3))


def euler_to_matrix(angles_rad: np.ndarray, order: str, intrinsic: bool = True) -> np.ndarray:
    """Euler angles to rotation matrices.

    Args:
        angles_rad: (..., len(order)) angles in radians, ``angles_rad[..., i]`` about axis ``order[i]``.
        order: axes such as 'ZXY' (1 to 3 letters from X, Y, Z).
        intrinsic: True (BVH): ``R = R_order[0] @ R_order[1] @ R_order[2]`` (the first listed axis is
            outermost; BVH applies channels in the listed order to the moving frame).
            False (Acclaim ASF/AMC): the first listed axis is applied first to the vector,
            ``R = R_order[-1] @ ... @ R_order[0]`` (fixed axes).

    Returns:
        (..., 3, 3) rotation matrices.
    """
    angles_rad = np.asarray(angles_rad, dtype=np.float64)
    order = order.upper()
    if angles_rad.shape[-1:] != (len(order),):
        raise ValueError(f"euler_to_matrix: {len(order)} axes '{order}' but angles of shape {angles_rad.shape}")
    out = np.broadcast_to(np.eye(3), angles_rad.shape[:-1] + (3, 3)).copy()
    mats = [_axis_rotation(a, angles_rad[..., i]) for i, a in enumerate(order)]
    for m in (mats if intrinsic else mats[::-1]):
        out = out @ m
    return out


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues: (..., 3) axis * angle (radians) to (..., 3, 3), ``R = I + sin(t) K + (1 - cos(t)) K^2``."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1)
    safe = np.where(theta > 1e-12, theta, 1.0)
    k = aa / safe[..., None]
    kx = np.zeros(aa.shape[:-1] + (3, 3))
    kx[..., 0, 1], kx[..., 0, 2] = -k[..., 2], k[..., 1]
    kx[..., 1, 0], kx[..., 1, 2] = k[..., 2], -k[..., 0]
    kx[..., 2, 0], kx[..., 2, 1] = -k[..., 1], k[..., 0]
    s, c = np.sin(theta)[..., None, None], np.cos(theta)[..., None, None]
    return np.eye(3) + s * kx + (1.0 - c) * (kx @ kx)


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices to (..., 4) unit quaternions (w, x, y, z), w >= 0.

    Shepperd's method: pick the largest of 4w^2, 4x^2, 4y^2, 4z^2 for numerical stability
    (the same choice as scipy.spatial.transform.Rotation.as_quat; scipy is not a dependency here).
    """
    r = np.asarray(r, dtype=np.float64)
    m00, m11, m22 = r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]
    cand = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = np.argmax(cand, axis=-1)
    q = np.empty(r.shape[:-2] + (4,))
    for i in range(4):
        sel = best == i
        if not np.any(sel):
            continue
        m = r[sel]
        s = 2.0 * np.sqrt(np.maximum(cand[sel][:, i], 1e-300))  # = 4 * |component i|
        if i == 0:
            qi = [s / 4, (m[:, 2, 1] - m[:, 1, 2]) / s, (m[:, 0, 2] - m[:, 2, 0]) / s, (m[:, 1, 0] - m[:, 0, 1]) / s]
        elif i == 1:
            qi = [(m[:, 2, 1] - m[:, 1, 2]) / s, s / 4, (m[:, 0, 1] + m[:, 1, 0]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s]
        elif i == 2:
            qi = [(m[:, 0, 2] - m[:, 2, 0]) / s, (m[:, 0, 1] + m[:, 1, 0]) / s, s / 4, (m[:, 1, 2] + m[:, 2, 1]) / s]
        else:
            qi = [(m[:, 1, 0] - m[:, 0, 1]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s, (m[:, 1, 2] + m[:, 2, 1]) / s, s / 4]
        q[sel] = np.stack(qi, -1)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z), normalised here, to (..., 3, 3) rotation matrices."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    m = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
         2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
         2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return np.stack(m, -1).reshape(q.shape[:-1] + (3, 3))


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Shortest-arc spherical interpolation of unit quaternions.

    Args:
        q0, q1: (..., 4) unit quaternions (w, x, y, z).
        t: weights broadcastable to (...), 0 gives q0 and 1 gives q1.

    Returns:
        (..., 4) unit quaternions.
    """
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # q and -q are the same rotation: take the short way
    dot = np.clip(np.abs(dot), -1.0, 1.0)
    omega = np.arccos(dot)
    so = np.sin(omega)
    near = so < 1e-9
    safe = np.where(near, 1.0, so)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * omega) / safe)
    w1 = np.where(near, t, np.sin(t * omega) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- kinematics

def forward_kinematics(motion: Motion) -> np.ndarray:
    """Global joint positions.

    Args:
        motion: the clip (metres, source axes).

    Returns:
        (T, J, 3) joint positions in metres, in the same frame as ``motion.root_translation_m``.
    """
    t, j = motion.num_frames, len(motion.joint_names)
    glob = np.empty((t, j, 3, 3))
    pos = np.empty((t, j, 3))
    glob[:, 0] = motion.rotations[:, 0]
    pos[:, 0] = motion.root_translation_m
    for k in range(1, j):
        p = motion.parents[k]
        pos[:, k] = pos[:, p] + glob[:, p] @ motion.offsets_m[k]
        glob[:, k] = glob[:, p] @ motion.rotations[:, k]
    return pos


def rest_positions(motion: Motion) -> np.ndarray:
    """(J, 3) joint positions of the rest pose (identity rotations) with the root at the origin, metres."""
    pos = np.zeros((len(motion.joint_names), 3))
    for k in range(1, len(motion.joint_names)):
        pos[k] = pos[motion.parents[k]] + motion.offsets_m[k]
    return pos


# Source axes -> world (y up, right-handed). A z-up right-handed source (C3D, many marker systems)
# maps (x, y, z) -> (x, z, -y): a -90 degree rotation about x, so it stays right-handed.
_TO_WORLD = {"y": np.eye(3), "z": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])}


def to_world_frame(motion: Motion) -> Motion:
    """Express a motion in the project's world frame: y up, metres, right-handed (DESIGN section 8).

    Per format (what the readers return and what this does to it):
      * BVH (all three cgspeed variants): y up, right-handed; readers already scale to metres, so this is
        the identity. The MotionBuilder T-pose faces +z (cgspeed READMEFIRST, SOURCES.md).
      * ASF/AMC (HDM05, CMU): y up, right-handed; metres after reading; identity.
      * CMU exp-map CSV: the MotionBuilder BVH skeleton and root path (y up); identity. (The source
        repository's plotting swaps y and z; the data itself is y up.)
      * z-up sources: rotate -90 degrees about x, ``(x, y, z) -> (x, z, -y)``.
    The ground plane is left where the source put it (y = 0 on the capture floor for CMU and HDM05).

    Returns:
        A new Motion with ``up_axis == 'y'``; rotations of the root and root translation rotated,
        offsets rotated and every non-root local rotation conjugated, so that FK gives ``A @ p``.
    """
    a = _TO_WORLD[motion.up_axis]
    if motion.up_axis == "y":
        return dataclasses.replace(motion, meta=dict(motion.meta))
    rot = a @ motion.rotations @ a.T  # conjugation keeps FK consistent: G' = A G A^T
    return dataclasses.replace(
        motion, rotations=rot, offsets_m=motion.offsets_m @ a.T,
        root_translation_m=motion.root_translation_m @ a.T, up_axis="y", meta=dict(motion.meta))


# ----------------------------------------------------------------------------- resampling

def resample(motion: Motion, fps: float = 30.0) -> Motion:
    """Time-based resampling to ``fps``: slerp for every local rotation, linear for the root translation.

    Output frame k is at time ``k / fps`` seconds (frame 0 of the input is at t = 0 and input frame i at
    ``i / motion.fps``, the TRUE rate); frames run while ``k / fps <= (T - 1) / motion.fps``. Times that
    fall on an input frame (up to 1e-9 of a frame) copy it exactly, so 60 -> 30 Hz takes every other frame.

    Args:
        motion: input clip; ``motion.fps`` must be the true rate.
        fps: output rate in Hz (> 0).

    Returns:
        A new Motion at ``fps`` (same skeleton, ``meta['resampled_from_fps']`` set).

    Raises:
        ValueError: fps <= 0 or an empty motion.
    """
    if not fps > 0:
        raise ValueError(f"resample: fps must be > 0, got {fps}")
    t_in = motion.num_frames
    if t_in == 0:
        raise ValueError(f"resample: {motion.source or 'motion'} has no frames")
    n_out = int(np.floor((t_in - 1) * fps / motion.fps + 1e-9)) + 1
    u = np.arange(n_out) * (motion.fps / fps)  # position in input frames
    ur = np.round(u)
    u = np.where(np.abs(u - ur) < 1e-9, ur, u)
    i0 = np.minimum(np.floor(u).astype(np.int64), t_in - 1)
    i1 = np.minimum(i0 + 1, t_in - 1)
    w = u - i0
    trans = (1 - w)[:, None] * motion.root_translation_m[i0] + w[:, None] * motion.root_translation_m[i1]
    q = matrix_to_quat(motion.rotations)  # (T, J, 4)
    qo = quat_slerp(q[i0], q[i1], np.broadcast_to(w[:, None], (n_out, q.shape[1])))
    rot = quat_to_matrix(qo)
    exact = w == 0  # copy untouched matrices where no interpolation is needed
    rot[exact] = motion.rotations[i0[exact]]
    meta = dict(motion.meta, resampled_from_fps=motion.fps)
    return dataclasses.replace(motion, rotations=rot, root_translation_m=trans, fps=float(fps), meta=meta)


# ----------------------------------------------------------------------------- mirroring

# (left, right) spellings, tried in order; a pair is kept only when both names exist.
# Covers cgspeed MotionBuilder/3dsMax ('LeftArm'/'RightArm', 'LHipJoint'/'RHipJoint'), Daz ('lShldr'),
# ASF ('lfemur'/'rfemur') and exp-map end sites ('LThumb_End').
_LR_PATTERNS = [(r"Left", "Right"), (r"left", "right"), (r"^L(?=[A-Z])", "R"), (r"^l(?=[a-zA-Z])", "r")]


def mirror_pairs(joint_names: Sequence[str]) -> list[tuple[str, str]]:
    """(left, right) joint-name pairs found by name pattern (Left/Right, left/right, L/R and l/r prefixes).

    Args:
        joint_names: the skeleton's names.

    Returns:
        Pairs whose both names are in ``joint_names``, in the order of the left joint.
    """
    names = set(joint_names)
    pairs, used = [], set()
    for n in joint_names:
        if n in used:
            continue
        for pat, rep in _LR_PATTERNS:
            if re.search(pat, n):
                other = re.sub(pat, rep, n, count=1)
                if other in names and other != n and other not in used:
                    pairs.append((n, other))
                    used.update((n, other))
                    break
    return pairs


def left_right_mirror(motion: Motion, pairs: Sequence[tuple[str, str]] | None = None,
                      axis: int = 0) -> Motion:
    """Mirror a motion: swap left and right joints and reflect across the plane ``x[axis] = 0``.

    With the default axis 0 and a y-up source, the plane is the world y-z plane, i.e. the sagittal plane
    of a body facing +z or -z at x = 0 (a reflection about any other vertical plane differs from it only
    by a rotation about y, so it is the same augmentation).

    With S the reflection, joint j takes the data of its partner p(j):
    ``offset'_j = S offset_p(j)``, ``R'_j = S R_p(j) S`` and ``root' = S root``, which gives exactly
    ``FK'(t)[j] = S FK(t)[p(j)]`` (tested). Bone lengths therefore swap sides too.

    Args:
        motion: input clip.
        pairs: (left, right) names; None finds them with ``mirror_pairs``.
        axis: the coordinate negated, 0 (x) by default.

    Returns:
        A new Motion with the same joint names, ``meta['mirrored'] = True``.

    Raises:
        ValueError: a name in ``pairs`` is not a joint, or a joint is in two pairs.
    """
    if pairs is None:
        pairs = mirror_pairs(motion.joint_names)
    perm = np.arange(len(motion.joint_names))
    seen: set[str] = set()
    for left, right in pairs:
        for n in (left, right):
            if n not in motion.joint_names:
                raise ValueError(f"left_right_mirror: joint {n!r} is not in the skeleton")
            if n in seen:
                raise ValueError(f"left_right_mirror: joint {n!r} is in two pairs")
            seen.add(n)
        a, b = motion.index(left), motion.index(right)
        perm[a], perm[b] = b, a
    par = motion.parents
    if perm[0] != 0 or np.any(par[perm][1:] != perm[par[1:]]):
        raise ValueError("left_right_mirror: the pairs do not map the hierarchy onto itself "
                         "(a joint's partner must hang under the partner of its parent)")
    s = np.ones(3)
    s[axis] = -1.0
    smat = np.diag(s)
    rot = smat @ motion.rotations[:, perm] @ smat
    return dataclasses.replace(
        motion, offsets_m=motion.offsets_m[perm] * s, rotations=rot,
        root_translation_m=motion.root_translation_m * s, end_sites=motion.end_sites[perm],
        meta=dict(motion.meta, mirrored=not motion.meta.get("mirrored", False)))
