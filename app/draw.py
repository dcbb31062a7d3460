"""Drawing the 2D overlay (K67 skeleton, crop ROIs, a status line) onto BGR frames."""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from ..models.keypoints import K67_EDGES, LEFT_HAND, NUM_BODY, RIGHT_HAND

# BGR colours: body, person's left hand, person's right hand.
BODY_COLOUR = (255, 200, 0)
LEFT_COLOUR = (0, 220, 0)
RIGHT_COLOUR = (0, 80, 255)
_EDGES = np.asarray(K67_EDGES, dtype=np.int64)
_EDGE_COLOURS = [
    BODY_COLOUR if b < NUM_BODY else LEFT_COLOUR if b < RIGHT_HAND.start else RIGHT_COLOUR
    for _, b in K67_EDGES
]


def rect_corners_px(x_center: float, y_center: float, width: float, height: float,
                    rotation: float, image_wh: tuple[int, int]) -> np.ndarray:
    """Corners (4, 2) in pixels of a normalised, rotated rect (MediaPipe NormalizedRect)."""
    w_img, h_img = image_wh
    c, s = np.cos(rotation), np.sin(rotation)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * 0.5
    local = half * (width * w_img, height * h_img)
    rot = local @ np.array([[c, s], [-s, c]])
    return rot + (x_center * w_img, y_center * h_img)


def draw_k67(bgr: np.ndarray, k67: np.ndarray, min_conf: float = 0.3) -> None:
    """Draw skeleton edges whose two ends are above min_conf, in place. k67: (67, 3) px."""
    ok = k67[:, 2] > min_conf
    pts = np.round(k67[:, :2]).astype(np.int32)
    thick = max(1, round(min(bgr.shape[:2]) / 300))
    for (a, b), colour in zip(_EDGES, _EDGE_COLOURS):
        if ok[a] and ok[b]:
            cv2.line(bgr, tuple(pts[a]), tuple(pts[b]), colour, thick, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        colour = BODY_COLOUR if i < NUM_BODY else LEFT_COLOUR if i < LEFT_HAND.stop else RIGHT_COLOUR
        cv2.circle(bgr, tuple(pts[i]), thick + 1, colour, -1, cv2.LINE_AA)


def draw_rois(bgr: np.ndarray, rois: Iterable) -> None:
    """Outline each ROI (objects with x_center, y_center, width, height, rotation), in place."""
    h, w = bgr.shape[:2]
    for roi in rois:
        if roi is None:
            continue
        corners = rect_corners_px(roi.x_center, roi.y_center, roi.width, roi.height, roi.rotation, (w, h))
        cv2.polylines(bgr, [np.round(corners).astype(np.int32)], True, (200, 200, 200), 1, cv2.LINE_AA)


def draw_status(bgr: np.ndarray, text: str) -> None:
    """A white status line on a dark box in the top-left corner, in place."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.6
    (w, h), base = cv2.getTextSize(text, font, scale, 1)
    cv2.rectangle(bgr, (4, 4), (12 + w, 12 + h + base), (0, 0, 0), -1)
    cv2.putText(bgr, text, (8, 8 + h), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
