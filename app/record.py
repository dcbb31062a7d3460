"""Writers of the output contract in --out DIR: keypoints.npz, timings.json, overlay.mp4.

Files are written atomically (temporary name, then rename) when the run ends, also after
Ctrl-C, so they always hold exactly the frames processed.
"""
from __future__ import annotations

import json
import os
import platform
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import AppError
from .timing import WARMUP_FRAMES, summarize, summarize_frames


def prepare_out_dir(out: str | Path) -> Path:
    """Create the output dir and check that it is writable.

    Raises:
        AppError: it cannot be created or written.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise AppError(f"output dir {out} is not writable: {exc.strerror or exc}") from None
    return out


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass
class RunInfo:
    """What ran: written into timings.json so every number names its machine and back end."""

    backend: str
    provider: str
    threads: int
    device: str = field(default_factory=cpu_name)
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    source: str = ""


class Recorder:
    """Collects per-frame results and writes keypoints.npz and timings.json on close."""

    def __init__(self, out_dir: Path, fps: float, width: int, height: int, info: RunInfo):
        self.out_dir, self.fps, self.width, self.height, self.info = out_dir, fps, width, height, info
        self.k67: list[np.ndarray] = []
        self.k67_raw: list[np.ndarray] = []
        self.frame_index: list[int] = []
        self.timestamp_s: list[float] = []
        self.frame_timings: list[dict[str, float]] = []
        self.latency_ms: list[float] = []
        self.done_at: list[float] = []
        self.drawn_latency_ms: list[float] = []
        self.extra: dict[str, Any] = {}

    def add(self, index: int, timestamp_s: float, k67: np.ndarray, k67_raw: np.ndarray,
            timings_ms: dict[str, float], latency_ms: float, done_at: float,
            drawn_latency_ms: float | None = None) -> None:
        """One frame. latency_ms: capture to result (3D and world done); drawn_latency_ms: capture to the
        overlay drawn (None: not drawn)."""
        self.frame_index.append(index)
        self.timestamp_s.append(timestamp_s)
        self.k67.append(np.asarray(k67, np.float32))
        self.k67_raw.append(np.asarray(k67_raw, np.float32))
        self.frame_timings.append({k: round(float(v), 4) for k, v in timings_ms.items()})
        self.latency_ms.append(latency_ms)
        self.done_at.append(done_at)
        if drawn_latency_ms is not None:
            self.drawn_latency_ms.append(drawn_latency_ms)

    def throughput_fps(self, warmup: int = WARMUP_FRAMES) -> float:
        """Frames per second between the first steady-state frame and the last one."""
        t = self.done_at[warmup:] if len(self.done_at) > warmup + 1 else self.done_at
        if len(t) < 2 or t[-1] <= t[0]:
            return float("nan")
        return (len(t) - 1) / (t[-1] - t[0])

    def frames_summary(self) -> dict[str, float]:
        """Frames, end-to-end fps and the steady-state front-end median/p90 (ms), for one line."""
        fe = summarize_frames(self.frame_timings).get("frontend_total", summarize([]))
        return {"frames": len(self.frame_index), "fps": self.throughput_fps(),
                "frontend_median": fe["median"], "frontend_p90": fe["p90"]}

    def write(self) -> None:
        n = len(self.frame_index)
        k67 = np.stack(self.k67) if n else np.zeros((0, 67, 3), np.float32)
        raw = np.stack(self.k67_raw) if n else np.zeros((0, 67, 3), np.float32)

        def save_npz(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(
                    f, k67=k67, k67_raw=raw,
                    frame_index=np.asarray(self.frame_index, np.int64),
                    timestamp_s=np.asarray(self.timestamp_s, np.float64),
                    fps=np.float64(self.fps), width=np.int64(self.width), height=np.int64(self.height),
                )

        _atomic_write(self.out_dir / "keypoints.npz", save_npz)
        report = {
            "frames_processed": n,
            "fps": self.throughput_fps(),
            "source_fps": self.fps,
            "summary": summarize_frames(self.frame_timings),
            "latency_ms": summarize(self.latency_ms[WARMUP_FRAMES:] or self.latency_ms),
            **({"latency_drawn_ms": summarize(self.drawn_latency_ms[WARMUP_FRAMES:] or self.drawn_latency_ms)}
               if self.drawn_latency_ms else {}),
            "warmup_frames_excluded": WARMUP_FRAMES,
            **self.info.__dict__,
            **self.extra,
            "frames": self.frame_timings,
        }
        _atomic_write(self.out_dir / "timings.json",
                      lambda tmp: tmp.write_text(json.dumps(report, indent=1, allow_nan=True)))


class VideoFileWriter:
    """An .mp4 output (overlay.mp4, world.mp4): MPEG-4 Part 2 via OpenCV, which every OpenCV wheel can
    encode, written under a temporary name (`NAME.partial.mp4`) and renamed at close.

    With `background` the encoder runs on its own thread (OpenCV releases the GIL while it encodes, so it
    overlaps the drawing of the next frame): `write` hands the image over (waiting only when `queue_size`
    frames are already waiting, so no frame is lost) and the caller must not change it afterwards;
    `times_ms` holds each frame's encoding time, in order.
    """

    def __init__(self, path: Path, fps: float, width: int, height: int, background: bool = False,
                 queue_size: int = 4):
        self.path = Path(path)
        self.tmp = self.path.with_name(f"{self.path.stem}.partial{self.path.suffix}")
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not self.writer.isOpened():
            raise AppError(f"cannot write video {path}: OpenCV has no MPEG-4 encoder here")
        self.times_ms: list[float] = []
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=queue_size)
            self._thread = threading.Thread(target=self._drain, name=f"encode {self.path.name}", daemon=True)
            self._thread.start()

    def _encode(self, bgr: np.ndarray) -> None:
        t = time.perf_counter()
        self.writer.write(bgr)
        self.times_ms.append((time.perf_counter() - t) * 1e3)

    def _drain(self) -> None:
        while (bgr := self._queue.get()) is not None:
            self._encode(bgr)

    def write(self, bgr: np.ndarray) -> None:
        if self._queue is None:
            self._encode(bgr)
        else:
            self._queue.put(bgr)

    def close(self) -> None:
        """Encode what is still waiting, then finish the file under its name."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self.writer.release()
        os.replace(self.tmp, self.path)
