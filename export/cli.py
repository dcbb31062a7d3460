"""`mocap-export`: check and stage every network the app runs into one cache folder.

Today's set is the five converted MediaPipe nets (ONNX, committed under models/onnx). Each is
copied into the cache under its content hash, loaded in ONNX Runtime and run once on a fixed
input; a cached copy with the right hash is reused (re-running is a no-op). TensorRT engines
are built from this set where TensorRT is importable (GPU issue); without it the command
says so and still produces the ONNX set.
"""
from __future__ import annotations

import argparse
import hashlib
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

BUNDLED_ONNX = Path(__file__).resolve().parent.parent / "models" / "onnx"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mocap" / "engines"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-export", description=__doc__.splitlines()[0])
    p.add_argument("--onnx-dir", type=Path, default=BUNDLED_ONNX, help="source ONNX folder")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: ~/.cache/mocap/engines)")
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
        (cache / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(tensorrt_status())
        print(f"mocap-export: {len(manifest)} networks ready in {cache}")
        return 0

    return run_cli("mocap-export", body)


if __name__ == "__main__":
    sys.exit(main())
