"""Landmark decoding: network outputs -> crop-normalised points -> image-normalised points.

Sources (reference/mediapipe-graphs.md): TensorsToLandmarksCalculator (5.3, 7.4),
RefineLandmarksFromHeatmapCalculator (5.4), LandmarkLetterboxRemovalCalculator (4.4),
LandmarkProjectionCalculator (5.5).
"""
from __future__ import annotations

import numpy as np

from .rect import NormalizedRect


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function; logits are clipped to +-80 first so exp() cannot overflow (the result
    is 0 or 1 to float32 precision there anyway)."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def decode_pose_landmarks(raw: np.ndarray, crop_wh: tuple[int, int], num_landmarks: int = 39) -> np.ndarray:
    """Pose landmark tensor -> (39, 5) float32 [x, y, z, visibility, presence].

    Args:
        raw: (195,) = 39 x (x, y, z in crop px, visibility logit, presence logit).
    Returns:
        x, y normalised to the (letterboxed) crop; z divided by the crop width (normalize_z 1);
        visibility and presence as sigmoids.
    """
    r = np.asarray(raw, np.float32).reshape(num_landmarks, 5)
    out = np.empty_like(r)
    out[:, 0] = r[:, 0] / crop_wh[0]
    out[:, 1] = r[:, 1] / crop_wh[1]
    out[:, 2] = r[:, 2] / crop_wh[0]
    out[:, 3:5] = sigmoid(r[:, 3:5])
    return out


def decode_hand_landmarks(raw: np.ndarray, crop_wh: tuple[int, int], normalize_z: float = 0.4) -> np.ndarray:
    """Hand landmark tensor (N, 63) -> (N, 21, 3) float32 crop-normalised [x, y, z]; z = Z / W / 0.4."""
    r = np.asarray(raw, np.float32).reshape(-1, 21, 3)
    return r / np.array([crop_wh[0], crop_wh[1], crop_wh[0] * normalize_z], np.float32)


def decode_recrop_points(raw: np.ndarray, crop_wh: tuple[int, int]) -> np.ndarray:
    """Re-crop tensor (N, 4) -> (N, 2, 2) crop-normalised points (centre, scale/rotation point)."""
    return np.asarray(raw, np.float32).reshape(-1, 2, 2) / np.array(crop_wh, np.float32)


def refine_from_heatmap(landmarks: np.ndarray, heatmap: np.ndarray, kernel_size: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """RefineLandmarksFromHeatmap, exactly as MediaPipe writes it.

    For each landmark i, centre cell (int(x * Wh), int(y * Hh)) (truncation toward zero); the
    kernel window (shrunk at the edges) of sigmoid(heatmap[..., i]); if its max >= min_confidence,
    x, y become the confidence-weighted mean column / Wh and row / Hh (no +0.5 cell offset).

    Args:
        landmarks: (N, >=2) crop-normalised landmarks; heatmap: (Hh, Wh, N) logits (NHWC, batch dropped).
    Returns:
        A refined copy; other columns unchanged.
    """
    out = np.array(landmarks, np.float32, copy=True)
    hh, wh, n = heatmap.shape
    half = kernel_size // 2
    with np.errstate(invalid="ignore"):
        cc = np.trunc(out[:, 0] * wh)
        cr = np.trunc(out[:, 1] * hh)
    ok = np.isfinite(cc) & np.isfinite(cr) & (cc >= 0) & (cc < wh) & (cr >= 0) & (cr < hh)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    cc = cc[idx].astype(np.int64)
    cr = cr[idx].astype(np.int64)
    offs = np.arange(-half, kernel_size - half)
    rows = cr[:, None] + offs  # (M, k)
    cols = cc[:, None] + offs
    rv = (rows >= 0) & (rows < hh)
    cv = (cols >= 0) & (cols < wh)
    rows_c = np.clip(rows, 0, hh - 1)
    cols_c = np.clip(cols, 0, wh - 1)
    win = heatmap[rows_c[:, :, None], cols_c[:, None, :], idx[:, None, None]]  # (M, k, k)
    conf = sigmoid(win.astype(np.float32)) * (rv[:, :, None] & cv[:, None, :])
    total = conf.sum(axis=(1, 2))
    refine = (conf.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    if refine.any():
        x = (conf.sum(axis=1) * cols).sum(axis=1) / np.where(total > 0, total, 1) / wh
        y = (conf.sum(axis=2) * rows).sum(axis=1) / np.where(total > 0, total, 1) / hh
        sel = idx[refine]
        out[sel, 0] = x[refine]
        out[sel, 1] = y[refine]
    return out


def remove_landmark_letterbox(landmarks: np.ndarray, padding: np.ndarray) -> np.ndarray:
    """Undo the crop letterbox on (..., >=2 or 3) crop-normalised landmarks; z scales like x.

    padding: (4,) [left, top, right, bottom] fractions of the tensor.
    """
    l, t, r, b = (float(v) for v in padding)
    if l == 0 and t == 0 and r == 0 and b == 0:
        return landmarks
    out = np.array(landmarks, np.float32, copy=True)
    sx, sy = 1.0 - l - r, 1.0 - t - b
    out[..., 0] = (out[..., 0] - l) / sx
    out[..., 1] = (out[..., 1] - t) / sy
    if out.shape[-1] > 2:
        out[..., 2] /= sx
    return out


def project_landmarks(landmarks: np.ndarray, rect: NormalizedRect) -> np.ndarray:
    """LandmarkProjection (NORM_RECT path, exact for pixel-square ROIs): ROI-normalised -> image-normalised.

    x' = (cos a (x - .5) - sin a (y - .5)) w + xc;  y' = (sin a (x - .5) + cos a (y - .5)) h + yc;  z' = z w.

    Args:
        landmarks: (..., >=2) ROI-normalised points (letterbox already removed).
    Returns:
        A copy with x, y (and z) in image-normalised units; further columns unchanged.
    """
    out = np.array(landmarks, np.float32, copy=True)
    c, s = np.cos(rect.rotation), np.sin(rect.rotation)
    x0 = landmarks[..., 0] - 0.5
    y0 = landmarks[..., 1] - 0.5
    out[..., 0] = (c * x0 - s * y0) * rect.width + rect.x_center
    out[..., 1] = (s * x0 + c * y0) * rect.height + rect.y_center
    if out.shape[-1] > 2:
        out[..., 2] = landmarks[..., 2] * rect.width
    return out
