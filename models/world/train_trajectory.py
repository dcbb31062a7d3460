"""Train the causal trajectory head (DESIGN 9) on the world-space proxy data.

Data: `<data>/proxy_{train,val}.npz` written by `python -m mocap.models.proxy.build` (world-space
SMPL-X joints `joints_w`, root orientation `global_orient`, `seq_start`, `fps`; the split is by
clip, so no validation clip is seen in training). Only the body motion is used here, no cameras.

    python -m mocap.models.world.train_trajectory --data ~/.cache/mocap/proxy --out runs/traj

Resumable: rerunning with the same --out continues from `last.pt` (wall time and step counted
across runs). `best.pt` holds the weights with the lowest validation loss.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from mocap.models.world.trajectory import (PSI_DIM, TrajectoryNet, TrajectoryNetConfig, egocentric_from_world,
                                           features, mirror_motion)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training options (all have CLI flags of the same name).

    Attributes:
        data: folder with proxy_train.npz / proxy_val.npz (or the train file itself).
        out: run folder (checkpoints, log).
        seed: seeds numpy and torch.
        crop: frames per training crop (shorter sequences are padded and masked).
        batch: crops per step.
        lr: Adam learning rate (cosine decay to lr/20 over max_steps).
        max_steps: optimiser steps.
        max_minutes: stop after this much training wall time (summed over resumed runs).
        val_every: steps between validations and checkpoints.
        traj_weight: weight of the integrated-trajectory loss (metres^2) against the psi loss.
        smooth_weight: weight of the loss on frame-to-frame changes of height and local rotation
            (normalised units), against jitter.
        mirror: add the left-right mirror image of every training sequence.
        input_noise_m: std of Gaussian noise added to the joint positions of each training crop
            (velocities see the same noise), as the live 3D pose is noisy.
        weight_decay: AdamW weight decay.
        hidden, embed, layers, dropout, skip, height_prior: net options (TrajectoryNetConfig).
        threads: torch threads.
        ship_to: when set, also write best.pt's weights alone (no optimiser state) to this path.
    """
    data: str = "~/.cache/mocap/proxy"
    out: str = "runs/trajectory"
    seed: int = 0
    crop: int = 120
    batch: int = 64
    lr: float = 2e-3
    max_steps: int = 7000
    max_minutes: float = 14.0
    val_every: int = 200
    traj_weight: float = 10.0
    smooth_weight: float = 0.0
    mirror: bool = False
    input_noise_m: float = 0.0
    weight_decay: float = 0.0
    hidden: int = 128
    embed: int = 128
    layers: int = 1
    dropout: float = 0.0
    skip: bool = False
    height_prior: bool = False
    threads: int = 1
    ship_to: str = ""

    def __post_init__(self) -> None:
        if self.crop < 2 or self.batch < 1 or self.max_steps < 1 or self.lr <= 0 or self.max_minutes <= 0:
            raise ValueError(f"TrainConfig: crop >= 2, batch >= 1, max_steps >= 1, lr > 0, max_minutes > 0; got {self}")


def split_file(data: str | Path, split: str) -> Path:
    """`<data>/proxy_<split>.npz`, or `data` itself when it is a file and split is 'train'."""
    p = Path(data)
    return p if p.is_file() and split == "train" else p / f"proxy_{split}.npz"


