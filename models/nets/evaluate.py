"""Evaluate the nets on the held-out proxy split (issue 4 item 4).

    python -m mocap.models.nets.evaluate --data ~/.cache/mocap/proxy \
        --init models/nets/data/pose_init.pt --descent models/nets/data/descent.pt \
        [--ablation-partial A.pt --ablation-plain B.pt] --out benchmarks/reports/nets

For each corruption level (``corrupt.CORRUPTION_LEVELS``) the frozen init net runs over the
validation chunks (fixed seed: the same cameras and corruption for every net), then the descent net
refines each frame. Reported, in millimetres unless said:

* body MPJPE (22 joints, pelvis-aligned), body PA-MPJPE; hand PA-MPJPE (wrist + 15 finger joints,
  each hand aligned on its own, mean of both hands);
* PVE: mean vertex error of the full mesh after pelvis alignment (every 4th frame);
* root: camera-space root-joint error; contact accuracy (probability > 0.5 vs truth);
* 2D: mean pixel distance of the projected K67 to the observed (corrupted, unmasked) keypoints -- the
  fit -- and to the clean truth (visible points).

The ablation (seed 000's claim for partial convolutions) compares two init nets trained with the same
budget, one partial and one with zero-filled inputs and ordinary convolutions, at the realistic level
with 50 % of hand frames dropped.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
from pathlib import Path

import torch

from mocap.models.body.detector_points import DetectorPoints
from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets.body_fk import SparseBody, posed_points, project_to_box
from mocap.models.nets.descent import DescentNet
from mocap.models.nets.metrics import BODY_JOINTS, LEFT_HAND_JOINTS, RIGHT_HAND_JOINTS, mpjpe, pa_mpjpe
from mocap.models.nets.rotation import rot6d_to_axis_angle_np
from mocap.models.nets.checkpoint import (DATA_DIR, DESCENT_FILE, POSE_INIT_FILE, load_descent, load_pose_init,
                                         scrub_command)
from mocap.models.nets.train_descent import collect_frames
from mocap.models.nets.train_init import run_cli
from mocap.models.proxy.corrupt import CORRUPTION_LEVELS
from mocap.models.proxy.dataset import ProxyWindows

METRICS = ("body_mpjpe", "body_pa_mpjpe", "hand_pa_mpjpe", "pve", "root", "contact_acc", "fit_px", "clean_px")


@torch.no_grad()
def frame_metrics(body: SparseBody, model, pose_6d, betas, root_c, f: dict[str, torch.Tensor],
                  contacts_logits: torch.Tensor, pve_stride: int = 4, batch: int = 512) -> dict[str, float]:
    """Mean metrics over frames for one set of predictions (see module docstring)."""
    _, joints, k67 = posed_points(body, pose_6d, betas, root_c)
    jp, jg = joints * 1000, f["joints_c"]
    body_j = list(BODY_JOINTS)
    hands = 0.5 * (pa_mpjpe(jp[:, list(LEFT_HAND_JOINTS)], jg[:, list(LEFT_HAND_JOINTS)])
                   + pa_mpjpe(jp[:, list(RIGHT_HAND_JOINTS)], jg[:, list(RIGHT_HAND_JOINTS)]))
    half = f["box"][:, None, 2:3] / 2                                  # px per box unit
    proj = project_to_box(k67, f["global_info"])
    m = f["obs_mask"]
    fit = (((proj - f["obs_xy"]) * half).norm(dim=-1) * m).sum(-1) / m.sum(-1).clamp_min(1)
    v = f["visible"]
    clean = (((proj - f["k67_box"]) * half).norm(dim=-1) * v).sum(-1) / v.sum(-1).clamp_min(1)
    has_obs = m.sum(-1) > 0
    out = {
        "body_mpjpe": mpjpe(jp[:, body_j], jg[:, body_j]).mean(),
        "body_pa_mpjpe": pa_mpjpe(jp[:, body_j], jg[:, body_j]).mean(),
        "hand_pa_mpjpe": hands.mean(),
        "root": (root_c * 1000 - f["root_c"] * 1000).norm(dim=-1).mean(),
        "contact_acc": ((contacts_logits > 0) == (f["contacts"] > 0.5)).float().mean(),
        "fit_px": fit[has_obs].mean(),
        "clean_px": clean.mean(),
    }
    # PVE: full mesh, both posed from parameters (truth: its own pose and betas), pelvis-aligned
    idx = torch.arange(0, pose_6d.shape[0], pve_stride)
    errs = []
    for s in range(0, len(idx), batch):
        i = idx[s:s + batch]
        verts = []
        for p6, b in ((pose_6d[i], betas[i]), (f["pose_6d"][i], f["betas"][i])):
            aa = torch.as_tensor(rot6d_to_axis_angle_np(p6.numpy()), dtype=p6.dtype)
            o = model(global_orient=aa[:, 0], body_pose=aa[:, 1:22], left_hand_pose=aa[:, 22:37],
                      right_hand_pose=aa[:, 37:52], betas=b)
            verts.append(o.vertices - o.joints[:, :1])
        errs.append((verts[0] - verts[1]).norm(dim=-1).mean(-1) * 1000)
    out["pve"] = torch.cat(errs).mean()
    return {k: float(v) for k, v in out.items()}


@torch.no_grad()
def refine(net: DescentNet, f: dict[str, torch.Tensor], batch: int = 1024):
    outs = [net(f["init_pose_6d"][s:s + batch], f["init_betas"][s:s + batch], f["init_root_c"][s:s + batch],
                f["obs_xy"][s:s + batch], f["obs_mask"][s:s + batch], f["global_info"][s:s + batch])
            for s in range(0, f["obs_mask"].shape[0], batch)]
    return tuple(torch.cat(x) for x in zip(*outs))


def evaluate_level(init, descent, body, model, data: Path, level: str, corruption, seed: int, chunks: int) -> dict:
    ds = ProxyWindows(data, "val", causal=init.config.causal, seed=seed, targets=32, corruption=corruption)
    f = collect_frames(init, ds, 1, max_chunks=chunks, desc=f"{level}")
    res = {"frames": int(f["obs_mask"].shape[0]),
           "init": frame_metrics(body, model, f["init_pose_6d"], f["init_betas"], f["init_root_c"], f,
                                 f["init_contacts"])}
    if descent is not None:
        p, b, r = refine(descent, f)
        res["init+descent"] = frame_metrics(body, model, p, b, r, f, f["init_contacts"])
    return res


def write_report(out: Path, results: dict, meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    names = {"body_mpjpe": "body MPJPE", "body_pa_mpjpe": "body PA-MPJPE", "hand_pa_mpjpe": "hand PA-MPJPE",
             "pve": "PVE", "root": "root err", "contact_acc": "contact acc", "fit_px": "2D fit px",
             "clean_px": "2D clean px"}
    lines = ["# Pose-initialisation and neural-descent nets on held-out proxy clips", "",
             f"Machine: {meta['machine']}; torch {meta['torch']}; {meta['command']}", "",
             "Millimetres unless said; 2D fit = projected K67 vs the observed (corrupted) keypoints, 2D clean = vs "
             "the true keypoints; contact accuracy from the init net's contact head.", "",
             "| level | net | frames | " + " | ".join(names[m] for m in METRICS) + " |",
             "|---|---|---|" + "---|" * len(METRICS)]
    for level, r in results.get("levels", {}).items():
        for net in ("init", "init+descent"):
            if net in r:
                lines.append(f"| {level} | {net} | {r['frames']} | {_cells(r[net])} |")
    changes = [f"- {level}: 2D fit {_change(r, 'fit_px')}, 2D clean {_change(r, 'clean_px')}, body PA-MPJPE "
               f"{_change(r, 'body_pa_mpjpe')}, hand PA-MPJPE {_change(r, 'hand_pa_mpjpe')}"
               for level, r in results.get("levels", {}).items() if "init+descent" in r]
    if changes:
        lines += ["", "Change by the descent net (relative to init only):", ""] + changes
    if "ablation" in results:
        lines += ["", "## Partial vs ordinary convolutions (realistic corruption, 50 % of hand frames dropped)", "",
                  "Both init nets trained with the same command and budget, differing only in `--no-partial`.", "",
                  "| init net | " + " | ".join(names[m] for m in METRICS) + " |", "|---|" + "---|" * len(METRICS)]
        for name, r in results["ablation"].items():
            lines.append(f"| {name} | {_cells(r['init'])} |")
    (out / "evaluation.md").write_text("\n".join(lines) + "\n")


def _cells(metrics: dict) -> str:
    """One table row's metric cells, in METRICS order (contact accuracy to 3 decimals, the rest to 1)."""
    return " | ".join(f"{metrics[m]:.3f}" if m == "contact_acc" else f"{metrics[m]:.1f}" for m in METRICS)


