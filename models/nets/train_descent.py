"""Train the neural-descent net with the initialisation net frozen (issue 4 item 3; seed 000's second
stage).

    python -m mocap.models.nets.train_descent --data ~/.cache/mocap/proxy --init models/nets/data/pose_init.pt \
        --out runs/descent --export models/nets/data/descent.pt

1. The frozen init net runs over ``passes`` epochs of proxy chunks (new cameras and corruption each
   pass) and its per-frame outputs are kept with the frame's observed keypoints and targets (a few
   hundred MB of float32 in memory, nothing written). With ``--noisy-dropout P`` every second pass runs
   it with its dropout active at P: on its own training clips the init net errs less than on new ones,
   and the noisy passes show the descent net errors of the held-out size.
2. The descent net trains on those frames: every step's state is supervised (weights rising to the
   last step) with the 3D terms of ``losses.pose_losses`` plus a robust fit term, the L1 distance of
   the projected K67 to the OBSERVED keypoints (masked, clamped), so that the net learns to fit the
   evidence of the current frame rather than only to smooth; ``--body-weight W`` adds the extra term on
   the 22 body joints (``LossWeights.body``).

``--init-from CKPT`` fine-tunes exported descent weights (e.g. the shipped ``descent.pt``, after the
init net changed) instead of starting from the identity; with more ``--iterations`` than it has, its
steps come first and the new last ones start as the identity. The export's meta keeps the earlier run's
config and history under ``warm_start``. ``--device cuda`` runs both nets, the collected frames (they
stay on the GPU) and the losses there.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets.body_fk import SparseBody, project_to_box
from mocap.models.nets.descent import DescentConfig, DescentNet
from mocap.models.nets.losses import LossWeights, Prediction, pose_losses
from mocap.models.nets.pose_init import PoseInitNet
from mocap.models.nets.checkpoint import DATA_DIR, POSE_INIT_FILE, load_descent, load_pose_init, read_checkpoint
from mocap.models.nets.train_init import finish_run, flatten_targets, out_of_time, run_cli, start_run, to_device
from mocap.models.proxy.corrupt import CorruptionOptions
from mocap.models.proxy.dataset import ProxyWindows, target_frames

FRAME_KEYS = ("init_pose_6d", "init_betas", "init_root_c", "init_contacts", "obs_xy", "obs_mask", "global_info", "box",
              "pose_6d", "betas", "root_c", "joints_c", "k67_c", "k67_box", "visible", "contacts")


@dataclass
class TrainDescentConfig:
    data: str = "~/.cache/mocap/proxy"
    init: str = ""                  # init-net weights (train_init --export); "": the bundled ones
    out: str = "runs/descent"
    passes: int = 2                 # epochs of chunks run through the frozen init net
    epochs: int = 4                 # over the collected frames
    batch_size: int = 512           # frames per step
    lr: float = 5e-4
    lr_final: float = 1e-5
    seed: int = 0
    threads: int = 1
    workers: int = 1
    max_minutes: float = 0.0
    chunks: int = 0                 # chunks per pass (0: the whole split)
    fit_weight: float = 2.0         # observed-keypoint fit term (box units, L1, clamped)
    init_from: str = ""             # warm start: exported descent weights to fine-tune
    device: str = "cpu"             # torch device of the nets, the collected frames and the losses
    mirror: float = 0.0             # share of training chunks drawn as their left-right mirror image
    noisy_dropout: float = 0.0      # every second pass runs the init net with dropout this high (0: off)
    net: DescentConfig = field(default_factory=DescentConfig)
    losses: LossWeights = field(default_factory=LossWeights)


@contextlib.contextmanager
def dropout_active(net: torch.nn.Module, p: float) -> Iterator[None]:
    """Within the block, `net`'s dropout layers drop with probability `p` (batch norm stays frozen);
    `p` = 0 changes nothing. Their modes and probabilities are restored afterwards."""
    drops = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)] if p > 0 else []
    saved = [(m.training, m.p) for m in drops]
    for m in drops:
        m.train()
        m.p = p
    try:
        yield
    finally:
        for m, (training, old_p) in zip(drops, saved):
            m.train(training)
            m.p = old_p


@torch.no_grad()
def collect_frames(init: PoseInitNet, ds: ProxyWindows, passes: int, batch_size: int = 24, workers: int = 1,
                   max_chunks: int = 0, desc: str = "init outputs", noisy_dropout: float = 0.0) -> dict[str, torch.Tensor]:
    """Run the frozen init net over `passes` epochs of `ds` chunks (at most `max_chunks` each, evenly
    spread, 0 = all); valid target frames only, on the init net's device. With `noisy_dropout` > 0 every
    second pass runs the init net with its dropout active at that probability (``dropout_active``)."""
    if ds.causal != init.config.causal:
        raise ValueError(f"the windows are {'causal' if ds.causal else 'centred'}, the init net is not")
    device = next(init.parameters()).device
    n = ds.targets
    sub = torch.utils.data.Subset(ds, range(0, len(ds), max(1, len(ds) // max_chunks)) if max_chunks else range(len(ds)))
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in FRAME_KEYS}
    for p in range(passes):
        ds.set_epoch(1000 + p)
        noisy = noisy_dropout if p % 2 else 0.0
        with dropout_active(init, noisy):
            for batch in tqdm(DataLoader(sub, batch_size=batch_size, num_workers=workers),
                              desc=f"{desc} pass {p + 1}" + (f" (dropout {noisy:g})" if noisy else "")):
                batch = to_device(batch, device)
                out = init.forward_sequence(batch["k67_xy"], batch["mask"], batch["global_info"])
                t = flatten_targets(batch, n, init.config.causal)
                keep = t["target_valid"] > 0
                tgt = target_frames(batch["k67_xy"].shape[1], n, init.config.causal)
                obs = {"init_pose_6d": out.pose_6d.flatten(0, 1), "init_betas": out.betas.flatten(0, 1),
                       "init_root_c": out.root_c.flatten(0, 1), "init_contacts": out.contacts.flatten(0, 1),
                       "obs_xy": batch["k67_xy"][:, tgt].flatten(0, 1), "obs_mask": batch["mask"][:, tgt].flatten(0, 1)}
                for k in FRAME_KEYS:
                    parts[k].append((obs[k] if k in obs else t[k])[keep])
    return {k: torch.cat(v) for k, v in parts.items()}


def fit_term(k67_c: torch.Tensor, frames: dict[str, torch.Tensor]) -> torch.Tensor:
    """(N,) mean clamped L1 distance (box units) of the projected points to the observed ones."""
    proj = project_to_box(k67_c, frames["global_info"])
    m = frames["obs_mask"]
    d = (proj - frames["obs_xy"]).abs().sum(-1).clamp_max(0.5)
    return (d * m).sum(-1) / m.sum(-1).clamp_min(1.0)


def descent_losses(net: DescentNet, f: dict[str, torch.Tensor], cfg: TrainDescentConfig) -> tuple[torch.Tensor, dict]:
    states = net.forward_all(f["init_pose_6d"], f["init_betas"], f["init_root_c"], f["obs_xy"], f["obs_mask"],
                             f["global_info"], pose_last=True)
    weight = torch.ones(f["obs_mask"].shape[0], device=f["obs_mask"].device)
    steps = len(states) - 1
    total, terms = 0.0, {}
    for i, s in enumerate(states[1:], 1):
        pred = Prediction(s.rotmats, s.joints_c, s.k67_c)
        t = pose_losses(pred, s.pose_6d, s.betas, s.root_c, f, weight, cfg.losses)
        t["fit"] = cfg.fit_weight * fit_term(pred.k67, f).mean()
        w_i = i / steps
        total = total + w_i * sum(t.values())
        if i == steps:
            terms = {k: float(v.detach()) for k, v in t.items()}
    return total, terms


def train(cfg: TrainDescentConfig, export: str | None = None) -> DescentNet:
    out, data = start_run(cfg)
    init = load_pose_init(cfg.init or DATA_DIR / POSE_INIT_FILE).to(cfg.device)
    body = SparseBody(load_body_model())
    ds = ProxyWindows(data, "train", causal=init.config.causal, seed=cfg.seed + 10, targets=32, mirror=cfg.mirror)
    frames = collect_frames(init, ds, cfg.passes, workers=cfg.workers, max_chunks=cfg.chunks,
                            noisy_dropout=cfg.noisy_dropout)
    val = collect_frames(init, ProxyWindows(data, "val", causal=init.config.causal, seed=cfg.seed + 11, targets=32,
                                            corruption=CorruptionOptions()), 1, workers=cfg.workers,
                         max_chunks=cfg.chunks and max(cfg.chunks // 4, 1), desc="val")
    N = frames["obs_mask"].shape[0]
    print(f"{N} training frames, {val['obs_mask'].shape[0]} validation frames")
    net = DescentNet(body, cfg.net)
    warm = None
    if cfg.init_from:
        start = load_descent(cfg.init_from, body)
        if start.config.hidden != cfg.net.hidden or start.config.iterations > cfg.net.iterations:
            raise ValueError(f"--init-from {cfg.init_from}: its net config {start.config} does not fit this run's "
                             f"{cfg.net} (the same width, at most as many --iterations)")
        for mine, theirs in zip(net.steps, start.steps):   # more steps: the new last ones start as the identity
            mine.load_state_dict(theirs.state_dict())
        warm = {"file": Path(cfg.init_from).name, **read_checkpoint(cfg.init_from).get("meta", {})}
    net.to(cfg.device)
    opt = torch.optim.AdamW(net.steps.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps_per_epoch = N // cfg.batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch, eta_min=cfg.lr_final)
    g = torch.Generator().manual_seed(cfg.seed)
    history, t0 = [], time.monotonic()
    for epoch in range(cfg.epochs):
        net.train()
        perm = torch.randperm(N, generator=g).to(cfg.device)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}")
        for step in bar:
            idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            loss, terms = descent_losses(net, {k: v[idx] for k, v in frames.items()}, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.steps.parameters(), 5.0)
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        net.eval()
        with torch.no_grad():
            sub = {k: v[::max(1, val["obs_mask"].shape[0] // 4000)] for k, v in val.items()}
            _, vterms = descent_losses(net, sub, cfg)
        history.append({"epoch": epoch, "minutes": (time.monotonic() - t0) / 60, "train_last": terms, "val": vterms})
        print(json.dumps(history[-1]))
        torch.save({"state_dict": net.steps.state_dict(), "epoch": epoch, "history": history}, out / "last.pt")
        if out_of_time(t0, cfg.max_minutes):
            break
    finish_run(out, history, export, net, cfg.net, cfg, {"warm_start": warm} if warm else None)
    return net


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Train the neural-descent net (init net frozen) on proxy data.")
    d = TrainDescentConfig()
    p.add_argument("--data", default=d.data)
    p.add_argument("--init", default=d.init, help="init-net weights (train_init --export; default: the bundled ones)")
    p.add_argument("--out", default=d.out)
    for name in ("passes", "epochs", "batch_size", "seed", "threads", "workers", "chunks"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("lr", "max_minutes", "fit_weight", "mirror", "noisy_dropout"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))
    p.add_argument("--iterations", type=int, default=d.net.iterations)
    p.add_argument("--body-weight", type=float, default=d.losses.body,
                   help="extra L1 term on the 22 body joints (LossWeights.body; 0: none)")
    p.add_argument("--init-from", default=d.init_from, help="fine-tune these exported descent weights")
    p.add_argument("--device", default=d.device, help="torch device, e.g. cuda")
    p.add_argument("--export", help="write the final weights in the app's checkpoint format to this path")
    a = p.parse_args(argv)
    cfg = TrainDescentConfig(data=a.data, init=a.init, out=a.out, passes=a.passes, epochs=a.epochs,
                             batch_size=a.batch_size, lr=a.lr, seed=a.seed, threads=a.threads, workers=a.workers,
                             max_minutes=a.max_minutes, fit_weight=a.fit_weight, chunks=a.chunks,
                             init_from=a.init_from, device=a.device, mirror=a.mirror, noisy_dropout=a.noisy_dropout,
                             net=DescentConfig(iterations=a.iterations), losses=LossWeights(body=a.body_weight))
    return run_cli(lambda: train(cfg, export=a.export))


if __name__ == "__main__":
    raise SystemExit(main())
