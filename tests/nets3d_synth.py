"""Small randomly initialised 3D nets written in the checkpoint format (for tests; never committed)."""
from __future__ import annotations

from pathlib import Path

import torch

from mocap.models.nets.checkpoint import DESCENT_FILE, POSE_INIT_FILE, save_checkpoint
from mocap.models.nets.descent import DescentConfig, DescentNet
from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet

POSE_INIT_CONFIG = PoseInitConfig(channels=48)
DESCENT_CONFIG = DescentConfig(iterations=2, hidden=48)


def random_nets(body, seed: int = 0) -> tuple[PoseInitNet, DescentNet]:
    """Both nets with every weight random (the descent net's zero-initialised last layers too) and
    non-trivial BatchNorm statistics, so an export that dropped a layer or a mode would show."""
    g = torch.Generator().manual_seed(seed)
    init = PoseInitNet(POSE_INIT_CONFIG)
    descent = DescentNet(body, DESCENT_CONFIG)
    with torch.no_grad():
        for net, std in ((init, 0.05), (descent, 0.01)):
            for name, p in net.named_parameters():
                p.copy_(torch.randn(p.shape, generator=g) * std)
        for m in init.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return init.eval(), descent.eval()


def write_random_nets(folder: Path, body, seed: int = 0) -> tuple[Path, Path]:
    """Write pose_init.pt and descent.pt into folder; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    init, descent = random_nets(body, seed)
    meta = {"note": f"random weights, seed {seed} (tests)"}
    return (save_checkpoint(folder / POSE_INIT_FILE, init, POSE_INIT_CONFIG, meta),
            save_checkpoint(folder / DESCENT_FILE, descent, DESCENT_CONFIG, meta))