def _change(r: dict, metric: str) -> str:
    a, b = r["init"][metric], r["init+descent"][metric]
    return f"{100 * (b - a) / a:+.0f} %"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Evaluate the nets on held-out proxy clips.")
    p.add_argument("--data", default="~/.cache/mocap/proxy")
    p.add_argument("--init", default=str(DATA_DIR / POSE_INIT_FILE),
                   help="init-net weights (default: the bundled ones)")
    p.add_argument("--descent", default=str(DATA_DIR / DESCENT_FILE),
                   help="descent-net weights (default: the bundled ones; '' to skip)")
    p.add_argument("--ablation-partial", help="init net trained with partial convs for the ablation")
    p.add_argument("--ablation-plain", help="the same net trained with --no-partial")
    p.add_argument("--levels", default="low,realistic,heavy")
    p.add_argument("--chunks", type=int, default=0, help="validation chunks per level (0: all)")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/reports/nets")
    a = p.parse_args(argv)
    unknown = sorted(set(a.levels.split(",")) - set(CORRUPTION_LEVELS))
    if unknown:
        p.error(f"--levels: unknown {', '.join(unknown)} (choose from {', '.join(CORRUPTION_LEVELS)})")
    return run_cli(lambda: evaluate(a, sys.argv[1:] if argv is None else argv))


