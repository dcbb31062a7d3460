"""Causal trajectory head (DESIGN 9, issue 5 item 2): egocentric trajectory maths and a small GRU.

The representation follows GLAMR (Yuan et al., CVPR 2022, section 3.2 and appendix D; restated in
reference/smplx-and-nets.md section 7), rewritten here for a y-up world (ground plane x-z) and for
causal, per-frame use:

* heading h_t: the yaw of the root orientation about world +y, measured so that the body's forward
  axis (SMPL-X model +z) points along (sin h, 0, cos h) in world;
* psi_t = (dx_t, dz_t, y_t, dh_t, local6d_t), 10 numbers per frame:
  - (dx_t, dz_t): root-joint displacement since the previous frame, in the previous frame's heading
    frame: R_y(h_{t-1})^T (p_t - p_{t-1}), x and z components (metres per frame);
  - y_t: the root joint's height above the ground plane y = 0 (metres);
  - dh_t = wrap(h_t - h_{t-1}) (radians per frame). GLAMR stores (cos dh, sin dh); a per-frame turn
    is far below pi at video rates, so one angle loses nothing and needs no normalisation;
  - local6d_t: the root orientation with the heading removed, R_y(h_t)^T R_t, as 6D (first two
    columns, [R00 R10 R20 R01 R11 R21]: the convention of models/proxy/generate.axis_angle_to_rot6d).
  On the first frame of a sequence dx = dz = dh = 0 (no previous frame): integration starts from a
  given position and heading.
* net input per frame: the 21 body joints (SMPL-X joints 1..21) relative to the root joint and
  rotated into the current heading frame, R_y(h_t)^T (J_t - J_root,t), plus their change since the
  previous frame times the frame rate. GLAMR's context encoder sees root-relative joints of the body
  pose with zero global orientation and a bidirectional LSTM; ours keeps the root tilt (pitch/roll
  relative to gravity) in the input, because a live world stage knows gravity from the calibration,
  and uses a unidirectional GRU whose hidden state carries across frames.

Integrating psi (`world_from_egocentric`) gives the world root trajectory and orientation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mocap.models.body.mirror import JOINT_MIRROR, mirror_points, mirror_rotmat
from mocap.models.proxy.generate import rot6d_to_rotmat
from mocap.models.world.transform import yaw_matrix

NUM_BODY_JOINTS = 22          # SMPL-X joints 0..21: pelvis (root) + 21 body joints
FEATURE_DIM = 2 * (NUM_BODY_JOINTS - 1) * 3      # 126: positions and velocities of joints 1..21
PSI_DIM = 10                  # dx, dz, y, dh, local 6D
# The shipped weights (models/world/data/NOTICE says how they were trained).
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "trajectory_gru.pt"


# ----------------------------------------------------------------------------- numpy maths

def heading_angle(R_root_w: np.ndarray) -> np.ndarray:
    """Heading (yaw about world +y) of root orientations.

    Args:
        R_root_w: (..., 3, 3) root orientation, model -> world (y up).
    Returns:
        (...) radians in (-pi, pi]: the model's forward axis +z projects onto (sin h, 0, cos h).
        A forward axis pointing straight up or down has no heading; atan2(0, 0) = 0 is returned.
    """
    f = R_root_w[..., :, 2]
    return np.arctan2(f[..., 0], f[..., 2])


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def rotmat_to_rot6d(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): first two columns, [R00 R10 R20 R01 R11 R21]."""
    return np.concatenate([R[..., :, 0], R[..., :, 1]], -1)


