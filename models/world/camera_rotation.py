"""A panning camera's rotation from the image: background points tracked frame to frame, the rotation
that maps their viewing rays (pure rotation, no translation: a camera turning on a tripod or in a hand
that stays put), accumulated from the first frame.

Geometry (OpenCV camera axes, x right, y down, z forward): a static scene point seen along the unit ray
b0 in camera t-1 and b1 in camera t satisfies b1 = R b0 with R = R_{t<-t-1}, the rotation taking camera
t-1 coordinates to camera t coordinates, for any depth (the homography K R K^-1 of a rotating camera).
`rotation_from_rays` solves that in the least-squares sense (Kabsch / orthogonal Procrustes; the rays
are weighted equally), `robust_rotation` inside RANSAC on two-ray samples. `PanTracker` keeps
R_{0<-t} (camera t -> camera 0) over a video: tracked corners outside the person's box, pyramidal
Lucas-Kanade on a downscaled grey image with a forward-backward check (OpenCV), then the robust
rotation; a frame where too few points agree keeps the previous rotation (the camera is taken to
stand still for that frame).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def pixel_rays(points_px: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(N, 2) pixel positions -> (N, 3) unit viewing rays in the camera frame."""
    p = np.asarray(points_px, np.float64)
    rays = np.linalg.solve(K, np.column_stack([p, np.ones(len(p))]).T).T
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def rotation_from_rays(b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """The rotation R (3, 3) minimising sum |b1_i - R b0_i|^2 (Kabsch), det +1."""
    H = np.asarray(b0, np.float64).T @ np.asarray(b1, np.float64)
    U, _, Vt = np.linalg.svd(H)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(Vt.T @ U.T))])
    return Vt.T @ D @ U.T


def _kabsch_batch(b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """rotation_from_rays for a batch: b0, b1 (S, n, 3) -> (S, 3, 3)."""
    H = np.einsum("sni,snj->sij", b0, b1)
    U, _, Vt = np.linalg.svd(H)
    V, Ut = np.transpose(Vt, (0, 2, 1)), np.transpose(U, (0, 2, 1))
    d = np.sign(np.linalg.det(V @ Ut))
    D = np.zeros((len(H), 3, 3))
    D[:, 0, 0] = D[:, 1, 1] = 1.0
    D[:, 2, 2] = d
    return V @ D @ Ut


def robust_rotation(b0: np.ndarray, b1: np.ndarray, max_angle_rad: float, iterations: int = 32,
                    seed: int = 0) -> tuple[np.ndarray | None, np.ndarray]:
    """RANSAC over two-ray samples (all hypotheses at once), then Kabsch on the inliers (angle between b1
    and R b0 below max_angle_rad). Returns (R or None when fewer than 6 rays agree, inlier mask)."""
    n = len(b0)
    if n < 6:
        return None, np.zeros(n, bool)
    rng = np.random.default_rng(seed)
    cos_max = np.cos(max_angle_rad)
    first = rng.integers(0, n, iterations)
    second = (first + rng.integers(1, n, iterations)) % n     # two different rays per sample
    pairs = np.stack([first, second], 1)
    Rs = _kabsch_batch(b0[pairs], b1[pairs])                                   # (S, 3, 3)
    agree = np.einsum("nj,snj->sn", b1, np.einsum("sij,nj->sni", Rs, b0)) > cos_max
    best = agree[int(np.argmax(agree.sum(1)))]
    if best.sum() < 6:
        return None, best
    R = rotation_from_rays(b0[best], b1[best])
    inliers = np.einsum("ij,ij->i", b1, b0 @ R.T) > cos_max   # one refit on the final consensus
    return rotation_from_rays(b0[inliers], b1[inliers]), inliers


@dataclass(frozen=True)
class PanOptions:
    """How the background is tracked.

    width: the grey image is downscaled to this width (px) before tracking.
    max_points: corners tracked per frame (cv2.goodFeaturesToTrack).
    person_margin: the person's box (from the body keypoints) is grown by this fraction of its size on
        each side before it is masked out of the corner search.
    max_error_px: RANSAC inlier threshold at full resolution (px), and the forward-backward tolerance.
    """

    width: int = 240
    max_points: int = 50
    person_margin: float = 0.3
    max_error_px: float = 2.0


class PanTracker:
    """R_{0<-t} for each frame of a video from a rotating camera (module docstring)."""

    def __init__(self, K: np.ndarray, options: PanOptions = PanOptions()):
        self.K = np.asarray(K, np.float64)
        self.options = options
        self.R_0t = np.eye(3)
        self._prev: np.ndarray | None = None
        self._scale = 1.0
        self.inliers = 0   # how many background points agreed on the last frame's rotation

    def reset(self) -> None:
        self.R_0t = np.eye(3)
        self._prev = None

    def _grey(self, rgb: np.ndarray) -> np.ndarray:
        """Grey, downscaled by an integer factor (one scale for both axes; the few rows/columns past a
        multiple of it are dropped). Grey first, then a bilinear downscale and a 3x3 blur against its
        aliasing: 0.2 ms for a 960x540 frame on the 2-core CPU, where an area average of the colour frame
        took 0.44 ms."""
        h, w = rgb.shape[:2]
        f = max(1, round(w / self.options.width))
        self._scale = float(f)
        grey = cv2.cvtColor(rgb[:h - h % f, :w - w % f], cv2.COLOR_RGB2GRAY)
        if f == 1:
            return grey
        return cv2.GaussianBlur(cv2.resize(grey, (w // f, h // f), interpolation=cv2.INTER_LINEAR), (3, 3), 0)

    def _mask(self, shape: tuple[int, int], person_px: np.ndarray | None) -> np.ndarray:
        mask = np.full(shape, 255, np.uint8)
        if person_px is not None and len(person_px):
            lo, hi = person_px.min(0) / self._scale, person_px.max(0) / self._scale
            grow = (hi - lo) * self.options.person_margin
            x0, y0 = np.floor(lo - grow).astype(int)
            x1, y1 = np.ceil(hi + grow).astype(int)
            mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 0
        return mask

    def step(self, rgb: np.ndarray, person_px: np.ndarray | None = None) -> np.ndarray:
        """One RGB frame (H, W, 3) uint8 and the person's keypoints (N, 2) px (or None) -> R_{0<-t} (3, 3)."""
        grey = self._grey(rgb)
        prev, self._prev = self._prev, grey
        if prev is None:
            return self.R_0t.copy()
        o = self.options
        corners = cv2.goodFeaturesToTrack(prev, o.max_points, 0.01, 6, mask=self._mask(prev.shape, person_px))
        if corners is None or len(corners) < 6:
            self.inliers = 0
            return self.R_0t.copy()
        tol = o.max_error_px / self._scale
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(prev, grey, corners, None, winSize=(11, 11), maxLevel=2)
        back, st_b, _ = cv2.calcOpticalFlowPyrLK(grey, prev, nxt, None, winSize=(11, 11), maxLevel=2)
        ok = (st[:, 0] == 1) & (st_b[:, 0] == 1) & (np.linalg.norm((back - corners)[:, 0], axis=1) < tol)
        p0, p1 = corners[ok, 0] * self._scale, nxt[ok, 0] * self._scale
        R, inliers = robust_rotation(pixel_rays(p0, self.K), pixel_rays(p1, self.K),
                                     max_angle_rad=o.max_error_px / self.K[0, 0])
        self.inliers = int(inliers.sum())
        if R is not None:
            self.R_0t = self.R_0t @ R.T     # R = R_{t<-t-1}: camera t -> t-1 is R^T, then t-1 -> 0
        return self.R_0t.copy()
