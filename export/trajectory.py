"""PyTorch -> ONNX for the causal trajectory head (issue 5 item 2), one frame per call with its state.

Contract (float32, opset `mocap.export.nets.OPSET`, batch axis dynamic):

* inputs ``features`` (batch, 126): `mocap.models.world.trajectory.features` of the newest frame;
  ``state`` (layers, batch, hidden): zeros on the first frame, then the previous call's ``state_out``;
* outputs ``psi`` (batch, 10): dx, dz (m per frame, previous heading frame), root height (m), heading
  change (rad per frame), local root rotation 6D; ``state_out`` (layers, batch, hidden).

As for the 3D nets (export/nets.py), the checkpoint is the shipped artefact and the ONNX file a
cached, validated function of it: `trajectory_onnx` exports on first use and checks the graph against
PyTorch over a sequence with the state carried (`TOLERANCE`).

    python -m mocap.export.trajectory --weights models/world/data/trajectory_gru.pt --out traj.onnx
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from mocap.engines.base import EngineError
from mocap.export.nets import OPSET, cached_export

log = logging.getLogger(__name__)

EXPORT_VERSION = 1
TOLERANCE = 1e-4            # max |ONNX - PyTorch| over a 60-frame sequence with the state carried
INPUTS = ("features", "state")
OUTPUTS = ("psi", "state_out")


def torch2onnx_trajectory(net, out: str | os.PathLike) -> Path:
    """Export a TrajectoryNet's one-frame step to ONNX at ``out``; return the path."""
    import torch

    from mocap.models.world.trajectory import FEATURE_DIM, TrajectoryStep

    step = TrajectoryStep(net.eval()).eval()
    args = (torch.zeros(1, FEATURE_DIM), net.initial_state(1))
    buf = io.BytesIO()
    with warnings.catch_warnings():      # the GRU export warns about batch_first / sequence length 1
        warnings.simplefilter("ignore")
        torch.onnx.export(step, args, buf, dynamo=False, opset_version=OPSET, input_names=list(INPUTS),
                          output_names=list(OUTPUTS), do_constant_folding=True,
                          dynamic_axes={"features": {0: "batch"}, "state": {1: "batch"}, "psi": {0: "batch"},
                                        "state_out": {1: "batch"}})
    out = Path(out)
    out.write_bytes(buf.getvalue())
    return out


def max_abs_diff(onnx_path: str | os.PathLike, net, frames: int = 60, batch: int = 2, seed: int = 0) -> float:
    """Largest |ONNX Runtime - PyTorch| of psi over `frames` steps, each run feeding its state back."""
    import torch

    from mocap.engines.onnxruntime import OrtConfig, OrtEngine
    from mocap.models.world.trajectory import FEATURE_DIM

    engine = OrtEngine(onnx_path, OrtConfig(threads=1))
    rng = np.random.default_rng(seed)
    # Realistic inputs: the net's own normalisation statistics times unit noise.
    mean, std = net.feat_mean.numpy(), net.feat_std.numpy()
    x = (mean + std * rng.standard_normal((frames, batch, FEATURE_DIM))).astype(np.float32)
    state_ort = net.initial_state(batch).numpy()
    with torch.no_grad():
        ref, _ = net(torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2))))
    worst = 0.0
    for t in range(frames):
        got = engine.run({"features": x[t], "state": state_ort})
        state_ort = got["state_out"]
        worst = max(worst, float(np.abs(got["psi"] - ref[:, t].numpy()).max()))
    return worst


def trajectory_onnx(checkpoint: str | os.PathLike, cache: str | os.PathLike) -> tuple[Path, float | None]:
    """The validated ONNX file of a trajectory checkpoint, exported into `cache` unless already there.

    Returns:
        (path, max_abs_diff measured now, or None when the cached file was reused).
    Raises:
        EngineError: missing or unreadable checkpoint, or an export that disagrees with PyTorch.
    """
    from mocap.models.world.trajectory import load_trajectory_net

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise EngineError(f"trajectory checkpoint not found: {checkpoint}")

    def load():
        try:
            return load_trajectory_net(checkpoint)
        except ValueError as exc:
            raise EngineError(str(exc)) from None

    return cached_export("trajectory", checkpoint, Path(cache), EXPORT_VERSION, load, torch2onnx_trajectory,
                         max_abs_diff, TOLERANCE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Export the trajectory head to ONNX and check it against PyTorch.")
    from mocap.models.world.trajectory import DEFAULT_WEIGHTS

    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--out", required=True, help="the .onnx file to write")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from mocap.models.world.trajectory import load_trajectory_net

    try:
        net = load_trajectory_net(args.weights)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}")
    out = torch2onnx_trajectory(net, args.out)
    diff = max_abs_diff(out, net)
    print(f"{out}: max |ONNX - PyTorch| over 60 frames with the state carried = {diff:.2g} (tolerance {TOLERANCE:g})")
    return 0 if diff <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
