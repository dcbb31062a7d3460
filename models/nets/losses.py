"""Training losses shared by both nets (issue 4 item 2; seed 000 section 1.3 lists rotation, 3D joint,
K67 and 2D reprojection terms).

All inputs are flat over samples (N, ...); ``weight`` (N,) selects and weights the samples that count
(padding targets have weight 0). Distances in metres, box units for 2D.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from mocap.models.keypoints import LEFT_HAND, RIGHT_HAND
from mocap.models.nets.body_fk import SparseBody, posed_points, project_to_box
from mocap.models.nets.metrics import BODY_JOINTS
from mocap.models.nets.rotation import rot6d_to_rotmat


@dataclass
class LossWeights:
    rot: float = 1.0          # rotation matrices (Gram-Schmidt of the 6D), squared Frobenius / joint
    joints: float = 5.0       # root-relative joints, L1 metres
    k67: float = 5.0          # root-relative K67 points, L1 metres
    hands: float = 10.0       # K67 hand points relative to the hand's wrist point, L1 metres
    root: float = 1.0         # camera-space root joint, L1 metres
    reproj: float = 1.0       # 2D, box units, L1, visible points
    betas: float = 0.01
    contacts: float = 0.5
    body: float = 0.0         # extra root-relative L1 (metres) on the 22 body joints alone, on top of
                              # `joints` (which averages over all 55, 30 of them fingers); 0: no term


def _wmean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted mean over the first axis of a per-sample quantity (N,)."""
    return (x * w).sum() / w.sum().clamp_min(1.0)


def hand_relative(k67: torch.Tensor) -> torch.Tensor:
    """(N, 42, 3) the hands' K67 points minus their own wrist point (K67 hand index 0)."""
    return torch.cat([k67[:, sl] - k67[:, sl.start:sl.start + 1] for sl in (LEFT_HAND, RIGHT_HAND)], 1)


@dataclass
class Prediction:
    """Posed prediction of one batch of frames (camera space, metres)."""
    rotmats: torch.Tensor   # (N, 55, 3, 3)
    joints: torch.Tensor    # (N, 55, 3)
    k67: torch.Tensor       # (N, 67, 3)


def pose_prediction(body: SparseBody, pose_6d: torch.Tensor, betas: torch.Tensor, root_c: torch.Tensor) -> Prediction:
    R, joints, k67 = posed_points(body, pose_6d, betas, root_c)
    return Prediction(R, joints, k67)


def pose_losses(pred: Prediction, pose_6d: torch.Tensor, betas_pred: torch.Tensor, root_pred: torch.Tensor,
                t: dict[str, torch.Tensor], weight: torch.Tensor, w: LossWeights) -> dict[str, torch.Tensor]:
    """Loss terms (weighted, before summing) of a posed prediction against flat targets ``t``:
    pose_6d (N, 52, 6), betas (N, 10), root_c (N, 3) m, joints_c / k67_c (N, ., 3) mm, k67_box (N, 67, 2)
    clean points in the frame's box coordinates, visible (N, 67), global_info (N, 3)."""
    R_gt = rot6d_to_rotmat(t["pose_6d"])
    R_pred = rot6d_to_rotmat(pose_6d)
    j_gt, k_gt = t["joints_c"] / 1000.0, t["k67_c"] / 1000.0
    rel = lambda x, r: x - r[:, :1]   # noqa: E731 - root-relative
    proj = project_to_box(pred.k67, t["global_info"])
    vis = t["visible"]
    reproj = ((proj - t["k67_box"]).abs().sum(-1).clamp_max(1.0) * vis).sum(-1) / vis.sum(-1).clamp_min(1.0)
    terms = {
        "rot": w.rot * _wmean(((R_pred - R_gt) ** 2).sum((-2, -1)).mean(-1), weight),
        "joints": w.joints * _wmean((rel(pred.joints, pred.joints) - rel(j_gt, j_gt)).abs().sum(-1).mean(-1), weight),
        "k67": w.k67 * _wmean((rel(pred.k67, pred.joints) - rel(k_gt, j_gt)).abs().sum(-1).mean(-1), weight),
        "hands": w.hands * _wmean((hand_relative(pred.k67) - hand_relative(k_gt)).abs().sum(-1).mean(-1), weight),
        "root": w.root * _wmean((root_pred - t["root_c"]).abs().sum(-1), weight),
        "reproj": w.reproj * _wmean(reproj, weight),
        "betas": w.betas * _wmean(((betas_pred - t["betas"]) ** 2).mean(-1), weight),
    }
    if w.body:
        nb = len(BODY_JOINTS)
        terms["body"] = w.body * _wmean((rel(pred.joints[:, :nb], pred.joints)
                                         - rel(j_gt[:, :nb], j_gt)).abs().sum(-1).mean(-1), weight)
    return terms


def contact_loss(logits: torch.Tensor, contacts: torch.Tensor, weight: torch.Tensor, w: LossWeights) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, contacts, reduction="none").mean(-1)
    return w.contacts * _wmean(bce, weight)