def prepare_split(path: str | Path, mirror: bool = False) -> dict[str, np.ndarray]:
    """Features and psi targets of every frame of one proxy split.

    Args:
        path: the split's npz.
        mirror: append the left-right mirror image of every sequence (`mirror_motion`).

    Returns:
        dict: feats (N, 126) float32, psi (N, 10) float64, seq_start (S+1,), fps (S,),
        joints_w (N, 22, 3), R_root (N, 3, 3), clip (S,).
    Raises:
        FileNotFoundError: no such file.
        ValueError: a key is missing, or the sequences' frame rates differ.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"proxy split {p} not found (build it with python -m mocap.models.proxy.build)")
    with np.load(p, allow_pickle=False) as z:
        missing = [k for k in ("joints_w", "global_orient", "seq_start", "fps") if k not in z.files]
        if missing:
            raise ValueError(f"{p}: keys {missing} missing, not a proxy split")
        joints = z["joints_w"][:, :22].astype(np.float64)
        go = z["global_orient"].astype(np.float64)
        starts = z["seq_start"].astype(np.int64)
        fps = z["fps"].astype(np.float64)
        clip = z["clip"] if "clip" in z.files else np.array([""] * len(fps))
    if np.ptp(fps) > 1e-6:
        raise ValueError(f"{p}: sequences have different frame rates {np.unique(fps)}; resample first")
    R = Rotation.from_rotvec(go).as_matrix()
    if mirror:
        Jm, Rm = mirror_motion(joints, R)
        joints, R = np.concatenate([joints, Jm]), np.concatenate([R, Rm])
        starts = np.concatenate([starts, starts[1:] + starts[-1]])
        fps, clip = np.concatenate([fps, fps]), np.concatenate([clip, clip])
    feats = np.zeros((joints.shape[0], 126), np.float32)
    psi = np.zeros((joints.shape[0], PSI_DIM))
    for s, e, f in zip(starts[:-1], starts[1:], fps):
        feats[s:e] = features(joints[s:e], R[s:e], float(f))
        psi[s:e] = egocentric_from_world(joints[s:e, 0], R[s:e])
    return {"feats": feats, "psi": psi, "seq_start": starts, "fps": fps, "joints_w": joints, "R_root": R,
            "clip": clip}


def sample_crops(rng: np.random.Generator, seq_start: np.ndarray, crop: int, batch: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices (batch, crop) and mask (batch, crop) of random crops.

    Sequences are drawn with probability proportional to their length; a crop of a shorter sequence
    starts at its first frame and is padded (index repeated, mask 0).
    """
    lengths = np.diff(seq_start)
    seq = rng.choice(len(lengths), size=batch, p=lengths / lengths.sum())
    idx = np.zeros((batch, crop), np.int64)
    mask = np.zeros((batch, crop), np.float32)
    for b, s in enumerate(seq):
        L = int(lengths[s])
        first = int(seq_start[s]) + (int(rng.integers(0, L - crop + 1)) if L > crop else 0)
        n = min(L, crop)
        idx[b, :n] = np.arange(first, first + n)
        idx[b, n:] = first + n - 1
        mask[b, :n] = 1
    return idx, mask


def integrate_crop(psi: torch.Tensor) -> torch.Tensor:
    """(B, T, 10) psi -> (B, T, 2) root x, z relative to the crop's first frame, in its heading frame."""
    dh = psi[..., 3].clone()
    dh[:, 0] = 0
    h = torch.cumsum(dh, 1)
    hp = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], 1)          # heading of the previous frame
    dx, dz = psi[..., 0].clone(), psi[..., 1].clone()
    dx[:, 0] = 0
    dz[:, 0] = 0
    # R_y(h) [dx, 0, dz] = (cos h dx + sin h dz, -sin h dx + cos h dz)
    wx = torch.cos(hp) * dx + torch.sin(hp) * dz
    wz = -torch.sin(hp) * dx + torch.cos(hp) * dz
    return torch.stack([torch.cumsum(wx, 1), torch.cumsum(wz, 1)], -1)


