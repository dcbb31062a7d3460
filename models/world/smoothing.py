"""Display smoothing of world-space results (issue 5 item 6): the front end's One Euro filter reused.

The filter is models/frontend/smoothing.OneEuroFilter (MediaPipe's variant of Casiez et al., CHI 2012);
this module only chooses what to filter and how: positions in metres (value_scale 1), rotations as
their 6D form (first two columns) re-orthonormalised after filtering. Smoothing is for what is drawn
and streamed; recordings keep the raw values (the caller keeps both).

Lag: on a signal moving at a constant speed v (units per second) the filter settles to a cutoff
fc = min_cutoff + beta * v and then trails the signal by tau = 1 / (2 pi fc) seconds, exactly in
discrete time ((1 - alpha) / alpha samples = tau * rate). With the defaults here: 159 ms for a
still or slowly drifting body (fc = 1 Hz), 80 ms at 1 m/s and 40 ms at 3 m/s for positions
(`one_euro_lag_s`). Lower min_cutoff: steadier and laggier when still; higher beta: less lag when fast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mocap.models.frontend.config import OneEuroParams
from mocap.models.frontend.smoothing import OneEuroFilter
from mocap.models.proxy.generate import rot6d_to_rotmat


@dataclass(frozen=True)
class DisplaySmoothingOptions:
    """One Euro settings (Hz; beta per unit of speed: m/s for positions, 6D units/s ~ rad/s for rotations).

    Attributes:
        enabled: False passes values through.
        min_cutoff_hz, beta, derivate_cutoff_hz: for positions.
        rot_min_cutoff_hz, rot_beta: for rotations.
    """
    enabled: bool = True
    min_cutoff_hz: float = 1.0
    beta: float = 1.0
    derivate_cutoff_hz: float = 1.0
    rot_min_cutoff_hz: float = 1.5
    rot_beta: float = 0.3

    def __post_init__(self) -> None:
        if min(self.min_cutoff_hz, self.derivate_cutoff_hz, self.rot_min_cutoff_hz) <= 0 or min(self.beta, self.rot_beta) < 0:
            raise ValueError(f"DisplaySmoothingOptions: cutoffs must be > 0 and betas >= 0, got {self}")


def one_euro_lag_s(min_cutoff_hz: float, beta: float, speed: float = 0.0) -> float:
    """Steady-state lag (seconds) of the One Euro filter on a signal moving at `speed` units/s."""
    return 1.0 / (2 * math.pi * (min_cutoff_hz + beta * abs(speed)))


class DisplaySmoother:
    """Smooths positions (N, 3) and rotations (M, 3, 3) frame by frame; owned by one thread.

    `reset()` on a cut or a lost person (the next frame passes through unchanged).
    """

    def __init__(self, options: DisplaySmoothingOptions = DisplaySmoothingOptions()):
        self.options = o = options
        self.pos = OneEuroFilter(OneEuroParams(min_cutoff=o.min_cutoff_hz, beta=o.beta,
                                               derivate_cutoff=o.derivate_cutoff_hz))
        self.rot = OneEuroFilter(OneEuroParams(min_cutoff=o.rot_min_cutoff_hz, beta=o.rot_beta,
                                               derivate_cutoff=o.derivate_cutoff_hz))

    def reset(self) -> None:
        self.pos.reset()
        self.rot.reset()

    def apply(self, t_ns: int, positions: np.ndarray, rotations: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Args:
            t_ns: frame time, integer nanoseconds, increasing (a repeated or older time passes the values through).
            positions: (N, 3) metres (any frame). rotations: (M, 3, 3) or None.
        Returns:
            (smoothed positions (N, 3) float64, smoothed rotations (M, 3, 3) orthonormal, or None).
        """
        positions = np.asarray(positions, np.float64)
        if not self.options.enabled:
            return positions, rotations
        p = self.pos.apply(int(t_ns), 1.0, positions).astype(np.float64)
        if rotations is None:
            return p, None
        R = np.asarray(rotations, np.float64)
        r6 = np.concatenate([R[..., :, 0], R[..., :, 1]], -1)
        return p, rot6d_to_rotmat(self.rot.apply(int(t_ns), 1.0, r6).astype(np.float64))