def egocentric_from_world(root_w: np.ndarray, R_root_w: np.ndarray) -> np.ndarray:
    """World root trajectory -> egocentric psi (module docstring).

    Args:
        root_w: (T, 3) root joint (pelvis) in world, metres, y up, ground y = 0.
        R_root_w: (T, 3, 3) root orientation, model -> world.
    Returns:
        (T, 10) psi; row 0 has dx = dz = dh = 0.
    """
    h = heading_angle(R_root_w)
    Ry = yaw_matrix(h)                                              # (T, 3, 3)
    psi = np.zeros((root_w.shape[0], PSI_DIM))
    d = np.diff(root_w, axis=0)                                     # (T-1, 3) world
    d_h = np.einsum("tji,tj->ti", Ry[:-1], d)                       # R_y(h_{t-1})^T d
    psi[1:, 0], psi[1:, 1] = d_h[:, 0], d_h[:, 2]
    psi[:, 2] = root_w[:, 1]
    psi[1:, 3] = wrap_angle(np.diff(h))
    psi[:, 4:] = rotmat_to_rot6d(np.einsum("tji,tjk->tik", Ry, R_root_w))
    return psi


def world_from_egocentric(psi: np.ndarray, start_xz: np.ndarray, start_heading: float
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate psi into a world trajectory (the inverse of `egocentric_from_world`).

    Args:
        psi: (T, 10); row 0's dx, dz, dh are ignored.
        start_xz: (2,) world x, z of the root joint at frame 0.
        start_heading: heading at frame 0, radians.
    Returns:
        (root_w (T, 3), R_root_w (T, 3, 3), heading (T,)) in world.
    """
    dh = psi[:, 3].copy()
    dh[0] = 0.0
    h = start_heading + np.cumsum(dh)
    Ry = yaw_matrix(h)
    step = np.zeros((psi.shape[0], 3))
    step[1:, 0], step[1:, 2] = psi[1:, 0], psi[1:, 1]
    step_w = np.zeros_like(step)
    step_w[1:] = np.einsum("tij,tj->ti", Ry[:-1], step[1:])        # R_y(h_{t-1}) [dx, 0, dz]
    root = np.cumsum(step_w, axis=0)
    root[:, 0] += start_xz[0]
    root[:, 2] += start_xz[1]
    root[:, 1] = psi[:, 2]
    R = np.einsum("tij,tjk->tik", Ry, rot6d_to_rotmat(psi[:, 4:]))
    return root, R, h


def mirror_motion(joints_w: np.ndarray, R_root_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left-right mirror image of a motion about the world's y-z plane (a data augmentation).

    Joints: x negated and left/right swapped (``mocap.models.body.mirror``); root orientation M R M with
    M = diag(-1, 1, 1) (the body's own x axis points to its left, so the mirrored body frame is
    mirrored too).

    Args:
        joints_w: (T, 22, 3); R_root_w: (T, 3, 3).
    """
    return mirror_points(joints_w[:, :NUM_BODY_JOINTS], JOINT_MIRROR[:NUM_BODY_JOINTS]), mirror_rotmat(R_root_w)


def local_joints(joints_w: np.ndarray, R_root_w: np.ndarray) -> np.ndarray:
    """Root-relative, heading-aligned body joints: R_y(h_t)^T (J_t - J_root,t).

    Args:
        joints_w: (T, >=22, 3) SMPL-X joints in world (or any gravity-aligned, y-up frame), metres.
        R_root_w: (T, 3, 3) root orientation in the same frame.
    Returns:
        (T, 21, 3) joints 1..21, metres.
    """
    Ry = yaw_matrix(heading_angle(R_root_w))
    rel = joints_w[:, 1:NUM_BODY_JOINTS] - joints_w[:, :1]
    return np.einsum("tji,tnj->tni", Ry, rel)


def features(joints_w: np.ndarray, R_root_w: np.ndarray, fps: float,
             prev_local: np.ndarray | None = None) -> np.ndarray:
    """Net input per frame: heading-aligned root-relative joints and their velocity.

    Args:
        joints_w: (T, >=22, 3), R_root_w: (T, 3, 3) as `local_joints`.
        fps: frame rate (velocities in metres per second).
        prev_local: (21, 3) the `local_joints` of the frame before joints_w[0] (live use); None at the
            start of a sequence, where the first velocity is 0.
    Returns:
        (T, 126) float32: 63 positions then 63 velocities.
    """
    loc = local_joints(joints_w, R_root_w)
    prev = loc[:1] if prev_local is None else prev_local[None]
    vel = np.diff(np.concatenate([prev, loc]), axis=0) * fps
    T = loc.shape[0]
    return np.concatenate([loc.reshape(T, -1), vel.reshape(T, -1)], 1).astype(np.float32)


# ----------------------------------------------------------------------------- the net

@dataclass(frozen=True)
class TrajectoryNetConfig:
    """Sizes of the trajectory head.

    Attributes:
        hidden: GRU state size (the state carried across frames).
        embed: width of the per-frame input MLP and of the output MLP.
        layers: GRU layers.
        fps: frame rate the net was trained at (its outputs are per frame at this rate).
        dropout: dropout after the input MLP (training only; no weights, so checkpoints load either way).
        skip: add a per-frame linear path from the input embedding to the output, beside the GRU
            (height and root tilt are nearly functions of the current pose; the GRU keeps the dynamics).
        height_prior: predict the root height as the lowest body joint's depth below the root plus a
            learnt residual (a foot is usually near the ground); the residual covers jumps and lying.
    """
    hidden: int = 128
    embed: int = 128
    layers: int = 1
    fps: float = 30.0
    dropout: float = 0.0
    skip: bool = False
    height_prior: bool = False

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.embed < 1 or self.layers < 1 or self.fps <= 0:
            raise ValueError(f"TrajectoryNetConfig sizes and fps must be positive, got {self}")


class TrajectoryNet(nn.Module):
    """Features (B, T, 126) -> psi (B, T, 10), with a GRU state (layers, B, hidden).

    Input normalisation and output scaling are buffers (set from the training data), so the net
    takes raw features and returns psi in physical units (metres, radians per frame).
    """

    def __init__(self, config: TrajectoryNetConfig = TrajectoryNetConfig()):
        super().__init__()
        self.config = config
        c = config
        self.inp = nn.Sequential(nn.Linear(FEATURE_DIM, c.embed), nn.ReLU(), nn.Dropout(c.dropout))
        self.gru = nn.GRU(c.embed, c.hidden, num_layers=c.layers, batch_first=True)
        self.out = nn.Sequential(nn.Linear(c.hidden, c.embed), nn.ReLU(), nn.Linear(c.embed, PSI_DIM))
        self.skip = nn.Linear(c.embed, PSI_DIM) if c.skip else None
        self.register_buffer("feat_mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("feat_std", torch.ones(FEATURE_DIM))
        self.register_buffer("psi_mean", torch.zeros(PSI_DIM))
        self.register_buffer("psi_std", torch.ones(PSI_DIM))

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        """(layers, batch, hidden) zeros: the state at the start of a sequence."""
        return torch.zeros(self.config.layers, batch, self.config.hidden, dtype=self.feat_mean.dtype,
                           device=self.feat_mean.device)

    def forward_normalised(self, feats: torch.Tensor, state: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 126) -> (normalised psi (B, T, 10), state (layers, B, hidden))."""
        x = self.inp((feats - self.feat_mean) / self.feat_std)
        if state is None:
            state = self.initial_state(feats.shape[0])
        y, state = self.gru(x, state)
        y = self.out(y)
        if self.skip is not None:
            y = y + self.skip(x)
        return y, state

    def prior(self, feats: torch.Tensor) -> torch.Tensor:
        """(..., 126) raw features -> (..., 10) the part of psi not learnt: zeros, except the root
        height -min_j (J_j - J_root)_y when `height_prior` (positions come first, x y z per joint)."""
        out = torch.zeros(feats.shape[:-1] + (PSI_DIM,), dtype=feats.dtype, device=feats.device)
        if self.config.height_prior:
            low = -torch.amin(feats[..., 1:63:3], dim=-1)
            out = torch.cat([out[..., :2], low[..., None], out[..., 3:]], -1)
        return out

    def forward(self, feats: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 126) features, optional state -> (psi (B, T, 10) physical units, new state)."""
        y, state = self.forward_normalised(feats, state)
        return y * self.psi_std + self.psi_mean + self.prior(feats), state

    @torch.no_grad()
    def set_normalisation(self, feats: np.ndarray, psi: np.ndarray) -> None:
        """Set the buffers from training arrays (N, 126) and (N, 10) (the learnt part: psi - prior)."""
        psi = psi - self.prior(torch.as_tensor(feats)).double().numpy()
        self.feat_mean.copy_(torch.as_tensor(feats.mean(0)))
        self.feat_std.copy_(torch.as_tensor(np.maximum(feats.std(0), 1e-3)))
        self.psi_mean.copy_(torch.as_tensor(psi.mean(0)))
        self.psi_std.copy_(torch.as_tensor(np.maximum(psi.std(0), 1e-4)))


class TrajectoryStep(nn.Module):
    """One frame: (features (B, 126), state (layers, B, hidden)) -> (psi (B, 10), state). The ONNX form."""

    def __init__(self, net: TrajectoryNet):
        super().__init__()
        self.net = net

    def forward(self, feats: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        psi, state = self.net(feats[:, None, :], state)
        return psi[:, 0], state


def load_trajectory_net(path) -> TrajectoryNet:
    """Load a checkpoint written by train_trajectory (keys 'model', 'net_config').

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a trajectory-head checkpoint.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"trajectory checkpoint {p} not found")
    ck = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(ck, dict) or "model" not in ck or "net_config" not in ck:
        raise ValueError(f"{p} is not a trajectory-head checkpoint (keys 'model', 'net_config' missing)")
    net = TrajectoryNet(TrajectoryNetConfig(**ck["net_config"]))
    net.load_state_dict(ck["model"])
    return net.eval()


class TrajectoryTracker:
    """Live use: one frame at a time, state carried across frames, integrated world trajectory.

    Owned by one thread. `reset()` at a cut or when the person is lost.
    """

    def __init__(self, net: TrajectoryNet, start_xz=(0.0, 0.0), start_heading: float = 0.0):
        self.net = net.eval()
        self.start_xz, self.start_heading = np.asarray(start_xz, np.float64), float(start_heading)
        self.reset()

    def reset(self) -> None:
        self.state = self.net.initial_state(1)
        self.prev_local: np.ndarray | None = None
        self.xz = self.start_xz.copy()
        self.heading = self.start_heading
        self.frames = 0

    @torch.no_grad()
    def step(self, joints: np.ndarray, R_root: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Args:
            joints: (>=22, 3) SMPL-X joints in a gravity-aligned y-up frame (any heading), metres.
            R_root: (3, 3) root orientation in the same frame.
        Returns:
            (psi (10,), root_w (3,), R_root_w (3, 3)) in the integrated world frame.
        """
        f = features(joints[None], R_root[None], self.net.config.fps, self.prev_local)
        self.prev_local = local_joints(joints[None], R_root[None])[0]
        psi, self.state = self.net(torch.as_tensor(f)[None], self.state)
        psi = psi[0, 0].double().numpy()
        if self.frames > 0:           # frame 0 starts at start_xz / start_heading (psi's dx, dz, dh unused)
            step = yaw_matrix(self.heading) @ np.array([psi[0], 0.0, psi[1]])
            self.xz = self.xz + step[[0, 2]]
            self.heading = float(wrap_angle(self.heading + psi[3]))
        self.frames += 1
        root = np.array([self.xz[0], psi[2], self.xz[1]])
        R = yaw_matrix(self.heading) @ rot6d_to_rotmat(psi[4:])
        return psi, root, R
