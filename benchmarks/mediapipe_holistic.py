"""Run MediaPipe's own legacy Holistic (0.10.21) on a video and save its landmarks and timings.

This script is run by the *MediaPipe* environment's interpreter (see benchmarks/README.md), not by
ours: mediapipe 0.10.21 pins numpy < 2 and an old protobuf, so it cannot share our environment.
It therefore imports only the standard library, numpy, cv2 and mediapipe, and never `mocap`.
`compare_mediapipe.py` calls it as a subprocess; `agreement.py` reads what it writes.

Usage:
    /path/to/mediapipe-venv/bin/python benchmarks/mediapipe_holistic.py VIDEO OUT.npz [--max-frames N]
        [--stdin-frames WxHxFPS]   (frames come decoded from the caller, see frames_from_stdin)

What is timed: each `Holistic.process(rgb)` call alone (time.perf_counter, ms), and the CPU time of
the whole process during that call (time.process_time, ms, all threads) so that the number of cores
kept busy (cpu_ms / times_ms) can be reported. Decoding and the BGR->RGB conversion are outside the
timed span. `process()` is synchronous (it waits for the graph's outputs), so the worker threads'
CPU time for the frame falls inside the span.

Warm-up: there are no extra warm-up calls (feeding a frame twice would change the tracking and
smoothing state for the frames that follow). Every frame is timed, including the first, which also
pays for XNNPACK's delegate set-up (about 200 ms against about 30 ms later on the development
machine); the analysis (`agreement.time_stats`) discards a steady-state prefix instead. The
constructor's time (graph and model loading) is saved separately as `init_ms`.

Output npz keys (T = frames read; "found" = MediaPipe returned that landmark list for the frame):
    pose_px          (T, 33, 3) float32  BlazePose points: x px, y px, visibility; 0 when not found
    pose_found       (T,) bool
    left_hand_px     (T, 21, 2) float32  the subject's left hand (`left_hand_landmarks`), x px, y px
    left_hand_found  (T,) bool
    right_hand_px    (T, 21, 2) float32
    right_hand_found (T,) bool
    times_ms         (T,) float64        wall time of process(), ms
    cpu_ms           (T,) float64        process CPU time during process(), ms
    frame_index      (T,) int64          0-based index of the frame in the video
    init_ms, fps, width, height, model_complexity, smooth_landmarks, mediapipe_version, video
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

import cv2
import numpy as np

logger = logging.getLogger("mediapipe_holistic")

NUM_POSE = 33
NUM_HAND = 21


def _landmarks_px(landmark_list, n: int, width: int, height: int, with_visibility: bool) -> np.ndarray:
    """Normalised landmarks -> (n, 3) or (n, 2) pixels; x, y are relative to the image width/height.

    Source: mediapipe/framework/formats/landmark.proto (NormalizedLandmark: x, y in [0, 1] of the
    image width and height, may fall outside; visibility optional).
    """
    out = np.zeros((n, 3 if with_visibility else 2), dtype=np.float32)
    for i, lm in enumerate(landmark_list.landmark):
        out[i, 0] = lm.x * width
        out[i, 1] = lm.y * height
        if with_visibility:
            out[i, 2] = lm.visibility
    return out


def frames_from_stdin(width: int, height: int):
    """Raw BGR uint8 frames of width x height read one after the other from standard input.

    compare_mediapipe.py decodes the video with *our* OpenCV and streams the frames here, so both
    sides see identical pixels (OpenCV builds decode the same H.264 file slightly differently).
    """
    size = width * height * 3
    stream = sys.stdin.buffer
    while True:
        buf = stream.read(size)
        if len(buf) < size:
            return
        yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)


def frames_from_capture(cap):
    while True:
        ok, frame = cap.read()
        if not ok:
            return
        yield frame


def run_holistic(video: str, max_frames: int | None = None,
                 stdin_frames: tuple[int, int, float] | None = None) -> dict[str, np.ndarray]:
    """Run legacy Holistic with its defaults over every frame of `video`.

    Args:
        stdin_frames: (width, height, fps): read the frames as raw BGR from standard input
            instead of decoding `video` here (then `video` only names the clip).

    Returns:
        The arrays listed in the module docstring.

    Raises:
        RuntimeError: the video cannot be opened or has no readable frame.
    """
    import mediapipe as mp

    cap = None
    if stdin_frames is not None:
        width, height, fps = stdin_frames
        frames = frames_from_stdin(width, height)
    else:
        cap = cv2.VideoCapture(video)
        if not cap.isOpened():
            raise RuntimeError(f"cannot open video {video!r} with OpenCV")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = frames_from_capture(cap)

    pose, pose_found, lh, lh_found, rh, rh_found = [], [], [], [], [], []
    times_ms, cpu_ms = [], []
    t0 = time.perf_counter()
    # Defaults on purpose (model_complexity=1, smooth_landmarks=True, refine_face_landmarks=False):
    # mediapipe/python/solutions/holistic.py, wheel 0.10.21. In VIDEO use, timestamps advance by
    # 33 333 us per call whatever the clip's fps (mediapipe/python/solution_base.py, process()).
    holistic = mp.solutions.holistic.Holistic()
    init_ms = (time.perf_counter() - t0) * 1e3
    try:
        for frame_bgr in frames:
            if max_frames is not None and len(times_ms) >= max_frames:
                break
            h, w = frame_bgr.shape[:2]
            if (w, h) != (width, height):  # container metadata can disagree with the stream
                width, height = w, h
            rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
            c = time.process_time()
            t = time.perf_counter()
            res = holistic.process(rgb)
            times_ms.append((time.perf_counter() - t) * 1e3)
            cpu_ms.append((time.process_time() - c) * 1e3)

            found = res.pose_landmarks is not None
            pose_found.append(found)
            pose.append(_landmarks_px(res.pose_landmarks, NUM_POSE, w, h, True) if found
                        else np.zeros((NUM_POSE, 3), np.float32))
            for lst, flags, lms in ((lh, lh_found, res.left_hand_landmarks),
                                    (rh, rh_found, res.right_hand_landmarks)):
                flags.append(lms is not None)
                lst.append(_landmarks_px(lms, NUM_HAND, w, h, False) if lms is not None
                           else np.zeros((NUM_HAND, 2), np.float32))
            if len(times_ms) % 100 == 0:
                logger.info("%s: %d frames, last %.1f ms", os.path.basename(video), len(times_ms),
                            times_ms[-1])
    finally:
        holistic.close()
        if cap is not None:
            cap.release()
    if not times_ms:
        raise RuntimeError(f"no frame could be read from {video!r}")

    t_frames = len(times_ms)
    return {
        "pose_px": np.stack(pose).astype(np.float32),                 # (T, 33, 3)
        "pose_found": np.asarray(pose_found, dtype=bool),              # (T,)
        "left_hand_px": np.stack(lh).astype(np.float32),               # (T, 21, 2)
        "left_hand_found": np.asarray(lh_found, dtype=bool),
        "right_hand_px": np.stack(rh).astype(np.float32),              # (T, 21, 2)
        "right_hand_found": np.asarray(rh_found, dtype=bool),
        "times_ms": np.asarray(times_ms, dtype=np.float64),            # (T,)
        "cpu_ms": np.asarray(cpu_ms, dtype=np.float64),                # (T,)
        "frame_index": np.arange(t_frames, dtype=np.int64),
        "init_ms": np.float64(init_ms),
        "fps": np.float64(fps),
        "width": np.int64(width),
        "height": np.int64(height),
        "model_complexity": np.int64(1),
        "smooth_landmarks": np.bool_(True),
        "mediapipe_version": np.str_(mp.__version__),
        "video": np.str_(os.path.basename(video)),
    }


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> str:
    """Write `arrays` to `path` atomically (temp file in the same folder, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the results are meant to be shared
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", help="input video file")
    parser.add_argument("out", help="output .npz path")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument("--stdin-frames", metavar="WxHxFPS", default=None,
                        help="read raw BGR frames of this size from standard input instead of decoding "
                             "VIDEO (e.g. 960x540x30)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be >= 1, got {args.max_frames}")
    stdin_frames = None
    if args.stdin_frames:
        try:
            w, h, fps = args.stdin_frames.split("x")
            stdin_frames = (int(w), int(h), float(fps))
        except ValueError:
            parser.error(f"--stdin-frames wants WIDTHxHEIGHTxFPS, got {args.stdin_frames!r}")
    try:
        arrays = run_holistic(args.video, args.max_frames, stdin_frames)
    except (RuntimeError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    save_npz(args.out, arrays)
    t = arrays["times_ms"]
    logger.info("%s: %d frames, median %.1f ms, pose found in %.0f%%; wrote %s",
                arrays["video"], len(t), float(np.median(t)), 100 * arrays["pose_found"].mean(),
                args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
