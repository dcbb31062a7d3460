"""`mocap-export`: check and stage every network the app runs into one cache folder.

Today's set is the five converted MediaPipe nets (ONNX, committed under models/onnx) and the two 3D
nets (PyTorch checkpoints under models/nets/data, exported to ONNX here and checked against PyTorch,
export/nets.py). Each is put into the cache under its content hash, loaded in ONNX Runtime and run
once on a fixed input; a cached copy with the right hash is reused (re-running is a no-op). TensorRT engines
are built from this set where TensorRT is importable (GPU issue); without it the command
says so and still produces the ONNX set.
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
from ..engines.onnxruntime import OrtConfig, OrtEngine
from .nets import sha256_file

BUNDLED_ONNX = Path(__file__).resolve().parent.parent / "models" / "onnx"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mocap" / "engines"




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


def tensorrt_status() -> str:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT is not installed (pip install 'mocap[gpu]' on an NVIDIA machine); ONNX set only"
    return f"TensorRT {tensorrt.__version__} found; engine building arrives with the GPU back end"


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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-export", description=__doc__.splitlines()[0])
    p.add_argument("--onnx-dir", type=Path, default=BUNDLED_ONNX, help="source ONNX folder")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: ~/.cache/mocap/engines)")
    p.add_argument("--nets3d", type=Path, default=None, metavar="DIR",
                   help="folder with the 3D nets' pose_init.pt and descent.pt (default: the bundled ones)")
    args = p.parse_args(argv)

    def body() -> int:
        cache = args.cache or default_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create cache folder {cache}: {exc.strerror}") from None
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
        (cache / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(tensorrt_status())
        print(f"mocap-export: {len(manifest)} networks ready in {cache}")
        return 0

    return run_cli("mocap-export", body)


if __name__ == "__main__":
    sys.exit(main())
