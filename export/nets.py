"""PyTorch -> ONNX for the two 3D nets (issue 4 item 5), checked against PyTorch, cached by content.

Decision: the ONNX files are NOT committed. The weights ship as the training checkpoints
(``models/nets/data/*.pt``, ``mocap.models.nets.checkpoint``); the ONNX graph is a pure function of a
checkpoint, so ``net_onnx`` exports it on first use into the engine cache (``~/.cache/mocap/engines``)
as ``NAME.<key12>.onnx``, key = SHA-256 of the checkpoint file + ``EXPORT_VERSION`` + opset. New weights
are then one file change, with no second copy that can go stale; the first run after a change pays
a few seconds of export (``mocap-export`` does it ahead of time). Every export is validated against
the PyTorch net on fixed random inputs (``TOLERANCE``) before it is renamed into place.

Contract (dynamic batch axis ``batch``; float32; opset ``OPSET``):

* ``pose_init``: inputs ``k67_xy`` (batch, 81, 67, 2) box-normalised, ``mask`` (batch, 81, 67),
  ``global_info`` (batch, 81, 3); outputs ``pose_6d`` (batch, 52, 6), ``betas`` (batch, 10),
  ``cam_crop`` (batch, 3), ``root_c`` (batch, 3) metres, ``contacts`` (batch, 4) logits, for the newest
  (causal) frame of the fixed 81-frame window.
* ``descent``: inputs ``pose_6d`` (batch, 52, 6), ``betas`` (batch, 10), ``root_c`` (batch, 3),
  ``k67_xy`` (batch, 67, 2), ``mask`` (batch, 67), ``global_info`` (batch, 3); outputs
  ``pose_6d_refined``, ``betas_refined``, ``root_c_refined`` (ONNX names must differ from the inputs').
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from mocap.engines.base import EngineError
from mocap.engines.cache import sha256_file

log = logging.getLogger(__name__)

OPSET = 17              # accepted by ONNX Runtime >= 1.14 and TensorRT 8.6+/10
EXPORT_VERSION = 1      # bump when the exported graph changes for the same checkpoint
TOLERANCE = 1e-4        # max |ONNX - PyTorch| on the check inputs (float32 re-association noise is ~1e-6)
WINDOW = 81             # the init net's fixed window (its receptive field)
NET_NAMES = ("pose_init", "descent")

POSE_INIT_INPUTS = ("k67_xy", "mask", "global_info")
POSE_INIT_OUTPUTS = ("pose_6d", "betas", "cam_crop", "root_c", "contacts")
DESCENT_INPUTS = ("pose_6d", "betas", "root_c", "k67_xy", "mask", "global_info")
DESCENT_OUTPUTS = ("pose_6d_refined", "betas_refined", "root_c_refined")


def check_inputs(name: str, batch: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Fixed random inputs in the nets' realistic ranges (box coordinates, ~20% missing, g of a person
    filling a third of a 45-degree frame), float32."""
    rng = np.random.default_rng(seed)
    T = (WINDOW,) if name == "pose_init" else ()
    xy = (rng.standard_normal((batch, *T, 67, 2)) * 0.4).astype(np.float32)
    mask = (rng.random((batch, *T, 67)) > 0.2).astype(np.float32)
    g = np.stack([rng.normal(0, 0.15, (batch, *T)), rng.normal(0, 0.15, (batch, *T)),
                  rng.uniform(0.4, 0.9, (batch, *T))], -1).astype(np.float32)
    if name == "pose_init":
        return {"k67_xy": xy, "mask": mask, "global_info": g}
    from mocap.models.nets.pose_init import IDENTITY_6D

    pose = (np.tile(np.asarray(IDENTITY_6D, np.float32), (batch, 52, 1))
            + rng.normal(0, 0.2, (batch, 52, 6))).astype(np.float32)
    betas = rng.normal(0, 1, (batch, 10)).astype(np.float32)
    root = np.stack([rng.normal(0, 0.3, batch), rng.normal(0, 0.3, batch), rng.uniform(2, 5, batch)],
                    -1).astype(np.float32)
    return {"pose_6d": pose, "betas": betas, "root_c": root, "k67_xy": xy, "mask": mask, "global_info": g}


