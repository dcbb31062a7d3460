"""Small randomly initialised 3D nets written in the checkpoint format (for tests; never committed)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from mocap.models.nets.checkpoint import DESCENT_FILE, POSE_INIT_FILE, save_checkpoint
from mocap.models.nets.descent import DescentConfig, DescentNet
from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet

POSE_INIT_CONFIG = PoseInitConfig(channels=48)
DESCENT_CONFIG = DescentConfig(iterations=2, hidden=48)


def random_nets(body, seed: int = 0, causal: bool = True) -> tuple[PoseInitNet, DescentNet]:
    """Both nets with every weight random (the descent net's zero-initialised last layers too) and
    non-trivial BatchNorm statistics, so an export that dropped a layer or a mode would show."""
    g = torch.Generator().manual_seed(seed)
    init = PoseInitNet(dataclasses.replace(POSE_INIT_CONFIG, causal=causal))
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


def write_random_nets(folder: Path, body, seed: int = 0, causal: bool = True,
                      names: tuple[str, str] = (POSE_INIT_FILE, DESCENT_FILE)) -> tuple[Path, Path]:
    """Write the init and descent nets (causal or centred init) into folder as `names`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    init, descent = random_nets(body, seed, causal)
    meta = {"note": f"random weights, seed {seed} (tests)"}
    return (save_checkpoint(folder / names[0], init, init.config, meta),
            save_checkpoint(folder / names[1], descent, DESCENT_CONFIG, meta))
