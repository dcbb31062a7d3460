"""Latency of the 3D nets under ONNX Runtime and of the mesh overlay, outside the pipeline.

``python -m mocap.benchmarks.nets3d [--nets3d DIR]`` exports the checkpoints (bundled by default; a
folder without them gets randomly initialised nets of the default sizes, clearly labelled), checks the
export against PyTorch, then times each net at batch 1 (the app's per-frame call) with 1 and 2 ONNX
Runtime threads, and the posed-mesh overlay at 640x480 (`MeshOverlay.draw`, skinning included).
Timings are medians/p90 over `--repeats` calls after a warm-up; they name the machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np


def _times(fn, repeats: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1e3)
    return {"median": float(np.median(ms)), "p90": float(np.percentile(ms, 90)), "count": repeats}


def random_checkpoints(folder: Path) -> tuple[Path, Path]:
    """Default-size nets with random weights (every layer, so the export check is not trivial)."""
    import torch

    from ..models.body.smplx_model import load_body_model
    from ..models.nets.body_fk import SparseBody
    from ..models.nets.checkpoint import DESCENT_FILE, POSE_INIT_FILE, save_checkpoint
    from ..models.nets.descent import DescentConfig, DescentNet
    from ..models.nets.pose_init import PoseInitConfig, PoseInitNet

    torch.manual_seed(0)
    init, descent = PoseInitNet(PoseInitConfig()), DescentNet(SparseBody(load_body_model()), DescentConfig())
    with torch.no_grad():
        for p in descent.steps.parameters():
            p.normal_(0, 0.01)
    meta = {"note": "random weights (benchmark)"}
    return (save_checkpoint(folder / POSE_INIT_FILE, init, PoseInitConfig(), meta),
            save_checkpoint(folder / DESCENT_FILE, descent, DescentConfig(), meta))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mocap.benchmarks.nets3d", description=__doc__.splitlines()[0])
    p.add_argument("--nets3d", type=Path, help="folder with pose_init.pt and descent.pt (default: the bundled ones)")
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)

    from ..app.draw import MeshOverlay
    from ..app.record import cpu_name
    from ..engines.onnxruntime import OrtConfig, OrtEngine
    from ..export.nets import NET_NAMES, check_inputs, net_onnx
    from ..models.body.smplx_model import load_body_model
    from ..models.camera import intrinsics
    from ..models.nets.checkpoint import DATA_DIR, DESCENT_FILE, POSE_INIT_FILE, public_path

    folder = args.nets3d or DATA_DIR
    files = [folder / POSE_INIT_FILE, folder / DESCENT_FILE]
    with tempfile.TemporaryDirectory(prefix="mocap-nets3d-") as tmp:
        shown = "models/nets/data" if folder == DATA_DIR else public_path("nets3d", str(folder))   # no machine paths
        weights = f"checkpoints in {shown}" if all(f.is_file() for f in files) else "random (no checkpoints found)"
        if not all(f.is_file() for f in files):
            files = list(random_checkpoints(Path(tmp)))
        report = {"device": cpu_name(), "weights": weights, "nets": {}}
        for name, ckpt in zip(NET_NAMES, files):
            path, diff = net_onnx(name, ckpt, Path(tmp) / "cache")
            entry = {"max_abs_diff_vs_pytorch": diff, "onnx_mb": round(path.stat().st_size / 1e6, 2)}
            feeds = check_inputs(name, batch=1)
            for threads in (1, 2):
                engine = OrtEngine(path, OrtConfig(threads=threads))
                entry[f"ms_threads{threads}"] = _times(lambda: engine.run(feeds), args.repeats)
            report["nets"][name] = entry
    model = load_body_model()
    mesh = MeshOverlay(model)
    K = intrinsics(45.0, 640, 480)
    poses = np.zeros(165)
    poses[0] = np.pi
    poses[3:] = np.random.default_rng(0).normal(0, 0.2, 162)
    img = np.full((480, 640, 3), 60, np.uint8)
    trans = np.array([0.0, 0.0, 3.0])
    report["mesh_overlay"] = {"faces": mesh.num_faces, "vertices": int(len(mesh.keep)), "image": "640x480",
                              "person_height_px": "about 330 (3 m away, 45 deg fov)",
                              "ms": _times(lambda: mesh.draw(img, poses, np.zeros(10), trans, K), args.repeats)}
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