def _wrap(name: str, net):
    import torch

    class PoseInitGraph(torch.nn.Module):
        """PoseInitOutput -> a tuple in POSE_INIT_OUTPUTS order (ONNX outputs are positional)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, k67_xy, mask, global_info):
            o = self.inner(k67_xy, mask, global_info)
            return o.pose_6d, o.betas, o.cam_crop, o.root_c, o.contacts

    return (PoseInitGraph(net) if name == "pose_init" else net).eval()


def load_torch_net(name: str, checkpoint: str | os.PathLike):
    """The eval-mode PyTorch net of a checkpoint ('pose_init' or 'descent').

    Raises:
        EngineError: unknown name, unreadable checkpoint or weights that do not fit.
    """
    from mocap.models.nets.checkpoint import load_descent, load_pose_init

    if name == "pose_init":
        return load_pose_init(checkpoint)
    if name == "descent":
        return load_descent(checkpoint)
    raise EngineError(f"unknown net {name!r}; choose from {', '.join(NET_NAMES)}")


def torch_outputs(name: str, net, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The PyTorch net's outputs on feeds, in the ONNX output order."""
    import torch

    graph = _wrap(name, net)
    names = POSE_INIT_INPUTS if name == "pose_init" else DESCENT_INPUTS
    with torch.no_grad():
        out = graph(*(torch.from_numpy(feeds[n]) for n in names))
    return [o.numpy() for o in out]


def torch_engine(name: str, checkpoint: str | os.PathLike, device: str = "cpu", cuda_graph: bool = True):
    """The net of a checkpoint as an Engine on the torch back end (engines/torch_graph.py TorchEngine):
    the PyTorch module itself on `device`, with the ONNX contract's input and output names."""
    from mocap.engines.base import TensorSpec
    from mocap.engines.torch_graph import TorchEngine

    graph = _wrap(name, load_torch_net(name, checkpoint)).to(device)
    ins, outs = (POSE_INIT_INPUTS, POSE_INIT_OUTPUTS) if name == "pose_init" else (DESCENT_INPUTS, DESCENT_OUTPUTS)
    feeds = check_inputs(name, batch=1)

    def run(x):
        return dict(zip(outs, graph(*(x[n] for n in ins))))

    inputs = tuple(TensorSpec(n, ("batch", *feeds[n].shape[1:]), "tensor(float)") for n in ins)
    outputs = tuple(TensorSpec(n, ("batch",), "tensor(float)") for n in outs)
    return TorchEngine(run, name, inputs, outputs, device, cuda_graph)


def torch2onnx(name: str, net, out: str | os.PathLike) -> Path:
    """Export an eval-mode net to ONNX at ``out`` (module docstring for the contract); return the path.

    Uses the TorchScript exporter (``dynamo=False``: no onnxscript dependency); the nets' Python shape
    checks are constant for the traced shapes, the batch axis stays dynamic.
    """
    import torch

    graph = _wrap(name, net)
    inputs, outputs = (POSE_INIT_INPUTS, POSE_INIT_OUTPUTS) if name == "pose_init" else (DESCENT_INPUTS, DESCENT_OUTPUTS)
    feeds = check_inputs(name, batch=2, seed=1)
    args = tuple(torch.from_numpy(feeds[n]) for n in inputs)
    buf = io.BytesIO()
    with warnings.catch_warnings():   # TracerWarnings on the shape checks: constant for these shapes
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, args, buf, dynamo=False, opset_version=OPSET, input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes={n: {0: "batch"} for n in (*inputs, *outputs)},
                          do_constant_folding=True)
    graph.eval()   # the exporter restores the wrapper's training flag, recursively; keep eval
    out = Path(out)
    out.write_bytes(buf.getvalue())
    return out


