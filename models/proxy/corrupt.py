"""Detector-like corruption of clean K67 pixels, the body-box normalisation and CLIFF's global info.

All pure functions over a window of T frames; pixels are full-image (x right, y down, origin at
the top-left corner). Randomness only through the `rng` argument.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr

from mocap.models.keypoints import LEFT_HAND, NUM_BODY, NUM_K67, RIGHT_HAND

BOX_MARGIN = 1.2          # the square body box is this times the larger side of the keypoints' extent
MIN_BOX_PX = 16.0

# BODY_25 LSmallToe, RSmallToe: BlazePose has no source for them (models/keypoints.py).
SMALL_TOES = (20, 23)
# Coarse limbs a seed-000-style occluder hides, as K67 index lists (BODY_25 order, DESIGN 4).
OCCLUSION_PARTS = (
    (0, 15, 16, 17, 18),                                       # head
    (2, 3, 4, *range(RIGHT_HAND.start, RIGHT_HAND.stop)),      # right arm + hand
    (5, 6, 7, *range(LEFT_HAND.start, LEFT_HAND.stop)),        # left arm + hand
    (9, 10, 11, 22, 23, 24),                                   # right leg + foot
    (12, 13, 14, 19, 20, 21),                                  # left leg + foot
    (10, 11, 13, 14, 19, 20, 21, 22, 23, 24),                  # both lower legs (a table, a frame edge)
)


@dataclass(frozen=True)
class CorruptionOptions:
    """Rates and scales of the corruption (per window draw).

    Attributes:
        noise_body, noise_hand: Gaussian std of a point as a fraction of the body-box size, for a
            point of confidence 1 (it grows to 2x at confidence 0).
        drop_body, drop_hand: per-keypoint dropout rate (the keypoint's simulated confidence is
            uniform in [0, 1] and smooth in time; points under the rate are dropped).
        conf_smooth_s: time scale of the simulated confidence, seconds.
        hand_drop: fraction of frames a whole hand is missing (runs of frames).
        hand_smooth_s: time scale of those runs, seconds.
        frame_drop: fraction of whole frames missing (independent).
        occluded_fraction: fraction of windows that also get a structured occlusion (seed 000's
            "half the sequences masked").
        occlusion_len: range of the occluded span as a fraction of the window.
        occlusion_parts: range of how many OCCLUSION_PARTS are hidden.
        small_toes_missing: fraction of windows whose small toes (SMALL_TOES) are never observed: the
            MediaPipe front end has no small toe (it always reports them missing), MMPose whole-body
            nets do, so the nets must know both.
    """
    noise_body: float = 0.008
    noise_hand: float = 0.004
    drop_body: float = 0.03
    drop_hand: float = 0.08
    conf_smooth_s: float = 0.15
    hand_drop: float = 0.1
    hand_smooth_s: float = 0.5
    frame_drop: float = 0.02
    occluded_fraction: float = 0.5
    occlusion_len: tuple[float, float] = (0.1, 0.6)
    occlusion_parts: tuple[int, int] = (1, 2)
    small_toes_missing: float = 0.5



# Evaluation levels (issue 4 item 4). "realistic" is the training default (docs/proxy.md: noise 0.8 % /
# 0.4 % of the box, above the 0.1-1.8 % median gap between our front end and MediaPipe Holistic that
# benchmarks/reports/mediapipe_comparison measured); "low" halves noise and dropout without occluders,
# "heavy" doubles them and occludes every window.
CORRUPTION_LEVELS = {
    "low": CorruptionOptions(noise_body=0.004, noise_hand=0.002, drop_body=0.015, drop_hand=0.04, hand_drop=0.05,
                             frame_drop=0.01, occluded_fraction=0.0),
    "realistic": CorruptionOptions(),
    "heavy": CorruptionOptions(noise_body=0.016, noise_hand=0.008, drop_body=0.06, drop_hand=0.16, hand_drop=0.2,
                               frame_drop=0.04, occluded_fraction=1.0),
}

def box_from_points(xy: np.ndarray, mask: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Square body box per frame from the visible points (the detector's view).

    Frames without any visible point take the nearest frame's box; a window with none at all
    takes the whole image.

    Args:
        xy: (T, N, 2) pixels.
        mask: (T, N) bool or 0/1, visible points.
    Returns:
        (centre (T, 2) px, size (T,) px): size = BOX_MARGIN x the larger extent, at least MIN_BOX_PX.
    """
    m = np.asarray(mask) > 0
    T = xy.shape[0]
    big = np.where(m[..., None], xy, np.inf)
    small = np.where(m[..., None], xy, -np.inf)
    ok = m.any(axis=1)
    lo = np.where(ok[:, None], big.min(axis=1), 0.0)             # (T, 2)
    hi = np.where(ok[:, None], small.max(axis=1), 0.0)
    centre = (lo + hi) / 2
    size = np.maximum(BOX_MARGIN * (hi - lo).max(axis=1), MIN_BOX_PX)
    if not ok.any():
        return np.tile([width / 2, height / 2], (T, 1)).astype(np.float64), np.full(T, float(max(width, height)))
    idx = np.flatnonzero(ok)
    nearest = idx[np.abs(np.arange(T)[:, None] - idx[None]).argmin(axis=1)]
    return centre[nearest], size[nearest]


