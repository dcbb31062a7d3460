"""Evaluate the trajectory head on the held-out proxy split, GLAMR style (DESIGN 11).

The net runs causally over each whole validation sequence (state carried from its first frame);
each window is integrated from the true root position and heading at its first frame (windows
aligned at the window start), with the true body pose. Metrics per window, then averaged:

* G-MPJPE (mm): the 22 SMPL-X body joints in world;
* root error (m): mean root-joint position error over the window; drift (m): at its last frame;
* heading error (deg): mean absolute heading difference;
* accel error (m/s^2): mean norm of the difference of joint accelerations (second differences);
* height error (mm): mean absolute root-height error.

Baselines, given the same window start: constant velocity (the root's mean horizontal velocity
over the `history` frames before the window, constant heading, height and tilt from the window's
first frame) and standing still (zero velocity).

    python -m mocap.models.world.evaluate_trajectory --data ~/.cache/mocap/proxy \
        --weights models/world/data/trajectory_gru.pt --out benchmarks/reports/trajectory
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mocap.models.world.train_trajectory import prepare_split, split_file
from mocap.models.world.trajectory import (DEFAULT_WEIGHTS, heading_angle, load_trajectory_net, wrap_angle,
                                           world_from_egocentric)

log = logging.getLogger(__name__)
METRICS = ("g_mpjpe_mm", "root_err_m", "drift_m", "heading_err_deg", "accel_err_mps2", "height_err_mm")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else platform.processor() or the machine type."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def window_metrics(J_gt: np.ndarray, root_pred: np.ndarray, R_pred: np.ndarray, R_gt: np.ndarray,
                   fps: float) -> dict[str, float]:
    """Metrics of one window.

    Args:
        J_gt: (W, 22, 3) true joints in world; root_pred (W, 3), R_pred (W, 3, 3) the predicted root
            joint and orientation; R_gt: (W, 3, 3) the true orientation.
    Returns:
        dict with METRICS.
    """
    root_gt = J_gt[:, 0]
    local = np.einsum("tji,tnj->tni", R_gt, J_gt - root_gt[:, None])          # body in the root frame
    J_pred = root_pred[:, None] + np.einsum("tij,tnj->tni", R_pred, local)
    err = np.linalg.norm(J_pred - J_gt, axis=-1)
    root_err = np.linalg.norm(root_pred - root_gt, axis=-1)
    dh = wrap_angle(heading_angle(R_pred) - heading_angle(R_gt))
    acc = lambda x: (x[2:] - 2 * x[1:-1] + x[:-2]) * fps ** 2                 # noqa: E731
    return {"g_mpjpe_mm": 1000 * float(err.mean()), "root_err_m": float(root_err.mean()),
            "drift_m": float(root_err[-1]), "heading_err_deg": float(np.degrees(np.abs(dh)).mean()),
            "accel_err_mps2": float(np.linalg.norm(acc(J_pred) - acc(J_gt), axis=-1).mean()),
            "height_err_mm": 1000 * float(np.abs(root_pred[:, 1] - root_gt[:, 1]).mean())}


def constant_velocity(root_gt: np.ndarray, R_gt: np.ndarray, t0: int, W: int, history: int, still: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Baseline window [t0, t0 + W): (root (W, 3), R (W, 3, 3)) extrapolated from frames <= t0."""
    v = np.zeros(3) if still else (root_gt[t0] - root_gt[t0 - history]) / history
    v[1] = 0.0
    root = root_gt[t0] + np.arange(W)[:, None] * v
    return root, np.repeat(R_gt[t0][None], W, 0)


