"""Train the causal trajectory head (DESIGN 9) on the world-space proxy data.

Data: `<data>/proxy_{train,val}.npz` written by `python -m mocap.models.proxy.build` (world-space
SMPL-X joints `joints_w`, root orientation `global_orient`, `seq_start`, `fps`; the split is by
clip, so no validation clip is seen in training). Only the body motion is used here, no cameras.

    python -m mocap.models.world.train_trajectory --data ~/.cache/mocap/proxy --out runs/traj

Resumable: rerunning with the same --out continues from `last.pt` (wall time and step counted
across runs). `best.pt` holds the weights with the lowest validation loss.

Input from the 3D nets (`--nets-train`, `--nets-val`): the head reads the body the live 3D nets give,
whose leg swing is damped against the mocap; trained on true poses only it under-reads speed from them.
With these options each training crop takes, with probability `--nets-fraction`, the features of the
shipped 3D nets run on the proxy's 2D keypoints (`evaluate_trajectory.nets_on_proxies`, cached in the
given npz files, computed there with `--nets3d` when missing) instead of the true body; the targets
stay the true trajectory. `--fast-weight` oversamples crops whose root moves faster than `--fast-speed`
(running is rare in the proxy clips). The speed distribution of the training crops is logged and
written to `<out>/data_stats.json`.
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

from mocap.models.nets.checkpoint import scrub_paths
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
        nets_train: npz cache of the 3D nets' outputs on the train split (`nets_on_proxies`); "" = true
            poses only. Made with `nets3d` when the file is missing.
        nets_val: the same for the val split (validation then mixes like training and logs both).
        nets3d: folder with the 3D nets' pose_init.pt / descent.pt ("" = the bundled models/nets/data),
            used only to make missing caches.
        nets_fraction: probability that a crop takes the nets' features instead of the true body's.
        fast_speed: horizontal root speed (m/s, mean over the crop) above which a crop is "fast".
        fast_weight: sampling weight of fast crop starts against 1 for the others (1 = uniform).
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
    nets_train: str = ""
    nets_val: str = ""
    nets3d: str = ""
    nets_fraction: float = 0.5
    fast_speed: float = 2.0
    fast_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.crop < 2 or self.batch < 1 or self.max_steps < 1 or self.lr <= 0 or self.max_minutes <= 0:
            raise ValueError(f"TrainConfig: crop >= 2, batch >= 1, max_steps >= 1, lr > 0, max_minutes > 0; got {self}")
        if not 0.0 <= self.nets_fraction <= 1.0 or self.fast_weight <= 0 or self.fast_speed <= 0:
            raise ValueError(f"TrainConfig: 0 <= nets_fraction <= 1, fast_weight > 0, fast_speed > 0; got {self}")


def split_file(data: str | Path, split: str) -> Path:
    """`<data>/proxy_<split>.npz`, or `data` itself when it is a file and split is 'train'."""
    p = Path(data)
    return p if p.is_file() and split == "train" else p / f"proxy_{split}.npz"


def prepare_split(path: str | Path, mirror: bool = False, nets: dict[str, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Features and psi targets of every frame of one proxy split.

    Args:
        path: the split's npz.
        mirror: append the left-right mirror image of every sequence (`mirror_motion`; the nets' body too).
        nets: the 3D nets' outputs on this split (`evaluate_trajectory.nets_on_proxies`, N frames): adds
            `feats_nets`, the features of the nets' body gravity-aligned with the proxy's true camera
            rotation (`evaluate_trajectory.nets_body`).

    Returns:
        dict: feats (N, 126) float32, psi (N, 10) float64, seq_start (S+1,), fps (S,),
        joints_w (N, 22, 3), R_root (N, 3, 3), clip (S,); feats_nets (N, 126) float32 with `nets`.
        N and S count the mirrored copies.
    Raises:
        FileNotFoundError: no such file.
        ValueError: a key is missing, the sequences' frame rates differ, or `nets` has another length.
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
        R_w2c = z["R_w2c"].astype(np.float64) if nets is not None else None
    if np.ptp(fps) > 1e-6:
        raise ValueError(f"{p}: sequences have different frame rates {np.unique(fps)}; resample first")
    J_nets = R_nets = None
    if nets is not None:
        from mocap.models.body.smplx_model import load_body_model
        from mocap.models.world.evaluate_trajectory import nets_body
        from mocap.models.world.stage import BodyRig

        if len(nets["valid"]) != joints.shape[0]:
            raise ValueError(f"{p}: the nets' outputs have {len(nets['valid'])} frames, the split {joints.shape[0]}")
        rig = BodyRig.from_model(load_body_model())
        J_nets, R_nets = np.zeros_like(joints), np.zeros((joints.shape[0], 3, 3))
        for s, e in zip(starts[:-1], starts[1:]):
            J_nets[s:e], R_nets[s:e] = nets_body({k: v[s:e] for k, v in nets.items()}, R_w2c[s:e], rig)
    R = Rotation.from_rotvec(go).as_matrix()
    if mirror:
        Jm, Rm = mirror_motion(joints, R)
        joints, R = np.concatenate([joints, Jm]), np.concatenate([R, Rm])
        if J_nets is not None:
            Jm, Rm = mirror_motion(J_nets, R_nets)
            J_nets, R_nets = np.concatenate([J_nets, Jm]), np.concatenate([R_nets, Rm])
        starts = np.concatenate([starts, starts[1:] + starts[-1]])
        fps, clip = np.concatenate([fps, fps]), np.concatenate([clip, clip])
    feats = np.zeros((joints.shape[0], 126), np.float32)
    feats_nets = None if J_nets is None else np.zeros_like(feats)
    psi = np.zeros((joints.shape[0], PSI_DIM))
    for s, e, f in zip(starts[:-1], starts[1:], fps):
        feats[s:e] = features(joints[s:e], R[s:e], float(f))
        psi[s:e] = egocentric_from_world(joints[s:e, 0], R[s:e])
        if feats_nets is not None:
            feats_nets[s:e] = features(J_nets[s:e], R_nets[s:e], float(f))
    out = {"feats": feats, "psi": psi, "seq_start": starts, "fps": fps, "joints_w": joints, "R_root": R, "clip": clip}
    if feats_nets is not None:
        out["feats_nets"] = feats_nets
    return out


def crop_speeds(data: dict[str, np.ndarray], crop: int, span_s: float = 1.0) -> np.ndarray:
    """(N,) per frame: the top horizontal root speed (m/s, world x-z) of the crop starting there, i.e.
    the largest displacement over `span_s` seconds within it divided by that time (the whole crop
    when shorter). Crops as `sample_crops`: to the sequence end when fewer than `crop` frames follow
    (0 is returned at frames where no crop starts)."""
    from scipy.ndimage import maximum_filter1d

    starts, fps = data["seq_start"], data["fps"]
    root = data["joints_w"][:, 0, [0, 2]]
    v = np.zeros(root.shape[0])
    for s, e, f in zip(starts[:-1], starts[1:], fps):
        L = int(e - s)
        if L < 2:
            continue
        m = min(L - 1, crop - 1, max(1, int(round(span_s * f))))
        r = root[s:e]
        sp = np.linalg.norm(r[m:] - r[:-m], axis=-1) * float(f) / m          # (L - m,) from each frame on
        n = min(crop, L) - m                                                  # span starts inside one crop
        top = maximum_filter1d(sp, size=n, origin=-(n // 2) if n > 1 else 0, mode="nearest") if n > 1 else sp
        k = max(1, L - crop + 1)
        v[s:s + k] = top[:k]
    return v


def speed_stats(speed: np.ndarray, starts_ok: np.ndarray, thresholds=(1.0, 1.5, 2.0, 2.5, 3.0)) -> dict:
    """Distribution of crop speeds (m/s) over the frames that can start a crop (`starts_ok`, bool)."""
    v = speed[starts_ok]
    return {"crops": int(v.size), "percentiles_m_s": {str(q): float(np.percentile(v, q)) for q in (50, 75, 90, 95, 99, 100)},
            "fraction_above_m_s": {str(t): float((v > t).mean()) for t in thresholds}}


def crop_start_weights(data: dict[str, np.ndarray], crop: int, fast_speed: float, fast_weight: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(weights (N,), speed (N,)): sampling weight of each frame as a crop start (0 where no crop starts;
    `fast_weight` where the crop is faster than `fast_speed` m/s, else 1) and the crops' speeds."""
    starts = data["seq_start"]
    ok = np.zeros(starts[-1], bool)
    for s, e in zip(starts[:-1], starts[1:]):
        ok[s:max(s + 1, e - crop + 1)] = True
    speed = crop_speeds(data, crop)
    w = np.where(ok, np.where(speed > fast_speed, fast_weight, 1.0), 0.0)
    return w, speed


