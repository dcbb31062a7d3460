"""ONNX Runtime back end: provider preference, thread count, the provider that really runs.

With the CUDA provider the session runs through IO binding: a torch CUDA tensor is bound in place
by its device pointer (no host round trip for crops made on the GPU), a host array is uploaded
once, outputs are allocated on the device by ONNX Runtime and copied back (they are small).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .base import EngineError, TensorSpec

# Short names users type -> ONNX Runtime provider names, in the default preference order.
PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


@dataclass(frozen=True)
class OrtConfig:
    """How ONNX Runtime sessions are made.

    providers: preference order, short names from PROVIDERS; the first available one runs.
    require: a short name that must be available, else EngineError (None = take what exists).
    threads: intra-op threads per session (0 = ONNX Runtime's default, all cores).
    """

    providers: tuple[str, ...] = ("cpu",)
    require: str | None = None
    threads: int = 1


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(preference: Sequence[str], require: str | None = None) -> list[str]:
    """Return the ONNX Runtime provider names to pass to a session, best first.

    Raises EngineError for an unknown short name or when `require` is not available here.
    """
    unknown = [p for p in (*preference, *([require] if require else [])) if p not in PROVIDERS]
    if unknown:
        raise EngineError(f"unknown provider {unknown[0]!r}; choose from {', '.join(PROVIDERS)}")
    have = set(available_providers())
    if require and PROVIDERS[require] not in have:
        raise EngineError(
            f"provider {require!r} ({PROVIDERS[require]}) is required but this onnxruntime "
            f"build only has {', '.join(sorted(have))}"
        )
    chosen = [PROVIDERS[p] for p in preference if PROVIDERS[p] in have]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


# ONNX Runtime type strings -> numpy dtypes (for binding device buffers).
ORT_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
                   "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def to_host(value) -> np.ndarray:
    """A numpy array as is; a torch tensor (any device) as a host numpy array."""
    if isinstance(value, np.ndarray):
        return value
    return value.detach().cpu().numpy()


def _specs(args) -> tuple[TensorSpec, ...]:
    return tuple(TensorSpec(a.name, tuple(a.shape), a.type) for a in args)


class OrtEngine:
    """One ONNX model in one ONNX Runtime session."""

    backend = "onnxruntime"

    def __init__(self, path: str | os.PathLike, config: OrtConfig = OrtConfig()):
        import onnxruntime as ort

        path = Path(path)
        self.name = path.stem
        if not path.is_file():
            raise EngineError(f"model file not found: {path}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        providers = choose_providers(config.providers, config.require)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # ORT raises several types for corrupt or invalid files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"cannot load model {path}: {first}") from None
        self.provider = self.session.get_providers()[0]
        if config.require and self.provider != PROVIDERS[config.require]:
            raise EngineError(f"{path.name}: required provider {config.require!r} did not take the model")
        self.inputs = _specs(self.session.get_inputs())
        self.outputs = _specs(self.session.get_outputs())
        self._output_names = [o.name for o in self.outputs]
        self._binding = self.session.io_binding() if self.provider == PROVIDERS["cuda"] else None

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._binding is not None:
            return self._run_bound(feeds)
        values = self.session.run(self._output_names, {k: to_host(v) for k, v in feeds.items()})
        return dict(zip(self._output_names, values))

    def _run_bound(self, feeds: Mapping[str, object]) -> dict[str, np.ndarray]:
        """CUDA provider: bind device buffers (torch tensors) by pointer; outputs come back to the host."""
        import torch

        binding = self._binding
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        device = torch.cuda.current_device()
        kept = []  # the bound tensors must live until the run returns
        for spec in self.inputs:
            value = feeds[spec.name]
            dtype = ORT_NUMPY_TYPES[spec.dtype]
            t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value))
            t = t.to(device=f"cuda:{device}", dtype=getattr(torch, np.dtype(dtype).name)).contiguous()
            kept.append(t)
            binding.bind_input(spec.name, "cuda", device, dtype, tuple(t.shape), t.data_ptr())
        for name in self._output_names:
            binding.bind_output(name, "cuda", device)
        torch.cuda.current_stream().synchronize()  # the inputs were written on torch's stream
        self.session.run_with_iobinding(binding)
        return dict(zip(self._output_names, binding.copy_outputs_to_cpu()))
