"""Running a network: one interface (engines.base.Engine), one module per runtime.

`open_engine(onnx, EngineConfig)` (select.py) is how the app gets a network: ONNX Runtime (CPU or
CUDA with IO binding, onnxruntime.py) or TensorRT (tensorrt.py, engines cached by cache.py keys).
"""
from __future__ import annotations

from .base import Engine, EngineError, TensorSpec
from .onnxruntime import OrtConfig, OrtEngine
from .select import BACKEND_NAMES, BackendUnavailable, EngineConfig, open_engine
from .tensorrt import TrtEngine

BACKENDS = {"onnxruntime": OrtEngine, "tensorrt": TrtEngine}

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendUnavailable", "Engine", "EngineConfig", "EngineError",
           "OrtConfig", "OrtEngine", "TensorSpec", "TrtEngine", "open_engine"]