def normalize_to_box(xy_px: np.ndarray, centre: np.ndarray, size: np.ndarray) -> np.ndarray:
    """(T, N, 2) pixels -> box coordinates: (xy - centre) / (size / 2), the box spans [-1, 1]."""
    return (xy_px - centre[:, None]) / (size[:, None, None] / 2)


def denormalize_from_box(xy_norm: np.ndarray, centre: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Inverse of normalize_to_box: box coordinates -> (T, N, 2) pixels."""
    return xy_norm * (size[:, None, None] / 2) + centre[:, None]


def global_info(centre: np.ndarray, size: np.ndarray, K: np.ndarray) -> np.ndarray:
    """CLIFF's bounding-box information (Li et al. ECCV 2022, eq. 5), per frame.

    [c_x - p_x, c_y - p_y, b] / f with (p_x, p_y) the principal point (the image centre here),
    b the box size and f the full-image focal length in pixels. Returns (T, 3).
    """
    f = K[0, 0]
    return np.concatenate([(centre - K[:2, 2]) / f, size[:, None] / f], axis=1)


def _smooth_uniform(rng: np.random.Generator, shape: tuple[int, ...], sigma_frames: float) -> np.ndarray:
    """Values uniform in [0, 1] in marginal, correlated over the first axis (time)."""
    z = rng.standard_normal(shape)
    if sigma_frames > 0.5 and shape[0] > 1:
        z = gaussian_filter1d(z, sigma_frames, axis=0, mode="wrap")
        z = z / np.sqrt(np.sum(_gauss(sigma_frames) ** 2))   # back to unit variance
    return ndtr(z)


def _gauss(sigma: float) -> np.ndarray:
    r = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def corrupt(rng: np.random.Generator, xy_px: np.ndarray, visible: np.ndarray, width: int, height: int,
            fps: float = 30.0, options: CorruptionOptions | None = None) -> dict[str, np.ndarray]:
    """Detector-like keypoints from clean projections.

    Order: truncation (not visible: behind the camera or outside the image) -> simulated confidence
    -> confidence-correlated dropout -> whole-hand runs -> whole-frame drops -> structured occlusion
    (for `occluded_fraction` of the windows) -> Gaussian noise scaled to the clean body box.

    Args:
        rng: the window's random generator.
        xy_px: (T, 67, 2) clean pixels.
        visible: (T, 67) bool, in front of the camera.
        width, height: image size (points outside are truncated).
        fps: frame rate (time scales of the runs).
    Returns:
        dict with xy_px (T, 67, 2) noisy pixels (0 where masked), mask (T, 67) float 0/1,
        conf (T, 67) simulated detector confidence (0 where masked), occluded (bool scalar array).
    """
    o = options or CorruptionOptions()
    T = xy_px.shape[0]
    inside = (xy_px[..., 0] >= 0) & (xy_px[..., 0] < width) & (xy_px[..., 1] >= 0) & (xy_px[..., 1] < height)
    keep = np.asarray(visible, bool) & inside
    conf = _smooth_uniform(rng, (T, NUM_K67), o.conf_smooth_s * fps)
    rate = np.full(NUM_K67, o.drop_hand)
    rate[:NUM_BODY] = o.drop_body
    keep &= conf >= rate
    hands = _smooth_uniform(rng, (T, 2), o.hand_smooth_s * fps) < o.hand_drop
    keep[:, LEFT_HAND] &= ~hands[:, :1]
    keep[:, RIGHT_HAND] &= ~hands[:, 1:]
    keep &= (rng.random(T) >= o.frame_drop)[:, None]
    occluded = rng.random() < o.occluded_fraction
    if occluded:
        n_parts = rng.integers(o.occlusion_parts[0], o.occlusion_parts[1] + 1)
        for p in rng.choice(len(OCCLUSION_PARTS), size=n_parts, replace=False):
            span = max(1, int(round(rng.uniform(*o.occlusion_len) * T)))
            start = rng.integers(0, T - span + 1)
            keep[start:start + span, list(OCCLUSION_PARTS[p])] = False
    if rng.random() < o.small_toes_missing:
        keep[:, list(SMALL_TOES)] = False
    centre, size = box_from_points(xy_px, visible & inside, width, height)
    sigma = np.full(NUM_K67, o.noise_hand)
    sigma[:NUM_BODY] = o.noise_body
    sigma = sigma[None] * size[:, None] * (2.0 - conf)                 # (T, 67) px
    noisy = xy_px + rng.standard_normal(xy_px.shape) * sigma[..., None]
    mask = keep.astype(np.float32)
    return {"xy_px": np.where(keep[..., None], noisy, 0.0), "mask": mask,
            "conf": (0.3 + 0.7 * conf) * mask, "occluded": np.array(occluded)}