def losses(net: TrajectoryNet, feats: torch.Tensor, psi: torch.Tensor, mask: torch.Tensor,
           traj_weight: float, smooth_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Masked psi MSE (normalised units) + traj_weight x integrated root x-z MSE (m^2)
    + smooth_weight x MSE of the frame-to-frame changes of height and local 6D (normalised units)."""
    y, _ = net.forward_normalised(feats)
    prior = net.prior(feats)
    target = (psi - prior - net.psi_mean) / net.psi_std
    m = mask[..., None]
    l_psi = ((y - target) ** 2 * m).sum() / (m.sum() * PSI_DIM)
    m2 = (mask[:, 1:] * mask[:, :-1])[..., None]
    dy, dt = y[:, 1:, [2, 4, 5, 6, 7, 8, 9]] - y[:, :-1, [2, 4, 5, 6, 7, 8, 9]], \
        target[:, 1:, [2, 4, 5, 6, 7, 8, 9]] - target[:, :-1, [2, 4, 5, 6, 7, 8, 9]]
    l_smooth = ((dy - dt) ** 2 * m2).sum() / (m2.sum() * 7).clamp(min=1)
    pred = y * net.psi_std + net.psi_mean + prior
    # Padding frames carry no motion (dx, dz, dh) in either trajectory.
    motion = torch.zeros(PSI_DIM, dtype=m.dtype)
    motion[[0, 1, 3]] = 1
    keep = 1 - motion + motion * m
    pred, gt = pred * keep, psi * keep
    l_traj = (((integrate_crop(pred) - integrate_crop(gt)) ** 2).sum(-1) * mask).sum() / mask.sum()
    total = l_psi + traj_weight * l_traj + smooth_weight * l_smooth
    return total, {"psi": l_psi.item(), "traj_m2": l_traj.item(), "smooth": l_smooth.item(), "total": total.item()}


def _batch(data: dict, idx: np.ndarray, mask: np.ndarray, noise_m: float = 0.0,
           rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    feats = data["feats"][idx]
    if noise_m > 0:
        # The same position noise enters the velocities (their frame-to-frame difference x fps).
        n = (rng.standard_normal(feats[..., :63].shape) * noise_m).astype(np.float32)
        fps = float(data["fps"][0])
        dn = np.diff(n, axis=1, prepend=n[:, :1]) * fps
        feats = feats + np.concatenate([n, dn], -1)
    return (torch.as_tensor(feats), torch.as_tensor(data["psi"][idx], dtype=torch.float32), torch.as_tensor(mask))


def validate(net: TrajectoryNet, val: dict, batches: list[tuple[np.ndarray, np.ndarray]], traj_weight: float,
             smooth_weight: float = 0.0) -> dict:
    net.eval()
    out = {"psi": 0.0, "traj_m2": 0.0, "smooth": 0.0, "total": 0.0}
    with torch.no_grad():
        for idx, mask in batches:
            _, parts = losses(net, *_batch(val, idx, mask), traj_weight, smooth_weight)
            for k in out:
                out[k] += parts[k] / len(batches)
    net.train()
    return out


def train(cfg: TrainConfig) -> Path:
    """Train (or resume) and return the path of best.pt."""
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    train_data = prepare_split(split_file(cfg.data, "train"), mirror=cfg.mirror)
    val_data = prepare_split(split_file(cfg.data, "val"))
    fps = float(train_data["fps"][0])
    net_cfg = TrajectoryNetConfig(hidden=cfg.hidden, embed=cfg.embed, layers=cfg.layers, fps=fps, dropout=cfg.dropout,
                                  skip=cfg.skip, height_prior=cfg.height_prior)
    torch.manual_seed(cfg.seed)
    net = TrajectoryNet(net_cfg)
    net.set_normalisation(train_data["feats"], train_data["psi"])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.max_steps, eta_min=cfg.lr / 20)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed, best = 0, 0.0, float("inf")
    history: list[dict] = []
    last = out / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        step, elapsed, best, history = ck["step"], ck["elapsed_s"], ck["best"], ck["history"]
        log.info("resumed from %s at step %d (%.1f min)", last, step, elapsed / 60)
    vrng = np.random.default_rng(12345)                        # fixed validation crops
    val_batches = [sample_crops(vrng, val_data["seq_start"], cfg.crop, 64) for _ in range(8)]

    def save(path: Path) -> None:
        torch.save({"model": net.state_dict(), "net_config": asdict(net_cfg), "train_config": asdict(cfg),
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "step": step, "elapsed_s": elapsed, "best": best,
                    "history": history}, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    net.train()
    bar = tqdm(total=cfg.max_steps, initial=step, desc="trajectory", unit="step")
    t0 = time.perf_counter() - elapsed
    while step < cfg.max_steps and elapsed < cfg.max_minutes * 60:
        idx, mask = sample_crops(rng, train_data["seq_start"], cfg.crop, cfg.batch)
        loss, parts = losses(net, *_batch(train_data, idx, mask, cfg.input_noise_m, rng), cfg.traj_weight,
                             cfg.smooth_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        step += 1
        elapsed = time.perf_counter() - t0
        bar.update(1)
        bar.set_postfix(loss=f"{parts['total']:.3f}", traj=f"{parts['traj_m2']:.4f}")
        if step % cfg.val_every == 0 or step >= cfg.max_steps or elapsed >= cfg.max_minutes * 60:
            v = validate(net, val_data, val_batches, cfg.traj_weight, cfg.smooth_weight)
            history.append({"step": step, "minutes": elapsed / 60, "train": parts, "val": v})
            log.info("step %d val %s", step, v)
            if v["total"] < best:
                best = v["total"]
                save(out / "best.pt")
            save(last)
            (out / "history.json").write_text(json.dumps(history, indent=1))
    bar.close()
    if cfg.ship_to:
        ship(out / "best.pt", cfg.ship_to)
    return out / "best.pt"


def ship(checkpoint: str | Path, dst: str | Path) -> Path:
    """Write a checkpoint's weights and configs only (what load_trajectory_net needs), atomically."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    small = {k: ck[k] for k in ("model", "net_config", "train_config", "step", "elapsed_s")}
    small["val"] = ck["history"][-1]["val"] if ck.get("history") else None
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    torch.save(small, tmp)
    tmp.replace(dst)
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(f.default, bool):
            ap.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            ap.add_argument(flag, type=type(f.default), default=f.default)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    best = train(cfg)
    print(best)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