def evaluate(weights: str | Path, data: str | Path, window_s: float = 10.0, stride_s: float = 5.0,
             history: int = 15, threads: int = 1, extra: dict[str, str | Path] | None = None) -> dict:
    """Run the evaluation; returns {'windows', 'sequences', 'methods': {name: {metric: mean}}, ...}.

    `extra` maps a label to other weights evaluated on the same windows (ablations)."""
    torch.set_num_threads(threads)
    nets = {"trajectory head (GRU)": load_trajectory_net(weights)}
    nets.update({label: load_trajectory_net(p) for label, p in (extra or {}).items()})
    val = prepare_split(split_file(data, "val"))
    fps = float(val["fps"][0])
    for net in nets.values():
        if abs(fps - net.config.fps) > 1e-6:
            raise ValueError(f"the net was trained at {net.config.fps} fps, the data is at {fps} fps")
    W, stride = int(round(window_s * fps)), int(round(stride_s * fps))
    rows: dict[str, list[dict]] = {name: [] for name in nets}
    rows.update({"constant velocity": [], "standing still": []})
    seqs, ms_per_frame = 0, []
    starts = val["seq_start"]
    for s, e in zip(starts[:-1], starts[1:]):
        L = int(e - s)
        if L < history + W:
            continue
        seqs += 1
        J, R = val["joints_w"][s:e], val["R_root"][s:e]
        root = J[:, 0]
        psis = {}
        for name, net in nets.items():
            t = time.perf_counter()
            with torch.no_grad():
                psi, _ = net(torch.as_tensor(val["feats"][s:e])[None])
            if name == "trajectory head (GRU)":
                ms_per_frame.append(1000 * (time.perf_counter() - t) / L)
            psis[name] = psi[0].double().numpy()
        for t0 in range(history, L - W + 1, stride):
            sl = slice(t0, t0 + W)
            for name, psi in psis.items():
                r_pred, R_pred, _ = world_from_egocentric(psi[sl], root[t0, [0, 2]], float(heading_angle(R[t0])))
                rows[name].append(window_metrics(J[sl], r_pred, R_pred, R[sl], fps))
            for name, still in (("constant velocity", False), ("standing still", True)):
                r_b, R_b = constant_velocity(root, R, t0, W, history, still)
                rows[name].append(window_metrics(J[sl], r_b, R_b, R[sl], fps))
    if not rows["constant velocity"]:
        raise ValueError(f"no validation sequence is longer than {history + W} frames")
    methods = {name: {m: float(np.mean([r[m] for r in rs])) for m in METRICS} for name, rs in rows.items()}
    medians = {name: {m: float(np.median([r[m] for r in rs])) for m in METRICS} for name, rs in rows.items()}
    return {"window_s": window_s, "stride_s": stride_s, "history_frames": history, "fps": fps,
            "windows": len(rows["constant velocity"]), "sequences": seqs, "methods": methods, "medians": medians,
            "net_ms_per_frame_batched": float(np.mean(ms_per_frame))}


def write_report(results: list[dict], out: Path, weights: str, data: str) -> Path:
    """JSON and markdown under `out`; returns the markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "trajectory_eval.json").write_text(json.dumps(results, indent=1))
    lines = ["# Trajectory head: held-out evaluation", "",
             f"Weights `{Path(weights).name}`; data: the validation split of the world-space proxy set "
             f"(`{Path(data).name}/proxy_val.npz`, clips never seen in training). Machine: {cpu_name()}, 1 torch thread. "
             "How the shipped weights were trained: models/world/data/NOTICE.", "",
             "Windows are aligned at their first frame (true root position and heading given); the net has run "
             "causally since the start of its sequence. Baselines start from the same state and extrapolate from the "
             f"{results[0]['history_frames']} frames before the window (constant velocity: mean horizontal root "
             "velocity, constant heading, height and tilt).", ""]
    for r in results:
        lines += [f"## {r['window_s']:g} s windows (stride {r['stride_s']:g} s): {r['windows']} windows from "
                  f"{r['sequences']} sequences", "",
                  "| method | G-MPJPE (mm) | root err (m) | drift at end (m) | heading err (deg) | accel err (m/s^2) "
                  "| height err (mm) |", "|---|---|---|---|---|---|---|"]
        for name, m in r["methods"].items():
            lines.append(f"| {name} | {m['g_mpjpe_mm']:.0f} | {m['root_err_m']:.3f} | {m['drift_m']:.3f} | "
                         f"{m['heading_err_deg']:.1f} | {m['accel_err_mps2']:.2f} | {m['height_err_mm']:.0f} |")
        lines += ["", "Medians over windows: " + "; ".join(
            f"{n}: G-MPJPE {m['g_mpjpe_mm']:.0f} mm, drift {m['drift_m']:.3f} m" for n, m in r["medians"].items()), ""]
    lines += [f"Net cost (whole sequence at once, per frame): {results[0]['net_ms_per_frame_batched']:.3f} ms.", ""]
    md = out / "README.md"
    md.write_text("\n".join(lines))
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="~/.cache/mocap/proxy", help="folder with proxy_val.npz")
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--out", default="benchmarks/reports/trajectory")
    ap.add_argument("--windows", default="10,2", help="window lengths in seconds, comma separated")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=PATH",
                    help="other weights to evaluate on the same windows (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    extra = dict(e.split("=", 1) for e in args.extra)
    results = [evaluate(args.weights, args.data, window_s=float(w), stride_s=float(w) / 2, extra=extra)
               for w in args.windows.split(",")]
    print(write_report(results, Path(args.out), args.weights, args.data).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
