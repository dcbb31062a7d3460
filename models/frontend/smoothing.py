"""Landmark smoothing as MediaPipe's pose graph does it: one-euro on pixels, low-pass visibility.

Sources (reference/mediapipe-graphs.md 6): util/filtering/one_euro_filter.cc, low_pass_filter.cc,
calculators/util/landmarks_smoothing_calculator(_utils).cc, visibility_smoothing_calculator.cc.
All filters here are vectorised: one filter state per scalar, one shared clock.
"""
from __future__ import annotations

import math

import numpy as np

from .config import OneEuroParams


def one_euro_alpha(cutoff: np.ndarray | float, frequency: float):
    """alpha = 1 / (1 + tau / te), tau = 1 / (2 pi cutoff), te = 1 / frequency."""
    te = 1.0 / frequency
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / te)


class LowPass:
    """Exponential low-pass per element; the first call passes the value through. Stores float32."""

    def __init__(self):
        self.stored: np.ndarray | None = None
        self.raw: np.ndarray | None = None

    @property
    def initialized(self) -> bool:
        return self.stored is not None

    def apply(self, value: np.ndarray, alpha) -> np.ndarray:
        value = np.asarray(value, np.float64)
        out = value if self.stored is None else alpha * value + (1.0 - alpha) * self.stored
        self.stored = out.astype(np.float32)
        self.raw = value.astype(np.float32)
        return self.stored

    def reset(self) -> None:
        self.stored = self.raw = None


class OneEuroFilter:
    """MediaPipe's one-euro filter over an array of scalars sharing timestamps.

    Differs from the 1-euro paper: the derivative uses the previous RAW value, and is
    multiplied by value_scale (1 / object scale); the frequency follows the real timestamps.
    """

    def __init__(self, params: OneEuroParams):
        self.p = params
        self.reset()

    def reset(self) -> None:
        self.frequency = float(self.p.frequency)
        self.last_time_ns: int | None = None
        self.x = LowPass()
        self.dx = LowPass()

    def apply(self, t_ns: int, value_scale: float, value: np.ndarray) -> np.ndarray:
        """Filter `value` (any shape) at time t_ns (int ns); returns float32 of the same shape.

        MediaPipe marks "no sample yet" with last_time = 0, so a first sample AT t = 0 would be
        passed through without entering the filter. Its Python API never sends t = 0 (the first
        frame is at 33 333 us); our callers do (a video's first frame), so "no sample yet" is
        None here and a t = 0 sample counts like any first sample.
        """
        value = np.asarray(value, np.float64)
        if self.last_time_ns is not None and self.last_time_ns >= t_ns:
            return value.astype(np.float32)
        if self.last_time_ns is not None:
            self.frequency = 1.0 / ((t_ns - self.last_time_ns) * 1e-9)
        self.last_time_ns = t_ns
        if self.x.initialized:
            dvalue = (value - self.x.raw) * value_scale * self.frequency
        else:
            dvalue = np.zeros_like(value)
        edvalue = self.dx.apply(dvalue, one_euro_alpha(self.p.derivate_cutoff, self.frequency))
        cutoff = self.p.min_cutoff + self.p.beta * np.abs(edvalue.astype(np.float64))
        return self.x.apply(value, one_euro_alpha(cutoff, self.frequency))


class LandmarksSmoother:
    """LandmarksSmoothingCalculator with a one-euro filter, on normalised landmarks.

    Per frame: to pixels (x W, y H, z W); value_scale = 1 / object scale (from a ROI, else the
    landmarks' bbox); filter x, y, z; back to normalised. `reset()` is what MediaPipe does on a
    frame without landmarks (6.4): the next sample passes unchanged.
    """

    def __init__(self, params: OneEuroParams):
        self.p = params
        self.filter = OneEuroFilter(params)

    def reset(self) -> None:
        self.filter.reset()

    def apply(self, t_ns: int, landmarks: np.ndarray, image_wh, object_scale_px: float | None = None) -> np.ndarray:
        """Args:
            landmarks: (N, >=3) normalised [x, y, z, ...]; columns past 3 are copied through.
            object_scale_px: (roi.width W + roi.height H) / 2 for an OBJECT_SCALE_ROI, or None.
        Returns:
            A float32 copy with x, y, z filtered.
        """
        W, H = image_wh
        scale_xyz = np.array([W, H, W], np.float64)
        px = np.asarray(landmarks[:, :3], np.float64) * scale_xyz
        if self.p.disable_value_scaling:
            value_scale = 1.0
        else:
            if object_scale_px is None:
                span = px[:, :2].max(0) - px[:, :2].min(0)
                object_scale_px = float(span.sum() / 2)
            if object_scale_px < self.p.min_allowed_object_scale:
                return np.array(landmarks, np.float32, copy=True)
            value_scale = 1.0 / object_scale_px
        out = np.array(landmarks, np.float32, copy=True)
        out[:, :3] = self.filter.apply(t_ns, value_scale, px) / scale_xyz
        return out


class VisibilitySmoother:
    """VisibilitySmoothingCalculator low-pass: v = alpha v + (1 - alpha) v_prev; never reset by a
    pose loss in MediaPipe's graphs (6.4), so its state carries over gaps."""

    def __init__(self, alpha: float = 0.1):
        self.alpha = alpha
        self.lp = LowPass()

    def reset(self) -> None:
        self.lp.reset()

    def apply(self, visibility: np.ndarray) -> np.ndarray:
        return self.lp.apply(visibility, self.alpha)
