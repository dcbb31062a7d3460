"""Each network alone through one back end: median / p90 ms per call, inputs already where the back end
wants them (device tensors for GPU back ends), outputs copied back to the host as the app reads them.

The pipeline's per-module times (`mocap-bench`) add the crops, the decoding and the threads around each
net; this separates the net itself. Inputs: `mocap-export --check`'s fixed inputs at the batch the app
runs (2 for the hand nets).

    python -m mocap.benchmarks.engine_latency --backend torch --report DIR
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..app.cli import run_cli


def time_engine(engine, feeds: dict, warmup: int = 20, iters: int = 200) -> dict[str, float]:
    """median / p90 ms of engine.run(feeds) after `warmup` calls."""
    for _ in range(warmup):
        engine.run(feeds)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        engine.run(feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median": float(np.median(times)), "p90": float(np.percentile(times, 90)), "calls": iters}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mocap.benchmarks.engine_latency", description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("onnxruntime", "tensorrt", "torch"), default="onnxruntime")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16", help="TensorRT precision")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per net")
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--report", type=Path, default=None, metavar="DIR", help="write engine_latency.json/.md here")
    args = p.parse_args(argv)

    def body() -> int:
        import torch

        from ..engines.onnxruntime import OrtConfig, OrtEngine
        from ..engines.select import MAX_BATCH, EngineConfig, open_engine, torch_device
        from ..export.cli import BUNDLED_ONNX, check_feeds
        from ..export.nets import NET_NAMES, check_inputs, net_onnx, torch_engine
        from ..models.nets.checkpoint import DATA_DIR, DESCENT_FILE, POSE_INIT_FILE

        cfg = EngineConfig(backend=args.backend, precision=args.precision, ort=OrtConfig(threads=args.threads))
        gpu = args.backend == "tensorrt" or (args.backend == "torch" and torch_device(cfg).startswith("cuda"))
        rows = {}
        nets = [(f.stem, f) for f in sorted(BUNDLED_ONNX.glob("*.onnx"))]
        nets += [(n, c) for n, c in zip(NET_NAMES, (DATA_DIR / POSE_INIT_FILE, DATA_DIR / DESCENT_FILE)) if c.is_file()]
        for name, src in nets:
            if name in NET_NAMES:
                engine = (torch_engine(name, src, torch_device(cfg), cfg.cuda_graph) if args.backend == "torch"
                          else open_engine(net_onnx(name, src)[0], cfg))
                feeds = check_inputs(name, batch=1)
            else:
                engine = open_engine(src, cfg)
                feeds = check_feeds(OrtEngine(src, OrtConfig(threads=1)), MAX_BATCH.get(name, 1))
            if gpu:
                feeds = {k: torch.from_numpy(v).cuda() for k, v in feeds.items()}
            rows[name] = {"batch": int(next(iter(feeds.values())).shape[0]), "provider": engine.provider,
                          **time_engine(engine, feeds, iters=args.iters)}
            print(f"{name:22s} batch {rows[name]['batch']}  {rows[name]['median']:7.3f} / {rows[name]['p90']:7.3f} ms"
                  f"  ({engine.provider})")
        if args.report:
            from .device_info import backend_versions, cuda_info

            args.report.mkdir(parents=True, exist_ok=True)
            info = {**cuda_info(), **backend_versions()}
            (args.report / "engine_latency.json").write_text(json.dumps({"device": info, "nets": rows}, indent=1))
            lines = [f"# Each net alone: {args.backend}", "", "- " + ", ".join(f"{k} {v}" for k, v in info.items()),
                     f"- {args.iters} calls after 20 warm-up calls; inputs on the back end's device; outputs to host",
                     "", "| net | batch | median ms | p90 ms | runs on |", "|---|---:|---:|---:|---|"]
            lines += [f"| {n} | {r['batch']} | {r['median']:.3f} | {r['p90']:.3f} | {r['provider']} |" for n, r in rows.items()]
            (args.report / "engine_latency.md").write_text("\n".join(lines) + "\n")
        return 0

    return run_cli("engine_latency", body)


if __name__ == "__main__":
    sys.exit(main())
