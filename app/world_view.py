"""The 3D world view (issue 5 item 7): ground grid, the body's skeleton, the camera frustum and its path,
drawn with OpenCV from a virtual camera; written headless as DIR/world.mp4 (`--save-world-video`) and shown
beside the overlay in the live window.

The virtual camera looks at the scene from behind the real camera's right shoulder and above, at a fixed
angle; its target starts between the real camera and the body and follows the body slowly (an
exponential average with `follow` per frame; 0 keeps it fixed), so a runner filmed by a panning camera
stays in the picture.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..models.camera import look_at
from .draw import colour_runs, draw_segments

# SMPL-X body parents (joints 0..21)
PARENTS_22 = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
LEFT = {1, 4, 7, 10, 13, 16, 18, 20}
RIGHT = {2, 5, 8, 11, 14, 17, 19, 21}
GRID_COLOUR = (90, 90, 90)
AXIS_COLOURS = ((60, 60, 220), (60, 200, 60))      # world x (red), z (green), BGR
CAMERA_COLOUR = (40, 200, 255)
TRAIL_COLOUR = (255, 160, 60)


def _segments_to_px(a: np.ndarray, b: np.ndarray, R: np.ndarray, t: np.ndarray, K: np.ndarray,
                    near: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World segments (N, 3) a-b -> pixel end points (N, 2) each, clipped to depth > near; ok (N,) bool."""
    ca, cb = a @ R.T + t, b @ R.T + t
    za, zb = ca[:, 2], cb[:, 2]
    ok = (za > near) | (zb > near)
    # move the end behind the near plane onto it
    s = np.clip((near - za) / np.where(np.abs(zb - za) < 1e-12, 1e-12, zb - za), 0, 1)
    ca = np.where((za < near)[:, None], ca + s[:, None] * (cb - ca), ca)
    s = np.clip((near - zb) / np.where(np.abs(za - zb) < 1e-12, 1e-12, za - zb), 0, 1)
    cb = np.where((zb < near)[:, None], cb + s[:, None] * (ca - cb), cb)

    def px(c):
        z = np.maximum(c[:, 2:], near)
        return (c[:, :2] / z) * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    return px(ca), px(cb), ok


