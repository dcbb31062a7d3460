"""Body-model maths as pure torch functions: Rodrigues, blend shapes, joint regression, pose blend,
forward kinematics and linear blend skinning, batched over B.

Frames: the model's rest frame (SMPL-X: metres, Y up, face toward +Z, the subject's left at +X).
Each joint's rotation is relative to its parent, in axes aligned with the rest frame (identity rest
frames), as in SMPL/SMPL-X (Loper et al. 2015, eqs. 1-4; Pavlakos et al. 2019). Formulas are
restated from the papers and shared reference "smplx-and-nets" section 1.3, not copied.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

# Below this angle (rad) the Rodrigues coefficients use their Taylor series: sin(a)/a and
# (1 - cos a)/a^2 lose all precision near 0 in float32, the series are exact to O(a^4) there.
_SMALL_ANGLE = 1e-4


def axis_angle_to_rotmat(axis_angle: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors to rotation matrices (Rodrigues), exact and differentiable at 0.

    R = I + (sin a / a) K + ((1 - cos a) / a^2) K^2, with a = |theta| and K the cross-product
    matrix of theta itself (not of the unit axis), so a = 0 gives I without dividing by zero.

    Args:
        axis_angle: (..., 3) rotation vectors, angle in radians = norm, axis = direction.
    Returns:
        (..., 3, 3) rotation matrices R with R @ v rotating column vectors v.
    """
    angle_sq = (axis_angle * axis_angle).sum(-1, keepdim=True)            # (..., 1)
    small = angle_sq < _SMALL_ANGLE ** 2
    safe_sq = torch.where(small, torch.ones_like(angle_sq), angle_sq)
    safe = safe_sq.sqrt()
    sinc = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(safe) / safe)
    cosc = torch.where(small, 0.5 - angle_sq / 24.0, (1.0 - torch.cos(safe)) / safe_sq)
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*axis_angle.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + sinc[..., None] * K + cosc[..., None] * (K @ K)


def blend_shapes(coeffs: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Linear vertex offsets sum_k coeffs[b, k] * dirs[v, :, k] (shape or expression blend).

    Args:
        coeffs: (B, K) coefficients (betas and/or expression), unitless.
        dirs: (V, 3, K) blend directions, metres per unit coefficient, rest frame.
    Returns:
        (B, V, 3) offsets in metres, rest frame.
    """
    return torch.einsum("bk,vdk->bvd", coeffs, dirs)


def regress_joints(J_regressor: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
    """Joint locations as fixed linear combinations of vertices.

    Args:
        J_regressor: (J, V) weights, each row normally sums to 1.
        vertices: (B, V, 3) vertices in metres.
    Returns:
        (B, J, 3) joints in metres, same frame as the vertices.
    """
    return torch.einsum("jv,bvd->bjd", J_regressor, vertices)


def pose_blend_offsets(rotmats: torch.Tensor, posedirs: torch.Tensor) -> torch.Tensor:
    """Pose-corrective vertex offsets, linear in (R_j - I) of the non-root joints.

    Feature index 9 * (j - 1) + 3 * r + c holds (R_j - I)[r, c] for joints j = 1..J-1 (row-major
    flatten), which is the layout of the SMPL-X file's `posedirs` (V, 3, 9 * (J - 1)).

    Args:
        rotmats: (B, J, 3, 3) local joint rotations; the root (joint 0) is ignored.
        posedirs: (V, 3, 9 * (J - 1)) corrective directions, metres per unit feature, rest frame.
    Returns:
        (B, V, 3) offsets in metres, rest frame.
    """
    B = rotmats.shape[0]
    eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
    features = (rotmats[:, 1:] - eye).reshape(B, -1)                      # (B, 9 (J - 1))
    return torch.einsum("bk,vdk->bvd", features, posedirs)


def forward_kinematics(
    rotmats: torch.Tensor, joints_rest: torch.Tensor, parents: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose the skeleton: chain local rotations along the kinematic tree.

    G_0 = [R_0 | J_0], G_j = G_parent(j) [R_j | J_j - J_parent(j)]; the root therefore pivots
    about the rest root joint J_0, not about the origin.

    Args:
        rotmats: (B, J, 3, 3) local rotations (relative to the parent, rest-frame axes).
        joints_rest: (B, J, 3) rest-pose joints in metres.
        parents: J parent indices, parents[0] = -1 and parents[j] < j for j > 0.
    Returns:
        joints_posed: (B, J, 3) posed joints in metres, model frame (before translation).
        transforms: (B, J, 4, 4) skinning transforms A_j = [Rg_j | t_j - Rg_j J_j] that move a
            rest-pose point rigidly attached to joint j to its posed place.
    """
    B, J = joints_rest.shape[:2]
    rel = joints_rest.clone()
    rel[:, 1:] -= joints_rest[:, list(parents[1:])]
    rot_world = [rotmats[:, 0]]                                           # each (B, 3, 3)
    pos_world = [joints_rest[:, 0]]                                       # each (B, 3)
    for j in range(1, J):
        p = parents[j]
        rot_world.append(rot_world[p] @ rotmats[:, j])
        pos_world.append(pos_world[p] + (rot_world[p] @ rel[:, j, :, None])[..., 0])
    Rg = torch.stack(rot_world, 1)                                        # (B, J, 3, 3)
    tg = torch.stack(pos_world, 1)                                        # (B, J, 3)
    transforms = torch.zeros(B, J, 4, 4, dtype=Rg.dtype, device=Rg.device)
    transforms[..., :3, :3] = Rg
    transforms[..., :3, 3] = tg - (Rg @ joints_rest[..., None])[..., 0]
    transforms[..., 3, 3] = 1.0
    return tg, transforms


def linear_blend_skinning(
    vertices: torch.Tensor, weights: torch.Tensor, transforms: torch.Tensor
) -> torch.Tensor:
    """Skin vertices: v' = (sum_j w_vj A_j) [v; 1].

    Args:
        vertices: (B, V, 3) rest-frame vertices in metres (shaped and pose-corrected).
        weights: (V, J) skinning weights, rows summing to 1.
        transforms: (B, J, 4, 4) skinning transforms from `forward_kinematics`.
    Returns:
        (B, V, 3) posed vertices in metres, model frame (before translation).
    """
    T = torch.einsum("vj,bjrc->bvrc", weights, transforms[..., :3, :])    # (B, V, 3, 4)
    return (T[..., :3] @ vertices[..., None])[..., 0] + T[..., 3]
