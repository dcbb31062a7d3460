"""Neural descent net (DESIGN 7; issue 4 item 3): a learned optimiser for the current frame.

Seed 000 refines the initial estimate with a learned update rule instead of hand-tuned gradient
steps (in the spirit of learned gradient descent / HUND, reference smplx-and-nets.md 4.3; the exact
architecture is not published, so this one is ours). Each of ``iterations`` steps:

1. forward kinematics (``SparseBody``) of the current parameters -> K67 in camera space, metres;
2. projection into the frame's body box (``project_to_box``, CLIFF global information g);
3. masked 2D residuals r = (observed - projected) * mask in box units, and the same residuals of each
   hand in its own frame (divided by the observed hand's RMS radius, ``features.hand_local``): the
   cheap stand-in for gradient features, since d(loss)/d(params) is J^T r and the MLP learns J^T;
4. an MLP of [r, hand residuals, mask, projected points, current 6D pose, betas, root direction and
   log depth, g] -> an update: pose_6d += d, betas += d, root: x/z and y/z += d, z *= exp(d).

Every step has its own MLP (weights are not shared: the first step makes large corrections, later
ones small). The last layer starts at zero, so an untrained net returns its input.

Inputs and outputs are per frame (no time axis): ``pose_6d`` (B, 52, 6) as ``PoseInitNet``,
``betas`` (B, 10), ``root_c`` (B, 3) metres, observed ``k67_xy`` (B, 67, 2) box coordinates,
``mask`` (B, 67), ``global_info`` (B, 3).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mocap.models.keypoints import NUM_K67
from mocap.models.nets.body_fk import NUM_BETAS, SparseBody, posed_points, project_to_box
from mocap.models.nets.features import HAND_SLICES, NUM_HAND_LOCAL, hand_frame
from mocap.models.nets.pose_init import N_ROT

MAX_RESIDUAL = 2.0   # box units; a wild detection must not produce a wild step


@dataclass
class DescentConfig:
    """iterations: update steps; hidden: MLP width."""
    iterations: int = 3
    hidden: int = 512


@dataclass
class DescentState:
    pose_6d: torch.Tensor   # (B, 52, 6)
    betas: torch.Tensor     # (B, 10)
    root_c: torch.Tensor    # (B, 3) metres
    # the state posed (camera space, metres), filled by ``DescentNet.pose``
    rotmats: torch.Tensor | None = None   # (B, 55, 3, 3)
    joints_c: torch.Tensor | None = None  # (B, 55, 3)
    k67_c: torch.Tensor | None = None     # (B, 67, 3)


def hand_residuals(residual: torch.Tensor, xy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, 42, 2) each hand's residuals divided by the observed hand's RMS radius (box units)."""
    out = []
    for sl in HAND_SLICES:
        _, radius = hand_frame(xy[:, sl], mask[:, sl, None])
        out.append(residual[:, sl] / radius)
    return torch.cat(out, 1).clamp(-MAX_RESIDUAL * 10, MAX_RESIDUAL * 10)


class DescentNet(nn.Module):
    """Learned per-frame refinement of (pose, betas, root) towards the observed K67 (module docstring)."""

    def __init__(self, body: SparseBody, config: DescentConfig | None = None):
        super().__init__()
        self.config = cfg = config or DescentConfig()
        self.body = body
        n_feat = 2 * NUM_K67 + 2 * NUM_HAND_LOCAL + NUM_K67 + 2 * NUM_K67 + N_ROT * 6 + NUM_BETAS + 3 + 3
        self.n_out = N_ROT * 6 + NUM_BETAS + 3
        self.steps = nn.ModuleList()
        for _ in range(cfg.iterations):
            last = nn.Linear(cfg.hidden, self.n_out)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.steps.append(nn.Sequential(nn.Linear(n_feat, cfg.hidden), nn.ReLU(),
                                            nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), last))

    def pose(self, s: DescentState) -> DescentState:
        """Fill the state's posed joints and K67 (forward kinematics once per state)."""
        s.rotmats, s.joints_c, s.k67_c = posed_points(self.body, s.pose_6d, s.betas, s.root_c)
        return s

    def step(self, i: int, s: DescentState, k67_xy: torch.Tensor, mask: torch.Tensor,
             global_info: torch.Tensor) -> DescentState:
        b = mask.shape[0]
        proj = project_to_box(self.pose(s).k67_c, global_info)
        r = ((k67_xy - proj) * mask[..., None]).clamp(-MAX_RESIDUAL, MAX_RESIDUAL)
        z = s.root_c[:, 2:3].clamp_min(0.05)
        feat = torch.cat([r.reshape(b, -1), hand_residuals(r, k67_xy, mask).reshape(b, -1), mask,
                          proj.clamp(-3, 3).reshape(b, -1), s.pose_6d.reshape(b, -1), s.betas,
                          s.root_c[:, :2] / z, torch.log(z), global_info], 1)
        d = self.steps[i](feat)
        pose = s.pose_6d + d[:, :N_ROT * 6].reshape(b, N_ROT, 6)
        betas = s.betas + d[:, N_ROT * 6:N_ROT * 6 + NUM_BETAS]
        dr = d[:, -3:]
        z_new = z * torch.exp(dr[:, 2:3].clamp(-1, 1))
        root = torch.cat([(s.root_c[:, :2] / z + dr[:, :2]) * z_new, z_new], 1)
        return DescentState(pose, betas, root)

    def forward(self, pose_6d: torch.Tensor, betas: torch.Tensor, root_c: torch.Tensor, k67_xy: torch.Tensor,
                mask: torch.Tensor, global_info: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Refined (pose_6d (B, 52, 6), betas (B, 10), root_c (B, 3))."""
        s = self.forward_all(pose_6d, betas, root_c, k67_xy, mask, global_info)[-1]
        return s.pose_6d, s.betas, s.root_c

    def forward_all(self, pose_6d, betas, root_c, k67_xy, mask, global_info,
                    pose_last: bool = False) -> list[DescentState]:
        """The state after every step (for deep supervision in training); element 0 is the input. Every
        state but the last is posed (the last too with `pose_last`)."""
        mask = mask.to(k67_xy.dtype)
        k67_xy = torch.where(mask[..., None] > 0, k67_xy, torch.zeros((), dtype=k67_xy.dtype, device=k67_xy.device))
        states = [DescentState(pose_6d, betas, root_c)]
        for i in range(self.config.iterations):
            states.append(self.step(i, states[-1], k67_xy, mask, global_info))
        if pose_last:
            self.pose(states[-1])
        return states

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.steps.parameters())
