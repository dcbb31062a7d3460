"""`mocap-export`: build every network the app runs into one cache folder.

The ONNX set: the five converted MediaPipe nets (committed under models/onnx, staged under their
content hash), the two 3D nets and the trajectory head (PyTorch checkpoints, exported to ONNX here
and checked against PyTorch). Each is loaded in ONNX Runtime and run once on a fixed input. Where
TensorRT and a CUDA device are there, a TensorRT engine is built from each ONNX file per precision
(engines/select.py: cached under TensorRT version + GPU + compute capability + precision + ONNX
hash; a stale or foreign engine is rebuilt, never loaded); without them the command says why and
the ONNX set is still complete. Re-running with a valid cache is a no-op. `--check` runs every
GPU back end present (TensorRT engines, ONNX Runtime CUDA) on fixed inputs against ONNX Runtime
CPU, with the tolerance per precision stated (engines/cache.py CHECK_TOLERANCE).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ..app.cli import run_cli
from ..engines.base import EngineError
from ..engines.cache import CHECK_TOLERANCE, PRECISIONS, sha256_file
from ..engines.onnxruntime import OrtConfig, OrtEngine, available_providers
from ..engines.select import EngineConfig, default_cache_dir, ensure_trt_engine, tensorrt_available

BUNDLED_ONNX = Path(__file__).resolve().parent.parent / "models" / "onnx"
__all__ = ["BUNDLED_ONNX", "default_cache_dir", "main"]


def smoke_run(engine: OrtEngine, seed: int = 0) -> dict[str, list[int]]:
    """Run the net once on a fixed random input (dynamic dims = 1); return output shapes."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in engine.inputs:
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
        feeds[spec.name] = rng.random(shape, dtype=np.float32)
    out = engine.run(feeds)
    bad = [k for k, v in out.items() if not np.all(np.isfinite(v))]
    if bad:
        raise EngineError(f"{engine.name}: non-finite values in output {bad[0]!r}")
    return {k: list(v.shape) for k, v in out.items()}


