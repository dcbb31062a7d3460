"""Synthetic takes for the output-format tests (no recorded data): small random poses plus known poses."""
from __future__ import annotations

import numpy as np

from mocap.app.take import Take
from mocap.models.body.smplx_layout import JOINT_INDEX

ARM_RAISE_FRAME = 0   # frame whose only non-zero joint rotation is the right arm raised 90 degrees


def synthetic_take(T: int = 12, fps: float = 30.0, seed: int = 0, frame: str = "world") -> Take:
    """A plausible take: small random axis-angles (0.25 rad std, root turned up to a full turn),
    a walking root; frame 0 is a T-pose with the right arm raised 90 degrees at the shoulder."""
    rng = np.random.default_rng(seed)
    poses = rng.normal(0.0, 0.25, (T, 55, 3))
    poses[:, 0] = rng.uniform(-np.pi, np.pi, (T, 3)) * np.array([0.2, 1.0, 0.2])
    poses[ARM_RAISE_FRAME] = 0.0
    # Right arm along -X in the T-pose; a -90 degree turn about Z points it up (+Y).
    poses[ARM_RAISE_FRAME, JOINT_INDEX["right_shoulder"]] = [0.0, 0.0, -np.pi / 2]
    trans = np.stack([np.linspace(0, 1.5, T), 0.9 + 0.02 * np.sin(np.arange(T)), np.linspace(0, -0.7, T)], 1)
    betas = rng.normal(0.0, 1.0, 10)
    return Take(poses=poses.reshape(T, 165).astype(np.float32), trans=trans.astype(np.float32),
                betas=betas.astype(np.float32), fps=fps, frame=frame)