class WorldView:
    """Renders WorldFrames (models/world/stage.py) to BGR images (one thread)."""

    def __init__(self, cam_K: np.ndarray, image_wh: tuple[int, int], width: int = 640, height: int = 480,
                 fov_y_deg: float = 55.0, follow: float = 0.03, grid_half_m: int = 12, path_len: int = 900,
                 smoothing=None):
        """smoothing: models.world.smoothing.DisplaySmoothingOptions for what is drawn (joints, contact points,
        camera; One Euro, the recorded take keeps the raw values); None = the defaults, or pass
        DisplaySmoothingOptions(enabled=False) for raw values."""
        from ..models.world.smoothing import DisplaySmoother, DisplaySmoothingOptions

        self.smoother = DisplaySmoother(smoothing or DisplaySmoothingOptions())
        self.W, self.H = int(width), int(height)
        f = 0.5 * self.H / np.tan(np.radians(fov_y_deg) / 2)
        self.K = np.array([[f, 0, self.W / 2], [0, f, self.H / 2], [0, 0, 1.0]])
        self.cam_K = np.asarray(cam_K, np.float64)
        self.image_wh = image_wh
        self.follow, self.grid_half = float(follow), int(grid_half_m)
        self.path_len = path_len
        self.reset()

    def reset(self) -> None:
        self.target: np.ndarray | None = None
        self.dist = 6.0
        self.cam_path: list[np.ndarray] = []
        self.trail: list[np.ndarray] = []

    def _view(self, frame) -> tuple[np.ndarray, np.ndarray]:
        c = frame.camera_centre_w
        body = frame.root_w
        if self.target is None and not frame.valid:
            return look_at(np.array([-3.0, 3.0, -3.5]), np.array([0.0, 0.8, 3.0]))
        if self.target is None:
            self.target = 0.5 * (c + body) * [1, 0, 1] + [0, 0.8, 0]
            self.dist = float(np.clip(1.3 * np.linalg.norm((body - c)[[0, 2]]) + 3.0, 4.0, 25.0))
        elif frame.valid and self.follow > 0:
            goal = 0.5 * (c + body) * [1, 0, 1] + [0, 0.8, 0]
            self.target = self.target + self.follow * (goal - self.target)
        # behind the first camera's right shoulder (world +z is its forward, -x its right), above
        eye = self.target + self.dist * np.array([-0.55, 0.6, -0.6])
        return look_at(eye, self.target)

    def smooth(self, frame, t_s: float):
        """The frame with its joints, contact points and camera pose One-Euro smoothed (display only)."""
        from dataclasses import replace

        J, P, c = frame.joints_w, frame.contacts_w, frame.camera_centre_w
        pos, R = self.smoother.apply(int(round(t_s * 1e9)), np.vstack([J, P, c[None]]), frame.R_w2c[None])
        nJ, nP = len(J), len(P)
        return replace(frame, joints_w=pos[:nJ], contacts_w=pos[nJ:nJ + nP], R_w2c=R[0], t_w2c=-R[0] @ pos[-1],
                       root_w=pos[0])

    def render(self, frame, t_s: float | None = None) -> np.ndarray:
        """One frame: a WorldFrame (its last valid values when the body is lost); t_s: its time in seconds
        (smoothing; None draws the raw values)."""
        if t_s is not None and frame.valid:
            frame = self.smooth(frame, t_s)
        img = np.full((self.H, self.W, 3), 28, np.uint8)
        R, t = self._view(frame)
        K = self.K
        # ground grid around the target
        g = self.grid_half
        cx, cz = np.round(self.target[[0, 2]]) if self.target is not None else (0.0, 3.0)
        ticks = np.arange(-g, g + 1, dtype=np.float64)
        a = np.concatenate([np.stack([cx + ticks, 0 * ticks, np.full_like(ticks, cz - g)], 1),
                            np.stack([np.full_like(ticks, cx - g), 0 * ticks, cz + ticks], 1)])
        b = np.concatenate([np.stack([cx + ticks, 0 * ticks, np.full_like(ticks, cz + g)], 1),
                            np.stack([np.full_like(ticks, cx + g), 0 * ticks, cz + ticks], 1)])
        self._lines(img, a, b, R, t, GRID_COLOUR, 1)
        o = np.zeros((2, 3))
        self._lines(img, o, np.array([[1.0, 0, 0], [0, 0, 1.0]]), R, t, None, 2, colours=AXIS_COLOURS)
        # camera path and frustum
        c = frame.camera_centre_w
        if frame.valid:
            self.cam_path = (self.cam_path + [c])[-self.path_len:]
            self.trail = (self.trail + [frame.root_w * [1, 0, 1]])[-self.path_len:]
        for path, colour in ((self.cam_path, CAMERA_COLOUR), (self.trail, TRAIL_COLOUR)):
            if len(path) > 1:
                p = np.asarray(path)
                self._lines(img, p[:-1], p[1:], R, t, colour, 1)
        w, h = self.image_wh
        corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64) @ np.linalg.inv(self.cam_K).T
        corners_w = (corners * 0.6 - frame.t_w2c) @ frame.R_w2c
        self._lines(img, np.repeat(c[None], 4, 0), corners_w, R, t, CAMERA_COLOUR, 1)
        self._lines(img, corners_w, np.roll(corners_w, -1, 0), R, t, CAMERA_COLOUR, 2)
        # body
        J = frame.joints_w
        if np.any(J):
            kids = np.arange(1, 22)
            cols = [(80, 80, 255) if k in LEFT else (255, 120, 80) if k in RIGHT else (230, 230, 230) for k in kids]
            self._lines(img, J[[PARENTS_22[k] for k in kids]], J[kids], R, t, None, 2, colours=cols)
            pts = frame.contacts_w
            p, _, ok = _segments_to_px(pts, pts, R, t, K)
            for i in range(len(pts)):
                if ok[i]:
                    cv2.circle(img, (int(p[i, 0]), int(p[i, 1])), 4, (60, 220, 60) if frame.pinned[i] else (150, 150, 150),
                               -1 if frame.pinned[i] else 1, cv2.LINE_AA)
        label = f"world  {frame.source}  camera h {c[1]:.2f} m" + ("" if frame.valid else "  (no body)")
        cv2.putText(img, label, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (220, 220, 220), 1, cv2.LINE_AA)
        return img

    def _lines(self, img, a, b, R, t, colour, thickness, colours=None) -> None:
        pa, pb, ok = _segments_to_px(np.asarray(a, np.float64), np.asarray(b, np.float64), R, t, self.K)
        lim = 4 * max(self.W, self.H)
        pa, pb = np.clip(pa, -lim, lim).astype(np.int32), np.clip(pb, -lim, lim).astype(np.int32)   # int(): truncated
        if colours is None:
            draw_segments(img, pa[ok], pb[ok], colour, thickness)
            return
        for c, run in colour_runs(list(colours)):   # one call per run of one colour, in order
            keep = ok[run]
            draw_segments(img, pa[run][keep], pb[run][keep], c, thickness)


def inset(canvas: np.ndarray, view: np.ndarray, scale: float = 0.4) -> None:
    """Paste `view` scaled to `scale` of the canvas height into the canvas' top-right corner, in place."""
    H, W = canvas.shape[:2]
    h = max(8, int(H * scale))
    w = min(W, int(view.shape[1] * h / view.shape[0]))
    canvas[:h, W - w:] = cv2.resize(view, (w, h), interpolation=cv2.INTER_AREA)
