"""Train the pose-initialisation net on the proxy dataset (issue 4 item 4, stage 1 of seed 000's two).

    python -m mocap.models.nets.train_init --data ~/.cache/mocap/proxy --out runs/pose_init

Each sample is a chunk of the proxy data (``ProxyWindows(targets=N)``): 81 + N - 1 frames of
corrupted K67 with new random cameras and corruption every epoch, all N newest frames labelled, so
the temporal net computes N outputs in one pass. Checkpoints after every epoch (``last.pt``, resumed
with ``--resume``); ``--export PATH`` writes the final weights in the app's checkpoint format
(``models.nets.checkpoint``). Seeded: the same command gives the same weights on the same machine
and thread count.

``--init-from CKPT`` warm-starts from exported weights (e.g. the shipped ``pose_init.pt``): the net
starts from them, the optimiser and the cosine schedule start fresh (``--lr`` is the restart's peak),
and the export's meta keeps the earlier run's config and history under ``warm_start``.
``--body-weight W`` adds an L1 term on the 22 body joints alone (``LossWeights.body``);
``--contact-weight W`` sets the foot-contact term's weight (``LossWeights.contacts``).
``--device cuda`` puts the net, the body model and the losses on a GPU; the windows are still drawn on
the CPU, by ``--workers`` processes (7 per run kept an H100 busy with two runs side by side).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from mocap.engines.base import EngineError
from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets.body_fk import SparseBody
from mocap.models.nets.checkpoint import load_pose_init, read_checkpoint, save_checkpoint, scrub_paths
from mocap.models.nets.losses import LossWeights, contact_loss, pose_losses, pose_prediction
from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet
from mocap.models.proxy.dataset import ProxyWindows, target_frames

PER_TARGET = ("pose_6d", "root_c", "joints_c", "k67_c", "k67_px", "visible", "contacts", "target_valid")


@dataclass
class TrainInitConfig:
    data: str = "~/.cache/mocap/proxy"
    out: str = "runs/pose_init"
    epochs: int = 30
    batch_size: int = 24            # chunks per step
    targets: int = 32               # labelled frames per chunk
    lr: float = 1e-3
    lr_final: float = 3e-5          # cosine decay to this
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1                # on the 2-core machine one thread trained 3-10x faster than two
                                    # (the data worker and other work oversubscribe the cores)
    workers: int = 1
    steps_per_epoch: int = 0        # 0: the whole training split per epoch
    val_chunks: int = 600
    max_minutes: float = 0.0        # stop after this many minutes (0: no limit); the schedule still
                                    # spans `epochs`, so set both for a timed run
    init_from: str = ""            # warm start: exported weights (train_init --export) to start from
    device: str = "cpu"             # torch device of the nets and losses ("cuda" on a GPU machine);
                                    # the windows are drawn on the CPU by `workers` processes
    mirror: float = 0.0             # share of training samples drawn as their left-right mirror image
    net: PoseInitConfig = field(default_factory=PoseInitConfig)
    losses: LossWeights = field(default_factory=LossWeights)


def warm_start(net: PoseInitNet, path: str | Path) -> dict:
    """Load exported weights `path` into `net`; return the checkpoint's meta with its source file name,
    for the new export's ``warm_start`` entry. The configs must be equal except for ``causal``: a centred
    net may start from causal weights and back (the tensors are the same; only the input frame each
    block's residual is aligned with differs).

    Raises:
        ValueError: the checkpoint was written for another net config.
    """
    ckpt = read_checkpoint(path)
    theirs = dataclasses.asdict(load_pose_init(path).config)
    if dataclasses.asdict(dataclasses.replace(net.config, causal=theirs["causal"])) != theirs:
        raise ValueError(f"--init-from {path}: its net config {ckpt['config']} differs from this run's "
                         f"{dataclasses.asdict(net.config)} (pass the same --channels/--dropout/--centred)")
    net.load_state_dict(ckpt["state_dict"])
    return {"file": Path(path).name, **ckpt.get("meta", {})}


def flatten_targets(batch: dict[str, torch.Tensor], n: int, causal: bool) -> dict[str, torch.Tensor]:
    """Per-target arrays (B, n, ...) -> (B n, ...), plus the target frames' box, global info and the box
    coordinates of their clean points (where the targets sit in the chunk: ``target_frames``)."""
    t = {k: batch[k].flatten(0, 1) for k in PER_TARGET}
    b, frames = batch["k67_xy"].shape[:2]
    tgt = target_frames(frames, n, causal)
    t["box"] = box = batch["box"][:, tgt].flatten(0, 1)                          # (B n, 3)
    t["global_info"] = batch["global_info"][:, tgt].flatten(0, 1)
    t["k67_box"] = (t["k67_px"] - box[:, None, :2]) / (box[:, None, 2:3] / 2)
    t["betas"] = batch["betas"][:, None].expand(b, n, -1).flatten(0, 1)
    return t


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """The batch's tensors on `device` (no copy when they are there already)."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def compute_losses(net: PoseInitNet, body: SparseBody, batch: dict[str, torch.Tensor], n: int,
                   w: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    batch = to_device(batch, body.v_template.device)    # the body model sits where the net does
    out = net.forward_sequence(batch["k67_xy"], batch["mask"], batch["global_info"])
    t = flatten_targets(batch, n, net.config.causal)
    pose, betas, root = out.pose_6d.flatten(0, 1), out.betas.flatten(0, 1), out.root_c.flatten(0, 1)
    weight = t["target_valid"]
    pred = pose_prediction(body, pose, betas, root)
    terms = pose_losses(pred, pose, betas, root, t, weight, w)
    terms["contacts"] = contact_loss(out.contacts.flatten(0, 1), t["contacts"], weight, w)
    total = sum(terms.values())
    return total, {k: float(v.detach()) for k, v in terms.items()}


def _loader(ds: ProxyWindows, cfg: TrainInitConfig, epoch: int, shuffle: bool) -> DataLoader:
    ds.set_epoch(epoch)
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle, generator=g, num_workers=cfg.workers,
                      drop_last=shuffle, pin_memory=cfg.device != "cpu")


