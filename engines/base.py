"""The one interface every network runs through: named float32 inputs -> named outputs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol

import numpy as np


class EngineError(RuntimeError):
    """A network cannot be loaded or run (missing/corrupt file, missing provider, bad shape).

    The message is one line meant for the user; the CLI prints it and exits non-zero.
    """


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape (None or a string for a dynamic axis) and dtype of one network input/output."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str


class Engine(Protocol):
    """A loaded network. `run` maps input name -> array to output name -> numpy array.

    Input values are numpy arrays or torch tensors (any device): a host back end copies a device
    tensor to the host, a GPU back end binds a device tensor in place (no copy) and uploads a host
    array. Outputs always come back as host numpy arrays (they are small: landmarks, scores).
    """

    name: str
    backend: str   # e.g. "onnxruntime"
    provider: str  # what actually executes, e.g. "CPUExecutionProvider"
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...
