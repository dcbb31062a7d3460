"""Regions of interest: MediaPipe's NormalizedRect and every calculator that makes or tests one.

Conventions (reference/mediapipe-graphs.md 0): normalised coordinates are x / image width and
y / image height, origin top-left, y down. `rotation` is in radians; a positive value turns the
crop clockwise on screen: an offset (dx, dy) in the ROI frame maps to
(dx cos r - dy sin r, dx sin r + dy cos r) in pixels. `image_wh` is (W, H) in pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import RectTransform, RoiTrackingRequirements


@dataclass(frozen=True)
class NormalizedRect:
    """A rotated ROI: centre, size (normalised by W and H) and rotation (radians)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0

    def to_px(self, image_wh: tuple[int, int]) -> tuple[float, float, float, float, float]:
        """(cx px, cy px, w px, h px, rotation rad)."""
        W, H = image_wh
        return (self.x_center * W, self.y_center * H, self.width * W, self.height * H, self.rotation)

    def corners_px(self, image_wh: tuple[int, int]) -> np.ndarray:
        """(4, 2) float32 corners in pixels: top-left, top-right, bottom-right, bottom-left (ROI frame)."""
        cx, cy, w, h, r = self.to_px(image_wh)
        off = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64) / 2
        c, s = math.cos(r), math.sin(r)
        return np.stack([cx + off[:, 0] * c - off[:, 1] * s, cy + off[:, 0] * s + off[:, 1] * c], 1).astype(np.float32)


def normalize_radians(a: float) -> float:
    """Wrap an angle to [-pi, pi) (detections_to_rects_calculator.h NormalizeRadians)."""
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def rotation_from_points(p0: np.ndarray, p1: np.ndarray, image_wh, target_angle_rad: float) -> float:
    """DetectionsToRects::ComputeRotation: the rotation that turns the p0 -> p1 vector to the target angle.

    p0, p1: normalised (x, y). Returns NormalizeRadians(target - atan2(-(y1 - y0) H, (x1 - x0) W)).
    """
    W, H = image_wh
    return normalize_radians(target_angle_rad - math.atan2(-(p1[1] - p0[1]) * H, (p1[0] - p0[0]) * W))


def rect_from_alignment_points(p0: np.ndarray, p1: np.ndarray, image_wh, target_angle_degrees: float) -> NormalizedRect:
    """AlignmentPointsRectsCalculator: centre p0, square box of side 2 |p1 - p0| in pixels.

    Args:
        p0, p1: normalised (x, y) of the centre and the size/rotation point.
    Returns:
        NormalizedRect, square in pixels, rotated so that p0 -> p1 points at the target angle.
    """
    W, H = image_wh
    x0, y0 = float(p0[0]) * W, float(p0[1]) * H
    x1, y1 = float(p1[0]) * W, float(p1[1]) * H
    box = 2.0 * math.hypot(x1 - x0, y1 - y0)
    rot = normalize_radians(math.radians(target_angle_degrees) - math.atan2(-(y1 - y0), x1 - x0))
    return NormalizedRect(x0 / W, y0 / H, box / W, box / H, rot)


def transform_rect(rect: NormalizedRect, image_wh, t: RectTransform) -> NormalizedRect:
    """RectTransformationCalculator on a normalised rect: shift (rotated frame), square_long, scale."""
    W, H = image_wh
    xc, yc, w, h, r = rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation
    if r == 0.0:
        xc += w * t.shift_x
        yc += h * t.shift_y
    else:
        c, s = math.cos(r), math.sin(r)
        xc += (W * w * t.shift_x * c - H * h * t.shift_y * s) / W
        yc += (W * w * t.shift_x * s + H * h * t.shift_y * c) / H
    if t.square_long:
        L = max(w * W, h * H)
        w, h = L / W, L / H
    return NormalizedRect(xc, yc, w * t.scale_x, h * t.scale_y, r)


def hand_rect_from_pose(wrist: np.ndarray, pinky: np.ndarray, index: np.ndarray, image_wh) -> NormalizedRect:
    """HandDetectionsFromPoseToRectsCalculator (before its RectTransformation).

    Args:
        wrist, pinky, index: normalised (x, y) pose landmarks of one side.
    Returns:
        Square rect centred on the estimated middle finger (2 index + pinky) / 3, side
        2 |middle - wrist| px, rotated so wrist -> middle points up.
    """
    W, H = image_wh
    scale = np.array([W, H], np.float64)
    wr = np.asarray(wrist[:2], np.float64) * scale
    mid = (2.0 * np.asarray(index[:2], np.float64) + np.asarray(pinky[:2], np.float64)) / 3.0 * scale
    box = 2.0 * float(np.hypot(*(mid - wr)))
    rot = normalize_radians(math.pi / 2 - math.atan2(-(mid[1] - wr[1]), mid[0] - wr[0]))
    return NormalizedRect(mid[0] / W, mid[1] / H, box / W, box / H, rot)


# HandLandmarksToRectCalculator's partial landmarks: wrist, thumb CMC/MCP/IP, MCP+PIP of 4 fingers
# (modules/hand_landmark/calculators/hand_landmarks_to_rect_calculator.cc) [7.5].
_HAND_RECT_POINTS = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18])
_FLT_MIN = np.float32(1.17549435e-38)  # std::numeric_limits<float>::min(), the max trackers' start


