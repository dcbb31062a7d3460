"""TensorRT back end: build a plan from ONNX, run it on torch-owned CUDA memory. The only module that
imports `tensorrt`; everything around it (cache keys, selection, fallbacks) is in cache.py and
select.py and is tested without a GPU.

Runtime (TensorRT 10/11 name-based API): deserialize the plan, `set_input_shape` +
`set_tensor_address` for every I/O tensor on torch CUDA tensors, `execute_async_v3` on a torch
stream; no pycuda (torch allocates, torch owns the stream). Optional CUDA-graph capture per input
shape (the nets have static shapes per call: batch 1, or 2 for the hands): the first call with a
shape runs eagerly, the second captures, later ones copy the inputs into the captured buffers and
replay.

Precision: TensorRT 11 networks are always strongly typed (the FP16 builder flag is gone), so
FP16 comes from a mixed-precision ONNX (export/fp16.py) built as is; on TensorRT 10 the FP32 ONNX
is built with BuilderFlag.FP16 (NVIDIA, "Migrating from TensorRT 10.x to 11.x", strong typing).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from .base import EngineError, TensorSpec

log = logging.getLogger(__name__)


def import_tensorrt():
    """The tensorrt module, or EngineError saying how to get it."""
    try:
        import tensorrt
    except ImportError:
        raise EngineError("TensorRT is not installed (pip install 'mocap[gpu]' on an NVIDIA machine, "
                          "with https://pypi.nvidia.com reachable)") from None
    return tensorrt


def tensorrt_major(version: str) -> int:
    """10 for '10.13.2.6', 11 for '11.4.0.106'."""
    return int(version.split(".")[0])


def cuda_device() -> tuple[str, str]:
    """(GPU name, compute capability 'M.m') of the current torch CUDA device, or EngineError."""
    import torch

    if not torch.cuda.is_available():
        raise EngineError("no CUDA device visible to torch (a CPU build of torch, no NVIDIA driver, "
                          "or CUDA_VISIBLE_DEVICES hides it)")
    major, minor = torch.cuda.get_device_capability()
    return torch.cuda.get_device_name(), f"{major}.{minor}"


def _logger(trt):
    return trt.Logger(trt.Logger.WARNING)


def build_plan(onnx_path: Path, precision: str, max_batch: int, workspace_mb: int,
               mixed_precision_onnx: bool) -> bytes:
    """Parse an ONNX file and build a serialized engine.

    Args:
        precision: 'fp32' or 'fp16'.
        max_batch: the profile covers batch 1..max_batch on a dynamic leading axis (opt = max).
        mixed_precision_onnx: the file already carries FP16 types (TensorRT 11 FP16 path); the
            network is then strongly typed and no precision flag is set.
    Raises:
        EngineError: parse or build failure, with TensorRT's first message.
    """
    trt = import_tensorrt()
    logger = _logger(trt)
    builder = trt.Builder(logger)
    major = tensorrt_major(trt.__version__)
    flags = 0
    if mixed_precision_onnx:
        # Required on 10.x to honour the graph's types; accepted and ignored on 11.x (always strong).
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        first = parser.get_error(0).desc() if parser.num_errors else "unknown error"
        raise EngineError(f"TensorRT cannot parse {onnx_path.name}: {first}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision == "fp16" and not mixed_precision_onnx:
        if major >= 11:
            raise EngineError("TensorRT 11 builds FP16 only from a mixed-precision ONNX (export/fp16.py)")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = list(tensor.shape)
        if any(d < 0 for d in shape[1:]):
            raise EngineError(f"{onnx_path.name}: input {tensor.name!r} has dynamic non-batch axes {shape}")
        lo = [1 if d < 0 else d for d in shape]
        hi = [max_batch if d < 0 else d for d in shape]
        profile.set_shape(tensor.name, lo, hi, hi)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise EngineError(f"TensorRT failed to build {onnx_path.name} ({precision}); see its log above")
    return bytes(plan)


def _torch_dtype(trt, dtype):
    import torch

    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32,
             trt.int64: torch.int64, trt.bool: torch.bool, trt.int8: torch.int8}
    if dtype not in table:
        raise EngineError(f"unsupported TensorRT tensor type {dtype}")
    return table[dtype]


class TrtEngine:
    """One deserialized TensorRT engine with one execution context on its own torch CUDA stream.

    `run` takes numpy arrays or torch tensors (host or device) and returns host numpy arrays, like
    every engine (engines/base.py).
    """

    backend = "tensorrt"

    def __init__(self, path: Path, precision: str = "fp32", cuda_graph: bool = False):
        import torch

        trt = import_tensorrt()
        cuda_device()
        self.name = Path(path).name.split(".")[0]
        self._trt = trt
        # TensorRT keeps raw pointers to its logger and the runtime: both must outlive the engine.
        self._logger = _logger(trt)
        self._runtime = runtime = trt.Runtime(self._logger)
        try:
            plan = Path(path).read_bytes()
        except OSError as exc:
            raise EngineError(f"cannot read engine {path}: {exc.strerror}") from None
        self.engine = runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise EngineError(f"cannot deserialize TensorRT engine {path} (corrupt, or built by another "
                              "TensorRT/GPU; rebuild with mocap-export)")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._dtypes = {n: _torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}

        def spec(n: str) -> TensorSpec:
            shape = tuple(d if d >= 0 else "batch" for d in self.engine.get_tensor_shape(n))
            return TensorSpec(n, shape, str(self._dtypes[n]).replace("torch.", ""))

        self.inputs = tuple(spec(n) for n in names if is_input[n])
        self.outputs = tuple(spec(n) for n in names if not is_input[n])
        self.precision = precision
        self.cuda_graph = cuda_graph
        self.provider = f"TensorRT {trt.__version__} {precision}" + (" + CUDA graphs" if cuda_graph else "")
        self._buffers: dict[tuple, dict] = {}  # input shapes -> {'in': {...}, 'out': {...}, 'graph': ...}

    def _device_inputs(self, feeds: Mapping[str, object]) -> dict:
        import torch

        out = {}
        for s in self.inputs:
            if s.name not in feeds:
                raise EngineError(f"{self.name}: missing input {s.name!r}")
            v = feeds[s.name]
            t = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
            out[s.name] = t.to(device="cuda", dtype=self._dtypes[s.name], non_blocking=True).contiguous()
        return out

    def _bind(self, inputs: dict) -> dict:
        """Allocate (once per input-shape set) the input copies and outputs and bind their addresses."""
        import torch

        key = tuple(tuple(t.shape) for t in inputs.values())
        slot = self._buffers.get(key)
        if slot is None:
            slot = {"in": {n: torch.empty_like(t) for n, t in inputs.items()}, "out": {}, "graph": None, "runs": 0}
            for n, t in slot["in"].items():
                self.context.set_input_shape(n, tuple(t.shape))
            for s in self.outputs:
                shape = tuple(self.context.get_tensor_shape(s.name))
                slot["out"][s.name] = torch.empty(shape, dtype=self._dtypes[s.name], device="cuda")
            self._buffers[key] = slot
        for n, t in slot["in"].items():
            self.context.set_input_shape(n, tuple(t.shape))
            self.context.set_tensor_address(n, t.data_ptr())
        for n, t in slot["out"].items():
            self.context.set_tensor_address(n, t.data_ptr())
        return slot

    def run(self, feeds: Mapping[str, object]) -> dict[str, np.ndarray]:
        import torch

        producer = torch.cuda.current_stream()
        with torch.cuda.stream(self.stream):
            self.stream.wait_stream(producer)  # inputs written by pre-processing on the caller's stream
            inputs = self._device_inputs(feeds)
            slot = self._buffers.get(tuple(tuple(t.shape) for t in inputs.values()))
            if slot is None or slot["graph"] is None:
                slot = self._bind(inputs)
            for n, t in inputs.items():
                slot["in"][n].copy_(t, non_blocking=True)
            if slot["graph"] is not None:
                slot["graph"].replay()
            else:
                if not self.context.execute_async_v3(self.stream.cuda_stream):
                    raise EngineError(f"{self.name}: TensorRT execute_async_v3 failed")
                slot["runs"] += 1
                if self.cuda_graph and slot["runs"] == 1:
                    self._capture(slot)
            host = {n: t.to("cpu", non_blocking=True) for n, t in slot["out"].items()}
        self.stream.synchronize()
        return {n: t.float().numpy() if t.dtype == torch.float16 else t.numpy() for n, t in host.items()}

    def _capture(self, slot: dict) -> None:
        """Capture this shape's enqueue into a CUDA graph (after one eager run, as TensorRT asks)."""
        import torch

        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self.stream):
                self.context.execute_async_v3(self.stream.cuda_stream)
        except RuntimeError as exc:  # e.g. an engine with data-dependent shapes: stay eager
            log.warning("%s: CUDA graph capture failed (%s); running without", self.name, exc)
            self.cuda_graph = False
            return
        slot["graph"] = graph
