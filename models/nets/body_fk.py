"""`SparseBody`: the SMPL-X skeleton and the detector-consistent K67 points, without the full mesh.

Training losses and the neural-descent net need joints and K67 points for thousands of frames per
step; the full forward pass skins all vertices (13,718 for the open mesh, 10,475 for SMPL-X). The K67
points need only a few hundred of them (the detector regressor's vertices and the model's own K67
vertices), so this module keeps just those: shape blend, joint regression (J_regressor folded into
the template and shape directions, exact), pose blend and skinning on the subset. Same maths as
`mocap.models.body.lbs` (Loper et al. 2015; Pavlakos et al. 2019), same outputs as
`SmplxModel` + `DetectorPoints` (tested).

Frames: the model frame (metres, y up, face +z) before translation.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mocap.models.body import lbs
from mocap.models.body.detector_points import DetectorPoints
from mocap.models.body.smplx_layout import NUM_JOINTS
from mocap.models.body.smplx_model import SmplxModel
from mocap.models.keypoints import NUM_K67
from mocap.models.nets.rotation import rot6d_to_rotmat

# Joints the nets do not predict (jaw, left eye, right eye; SMPL-X joints 22-24) stay at rest.
FIXED_JOINTS = (22, 23, 24)
# Net rotation order (52): global orient (0), body (1..21), left hand (25..39), right hand (40..54).
NET_TO_SMPLX = tuple(range(22)) + tuple(range(25, 55))
NUM_BETAS = 10


def full_rotmats(rot52: torch.Tensor) -> torch.Tensor:
    """(B, 52, 3, 3) net rotations -> (B, 55, 3, 3) SMPL-X rotations with identity jaw and eyes."""
    eye = torch.eye(3, dtype=rot52.dtype, device=rot52.device).expand(rot52.shape[0], 3, 3, 3)
    return torch.cat([rot52[:, :22], eye, rot52[:, 22:]], 1)


class SparseBody(nn.Module):
    """Joints (B, 55, 3) and K67 points (B, 67, 3) from rotations and betas, model frame, metres."""

    def __init__(self, model: SmplxModel, points: DetectorPoints | None = None, num_betas: int = NUM_BETAS):
        super().__init__()
        points = points or DetectorPoints.load(model)
        reg = points.regressor
        gather = model._k67_gather.cpu().numpy()      # joint id, or 55 + vertex id
        used = set(int(v) for k in range(NUM_K67) if reg.fitted[k] for v, w in zip(reg.indices[k], reg.weights[k])
                   if w > 0)
        used |= set(int(g - NUM_JOINTS) for k, g in enumerate(gather) if not reg.fitted[k] and g >= NUM_JOINTS)
        subset = np.array(sorted(used), np.int64)
        pos = {v: i for i, v in enumerate(subset)}
        # k67 = W @ cat(joints, subset vertices)
        W = np.zeros((NUM_K67, NUM_JOINTS + len(subset)))
        for k in range(NUM_K67):
            if reg.fitted[k]:
                for v, w in zip(reg.indices[k], reg.weights[k]):
                    if w > 0:
                        W[k, NUM_JOINTS + pos[int(v)]] += w
            elif gather[k] >= NUM_JOINTS:
                W[k, NUM_JOINTS + pos[int(gather[k] - NUM_JOINTS)]] = 1.0
            else:
                W[k, gather[k]] = 1.0
        dt = model.v_template.dtype
        sd = model.shapedirs[:, :, :num_betas]
        idx = torch.as_tensor(subset)
        self.register_buffer("j_template", model.J_regressor @ model.v_template)                 # (55, 3)
        self.register_buffer("j_dirs", torch.einsum("jv,vdk->jdk", model.J_regressor, sd))     # (55, 3, nb)
        self.register_buffer("v_template", model.v_template[idx])                                # (S, 3)
        self.register_buffer("v_dirs", sd[idx])                                                   # (S, 3, nb)
        self.register_buffer("posedirs", model.posedirs[idx])                                     # (S, 3, 486)
        self.register_buffer("weights", model.weights[idx])                                       # (S, 55)
        self.register_buffer("k67_weights", torch.as_tensor(W, dtype=dt))                         # (67, 55 + S)
        self.parents = model.parents
        self.num_betas = num_betas
        # tree levels: joints grouped by depth; each level's parents are positions in the level above
        depth = [0] * len(self.parents)
        for j in range(1, len(self.parents)):
            depth[j] = depth[self.parents[j]] + 1
        levels = [[j for j in range(len(depth)) if depth[j] == d] for d in range(max(depth) + 1)]
        self._levels = [torch.as_tensor(lv) for lv in levels]
        self._level_parents = [torch.as_tensor([levels[d - 1].index(self.parents[j]) for j in levels[d]])
                               for d in range(1, len(levels))]
        flat = [j for lv in levels for j in lv]
        self._order = torch.as_tensor([flat.index(j) for j in range(len(flat))])
        self._parent_or_self = torch.as_tensor([0] + list(self.parents[1:]))

    def _apply(self, fn, recurse=True):
        """`.to(device)` etc. also move the index tensors of the tree levels (plain attributes, since a
        list of tensors cannot be a buffer); an index left on the CPU would copy to the GPU every call."""
        super()._apply(fn, recurse)
        self._levels = [fn(t) for t in self._levels]
        self._level_parents = [fn(t) for t in self._level_parents]
        self._order, self._parent_or_self = fn(self._order), fn(self._parent_or_self)
        return self

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        """(B, 55, 3) rest-pose joints for `betas` (B, nb)."""
        return self.j_template + torch.einsum("bk,jdk->bjd", betas, self.j_dirs)

    def forward(self, rotmats: torch.Tensor, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """rotmats (B, 55, 3, 3) local SMPL-X rotations, betas (B, nb) -> (joints (B, 55, 3), k67 (B, 67, 3)),
        model frame before translation (the root joint sits at the rest root joint)."""
        j_rest = self.rest_joints(betas)
        v = self.v_template + torch.einsum("bk,vdk->bvd", betas, self.v_dirs)
        v = v + lbs.pose_blend_offsets(rotmats, self.posedirs)
        Rg, joints = self._chain(rotmats, j_rest)
        # skinning without 4x4 matrices: v' = (sum_j w_vj Rg_j) v + sum_j w_vj (t_j - Rg_j J_j)
        offset = joints - (Rg @ j_rest[..., None])[..., 0]
        A = torch.einsum("vj,bjrc->bvrc", self.weights, Rg)
        verts = (A @ v[..., None])[..., 0] + torch.einsum("vj,bjr->bvr", self.weights, offset)
        k67 = torch.einsum("kn,bnd->bkd", self.k67_weights, torch.cat([joints, verts], 1))
        return joints, k67

    def _chain(self, rotmats: torch.Tensor, j_rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward kinematics one tree level at a time (11 batched steps for SMPL-X instead of 55
        sequential ones; same result as ``lbs.forward_kinematics``): global rotations (B, 55, 3, 3)
        and posed joints (B, 55, 3)."""
        rel = j_rest - j_rest[:, self._parent_or_self]
        Rg, tg = [rotmats[:, :1]], [j_rest[:, :1]]
        for joints, parent_pos in zip(self._levels[1:], self._level_parents):
            Rp, tp = Rg[-1][:, parent_pos], tg[-1][:, parent_pos]
            Rg.append(Rp @ rotmats[:, joints])
            tg.append(tp + (Rp @ rel[:, joints, :, None])[..., 0])
        return torch.cat(Rg, 1)[:, self._order], torch.cat(tg, 1)[:, self._order]


