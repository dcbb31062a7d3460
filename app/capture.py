"""Frame sources (video file or camera) and the capture thread that feeds the pipeline."""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import AppError

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """One captured frame.

    index: 0-based frame number in the source. timestamp_s: media time (file: index / fps;
    camera: seconds since the first frame). captured_at: time.perf_counter() when it was read,
    for capture-to-result latency. bgr: HxWx3 uint8, OpenCV's BGR order.
    """

    index: int
    timestamp_s: float
    captured_at: float
    bgr: np.ndarray


class VideoSource:
    """A video file or a camera, opened with OpenCV; a context manager.

    Raises:
        AppError: the file is missing or cannot be decoded, or the camera cannot be opened.
    """

    def __init__(self, video: str | Path | None = None, camera: int | None = None):
        if (video is None) == (camera is None):
            raise ValueError("give exactly one of video or camera")
        self.is_live = camera is not None
        self.name = f"camera {camera}" if self.is_live else str(video)
        if self.is_live:
            self.cap = cv2.VideoCapture(int(camera))
            if not self.cap.isOpened():
                raise AppError(f"cannot open camera {camera}: no such device, or it is busy")
        else:
            path = Path(video)
            if not path.is_file():
                raise AppError(f"video not found: {path}")
            self.cap = cv2.VideoCapture(str(path))
            if not self.cap.isOpened():
                raise AppError(f"cannot read video {path}: not a video OpenCV can decode")
        ok, first = self.cap.read()
        if not ok or first is None or first.size == 0:
            self.cap.release()
            raise AppError(f"cannot read a frame from {self.name}: the file is empty or corrupt")
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 1000.0 else 30.0
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 and not self.is_live else None
        self._index = 0
        self._t0: float | None = None

    def read(self) -> Frame | None:
        """The next frame, or None at the end of the file (or when the camera stops)."""
        if self._first is not None:
            bgr, self._first = self._first, None
        else:
            ok, bgr = self.cap.read()
            if not ok or bgr is None:
                return None
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        ts = (now - self._t0) if self.is_live else self._index / self.fps
        frame = Frame(self._index, ts, now, bgr)
        self._index += 1
        return frame

    def close(self) -> None:
        self.cap.release()

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


END = None  # sentinel that travels down the queues when the input ends


class CaptureThread(threading.Thread):
    """Reads frames into a bounded queue.

    Live sources: the newest frame wins; a frame still waiting when a new one arrives is
    dropped and counted. Files: nothing is dropped (the reader waits for room), unless `paced`:
    then frame i is handed on no earlier than i / fps after the first, as a camera delivers it
    (`captured_at` is that moment), and the newest frame wins as for a camera.
    """

    def __init__(self, source: VideoSource, out: "queue.Queue[Frame | None]",
                 stop: threading.Event, max_frames: int | None = None, paced: bool = False):
        super().__init__(name="capture", daemon=True)
        self.source, self.out, self.stop, self.max_frames = source, out, stop, max_frames
        self.paced = bool(paced) and not source.is_live
        self.dropped = 0
        self._t0: float | None = None

    def _wait_until_due(self, frame: Frame) -> None:
        """Paced file: sleep until the frame's time (index / fps after the first frame); stamp it then."""
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        delay = self._t0 + frame.index / self.source.fps - now
        if delay > 0:
            self.stop.wait(delay)
        frame.captured_at = time.perf_counter()

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set() and (self.max_frames is None or n < self.max_frames):
                t = time.perf_counter()
                frame = self.source.read()
                if frame is None:
                    break
                frame.read_ms = (time.perf_counter() - t) * 1e3
                n += 1
                if self.paced:
                    self._wait_until_due(frame)
                if self.source.is_live or self.paced:
                    self._put_newest(frame)
                else:
                    self._put_blocking(frame)
        finally:
            self._put_blocking(END, force=True)

    def _put_newest(self, frame: Frame) -> None:
        while True:
            try:
                self.out.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self.out.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _put_blocking(self, item, force: bool = False) -> None:
        while force or not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return
            except queue.Full:
                if force and self.stop.is_set():
                    # Downstream may have stopped reading; make room for the sentinel.
                    try:
                        self.out.get_nowait()
                    except queue.Empty:
                        pass
