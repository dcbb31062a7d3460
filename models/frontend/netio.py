"""Binding the front end's nets by the names of the ONNX contract (export/ writes them).

Contract (models/onnx/*.onnx): NHWC float32 input `image`; outputs named per model. A model with a
single input or output under another name (e.g. straight from tf2onnx) is accepted for that slot,
and a fixed batch of 1 is run one item at a time, so ad hoc conversions still work.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from mocap.engines.base import Engine, EngineError


class BoundNet:
    """An engine with its input and outputs bound to contract names."""

    def __init__(self, engine: Engine, input_name: str, outputs: Mapping[str, tuple[int, ...]],
                 input_wh: tuple[int, int]):
        """Args:
            outputs: contract output name -> per-item shape (batch dim excluded), e.g. {'points': (4,)}.
            input_wh: the crop size the front end feeds, (width, height).
        Raises:
            EngineError: the model lacks a contract name and cannot be matched unambiguously, or
                its input is not an NHWC image of input_wh (checked at load, not mid-run).
        """
        self.engine = engine
        ins = [s.name for s in engine.inputs]
        if input_name in ins:
            self.input = input_name
        elif len(ins) == 1:
            self.input = ins[0]
        else:
            raise EngineError(f"{engine.name}: no input named {input_name!r} (has {ins})")
        shape = next(s.shape for s in engine.inputs if s.name == self.input)
        w, h = input_wh
        if len(shape) != 4 or any(isinstance(got, int) and got != want
                                  for got, want in zip(shape[1:], (h, w, 3))):
            raise EngineError(f"{engine.name}: input {self.input!r} has shape {list(shape)}, "
                              f"expected [N, {h}, {w}, 3] (NHWC)")
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        outs = [s.name for s in engine.outputs]
        self.outputs: dict[str, str] = {}
        for name in outputs:
            if name in outs:
                self.outputs[name] = name
            elif len(outs) == 1 and len(outputs) == 1:
                self.outputs[name] = outs[0]
            else:
                raise EngineError(f"{engine.name}: no output named {name!r} (has {outs})")
        self.item_shapes = dict(outputs)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a (N, H, W, 3) batch; returns contract name -> (N, *item_shape) arrays."""
        n = batch.shape[0]
        if self.fixed_batch is not None and self.fixed_batch != n:
            parts = [self._run(batch[i:i + 1]) for i in range(n)]
            return {k: np.concatenate([p[k] for p in parts]) for k in self.outputs}
        return self._run(batch)

    def _run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        raw = self.engine.run({self.input: batch})
        n = batch.shape[0]
        return {k: raw[v].reshape((n,) + self.item_shapes[k]) for k, v in self.outputs.items()}