def evaluate(a: argparse.Namespace, argv: list[str]) -> None:
    """The evaluation `main` was asked for: every level, the ablation, the report in ``a.out``."""
    torch.set_num_threads(a.threads)
    data = Path(a.data).expanduser()
    model = load_body_model()
    body = SparseBody(model, DetectorPoints.load(model))
    init = load_pose_init(a.init)
    descent = load_descent(a.descent, body) if a.descent else None
    results: dict = {"levels": {}}
    for level in a.levels.split(","):
        results["levels"][level] = evaluate_level(init, descent, body, model, data, level, CORRUPTION_LEVELS[level],
                                                  a.seed, a.chunks)
        print(level, json.dumps(results["levels"][level]))
    if a.ablation_partial and a.ablation_plain:
        c = dataclasses.replace(CORRUPTION_LEVELS["realistic"], hand_drop=0.5)
        results["ablation"] = {
            name: evaluate_level(load_pose_init(path), None, body, model, data, f"ablation {name}", c, a.seed, a.chunks)
            for name, path in (("partial", a.ablation_partial), ("ordinary (zero-filled)", a.ablation_plain))}
        print("ablation", json.dumps(results["ablation"]))
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__,
            "command": "python -m mocap.models.nets.evaluate " + scrub_command(argv)}
    write_report(Path(a.out), results, meta)
    print(f"wrote {Path(a.out) / 'evaluation.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
