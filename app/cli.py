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


def parse_size(text: str) -> tuple[int, int]:
    """"640x480" -> (640, 480); argparse type of --view-size and mocap-bench --render.

    Raises:
        argparse.ArgumentTypeError: not W x H with both at least 16.
    """
    try:
        w, h = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if min(w, h) < 16:
        raise argparse.ArgumentTypeError(f"a view of at least 16x16 pixels, got {text!r}")
    return w, h


def add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N", help="camera index (live: newest frame wins)")
    src.add_argument("--video", type=Path, metavar="PATH",
                     help="video file (every frame is processed); default: the bundled demo clip")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")


def add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=sorted(PROVIDER_CHOICES), default="cpu",
                   help="ONNX Runtime execution provider (default: cpu; auto = best available)")
    p.add_argument("--backend", choices=("onnxruntime", "tensorrt", "torch"), default="onnxruntime",
                   help="inference back end (default: onnxruntime; tensorrt builds cached engines on first use, "
                        "see mocap-export; torch runs the nets with torch ops on the GPU where neither TensorRT nor "
                        "onnxruntime-gpu is installed; docs/gpu.md)")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16",
                   help="TensorRT precision (default: fp16)")
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
        providers=providers, require_provider=require, backend=args.backend, precision=args.precision,
        model_dir=args.model_dir,
        body_model=args.body_model, max_frames=args.max_frames,
        headless=getattr(args, "headless", True), save_video=getattr(args, "save_video", False),
        progress=not getattr(args, "no_progress", False), overlap=not args.no_overlap,
        pose3d=not args.no_3d, nets3d=args.nets3d, world=getattr(args, "world", "static"),
        camera_file=getattr(args, "camera_file", None), refine_focal=getattr(args, "refine_focal", False),
        save_world_video=getattr(args, "save_world_video", False),
        view_size=getattr(args, "view_size", None), realtime=getattr(args, "realtime", False),
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
    p.add_argument("--view-size", type=parse_size, metavar="WxH",
                   help="draw the overlay (the frame letterboxed into it) and the world view at this size, "
                        "in the window and the saved videos (default: the overlay at the frame's size, the world "
                        "view 640x480); smaller is cheaper")
    p.add_argument("--realtime", action="store_true",
                   help="read a --video file at its frame rate like a camera: late frames are dropped, and "
                        "capture-to-result latency means what it does live")
    p.add_argument("--export", metavar="FORMATS",
                   help="at the end of the take, also write it as take.bvh / take.glb / take.fbx in --out "
                        "(comma-separated: bvh, glb, fbx; FBX needs Blender); see docs/outputs.md")
    p.add_argument("--vmc", nargs="?", const="", metavar="HOST:PORT",
                   help="stream every frame's body to a VMC receiver (OSC over UDP; default 127.0.0.1:39539)")
    p.add_argument("--world", choices=("static", "panning", "moving", "off"), default="static",
                   help="world stage (docs/world.md): static camera (ground and camera pose from the feet, "
                        "absolute), panning camera (turning in place: its rotation tracked on the background, "
                        "then as static), moving camera (trajectory head, dead reckoning), or off (camera-space take)")
    p.add_argument("--camera-file", type=Path, metavar="JSON",
                   help="camera intrinsics from mocap.calib.intrinsics (default: an assumed 45 degree vertical field of view)")
    p.add_argument("--refine-focal", action="store_true",
                   help="world stage: estimate the focal length from the body over the first 3 s instead of "
                        "keeping the assumed 45-degree field of view (off by default: +-18 %% per sequence on "
                        "held-out data; docs/world.md)")
    p.add_argument("--save-world-video", action="store_true",
                   help="also write world.mp4: the 3D world view (ground grid, skeleton, camera frustum and path)")
    add_engine_args(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def parse_export(spec: str | None) -> tuple[str, ...]:
    """--export "bvh,glb" -> ("bvh", "glb") (lower case, gltf = glb, no repeats).

    Raises:
        ValueError: an empty list or an unknown format (one line).
    """
    if spec is None:
        return ()
    from .convert import ALIASES, FORMATS

    out: list[str] = []
    for part in spec.split(","):
        fmt = part.strip().lower().lstrip(".")
        fmt = ALIASES.get(fmt, fmt)
        if fmt not in FORMATS:
            raise ValueError(f"--export: unknown format {part.strip()!r}: choose from {', '.join(FORMATS)} "
                             "(comma-separated, e.g. --export bvh,glb)")
        if fmt not in out:
            out.append(fmt)
    return tuple(out)


def output_args(args: argparse.Namespace) -> dict:
    """The checked --export / --vmc values as LiveConfig fields.

    Raises:
        ValueError: unknown export format, bad HOST:PORT, or either flag with --no-3d (one line).
    """
    from .formats.vmc import parse_host_port

    export = parse_export(args.export)
    vmc = parse_host_port(args.vmc) if args.vmc is not None else None
    if (export or vmc) and args.no_3d:
        raise ValueError(f"{'--export' if export else '--vmc'} needs the 3D stage: leave out --no-3d")
    return {"export": export, "vmc": vmc}


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
    try:
        outputs = output_args(args)
    except ValueError as exc:   # checked before anything loads: one line, exit 2
        print(f"mocap-live: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")

    def body() -> int:
        from .pipeline import LiveRun

        cfg = live_config_from_args(args, **outputs)
        try:
            live = LiveRun(cfg)
            rec = live.run()
        except KeyboardInterrupt:
            print(f"mocap-live: interrupted; wrote the frames processed to {cfg.out}", file=sys.stderr)
            return 130
        from .timing import summarize_frames

        s = rec.frames_summary()
        summary = summarize_frames(rec.frame_timings)
        s3, sv = summary.get("stage3d"), summary.get("vmc")
        print(f"mocap-live: {s['frames']} frames, {s['fps']:.1f} fps end to end, "
              f"front end {s['frontend_median']:.1f} ms median / {s['frontend_p90']:.1f} ms p90 per frame"
              + (f", 3D {s3['median']:.1f} / {s3['p90']:.1f} ms" if s3 else "")
              + (f", VMC send {sv['median']:.2f} / {sv['p90']:.2f} ms" if sv else "") + f"; wrote {cfg.out}/")
        if live.export_failed:   # the take and the other files are written; said on stderr already
            return 1
        return 0

    return run_cli("mocap-live", body)


if __name__ == "__main__":
    sys.exit(main())
