"""Per-module timing: a stopwatch and the median/p90 summaries every report uses."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np

WARMUP_FRAMES = 10  # frames left out of steady-state summaries (session warm-up, first detection)


@contextmanager
def stopwatch(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the wall time of the block, in milliseconds, to timings[key]."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + (time.perf_counter() - t) * 1e3


def summarize(values_ms: Sequence[float]) -> dict[str, float]:
    """Median, p90, mean (ms) and count of a list of per-frame times."""
    a = np.asarray(values_ms, dtype=np.float64)
    if a.size == 0:
        return {"median": float("nan"), "p90": float("nan"), "mean": float("nan"), "count": 0}
    return {
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "mean": float(a.mean()),
        "count": int(a.size),
    }


def summarize_frames(frames: Sequence[Mapping[str, float]], warmup: int = WARMUP_FRAMES) -> dict[str, dict]:
    """Per-module summaries over the steady-state frames (the first `warmup` frames dropped).

    A module that did not run on a frame (e.g. the detector while tracking) is summarised over
    the frames where it ran; `count` says how many.
    """
    steady = frames[warmup:] if len(frames) > warmup else frames
    keys = sorted({k for f in steady for k in f})
    return {k: summarize([f[k] for f in steady if k in f]) for k in keys}
