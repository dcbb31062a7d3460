"""Left-right mirror images of SMPL-X poses, joints and K67 keypoints (a reflection x -> -x).

The reflection is M = diag(-1, 1, 1) about the y-z plane of whichever frame the values are in:
the camera (x = image right; mirroring the camera frame is flipping the image horizontally) or a
y-up world. A mirrored body is the body whose joint rotations are M R M with left and right swapped:
in axis-angle (x, y, z) -> (x, -y, -z), as the common flip augmentation of SMPL-based nets does.
This is exact for the joints when the rest skeleton is left-right symmetric (the SMPL-X templates
are, to a fraction of a millimetre).

Functions take NumPy arrays or torch tensors (any leading axes) and return the same kind.
"""
from __future__ import annotations

import numpy as np
import torch

from mocap.models.body.smplx_layout import JOINT_NAMES
from mocap.models.keypoints import BODY25_NAMES, LEFT_HAND, RIGHT_HAND

Array = np.ndarray | torch.Tensor

# Contact points in the proxies' and the nets' order: LHeel, LBigToe, RHeel, RBigToe (docs/proxy.md).
CONTACT_MIRROR = np.array([2, 3, 0, 1])
# 6D rotation [first column, second column] of M R M: first column (x, -y, -z), second (-x, y, z).
ROT6D_SIGNS = np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])
AXIS_ANGLE_SIGNS = np.array([1.0, -1.0, -1.0])
POINT_SIGNS = np.array([-1.0, 1.0, 1.0])


def _swap_sides(names: tuple[str, ...], pairs: tuple[tuple[str, str], ...]) -> np.ndarray:
    """Index of each name's mirror partner (itself when it has no side)."""
    index = {n: i for i, n in enumerate(names)}
    out = np.arange(len(names))
    for i, n in enumerate(names):
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if n.startswith(x) and y + n[len(x):] in index:
                    out[i] = index[y + n[len(x):]]
    return out


JOINT_MIRROR = _swap_sides(JOINT_NAMES, (("left_", "right_"),))      # (55,) SMPL-X joints
# (67,) BODY_25 (L/R names swapped) + the hands swapped as blocks (their names repeat the body's "LWrist")
K67_MIRROR = np.r_[_swap_sides(BODY25_NAMES, (("L", "R"),)), RIGHT_HAND.start:RIGHT_HAND.stop,
                   LEFT_HAND.start:LEFT_HAND.stop]
# The nets' 52 rotations: root, 21 body joints, 15 left-hand, 15 right-hand (joints 0-21, 25-54).
_ROT_JOINTS = np.r_[0:22, 25:55]
ROT52_MIRROR = np.searchsorted(_ROT_JOINTS, JOINT_MIRROR[_ROT_JOINTS])


def _signs(x: Array, s: np.ndarray) -> Array:
    return torch.as_tensor(s, dtype=x.dtype, device=x.device) if isinstance(x, torch.Tensor) else s


def mirror_rotmat(R: Array) -> Array:
    """(..., 3, 3) rotation matrices reflected: M R M (no reordering)."""
    return R * _signs(R, POINT_SIGNS[:, None] * POINT_SIGNS[None, :])


def mirror_points(points: Array, order: np.ndarray) -> Array:
    """(..., N, 3) points: x negated, points reordered by `order` (JOINT_MIRROR or K67_MIRROR)."""
    return points[..., order, :] * _signs(points, POINT_SIGNS)


def mirror_axis_angle(pose: Array, order: np.ndarray | None = None) -> Array:
    """(..., J, 3) axis-angle rotations: (x, -y, -z), joints reordered by `order` (None: as they are)."""
    out = pose if order is None else pose[..., order, :]
    return out * _signs(pose, AXIS_ANGLE_SIGNS)


def mirror_rot6d(pose_6d: Array, order: np.ndarray = ROT52_MIRROR) -> Array:
    """(..., J, 6) 6D rotations (``mocap.models.nets.rotation``) of the mirrored body."""
    return pose_6d[..., order, :] * _signs(pose_6d, ROT6D_SIGNS)


def mirror_box_xy(xy: Array) -> Array:
    """(..., 67, 2) K67 in box coordinates (or about the principal point) of the flipped image."""
    return xy[..., K67_MIRROR, :] * _signs(xy, np.array([-1.0, 1.0]))
