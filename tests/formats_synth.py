"""Synthetic takes for the output-format tests (no recorded data): small random poses plus known poses."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from mocap.app.take import Take
from mocap.models.body.smplx_layout import JOINT_INDEX, POSE_SLOTS
from mocap.models.body.smplx_model import SmplxOptions, load_body_model

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


@lru_cache(maxsize=1)
def _model64():
    return load_body_model(options=SmplxOptions(dtype=torch.float64))


def model_joints(take: Take) -> np.ndarray:
    """(T, 55, 3) joints of ``SmplxModel.forward`` (open model, float64) for the take, in the take's frame:
    the reference every exporter is checked against."""
    P = torch.as_tensor(take.poses, dtype=torch.float64).reshape(-1, 55, 3)
    kw = {name: P[:, a:a + n].reshape(len(P), -1) if n > 1 else P[:, a] for name, a, n in POSE_SLOTS}
    with torch.no_grad():
        out = _model64()(**kw, betas=torch.as_tensor(take.betas, dtype=torch.float64)[None].repeat(len(P), 1),
                         transl=torch.as_tensor(take.trans, dtype=torch.float64))
    return out.joints.numpy()
