"""PyTorch back end: an ONNX graph executed with torch ops on any torch device.

Where a GPU has neither TensorRT nor onnxruntime-gpu installed (both are large downloads from
NVIDIA/PyPI; a machine without network has only what its image holds), torch alone still runs the
nets on the GPU. `TorchGraph` interprets the ONNX graph node by node with the operators the
converted MediaPipe nets use (SUPPORTED_OPS; an unknown operator is an EngineError at load, never a
wrong result), weights uploaded once; `TorchEngine` adds the Engine interface and optional CUDA-graph
capture per input shape (the per-node Python cost is then paid once per shape, not per frame).
Our own 3D nets have their PyTorch modules, so the 3D stage runs those directly on this back end
(`models/nets/runtime.py`).

Semantics follow the ONNX operator specs (opset 17): Conv pads [begin..., end...], Pad pads
[x1_begin, x2_begin, ..., x1_end, ...], Resize 'linear' + 'half_pixel' = bilinear without corner
alignment, DepthToSpace default mode 'DCR'.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from .base import EngineError, TensorSpec

log = logging.getLogger(__name__)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(v) -> str:
    """An ONNX string attribute (bytes from onnx.helper) as str."""
    return v.decode() if isinstance(v, bytes) else v


def _conv(x, w, b=None, *, pads=(0, 0, 0, 0), strides=(1, 1), dilations=(1, 1), group=1, **_):
    import torch.nn.functional as F

    top, left, bottom, right = pads[0], pads[1], pads[2], pads[3]
    if (top, left) == (bottom, right):
        return F.conv2d(x, w, b, strides, (top, left), dilations, group)
    return F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, strides, 0, dilations, group)


def _clip(x, lo=None, hi=None, **_):
    import torch

    return torch.clamp(x, None if lo is None else float(lo), None if hi is None else float(hi))


def _pad(x, pads, value=None, *, mode=b"constant", **_):
    import torch.nn.functional as F

    p = [int(v) for v in pads.tolist()]
    n = len(p) // 2
    torch_pads = []
    for axis in reversed(range(n)):   # F.pad: last axis first, (begin, end) pairs
        torch_pads += [p[axis], p[axis + n]]
    mode = _text(mode)
    if mode != "constant":
        raise EngineError(f"Pad mode {mode!r} is not supported by the torch back end")
    return F.pad(x, torch_pads, value=0.0 if value is None else float(value))


def _maxpool(x, *, kernel_shape, strides=None, pads=(0, 0, 0, 0), ceil_mode=0, **_):
    import torch.nn.functional as F

    if pads[0] != pads[2] or pads[1] != pads[3]:
        x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=float("-inf"))
        pads = (0, 0, 0, 0)
    return F.max_pool2d(x, kernel_shape, strides or kernel_shape, (pads[0], pads[1]), ceil_mode=bool(ceil_mode))


def _resize(x, roi=None, scales=None, sizes=None, *, mode=b"nearest", coordinate_transformation_mode=b"half_pixel",
            **_):
    import torch.nn.functional as F

    mode, ctm = _text(mode), _text(coordinate_transformation_mode)
    if mode != "linear" or ctm != "half_pixel":
        raise EngineError(f"Resize {mode}/{ctm} is not supported by the torch back end")
    if sizes is not None and len(sizes):
        return F.interpolate(x, size=[int(s) for s in sizes.tolist()[2:]], mode="bilinear", align_corners=False)
    return F.interpolate(x, scale_factor=[float(s) for s in scales.tolist()[2:]], mode="bilinear",
                         align_corners=False)


def _depth_to_space(x, *, blocksize, mode=b"DCR", **_):
    n, c, h, w = x.shape
    b = int(blocksize)
    mode = _text(mode)
    if mode == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    else:  # CRD
        y = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _reshape(x, shape, **_):
    dims = [int(s) for s in shape.tolist()]
    dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]   # ONNX: 0 copies the input's dim
    return x.reshape(dims)


def _slice(x, starts, ends, axes=None, steps=None, **_):
    index = [slice(None)] * x.dim()
    axes = range(len(starts)) if axes is None else axes.tolist()
    steps = [1] * len(starts) if steps is None else steps.tolist()
    for a, s, e, st in zip(axes, starts.tolist(), ends.tolist(), steps):
        if st != 1:
            raise EngineError("Slice with a step other than 1 is not supported by the torch back end")
        index[int(a)] = slice(int(s), min(int(e), x.shape[int(a)]))
    return x[tuple(index)]


def _squeeze(x, axes=None, **kw):
    axes = kw.get("axes_attr") if axes is None else axes.tolist()
    if axes is None:
        return x.squeeze()
    for a in sorted((int(v) % x.dim() for v in axes), reverse=True):
        x = x.squeeze(a)
    return x


def _gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0, **_):
    a = a.t() if transA else a
    b = b.t() if transB else b
    y = alpha * (a @ b)
    return y if c is None else y + beta * c


def _concat(*xs, axis, **_):
    import torch

    return torch.cat(xs, int(axis))


# ONNX operator -> torch function(inputs..., **attributes). Inputs that are graph constants (weights,
# shapes, pads, scales) arrive as torch tensors on the device or, for shape-like ones, as numpy arrays.
SUPPORTED_OPS: dict[str, Callable] = {
    "Conv": _conv,
    "Clip": _clip,
    "Relu": lambda x, **_: x.relu(),
    "Sigmoid": lambda x, **_: x.sigmoid(),
    "Add": lambda a, b, **_: a + b,
    "Mul": lambda a, b, **_: a * b,
    "Transpose": lambda x, *, perm, **_: x.permute(*perm),
    "Reshape": _reshape,
    "Concat": _concat,
    "Slice": _slice,
    "Pad": _pad,
    "MaxPool": _maxpool,
    "GlobalAveragePool": lambda x, **_: x.mean(dim=(2, 3), keepdim=True),
    "Squeeze": _squeeze,
    "Gemm": _gemm,
    "Resize": _resize,
    "DepthToSpace": _depth_to_space,
}
# Inputs read as host values (shapes, pads, indices, scales) rather than device tensors.
# (Read on the host once at load: a device read per call would synchronise, and breaks CUDA-graph capture.)
HOST_INPUTS = {"Clip": {1, 2}, "Reshape": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1}, "Resize": {1, 2, 3}, "Squeeze": {1}}


class TorchGraph:
    """An ONNX graph as a list of torch calls; `__call__(dict) -> dict` on `device`."""

    def __init__(self, path: Path, device: str = "cpu"):
        import onnx
        import torch
        from onnx import numpy_helper

        try:
            model = onnx.load(str(path))
        except Exception as exc:  # protobuf raises several types for corrupt files
            raise EngineError(f"cannot load model {path}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
        graph = model.graph
        unknown = sorted({n.op_type for n in graph.node} - set(SUPPORTED_OPS))
        if unknown:
            raise EngineError(f"{Path(path).name}: operators {', '.join(unknown)} are not supported by the torch back end")
        self.device = torch.device(device)
        host = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.consts: dict[str, object] = {}
        for name, value in host.items():
            self.consts[name] = torch.from_numpy(np.array(value)).to(self.device)
        self.host_consts = host
        init = set(host)
        self.input_names = [i.name for i in graph.input if i.name not in init]
        self.output_names = [o.name for o in graph.output]

        def spec(v) -> TensorSpec:
            dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                         for d in v.type.tensor_type.shape.dim)
            return TensorSpec(v.name, dims, "tensor(float)")

        self.inputs = tuple(spec(v) for v in graph.input if v.name not in init)
        self.outputs = tuple(spec(v) for v in graph.output)
        self.steps = []
        for node in graph.node:
            attrs = _attrs(node)
            if node.op_type == "Squeeze" and "axes" in attrs:   # opset < 13 kept axes as an attribute
                attrs["axes_attr"] = attrs.pop("axes")
            host_idx = HOST_INPUTS.get(node.op_type, set())
            self.steps.append((SUPPORTED_OPS[node.op_type], list(node.input), host_idx, attrs, list(node.output)))

    def __call__(self, feeds: Mapping[str, object]) -> dict:
        env = dict(self.consts)
        env.update(feeds)
        for fn, ins, host_idx, attrs, outs in self.steps:
            args = [None if not name else (self.host_consts[name] if k in host_idx else env[name])
                    for k, name in enumerate(ins)]
            y = fn(*args, **attrs)
            env[outs[0]] = y
        return {name: env[name] for name in self.output_names}


class TorchEngine:
    """The Engine interface over a torch callable (a TorchGraph, or one of our nets' PyTorch modules).

    cuda_graph: on CUDA, a CUDA graph is captured at load for each batch size in `graph_batches` (the
    other input dims are static) and replayed for calls of that shape; any other shape runs eagerly.
    Capturing at load, before the pipeline's threads start, matters: a capture while another thread
    launches work on the default stream is invalidated (CUDA stream-capture rules).
    """

    backend = "torch"

    def __init__(self, fn: Callable[[Mapping[str, object]], dict], name: str, inputs: tuple[TensorSpec, ...],
                 outputs: tuple[TensorSpec, ...], device: str, cuda_graph: bool = True,
                 graph_batches: tuple[int, ...] = (1,)):
        import torch

        self.fn, self.name, self.inputs, self.outputs = fn, name, inputs, outputs
        self.device = torch.device(device)
        self.cuda_graph = cuda_graph and self.device.type == "cuda"
        self.provider = f"torch {torch.__version__} {self.device.type}" + (" + CUDA graphs" if self.cuda_graph else "")
        self._graphs: dict[tuple, dict] = {}
        if self.cuda_graph:
            for batch in graph_batches:
                self._capture(batch)

    @classmethod
    def from_onnx(cls, path: Path, device: str = "cpu", cuda_graph: bool = True,
                  graph_batches: tuple[int, ...] = (1,)) -> "TorchEngine":
        graph = TorchGraph(path, device)
        return cls(graph, Path(path).name.split(".")[0], graph.inputs, graph.outputs, device, cuda_graph,
                   graph_batches)

    def _device_feeds(self, feeds: Mapping[str, object]) -> dict:
        import torch

        out = {}
        for s in self.inputs:
            v = feeds[s.name]
            t = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
            out[s.name] = t.to(self.device, torch.float32, non_blocking=True)
        return out

    def run(self, feeds: Mapping[str, object]) -> dict[str, np.ndarray]:
        import torch

        x = self._device_feeds(feeds)
        with torch.inference_mode():
            slot = self._graphs.get(tuple(tuple(t.shape) for t in x.values())) if self.cuda_graph else None
            if slot is None:
                y = self.fn(x)
            else:
                for k, v in x.items():
                    slot["in"][k].copy_(v)
                slot["graph"].replay()
                y = slot["out"]
            return {k: v.float().cpu().numpy() for k, v in y.items()}

    def _capture(self, batch: int) -> None:
        """Warm up and capture the graph for inputs of this batch size (other dims from the specs)."""
        import torch

        shapes = {s.name: tuple(d if isinstance(d, int) and d > 0 else batch for d in s.shape) for s in self.inputs}
        if any(len(shape) and shape[0] != batch for shape in shapes.values()):
            return   # a fixed batch other than this one
        static_in = {n: torch.zeros(shape, device=self.device) for n, shape in shapes.items()}
        with torch.inference_mode():
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):   # warm-up on a side stream (cuDNN picks its kernels), as torch's docs ask
                    self.fn(static_in)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    static_out = self.fn(static_in)
            except RuntimeError as exc:   # e.g. a host read inside the net: it stays eager for this shape
                log.warning("%s: CUDA graph capture failed for batch %d (%s); running eagerly", self.name, batch,
                            str(exc).splitlines()[0])
                return
        self._graphs[tuple(static_in[n].shape for n in shapes)] = {"in": static_in, "out": static_out, "graph": graph}
