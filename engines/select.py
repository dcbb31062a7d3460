"""Choosing and opening the engine for one ONNX file: ONNX Runtime (CPU or CUDA) or TensorRT.

`open_engine(onnx, EngineConfig)` is the one place the app's stages get a network from. For
TensorRT it finds the cached engine for this exact TensorRT + GPU + precision + ONNX (cache.py),
builds it when missing or stale (minutes the first time; `mocap-export` does it ahead), and loads
it. When TensorRT or a CUDA device is not there, `fallback=True` runs the same ONNX in ONNX
Runtime instead (with a warning naming why); `fallback=False` fails with that reason.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .base import Engine, EngineError
from .cache import EngineKey, cached_engine_state, engine_path, sha256_file, write_engine
from .onnxruntime import OrtConfig, OrtEngine

log = logging.getLogger(__name__)

BACKEND_NAMES = ("onnxruntime", "tensorrt", "torch")

# Largest batch each net is run with (the optimization profile's max and opt): both hands go
# through the hand nets as one batch (models/frontend/hands.py); everything else runs batch 1.
MAX_BATCH = {"hand_landmark_full": 2, "hand_recrop": 2}


class BackendUnavailable(EngineError):
    """The back end cannot run on this machine at all (not installed, no GPU)."""


def default_cache_dir() -> Path:
    """~/.cache/mocap/engines (or under $XDG_CACHE_HOME)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mocap" / "engines"


@dataclass(frozen=True)
class EngineConfig:
    """How every net of a run is opened.

    backend: 'onnxruntime' (providers and threads from `ort`), 'tensorrt', or 'torch' (torch_graph.py: the
        ONNX graph run with torch ops, for a GPU that has torch but neither TensorRT nor onnxruntime-gpu).
    precision: TensorRT precision, 'fp16' or 'fp32'.
    cuda_graph: TensorRT and torch on CUDA: capture each static shape's work into a CUDA graph.
    torch_device: the torch back end's device (None: 'cuda' where torch sees one, else 'cpu').
    workspace_mb: TensorRT builder workspace limit.
    cache_dir: engine cache (None: default_cache_dir()).
    fallback: TensorRT unavailable -> run the ONNX in ONNX Runtime with `ort` (warning) instead of failing.
    """

    backend: str = "onnxruntime"
    ort: OrtConfig = field(default_factory=OrtConfig)
    precision: str = "fp16"
    cuda_graph: bool = True
    workspace_mb: int = 1024
    cache_dir: Path | None = None
    fallback: bool = False
    torch_device: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_NAMES:
            raise EngineError(f"unknown back end {self.backend!r}; choose from {', '.join(BACKEND_NAMES)}")


def torch_device(cfg: EngineConfig) -> str:
    """The device the torch back end runs on (EngineConfig.torch_device, default cuda where available)."""
    if cfg.torch_device:
        return cfg.torch_device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def net_name(onnx_path: Path) -> str:
    """'pose_init' for 'pose_init.eedb05cf1044.onnx', 'hand_recrop' for 'hand_recrop.onnx'."""
    return Path(onnx_path).name.split(".")[0]


def tensorrt_available() -> tuple[bool, str]:
    """(True, 'TensorRT 11.4.0 on <GPU> (compute capability 8.9)') or (False, why not)."""
    from .tensorrt import cuda_device, import_tensorrt

    try:
        trt = import_tensorrt()
        gpu, cc = cuda_device()
    except EngineError as exc:
        return False, str(exc)
    return True, f"TensorRT {trt.__version__} on {gpu} (compute capability {cc})"


def engine_key(onnx_path: Path, cfg: EngineConfig) -> EngineKey:
    """The cache key of the engine `cfg` wants for `onnx_path` on this machine (needs TensorRT + CUDA)."""
    from .mixed_precision import converter
    from .tensorrt import cuda_device, import_tensorrt, tensorrt_major

    try:
        trt = import_tensorrt()
        gpu, cc = cuda_device()
    except EngineError as exc:
        raise BackendUnavailable(str(exc)) from None
    name = net_name(onnx_path)
    mixed = cfg.precision == "fp16" and tensorrt_major(trt.__version__) >= 11
    return EngineKey(name=name, onnx_sha256=sha256_file(onnx_path), precision=cfg.precision,
                     tensorrt=trt.__version__, gpu=gpu, compute_capability=cc,
                     max_batch=MAX_BATCH.get(name, 1), workspace_mb=cfg.workspace_mb,
                     fp16_converter=converter() if mixed else "")


def ensure_trt_engine(onnx_path: Path, cfg: EngineConfig,
                      say: Callable[[str], None] = log.info) -> tuple[Path, str]:
    """Path of a valid cached engine for `onnx_path`, building it if missing or stale.

    Returns (path, 'cached' | 'built' | 'rebuilt (<why stale>)').
    """
    from .mixed_precision import mixed_precision_onnx
    from .tensorrt import build_plan

    cache = cfg.cache_dir or default_cache_dir()
    key = engine_key(onnx_path, cfg)
    state = cached_engine_state(cache, key)
    if state == "valid":
        return engine_path(cache, key), "cached"
    say(f"building TensorRT {key.precision} engine for {key.name} ({state}); this takes a while once")
    src, mixed = Path(onnx_path), bool(key.fp16_converter)
    if mixed:
        src = mixed_precision_onnx(src, cache, key.fp16_converter)
    plan = build_plan(src, key.precision, key.max_batch, key.workspace_mb, mixed_precision_onnx=mixed)
    return write_engine(cache, key, plan), "built" if state == "missing" else f"rebuilt ({state})"


def open_engine(onnx_path: Path, cfg: EngineConfig | OrtConfig) -> Engine:
    """The engine that runs `onnx_path` under `cfg` (an OrtConfig means ONNX Runtime as configured)."""
    if isinstance(cfg, OrtConfig):
        return OrtEngine(onnx_path, cfg)
    if cfg.backend == "onnxruntime":
        return OrtEngine(onnx_path, cfg.ort)
    if cfg.backend == "torch":
        from .torch_graph import TorchEngine

        batches = tuple(range(1, MAX_BATCH.get(net_name(onnx_path), 1) + 1))
        return TorchEngine.from_onnx(Path(onnx_path), torch_device(cfg), cfg.cuda_graph, batches)
    try:
        path, _ = ensure_trt_engine(Path(onnx_path), cfg)
        from .tensorrt import TrtEngine

        return TrtEngine(path, cfg.precision, cfg.cuda_graph)
    except BackendUnavailable as exc:
        if not cfg.fallback:
            raise
        log.warning("%s: TensorRT unavailable (%s); running it in ONNX Runtime", net_name(onnx_path), exc)
        return OrtEngine(onnx_path, cfg.ort)
