"""Rotation conversions for the nets, torch (differentiable, ONNX-exportable) and NumPy.

6D convention (reference smplx-and-nets.md section 3; Zhou et al. CVPR 2019): the first two COLUMNS of
R, column after column, [R00 R10 R20 R01 R11 R21], as `mocap.models.proxy.generate.axis_angle_to_rot6d`.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch.nn import functional as F


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt on the two columns, third column their cross product."""
    a1, a2 = x[..., :3], x[..., 3:]
    b1 = F.normalize(a1, dim=-1, eps=1e-6)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=1e-6)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], -1)


def rotmat_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6) [first column, second column]."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], -1)


def rot6d_to_axis_angle_np(x: np.ndarray) -> np.ndarray:
    """(..., 6) NumPy 6D -> (..., 3) axis-angle (radians), via Gram-Schmidt and SciPy."""
    R = rot6d_to_rotmat(torch.as_tensor(np.asarray(x, np.float64))).numpy()
    return Rotation.from_matrix(R.reshape(-1, 3, 3)).as_rotvec().reshape(x.shape[:-1] + (3,))
