"""Running a network: one interface (engines.base.Engine), one module per runtime.

BACKENDS maps a back-end name to its engine class; nothing else branches on the back end.
"""
from __future__ import annotations

from .base import Engine, EngineError, TensorSpec
from .onnxruntime import OrtConfig, OrtEngine

BACKENDS = {"onnxruntime": OrtEngine}

__all__ = ["BACKENDS", "Engine", "EngineError", "OrtConfig", "OrtEngine", "TensorSpec"]
