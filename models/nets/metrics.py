"""Pose-accuracy metrics (DESIGN 11), torch, batched; inputs in millimetres, outputs in millimetres.

MPJPE: mean joint distance after moving both skeletons' root joints to the origin (HMR/SPIN practice).
PA-MPJPE: after a similarity Procrustes alignment of the prediction to the truth (Umeyama 1991:
rotation, uniform scale, translation), per sample.
"""
from __future__ import annotations

import torch

BODY_JOINTS = tuple(range(22))                      # SMPL-X pelvis .. wrists
LEFT_HAND_JOINTS = (20,) + tuple(range(25, 40))     # left wrist + 15 finger joints
RIGHT_HAND_JOINTS = (21,) + tuple(range(40, 55))    # right wrist + 15 finger joints


def mpjpe(pred: torch.Tensor, gt: torch.Tensor, root: int | None = 0) -> torch.Tensor:
    """(B,) mean distance over joints after subtracting joint `root` from each (None: no alignment)."""
    if root is not None:
        pred, gt = pred - pred[:, root:root + 1], gt - gt[:, root:root + 1]
    return (pred - gt).norm(dim=-1).mean(-1)


def procrustes_align(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) `pred` moved by the similarity transform that best fits it to `gt` (least squares)."""
    mp, mg = pred.mean(1, keepdim=True), gt.mean(1, keepdim=True)
    p, g = pred - mp, gt - mg
    var = (p * p).sum((1, 2))
    U, S, Vh = torch.linalg.svd(p.transpose(1, 2) @ g)            # (B, 3, 3): H = P^T G
    d = torch.sign(torch.linalg.det(Vh.transpose(1, 2) @ U.transpose(1, 2)))
    D = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    R = Vh.transpose(1, 2) @ D @ U.transpose(1, 2)                # rotation taking p to g
    scale = (S * torch.diagonal(D, dim1=1, dim2=2)).sum(-1) / var.clamp_min(1e-12)
    return scale[:, None, None] * (p @ R.transpose(1, 2)) + mg


def pa_mpjpe(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(B,) mean joint distance after Procrustes alignment."""
    return (procrustes_align(pred, gt) - gt).norm(dim=-1).mean(-1)
