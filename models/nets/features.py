"""Input features shared by the two nets.

Hand keypoints in body-box coordinates span about a tenth of the box, so finger articulation is a
small signal there. Both nets therefore also see each hand in its own frame: the hand's 21 points
minus their (masked) centroid, divided by their (masked) RMS radius, the way hand-only methods crop
and normalise the hand (e.g. FrankMocap's separate hand crops). The body-box coordinates stay in
the input, so the hand's placement on the body is not lost.
"""
from __future__ import annotations

import torch

from mocap.models.keypoints import LEFT_HAND, RIGHT_HAND

HAND_SLICES = (LEFT_HAND, RIGHT_HAND)
NUM_HAND_LOCAL = 42   # 21 points x 2 hands
MIN_HAND_RADIUS = 1e-3


def hand_frame(p: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One hand's frame: (centre (..., 1, 2), RMS radius (..., 1, 1)) of its observed points.

    Args:
        p: (..., 21, 2) the hand's points; m: (..., 21, 1) float mask.
    """
    n = m.sum(-2, keepdim=True).clamp_min(1.0)
    centre = (p * m).sum(-2, keepdim=True) / n
    d = (p - centre) * m
    radius = ((d * d).sum((-2, -1), keepdim=True) / n).sqrt().clamp_min(MIN_HAND_RADIUS)
    return centre, radius


def hand_local(xy: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand-normalised keypoints.

    Args:
        xy: (..., 67, 2) K67 in box coordinates (missing points may hold anything finite).
        mask: (..., 67) float, 1 = observed.
    Returns:
        (local (..., 42, 2) left then right hand, centred on the hand's observed points and divided by
        their RMS radius, 0 where missing; mask (..., 42)).
    """
    locs, masks = [], []
    for sl in HAND_SLICES:
        p, m = xy[..., sl, :], mask[..., sl, None]
        centre, radius = hand_frame(p, m)
        locs.append((p - centre) * m / radius)
        masks.append(m[..., 0])
    return torch.cat(locs, -2), torch.cat(masks, -1)
