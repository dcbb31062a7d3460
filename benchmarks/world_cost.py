"""Per-frame CPU cost of the world stage's pieces (issue 5: at most 2 ms per frame in all).

Times, one frame at a time as the live app runs them (1 thread): the trajectory head's feature
extraction, its step in PyTorch and in ONNX Runtime, the human-to-world step, display smoothing of
the root and 22 joint rotations, and (occasional, not per frame) a ground-plane fit to 600 points.

    python -m mocap.benchmarks.world_cost --out benchmarks/reports/trajectory/cost.md
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _time(fn, n: int, warmup: int = 20) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(1000 * (time.perf_counter() - t))
    return float(np.median(ts)), float(np.percentile(ts, 90))


def measure(weights: str | None = None, n: int = 500) -> dict[str, tuple[float, float]]:
    """{name: (median ms, p90 ms)}."""
    import torch

    torch.set_num_threads(1)
    from mocap.calib.ground import fit_ground_plane
    from mocap.engines.onnxruntime import OrtConfig, OrtEngine
    from mocap.export.trajectory import torch2onnx_trajectory
    from mocap.models.world.smoothing import DisplaySmoother
    from mocap.models.world.trajectory import (DEFAULT_WEIGHTS, TrajectoryTracker, features, load_trajectory_net,
                                               local_joints)
    from mocap.models.world.transform import HumanToWorld, yaw_matrix

    rng = np.random.default_rng(0)
    net = load_trajectory_net(weights or DEFAULT_WEIGHTS)
    J = rng.normal(0, 0.3, (22, 3)) + np.array([0, 0.9, 0])
    R = yaw_matrix(0.3)
    prev = local_joints(J[None], R[None])[0]
    out: dict[str, tuple[float, float]] = {}
    out["trajectory features"] = _time(lambda: features(J[None], R[None], 30.0, prev), n)
    tracker = TrajectoryTracker(net)
    out["trajectory step, PyTorch (features + net + integration)"] = _time(lambda: tracker.step(J, R), n)
    with tempfile.TemporaryDirectory() as d:
        path = torch2onnx_trajectory(net, Path(d) / "t.onnx")
        eng = OrtEngine(path, OrtConfig(threads=1))
        f = features(J[None], R[None], 30.0, prev)
        state = {"s": net.initial_state(1).numpy()}

        def ort_step():
            r = eng.run({"features": f, "state": state["s"]})
            state["s"] = r["state_out"]
        out["trajectory net step, ONNX Runtime"] = _time(ort_step, n)
    h2w = HumanToWorld()
    Rh = yaw_matrix(0.2) @ np.diag([-1.0, -1.0, 1.0])
    th, Rr, t_h, jr = np.array([0, 1.0, 3.0]), yaw_matrix(1.0), np.array([0.01, 0.9, 0.02]), np.array([0, -0.35, 0.01])
    out["human-to-world step"] = _time(lambda: h2w.step(Rh, th, Rr, t_h, jr), n)
    sm = DisplaySmoother()
    rots = np.repeat(R[None], 22, 0)
    clock = {"t": 0}

    def smooth():
        clock["t"] += 33_333_333
        sm.apply(clock["t"], J[:1], rots)
    out["display smoothing (root + 22 rotations)"] = _time(smooth, n)
    pts = np.concatenate([rng.uniform(-1, 1, (600, 1)), rng.normal(1.5, 0.01, (600, 1)), rng.uniform(2, 6, (600, 1))], 1)
    out["ground-plane fit, 600 points (occasional)"] = _time(lambda: fit_ground_plane(pts), 20, warmup=2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default="benchmarks/reports/trajectory/cost.md")
    ap.add_argument("-n", type=int, default=500)
    args = ap.parse_args(argv)
    from mocap.models.world.evaluate_trajectory import cpu_name

    res = measure(args.weights, args.n)
    per_frame = sum(v[0] for k, v in res.items() if "occasional" not in k and "ONNX" not in k and k != "trajectory features")
    per_frame_ort = sum(v[0] for k, v in res.items() if "occasional" not in k and "PyTorch" not in k)
    lines = ["# World stage: per-frame CPU cost", "",
             f"Machine: {cpu_name()}, Python {platform.python_version()}, 1 thread; "
             "medians and p90 over repeated single-frame calls (other jobs shared the CPU).", "",
             "| piece | median (ms) | p90 (ms) |", "|---|---|---|"]
    lines += [f"| {k} | {v[0]:.3f} | {v[1]:.3f} |" for k, v in res.items()]
    lines += ["", f"Per frame with the PyTorch step (features, net, integration, human-to-world, smoothing): "
              f"{per_frame:.3f} ms; with the ONNX Runtime step instead: {per_frame_ort:.3f} ms (budget 2 ms).", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