def max_abs_diff(name: str, onnx_path: str | os.PathLike, net, batches: tuple[int, ...] = (1, 3)) -> float:
    """Largest |ONNX Runtime (CPU) - PyTorch| over every output, on fixed inputs of each batch size."""
    from mocap.engines.onnxruntime import OrtConfig, OrtEngine

    engine = OrtEngine(onnx_path, OrtConfig(threads=1))
    names = POSE_INIT_OUTPUTS if name == "pose_init" else DESCENT_OUTPUTS
    worst = 0.0
    for b in batches:
        feeds = check_inputs(name, batch=b, seed=b)
        got = engine.run(feeds)
        for n, ref in zip(names, torch_outputs(name, net, feeds)):
            if got[n].shape != ref.shape:
                raise EngineError(f"{name} ONNX output {n!r} has shape {got[n].shape}, PyTorch {ref.shape}")
            worst = max(worst, float(np.abs(got[n] - ref).max()))
    return worst


def cache_key(checkpoint: str | os.PathLike, version: int = EXPORT_VERSION) -> str:
    """What the exported file depends on: the checkpoint's bytes, the export code version, the opset."""
    h = hashlib.sha256(f"{sha256_file(Path(checkpoint))}/export{version}/opset{OPSET}".encode())
    return h.hexdigest()


def cached_export(name: str, checkpoint: Path, cache: Path, version: int, load: Callable[[], object],
                  export: Callable[[object, Path], object], measure: Callable[[Path, object], float],
                  tolerance: float) -> tuple[Path, float | None]:
    """The ONNX file `NAME.<key12>.onnx` of a checkpoint in `cache`, made once: `load()` the net,
    `export(net, tmp)`, `measure(tmp, net)` its max |ONNX - PyTorch|, rename into place when within
    `tolerance` (a file in the cache is always a validated one).

    Returns:
        (path, the diff measured now, or None when the cached file was reused).
    Raises:
        EngineError: a cache folder that cannot be written, or an export off by more than `tolerance`.
    """
    dst = cache / f"{name}.{cache_key(checkpoint, version)[:12]}.onnx"
    if dst.is_file():
        return dst, None
    net = load()
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        export(net, tmp)
    except OSError as exc:
        raise EngineError(f"cannot write the {name} ONNX export into {cache}: {exc.strerror or exc}") from None
    try:
        diff = measure(tmp, net)
        if not diff <= tolerance:
            raise EngineError(f"{name} ONNX export of {checkpoint} disagrees with PyTorch by {diff:.3g} "
                              f"(tolerance {tolerance:g})")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("exported %s (%s) to %s: max |ONNX - PyTorch| = %.2g", name, checkpoint.name, dst, diff)
    return dst, diff


def net_onnx(name: str, checkpoint: str | os.PathLike, cache: str | os.PathLike | None = None) -> tuple[Path, float | None]:
    """The validated ONNX file of a checkpoint, exported into the cache unless it is there already.

    Returns:
        (path, max_abs_diff): the diff measured now, or None when the cached file was reused.
    Raises:
        EngineError: unreadable checkpoint, a cache folder that cannot be written, or an export that
            disagrees with PyTorch by more than TOLERANCE.
    """
    if name not in NET_NAMES:
        raise EngineError(f"unknown net {name!r}; choose from {', '.join(NET_NAMES)}")
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise EngineError(f"net file not found: {checkpoint}")
    if cache is None:
        from mocap.engines.select import default_cache_dir

        cache = default_cache_dir()
    return cached_export(name, checkpoint, Path(cache), EXPORT_VERSION, lambda: load_torch_net(name, checkpoint),
                         lambda net, tmp: torch2onnx(name, net, tmp), lambda tmp, net: max_abs_diff(name, tmp, net),
                         TOLERANCE)
