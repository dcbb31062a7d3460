"""Time the converted MediaPipe ONNX nets under ONNX Runtime CPU (optionally TFLite side by side).

Usage (dev venv, ONNX Runtime only):

    python export/time_onnx_models.py --threads 1 2 --runs 60

With `--tflite DIR` (a folder holding the original .tflite files, e.g. an unpacked mediapipe wheel's
`mediapipe/modules`) and an interpreter importable (`ai_edge_litert` or `tensorflow`), the same
process also times TFLite with its default XNNPACK delegate, so the
ratios come from one run on one machine; the runtimes are called round-robin, so load from other
processes hits them alike. Prints a Markdown table of median and p90 ms.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

LOG = logging.getLogger("time_onnx_models")

# name -> (input H, W, batch sizes to time, path of the .tflite under a wheel's mediapipe/modules)
NETS = {
    "pose_detection": ((224, 224), (1,), "pose_detection/pose_detection.tflite"),
    "pose_landmark_full": ((256, 256), (1,), "pose_landmark/pose_landmark_full.tflite"),
    "palm_detection_full": ((192, 192), (1,), "palm_detection/palm_detection_full.tflite"),
    "hand_landmark_full": ((224, 224), (1, 2), "hand_landmark/hand_landmark_full.tflite"),
    "hand_recrop": ((256, 256), (1, 2), "holistic_landmark/hand_recrop.tflite"),
}


@dataclass(frozen=True)
class Timing:
    """Median and p90 of one configuration, in ms per call."""

    median_ms: float
    p90_ms: float


def time_interleaved(fns: list[Callable[[], object]], runs: int, warmup: int = 5) -> list[Timing]:
    """Time several callables round-robin (one call each per round) so that load from other
    processes on a shared machine hits all of them alike; return median and p90 ms per callable."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    ms = np.empty((runs, len(fns)))
    for i in range(runs):
        for j, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            ms[i, j] = (time.perf_counter() - t0) * 1e3
    return [Timing(float(np.median(c)), float(np.percentile(c, 90))) for c in ms.T]


def ort_runner(path: Path, image: np.ndarray, threads: int, spin: bool, level: str) -> Callable[[], object]:
    """A zero-argument callable running one ONNX Runtime CPU session on `image`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: image}
    return lambda: sess.run(None, feed)


def tflite_runner(path: Path, image: np.ndarray, threads: int) -> Callable[[], object]:
    """A zero-argument callable running the TFLite interpreter (default XNNPACK delegate)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tensorflow.lite.python.interpreter import Interpreter
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    index = interp.get_input_details()[0]["index"]

    def run() -> None:
        interp.set_tensor(index, image)
        interp.invoke()

    return run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    p.add_argument("--onnx-dir", type=Path, default=here / "models" / "onnx")
    p.add_argument("--tflite", type=Path, help="folder with the original .tflite files (wheel layout)")
    p.add_argument("--baseline-dir", type=Path,
                   help="a second folder of <net>.onnx files (e.g. plain tf2onnx output) timed alongside")
    p.add_argument("--models", nargs="*", choices=list(NETS), default=list(NETS))
    p.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--spin", choices=["on", "off", "both"], default="on",
                   help="ONNX Runtime intra-op spin-waiting")
    p.add_argument("--level", nargs="*", default=["ORT_ENABLE_ALL"],
                   choices=["ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL"])
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Time every requested net and configuration; print a Markdown table."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    spins = {"on": [True], "off": [False], "both": [True, False]}[args.spin]
    import onnxruntime as ort

    LOG.info("machine: %s, %s, %d logical CPUs; onnxruntime %s",
             platform.processor() or platform.machine(), platform.platform(), os.cpu_count(),
             ort.__version__)
    LOG.info("| net | batch | threads | runtime | median ms | p90 ms |")
    LOG.info("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name in args.models:
        (h, w), batches, tflite_rel = NETS[name]
        for batch in batches:
            image = rng.uniform(0, 1, (batch, h, w, 3)).astype(np.float32)
            for threads in args.threads:
                labels, fns = [], []
                for level in args.level:
                    for spin in spins:
                        short = level.removeprefix("ORT_").lower()
                        labels.append(f"ORT {short} spin={'on' if spin else 'off'}")
                        fns.append(ort_runner(args.onnx_dir / f"{name}.onnx", image, threads, spin, level))
                if args.baseline_dir and batch == 1:
                    labels.append("ORT baseline")
                    fns.append(ort_runner(args.baseline_dir / f"{name}.onnx", image, threads, spins[0],
                                          args.level[0]))
                if args.tflite and batch == 1:
                    labels.append("TFLite XNNPACK")
                    fns.append(tflite_runner(args.tflite / tflite_rel, image, threads))
                for label, t in zip(labels, time_interleaved(fns, args.runs)):
                    LOG.info("| %s | %d | %d | %s | %.2f | %.2f |", name, batch, threads, label,
                             t.median_ms, t.p90_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