def train(cfg: TrainInitConfig, resume: bool = False, export: str | None = None) -> Path:
    out, data = start_run(cfg)
    train_ds = ProxyWindows(data, "train", window=81, causal=cfg.net.causal, seed=cfg.seed, targets=cfg.targets,
                            mirror=cfg.mirror)
    val_ds = ProxyWindows(data, "val", window=81, causal=cfg.net.causal, seed=cfg.seed + 1, targets=cfg.targets)
    body = SparseBody(load_body_model()).to(cfg.device)
    net = PoseInitNet(cfg.net)
    warm = warm_start(net, cfg.init_from) if cfg.init_from else None
    net.to(cfg.device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(train_ds) // cfg.batch_size
    if cfg.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, cfg.steps_per_epoch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch, eta_min=cfg.lr_final)
    start, history = 0, []
    last = out / "last.pt"
    if resume and last.is_file():
        ck = torch.load(last, weights_only=False, map_location=cfg.device)
        net.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, history = ck["epoch"] + 1, ck["history"]
        print(f"resumed from {last} at epoch {start}")
    t0 = time.monotonic()
    for epoch in range(start, cfg.epochs):
        net.train()
        sums: dict[str, float] = {}
        bar = tqdm(_loader(train_ds, cfg, epoch, True), total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}")
        for step, batch in enumerate(bar):
            if step >= steps_per_epoch:
                break
            loss, terms = compute_losses(net, body, batch, cfg.targets, cfg.losses)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        train_terms = {k: v / max(steps_per_epoch, 1) for k, v in sums.items()}
        val = validate(net, body, val_ds, cfg)
        history.append({"epoch": epoch, "minutes": (time.monotonic() - t0) / 60, "train": train_terms, "val": val})
        print(json.dumps(history[-1]))
        torch.save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "epoch": epoch, "history": history, "config": dataclasses.asdict(cfg)}, last)
        if out_of_time(t0, cfg.max_minutes):
            break
    finish_run(out, history, export, net, cfg.net, cfg, {"warm_start": warm} if warm else None)
    return last