def sample_crops(rng: np.random.Generator, seq_start: np.ndarray, crop: int, batch: int,
                 start_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices (batch, crop) and mask (batch, crop) of random crops.

    Without `start_weights` sequences are drawn with probability proportional to their length and the
    crop's start uniformly within; a crop of a shorter sequence starts at its first frame and is padded
    (index repeated, mask 0). With `start_weights` (N,) the start frame is drawn with those weights
    (`crop_start_weights`; 0 where no crop may start).
    """
    lengths = np.diff(seq_start)
    if start_weights is None:
        seq = rng.choice(len(lengths), size=batch, p=lengths / lengths.sum())
        firsts = [int(seq_start[s]) + (int(rng.integers(0, lengths[s] - crop + 1)) if lengths[s] > crop else 0)
                  for s in seq]
    else:
        firsts = list(rng.choice(len(start_weights), size=batch, p=start_weights / start_weights.sum()))
        seq = np.searchsorted(seq_start, firsts, side="right") - 1
    idx = np.zeros((batch, crop), np.int64)
    mask = np.zeros((batch, crop), np.float32)
    for b, (s, first) in enumerate(zip(seq, firsts)):
        n = min(int(seq_start[s + 1]) - int(first), crop)
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
           rng: np.random.Generator | None = None, use_nets: np.ndarray | None = None
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features (B, T, 126), psi targets (B, T, 10), mask (B, T)) of crops `idx`; crops where `use_nets`
    (B,) is True take the 3D nets' features (`feats_nets`)."""
    feats = data["feats"][idx]
    if use_nets is not None and use_nets.any():
        feats[use_nets] = data["feats_nets"][idx[use_nets]]
    if noise_m > 0:
        # The same position noise enters the velocities (their frame-to-frame difference x fps).
        n = (rng.standard_normal(feats[..., :63].shape) * noise_m).astype(np.float32)
        fps = float(data["fps"][0])
        dn = np.diff(n, axis=1, prepend=n[:, :1]) * fps
        feats = feats + np.concatenate([n, dn], -1)
    return (torch.as_tensor(feats), torch.as_tensor(data["psi"][idx], dtype=torch.float32), torch.as_tensor(mask))


def validate(net: TrajectoryNet, val: dict, batches: list[tuple[np.ndarray, np.ndarray]], traj_weight: float,
             smooth_weight: float = 0.0, nets_fraction: float = 0.0) -> dict:
    """Mean losses over fixed validation crops. With the nets' features in `val`, the losses on true
    poses and on the nets' poses are computed for every crop, reported as `true_*` / `nets_*`, and the
    plain keys mix them as training does: (1 - nets_fraction) true + nets_fraction nets."""
    net.eval()
    keys = ("psi", "traj_m2", "smooth", "total")
    sources = ("true", "nets") if "feats_nets" in val else ("true",)
    out = {f"{src}_{k}": 0.0 for src in sources for k in keys}
    with torch.no_grad():
        for idx, mask in batches:
            for src in sources:
                use = np.full(len(idx), src == "nets")
                _, parts = losses(net, *_batch(val, idx, mask, use_nets=use), traj_weight, smooth_weight)
                for k in keys:
                    out[f"{src}_{k}"] += parts[k] / len(batches)
    f = nets_fraction if "feats_nets" in val else 0.0
    for k in keys:
        out[k] = (1 - f) * out[f"true_{k}"] + f * out.get(f"nets_{k}", 0.0)
    net.train()
    return out


def load_nets(cfg: TrainConfig, split: str) -> dict[str, np.ndarray] | None:
    """The 3D nets' outputs on one split from `cfg.nets_train` / `cfg.nets_val` (made when missing);
    None when that option is empty."""
    cache = cfg.nets_train if split == "train" else cfg.nets_val
    if not cache:
        return None
    from mocap.models.nets.checkpoint import DATA_DIR
    from mocap.models.world.evaluate_trajectory import nets_on_proxies

    cache = Path(cache).expanduser()
    if not cache.is_file():
        log.info("running the 3D nets on the %s split (cached in %s)", split, cache)
    return nets_on_proxies(Path(cfg.data).expanduser(), cfg.nets3d or DATA_DIR, cache, split=split)


def train(cfg: TrainConfig) -> Path:
    """Train (or resume) and return the path of best.pt."""
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    train_data = prepare_split(split_file(cfg.data, "train"), mirror=cfg.mirror, nets=load_nets(cfg, "train"))
    val_data = prepare_split(split_file(cfg.data, "val"), nets=load_nets(cfg, "val"))
    use_nets = "feats_nets" in train_data and cfg.nets_fraction > 0
    weights, speed = crop_start_weights(train_data, cfg.crop, cfg.fast_speed, cfg.fast_weight)
    stats = {"uniform": speed_stats(speed, weights > 0),
             "fast_crop_share_sampled": float(weights[speed > cfg.fast_speed].sum() / weights.sum())}
    log.info("training crops (%d frames): speed %s; share of fast crops (> %.1f m/s) as sampled: %.3f",
             cfg.crop, stats["uniform"], cfg.fast_speed, stats["fast_crop_share_sampled"])
    fps = float(train_data["fps"][0])
    net_cfg = TrajectoryNetConfig(hidden=cfg.hidden, embed=cfg.embed, layers=cfg.layers, fps=fps, dropout=cfg.dropout,
                                  skip=cfg.skip, height_prior=cfg.height_prior)
    torch.manual_seed(cfg.seed)
    net = TrajectoryNet(net_cfg)
    if use_nets:
        net.set_normalisation(np.concatenate([train_data["feats"], train_data["feats_nets"]]),
                              np.concatenate([train_data["psi"], train_data["psi"]]))
    else:
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
    (out / "data_stats.json").write_text(json.dumps(stats, indent=1))
    start_weights = weights if cfg.fast_weight != 1.0 else None

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
        idx, mask = sample_crops(rng, train_data["seq_start"], cfg.crop, cfg.batch, start_weights)
        nets_crops = rng.random(cfg.batch) < cfg.nets_fraction if use_nets else None
        loss, parts = losses(net, *_batch(train_data, idx, mask, cfg.input_noise_m, rng, nets_crops), cfg.traj_weight,
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
            v = validate(net, val_data, val_batches, cfg.traj_weight, cfg.smooth_weight,
                         cfg.nets_fraction if use_nets else 0.0)
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
    """Write a checkpoint's weights and configs only (what load_trajectory_net needs), atomically; the
    training config's machine paths replaced by placeholders (`scrub_paths`)."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    small = {k: ck[k] for k in ("model", "net_config", "train_config", "step", "elapsed_s")}
    small["train_config"] = scrub_paths(small["train_config"])
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
