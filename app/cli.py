"""`mocap-live`: run the capture pipeline on a camera or a video file.

The shared flags (source, output, engine) are defined here once and reused by `mocap-bench`.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from ..engines.base import EngineError
from .errors import AppError

log = logging.getLogger("mocap")

# --provider choice -> ONNX Runtime preference order (engines/onnxruntime.py PROVIDERS).
PROVIDER_CHOICES = {
    "cpu": (("cpu",), None),
    "auto": (("tensorrt", "cuda", "cpu"), None),
    "cuda": (("cuda", "cpu"), "cuda"),
    "tensorrt": (("tensorrt", "cuda", "cpu"), "tensorrt"),
}


def add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N", help="camera index (live: newest frame wins)")
    src.add_argument("--video", type=Path, metavar="PATH",
                     help="video file (every frame is processed); default: the bundled demo clip")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")


def add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=sorted(PROVIDER_CHOICES), default="cpu",
                   help="ONNX Runtime execution provider (default: cpu; auto = best available)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="ONNX Runtime threads per network (default: 1; stages already run in parallel)")
    p.add_argument("--model-dir", type=Path, metavar="DIR",
                   help="folder with the converted MediaPipe ONNX files (default: the bundled ones)")
    p.add_argument("--body-model", type=Path, metavar="ONNX",
                   help="an MMPose RTMPose/RTMW ONNX model to use as the body landmark net")
    p.add_argument("--no-overlap", action="store_true",
                   help="run body and hands of a frame in one thread (lowest per-frame latency) instead of "
                        "overlapping the body of the next frame with the hands of this one (highest fps)")
    p.add_argument("--no-3d", action="store_true",
                   help="2D only: no 3D nets, no smplx.npz, no mesh in the overlay")
    p.add_argument("--nets3d", type=Path, metavar="DIR",
                   help="folder with the 3D nets' weights pose_init.pt and descent.pt (default: the bundled ones)")


def live_config_from_args(args: argparse.Namespace, **overrides):
    from .pipeline import DEFAULT_VIDEO, LiveConfig

    providers, require = PROVIDER_CHOICES[args.provider]
    video = args.video if args.video is not None or args.camera is not None else DEFAULT_VIDEO
    fields = dict(
        video=video, camera=args.camera, out=getattr(args, "out", Path("out")), threads=args.threads,
        providers=providers, require_provider=require, model_dir=args.model_dir,
        body_model=args.body_model, max_frames=args.max_frames,
        headless=getattr(args, "headless", True), save_video=getattr(args, "save_video", False),
        progress=not getattr(args, "no_progress", False), overlap=not args.no_overlap,
        pose3d=not args.no_3d, nets3d=args.nets3d,
    )
    fields.update(overrides)
    return LiveConfig(**fields)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mocap-live",
        description="Real-time monocular body + hand capture from a camera or a video file. "
                    "Writes keypoints.npz, timings.json and smplx.npz (and overlay.mp4 with --save-video) to --out.",
    )
    add_source_args(p)
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default: out)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--headless", dest="headless", action="store_const", const=True,
                      help="no window (automatic when there is no display)")
    view.add_argument("--show", dest="headless", action="store_const", const=False,
                      help="always open a window")
    p.add_argument("--save-video", action="store_true", help="also write overlay.mp4 with the 2D overlay")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """Run a command body; turn known failures into one line on stderr and an exit code."""
    try:
        return body()
    except (AppError, EngineError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")

    def body() -> int:
        from .pipeline import run_live

        cfg = live_config_from_args(args)
        try:
            rec = run_live(cfg)
        except KeyboardInterrupt:
            print(f"mocap-live: interrupted; wrote the frames processed to {cfg.out}", file=sys.stderr)
            return 130
        from .timing import summarize_frames

        s = rec.frames_summary()
        s3 = summarize_frames(rec.frame_timings).get("stage3d")
        print(f"mocap-live: {s['frames']} frames, {s['fps']:.1f} fps end to end, "
              f"front end {s['frontend_median']:.1f} ms median / {s['frontend_p90']:.1f} ms p90 per frame"
              + (f", 3D {s3['median']:.1f} / {s3['p90']:.1f} ms" if s3 else "") + f"; wrote {cfg.out}/")
        return 0

    return run_cli("mocap-live", body)


if __name__ == "__main__":
    sys.exit(main())