def stage_onnx(src: Path, cache: Path) -> tuple[Path, bool]:
    """Copy src into cache as NAME.<hash12>.onnx unless that file is there already.

    Returns (path, copied). The copy is atomic (temporary name, then rename).
    """
    digest = sha256_file(src)
    dst = cache / f"{src.stem}.{digest[:12]}.onnx"
    if dst.is_file() and sha256_file(dst) == digest:
        return dst, False
    tmp = dst.with_suffix(".onnx.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return dst, True


def export_nets3d(nets_dir: Path | None, cache: Path) -> dict:
    """Export (or find cached) the 3D nets' ONNX files; their manifest entries. Skipped with a message when
    the bundled checkpoints are not installed; a named folder must hold both.

    Raises:
        EngineError: a missing/unreadable checkpoint in a named folder, an export that disagrees with PyTorch.
    """
    from ..models.nets.checkpoint import DATA_DIR, DESCENT_FILE, POSE_INIT_FILE
    from .nets import NET_NAMES, TOLERANCE, net_onnx

    folder = nets_dir or DATA_DIR
    files = dict(zip(NET_NAMES, (folder / POSE_INIT_FILE, folder / DESCENT_FILE)))
    if nets_dir is None and not all(p.is_file() for p in files.values()):
        print(f"3D nets not installed in {folder} (pose_init.pt, descent.pt); skipped")
        return {}
    out = {}
    for name, ckpt in files.items():
        dst, diff = net_onnx(name, ckpt, cache)
        shapes = smoke_run(OrtEngine(dst, OrtConfig(threads=1)))
        out[name] = {"onnx": dst.name, "sha256": sha256_file(dst), "checkpoint": str(ckpt), "outputs": shapes}
        state = "cached" if diff is None else f"exported, max |ONNX - PyTorch| = {diff:.2g} (tolerance {TOLERANCE:g})"
        print(f"{name:24s} {state}  {dst.name}")
    return out


def export_trajectory(cache: Path) -> dict:
    """Export (or find cached) the world stage's trajectory head; its manifest entry."""
    from ..models.world.trajectory import DEFAULT_WEIGHTS
    from .trajectory import TOLERANCE, trajectory_onnx

    if not DEFAULT_WEIGHTS.is_file():
        print(f"trajectory head not installed ({DEFAULT_WEIGHTS.name}); skipped")
        return {}
    dst, diff = trajectory_onnx(DEFAULT_WEIGHTS, cache)
    shapes = smoke_run(OrtEngine(dst, OrtConfig(threads=1)))
    state = "cached" if diff is None else f"exported, max |ONNX - PyTorch| = {diff:.2g} (tolerance {TOLERANCE:g})"
    print(f"{'trajectory':24s} {state}  {dst.name}")
    return {"trajectory": {"onnx": dst.name, "sha256": sha256_file(dst), "outputs": shapes}}


def check_feeds(engine: OrtEngine, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Fixed inputs for `--check`: a smooth structured image for image nets (export/reference_inputs),
    the nets' own realistic check inputs for the 3D nets, seeded normals otherwise; dynamic dims = batch."""
    from .nets import NET_NAMES, check_inputs
    from .reference_inputs import blobs_image

    name = engine.name.split(".")[0]
    if name in NET_NAMES:
        return check_inputs(name, batch=batch, seed=seed)
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in engine.inputs:
        shape = [d if isinstance(d, int) and d > 0 else batch for d in spec.shape]
        if len(shape) == 4 and shape[-1] == 3:
            feeds[spec.name] = np.repeat(blobs_image(shape[1], shape[2], (0.0, 1.0), seed=7 + seed), shape[0], 0)
        else:
            feeds[spec.name] = (0.5 * rng.standard_normal(shape)).astype(np.float32)
    return feeds


def compare(reference: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> tuple[float, float]:
    """(max |got - reference| over all outputs, the same relative to max(1, max |reference|))."""
    worst_abs, worst_rel = 0.0, 0.0
    for name, ref in reference.items():
        diff = float(np.max(np.abs(got[name].astype(np.float64) - ref))) if ref.size else 0.0
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0))
    return worst_abs, worst_rel


def check_backends(onnx_files: dict[str, Path], engines: dict[str, dict[str, Path]], precisions: Sequence[str]) -> int:
    """Run each GPU back end against ONNX Runtime CPU on fixed inputs; print a table; number of failures."""
    from ..engines.select import MAX_BATCH
    from ..engines.tensorrt import TrtEngine

    cuda = "CUDAExecutionProvider" in available_providers()
    if not engines and not cuda:
        print("check: no GPU back end here (no TensorRT engines, no ONNX Runtime CUDA provider); "
              "nothing to compare against ONNX Runtime CPU")
        return 0
    print(f"{'net':20s} {'back end':28s} {'max |diff|':>11s} {'relative':>9s} {'tolerance':>9s}")
    failures = 0
    for name, onnx in onnx_files.items():
        cpu = OrtEngine(onnx, OrtConfig(threads=1))
        feeds = check_feeds(cpu, MAX_BATCH.get(name, 1))
        ref = cpu.run(feeds)
        runs = [(f"TensorRT {p}", p, lambda path=engines[name][p], p=p: TrtEngine(path, p))
                for p in precisions if p in engines.get(name, {})]
        if cuda:
            runs.append(("ONNX Runtime CUDA", "fp32",
                         lambda onnx=onnx: OrtEngine(onnx, OrtConfig(providers=("cuda",), require="cuda"))))
        for label, precision, make in runs:
            absdiff, rel = compare(ref, make().run(feeds))
            tol = CHECK_TOLERANCE[precision]
            ok = rel <= tol
            failures += not ok
            print(f"{name:20s} {label:28s} {absdiff:11.3g} {rel:9.2g} {tol:9.0e} {'ok' if ok else 'FAILED'}")
    return failures


def choose_precisions(spec: str, compute_capability: str | None) -> list[str]:
    """'fp16', 'fp32', 'both' or 'auto' (FP16 on compute capability >= 7.0: tensor cores, else FP32)."""
    if spec == "both":
        return list(PRECISIONS)
    if spec == "auto":
        if compute_capability is None:
            return ["fp32"]
        return ["fp16"] if float(compute_capability) >= 7.0 else ["fp32"]
    if spec not in PRECISIONS:
        raise ValueError(f"unknown precision {spec!r}; choose from auto, both, {', '.join(PRECISIONS)}")
    return [spec]


def build_tensorrt(onnx_files: dict[str, Path], mode: str, precision: str, workspace_mb: int,
                   cache: Path) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """Build (or find cached) the TensorRT engines; ({net: {precision: path}}, precisions)."""
    ok, why = tensorrt_available()
    if not ok:
        if mode == "on":
            raise EngineError(f"--tensorrt on: {why}")
        print(f"TensorRT: not available here ({why}); the ONNX set above is complete, "
              "TensorRT engines need an NVIDIA GPU with TensorRT installed")
        return {}, []
    print(why)
    from ..engines.tensorrt import cuda_device

    precisions = choose_precisions(precision, cuda_device()[1])
    built: dict[str, dict[str, Path]] = {}
    for p in precisions:
        cfg = EngineConfig(backend="tensorrt", precision=p, workspace_mb=workspace_mb, cache_dir=cache)
        for name, onnx in onnx_files.items():
            path, state = ensure_trt_engine(onnx, cfg, say=print)
            built.setdefault(name, {})[p] = path
            print(f"{name:24s} TensorRT {p} {state}  {path.name}")
    return built, precisions


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-export", description=__doc__.splitlines()[0])
    p.add_argument("--onnx-dir", type=Path, default=BUNDLED_ONNX, help="source ONNX folder")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: ~/.cache/mocap/engines)")
    p.add_argument("--nets3d", type=Path, default=None, metavar="DIR",
                   help="folder with the 3D nets' pose_init.pt and descent.pt (default: the bundled ones)")
    p.add_argument("--tensorrt", choices=("auto", "on", "off"), default="auto",
                   help="build TensorRT engines: auto = where TensorRT and a GPU exist (default), "
                        "on = fail without them, off = ONNX set only")
    p.add_argument("--precision", default="auto", metavar="P",
                   help="TensorRT precision: auto (fp16 on compute capability >= 7.0, else fp32), fp16, fp32, both")
    p.add_argument("--workspace-mb", type=int, default=1024, help="TensorRT builder workspace limit (MiB)")
    p.add_argument("--check", action="store_true",
                   help="compare every GPU back end with ONNX Runtime CPU on fixed inputs (exit 1 on a mismatch)")
    args = p.parse_args(argv)

    def body() -> int:
        cache = args.cache or default_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create cache folder {cache}: {exc.strerror}") from None
        if args.precision not in ("auto", "both", *PRECISIONS):
            raise ValueError(f"unknown precision {args.precision!r}; choose from auto, both, {', '.join(PRECISIONS)}")
        sources = sorted(args.onnx_dir.glob("*.onnx"))
        if not sources:
            raise EngineError(f"no .onnx files in {args.onnx_dir}")
        manifest = {}
        for src in sources:
            dst, copied = stage_onnx(src, cache)
            shapes = smoke_run(OrtEngine(dst, OrtConfig(threads=1)))
            manifest[src.stem] = {"onnx": dst.name, "sha256": sha256_file(dst), "outputs": shapes}
            print(f"{src.stem:24s} {'staged' if copied else 'cached'}  {dst.name}")
        manifest.update(export_nets3d(args.nets3d, cache))
        manifest.update(export_trajectory(cache))
        onnx_files = {name: cache / entry["onnx"] for name, entry in manifest.items()}
        engines, precisions = ({}, []) if args.tensorrt == "off" else build_tensorrt(
            onnx_files, args.tensorrt, args.precision, args.workspace_mb, cache)
        for name, by_precision in engines.items():
            manifest[name]["tensorrt"] = {p: path.name for p, path in by_precision.items()}
        (cache / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(f"mocap-export: {len(manifest)} networks ready in {cache}"
              + (f", TensorRT engines: {', '.join(precisions)}" if engines else ""))
        if args.check:
            failures = check_backends(onnx_files, engines, precisions)
            if failures:
                print(f"mocap-export: --check: {failures} back end(s) disagree with ONNX Runtime CPU", file=sys.stderr)
                return 1
        return 0

    return run_cli("mocap-export", body)


if __name__ == "__main__":
    sys.exit(main())