def hand_landmarks_to_rect(landmarks: np.ndarray, image_wh) -> NormalizedRect:
    """HandLandmarksToRectCalculator: a rotated bounding rect of 12 hand landmarks.

    Args:
        landmarks: (21, >=2) normalised hand landmarks.
    Returns:
        NormalizedRect (before the 2.0 / shift -0.1 RectTransformation).
    """
    W, H = image_wh
    pts = np.asarray(landmarks, np.float64)[_HAND_RECT_POINTS, :2]
    p0 = pts[0]
    p1 = ((pts[4] + pts[8]) / 2 + pts[6]) / 2  # ((lm5 + lm13) / 2 + lm9) / 2
    rot = normalize_radians(math.pi / 2 - math.atan2(-(p1[1] - p0[1]) * H, (p1[0] - p0[0]) * W))
    # Axis-aligned box; the max starts at FLT_MIN as in the C++ (matters only off-image).
    mn = pts.min(0)
    mx = np.maximum(pts.max(0), float(_FLT_MIN))
    c_aa = (mn + mx) / 2
    px = (pts - c_aa) * (W, H)
    c, s = math.cos(rot), math.sin(rot)
    # rotate by -rotation
    rx = px[:, 0] * c + px[:, 1] * s
    ry = -px[:, 0] * s + px[:, 1] * c
    rmin = np.array([rx.min(), ry.min()])
    rmax = np.maximum(np.array([rx.max(), ry.max()]), float(_FLT_MIN))
    bc = (rmin + rmax) / 2
    size = rmax - rmin
    cx = c_aa[0] * W + bc[0] * c - bc[1] * s
    cy = c_aa[1] * H + bc[0] * s + bc[1] * c
    return NormalizedRect(cx / W, cy / H, size[0] / W, size[1] / H, rot)


def roi_tracking_keeps_previous(
    prev_rect: NormalizedRect, prev_landmarks: np.ndarray, recrop_rect: NormalizedRect, image_wh,
    req: RoiTrackingRequirements,
) -> bool:
    """RoiTrackingCalculator: keep the previous-frame ROI instead of the re-crop ROI?

    True iff rotation, translation and scale differ within the requirements and every previous
    landmark lies strictly inside the re-crop rect shrunk by (1 + margin). Everything is compared
    in pixels in the frame aligned with the re-crop rect (source: holistic_landmark/calculators/
    roi_tracking_calculator.cc, reference 7.3).

    Args:
        prev_rect: ROI from the previous frame's landmarks (after its RectTransformation).
        prev_landmarks: (21, >=2) normalised previous-frame hand landmarks.
        recrop_rect: ROI from the re-crop net.
    """
    W, H = image_wh
    rc = recrop_rect.to_px(image_wh)
    pc = prev_rect.to_px(image_wh)
    # rotation
    d = abs(math.degrees(pc[4]) - math.degrees(rc[4])) % 360.0
    if d > 180.0:
        d = 360.0 - d
    if d > req.rotation_degrees:
        return False
    c, s = math.cos(-rc[4]), math.sin(-rc[4])

    def rot(x, y):
        return x * c - y * s, x * s + y * c

    px, py = rot(pc[0], pc[1])
    rx, ry = rot(rc[0], rc[1])
    if abs(px - rx) > req.translation * rc[2] or abs(py - ry) > req.translation * rc[3]:
        return False
    if abs(pc[2] - rc[2]) > req.scale * rc[2] or abs(pc[3] - rc[3]) > req.scale * rc[3]:
        return False
    lm = np.asarray(prev_landmarks, np.float64)[:, :2] * (W, H)
    lx, ly = rot(lm[:, 0], lm[:, 1])
    hw = rc[2] * (1.0 + req.recrop_rect_margin) / 2
    hh = rc[3] * (1.0 + req.recrop_rect_margin) / 2
    inside = (lx > rx - hw) & (lx < rx + hw) & (ly > ry - hh) & (ly < ry + hh)
    return bool(inside.all())


def palm_detection_to_rect(box: np.ndarray, keypoints: np.ndarray, image_wh, rotation_keypoints=(0, 2),
                           target_angle_degrees: float = 90.0) -> NormalizedRect:
    """DetectionsToRects in DEFAULT mode for a palm: the box's centre and size, rotation from
    keypoint 0 (wrist centre) -> 2 (middle MCP) at the target angle (before RectTransformation).

    Args:
        box: (4,) image-normalised [xmin, ymin, width, height]; keypoints: (7, 2) image-normalised.
    """
    i0, i1 = rotation_keypoints
    rot = rotation_from_points(keypoints[i0], keypoints[i1], image_wh, math.radians(target_angle_degrees))
    return NormalizedRect(float(box[0] + box[2] / 2), float(box[1] + box[3] / 2), float(box[2]), float(box[3]), rot)


def rect_iou_axis_aligned(a: NormalizedRect, b: NormalizedRect) -> float:
    """IoU of two normalised rects ignoring rotation (AssociationNormRectCalculator's overlap)."""
    ax0, ay0, ax1, ay1 = a.x_center - a.width / 2, a.y_center - a.height / 2, a.x_center + a.width / 2, a.y_center + a.height / 2
    bx0, by0, bx1, by1 = b.x_center - b.width / 2, b.y_center - b.height / 2, b.x_center + b.width / 2, b.y_center + b.height / 2
    iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a.width * a.height + b.width * b.height - inter)