def start_run(cfg) -> tuple[Path, Path]:
    """Seed torch and numpy, set torch's threads, make the output folder; (out, data) folders of `cfg`
    (any training config with seed, threads, out and data)."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    return out, Path(cfg.data).expanduser()


def run_cli(work: Callable[[], object]) -> int:
    """A training or evaluation command's exit status: 0 once `work` returns; 2 with a one-line
    ``error: ...`` on stderr when its input is bad (a missing proxy build or weights file, weights of
    another net config, a wrong flag value)."""
    try:
        work()
    except (FileNotFoundError, ValueError, EngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def out_of_time(t0: float, max_minutes: float) -> bool:
    """True (and says so) once `max_minutes` (> 0) have passed since monotonic time `t0`."""
    minutes = (time.monotonic() - t0) / 60
    if max_minutes and minutes > max_minutes:
        print(f"stopping after {minutes:.1f} min (max_minutes={max_minutes})")
        return True
    return False


def finish_run(out: Path, history: list, export: str | None, net: torch.nn.Module, net_config, train_config,
               extra_meta: dict | None = None) -> None:
    """Write OUT/history.json and, with `export`, the weights in the app's checkpoint format (meta: the
    training config without machine paths (`scrub_paths`), the history and `extra_meta`)."""
    (out / "history.json").write_text(json.dumps(history, indent=1))
    if export:
        Path(export).parent.mkdir(parents=True, exist_ok=True)
        meta = {"train_config": scrub_paths(dataclasses.asdict(train_config)), "history": history,
                **(extra_meta or {})}
        save_checkpoint(export, net.eval(), net_config, meta)
        print(f"wrote {export}")


@torch.no_grad()
def validate(net: PoseInitNet, body: SparseBody, ds: ProxyWindows, cfg: TrainInitConfig) -> dict:
    """Mean loss terms on (at most `max_chunks`) held-out chunks, eval mode."""
    net.eval()
    sub = torch.utils.data.Subset(ds, range(0, len(ds), max(1, len(ds) // cfg.val_chunks)))
    sums, n = {}, 0
    for batch in DataLoader(sub, batch_size=cfg.batch_size, num_workers=cfg.workers, pin_memory=cfg.device != "cpu"):
        _, terms = compute_losses(net, body, batch, cfg.targets, cfg.losses)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v
        n += 1
    return {k: v / max(n, 1) for k, v in sums.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Train the pose-initialisation net on proxy data.")
    d = TrainInitConfig()
    p.add_argument("--data", default=d.data, help="proxy dataset dir (proxy_train.npz, proxy_val.npz)")
    p.add_argument("--out", default=d.out, help="run dir for checkpoints and history")
    for name in ("epochs", "batch_size", "targets", "seed", "threads", "workers", "steps_per_epoch", "val_chunks",
                 "channels"):
        default = getattr(d.net if name == "channels" else d, name)
        p.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    for name in ("lr", "lr_final", "max_minutes", "mirror"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))
    p.add_argument("--body-weight", type=float, default=d.losses.body,
                   help="extra L1 weight on the 22 body joints (LossWeights.body; 0: no such term)")
    p.add_argument("--contact-weight", type=float, default=d.losses.contacts,
                   help="weight of the foot-contact BCE term (LossWeights.contacts)")
    p.add_argument("--init-from", default=d.init_from,
                   help="warm start from these exported weights (fresh optimiser and schedule)")
    p.add_argument("--dropout", type=float, default=d.net.dropout)
    p.add_argument("--device", default=d.device, help="torch device for the net and losses, e.g. cuda")
    p.add_argument("--centred", action="store_true", help="train the offline (centred) variant")
    p.add_argument("--no-partial", action="store_true",
                   help="ablation: zero-filled inputs and ordinary convolutions instead of partial ones")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--export", help="write the final weights in the app's checkpoint format to this path")
    a = p.parse_args(argv)
    net_cfg = PoseInitConfig(channels=a.channels, causal=not a.centred, partial=not a.no_partial, dropout=a.dropout)
    cfg = TrainInitConfig(data=a.data, out=a.out, epochs=a.epochs, batch_size=a.batch_size, targets=a.targets,
                          lr=a.lr, lr_final=a.lr_final, seed=a.seed, threads=a.threads, workers=a.workers,
                          max_minutes=a.max_minutes,
                          steps_per_epoch=a.steps_per_epoch, val_chunks=a.val_chunks, net=net_cfg,
                          init_from=a.init_from, device=a.device, mirror=a.mirror,
                          losses=LossWeights(body=a.body_weight, contacts=a.contact_weight))
    return run_cli(lambda: train(cfg, resume=a.resume, export=a.export))


if __name__ == "__main__":
    raise SystemExit(main())