def project_to_box(points_c: torch.Tensor, global_info: torch.Tensor, min_depth: float = 0.05) -> torch.Tensor:
    """Camera-space points (B, N, 3) metres -> box coordinates (B, N, 2) (as ``ProxyWindows.k67_xy``).

    With g = [c_x - p_x, c_y - p_y, b] / f (CLIFF, per frame, (B, 3)): u = f X / Z + p_x and the box
    coordinate (u - c_x) / (b / 2) = (X / Z - g_0) * 2 / g_2 (likewise y). Depth clamped at `min_depth`.
    """
    z = points_c[..., 2:3].clamp_min(min_depth)
    return (points_c[..., :2] / z - global_info[:, None, :2]) * (2 / global_info[:, None, 2:3])


def posed_points(body: SparseBody, pose_6d: torch.Tensor, betas: torch.Tensor, root_c: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Net outputs -> (rotmats (B, 55, 3, 3), joints_c (B, 55, 3), k67_c (B, 67, 3)) in camera space, metres:
    the model-frame points moved so that the root joint lands on `root_c`."""
    R = full_rotmats(rot6d_to_rotmat(pose_6d))
    joints, k67 = body(R, betas)
    shift = root_c[:, None] - joints[:, :1]
    return R, joints + shift, k67 + shift
