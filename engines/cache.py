"""Where TensorRT engines live and when a cached one may be loaded (pure Python, no GPU needed).

A serialized TensorRT engine only runs on the TensorRT build and the GPU model it was built with
(TensorRT's support policy: plan files are not portable across versions; kernels are tuned per
GPU). So an engine is cached under a key of everything that makes it what it is (DESIGN 10):
TensorRT version + GPU name + compute capability + precision + the source ONNX file's SHA-256
(+ the build settings that change the plan: batch profile, workspace). Next to each engine
``NAME.<precision>.<key12>.engine`` a sidecar ``.json`` records the key fields and the engine
file's own SHA-256; an engine is loaded only when its sidecar matches the wanted key field by
field and the bytes still hash to what was written. Anything else (other GPU, other TensorRT,
edited ONNX, truncated file, missing sidecar) is stale or foreign: rebuilt, never loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PRECISIONS = ("fp32", "fp16")

# Stated per precision: max |engine - ONNX Runtime CPU| allowed by `mocap-export --check`, as a
# fraction of the reference output's largest magnitude (floored at 1). FP32 engines may use TF32
# tensor cores on Ampere and newer (10-bit mantissa in the matmuls/convs): ~1e-3 relative;
# FP16 (mixed precision, float32 I/O): ~1e-3..1e-2. Measured on ONNX Runtime CPU for the
# mixed-precision ONNX of our nets: 2e-4 (hand landmarks) to 5e-4 (pose_init root).
CHECK_TOLERANCE = {"fp32": 5e-3, "fp16": 2e-2}


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized TensorRT engine depends on.

    max_batch: the optimization profile's batch range is 1..max_batch (opt = max_batch), for
    nets with a dynamic batch axis (hands: 2, one per hand); 1 otherwise.
    workspace_mb: the builder's workspace memory-pool limit.
    fp16_converter: the tool and version that made the mixed-precision ONNX (TensorRT 11 FP16), else ''.
    """

    name: str
    onnx_sha256: str
    precision: str
    tensorrt: str
    gpu: str
    compute_capability: str
    max_batch: int = 1
    workspace_mb: int = 1024
    fp16_converter: str = ""

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of all fields."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def filename(self) -> str:
        return f"{self.name}.{self.precision}.{self.digest()[:12]}.engine"


def engine_path(cache: Path, key: EngineKey) -> Path:
    return cache / key.filename()


def sidecar_path(engine: Path) -> Path:
    return engine.with_suffix(".json")


def cached_engine_state(cache: Path, key: EngineKey) -> str:
    """'valid' (load it), 'missing' (build it) or 'stale: <why>' (rebuild it) for the wanted key."""
    path = engine_path(cache, key)
    if not path.is_file():
        return "missing"
    side = sidecar_path(path)
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError):
        return "stale: no readable sidecar"
    wanted = asdict(key)
    for field, value in wanted.items():
        if meta.get(field) != value:
            return f"stale: {field} is {meta.get(field)!r}, want {value!r}"
    if meta.get("engine_sha256") != sha256_file(path):
        return "stale: engine bytes changed since they were written"
    return "valid"


def write_engine(cache: Path, key: EngineKey, plan: bytes) -> Path:
    """Write plan + sidecar atomically (temporary names, then rename); returns the engine path."""
    cache.mkdir(parents=True, exist_ok=True)
    path = engine_path(cache, key)
    tmp = path.with_suffix(".engine.tmp")
    tmp.write_bytes(plan)
    meta = {**asdict(key), "engine_sha256": hashlib.sha256(plan).hexdigest()}
    side_tmp = path.with_suffix(".json.tmp")
    side_tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, path)
    os.replace(side_tmp, sidecar_path(path))
    return path
