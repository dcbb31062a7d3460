"""MMPose body stage: person box -> RTMPose/RTMW keypoints -> a `BodyResult` for the Frontend.

The box comes from MediaPipe's pose detector when tracking is lost (the axis-aligned bounds of
its full-body ROI) and otherwise from the previous frame's keypoints, as top-down trackers do.
A COCO-WholeBody (133) model also gives both hands and the feet; a COCO-17 model gives the
body only (no hands, toes or heels).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mocap.models.keypoints import COCO_WHOLEBODY_LEFT_HAND, COCO_WHOLEBODY_RIGHT_HAND

from .config import PoseConfig
from .mmpose import MMPOSE_KPT_THR, MMPoseBodyLandmarker, bbox_from_keypoints
from .detector import SsdDetector
from .pose import BodyResult, detection_to_pose_rect
from .smoothing import LandmarksSmoother

# COCO body ids of the wrists (5-16: shoulders ... ankles; MMPose coco_wholebody.py).
COCO_WRISTS = (9, 10)  # left, right
# Hand-anchor points for the Holistic hand ROI: [wrist, pinky, index] per hand. BlazePose's
# pinky/index points lie on the knuckles, so the hand MCPs (17, 5) stand in for them.
WHOLEBODY_HAND_ANCHORS = (
    tuple(COCO_WHOLEBODY_LEFT_HAND.start + i for i in (0, 17, 5)),
    tuple(COCO_WHOLEBODY_RIGHT_HAND.start + i for i in (0, 17, 5)),
)


@dataclass(frozen=True)
class MMPoseStageConfig:
    """min_body_confidence: mean confidence of the 17 COCO body points needed to keep tracking
    (MMPose's demos draw keypoints above 0.3, `--kpt-thr`)."""

    min_body_confidence: float = MMPOSE_KPT_THR
    pose: PoseConfig = PoseConfig()

    def __post_init__(self):
        if not 0.0 <= self.min_body_confidence <= 1.0:
            raise ValueError(f"min_body_confidence must be in [0, 1], got {self.min_body_confidence}")


def rect_bounds_xyxy(corners_px: np.ndarray, image_wh: tuple[int, int]) -> np.ndarray | None:
    """Axis-aligned (4,) x1, y1, x2, y2 bounds of (4, 2) pixel corners, clipped to the image."""
    W, H = image_wh
    lo = np.clip(corners_px.min(axis=0), 0, [W, H])
    hi = np.clip(corners_px.max(axis=0), 0, [W, H])
    if hi[0] - lo[0] < 1 or hi[1] - lo[1] < 1:
        return None
    return np.array([lo[0], lo[1], hi[0], hi[1]], np.float32)


class MMPoseBodyStage:
    """A `BodyStage` running an MMPose SimCC model; one object per stream, one thread."""

    def __init__(self, landmarker: MMPoseBodyLandmarker, detector: SsdDetector,
                 config: MMPoseStageConfig = MMPoseStageConfig()):
        self.landmarker = landmarker
        self.detector = detector
        self.cfg = config
        self.smoother = LandmarksSmoother(config.pose.landmark_filter)
        self.prev_box: np.ndarray | None = None
        self.wholebody = landmarker.num_keypoints == 133

    def reset(self) -> None:
        self.prev_box = None
        self.smoother.reset()

    def __call__(self, rgb: np.ndarray, timestamp_s: float) -> BodyResult:
        H, W = rgb.shape[:2]
        timings: dict[str, float] = {}
        box, detector_ran = self.prev_box, False
        if box is None:
            t0 = time.perf_counter()
            dets = self.detector(rgb)
            detector_ran = True
            if len(dets):
                rect = detection_to_pose_rect(dets, (W, H), self.cfg.pose)
                box = rect_bounds_xyxy(rect.corners_px((W, H)), (W, H))
            timings["pose_detector"] = (time.perf_counter() - t0) * 1e3
        if box is None:
            self.smoother.reset()
            return BodyResult(found=False, detector_ran=detector_ran, timings_ms=timings)
        t0 = time.perf_counter()
        kpts = self.landmarker(rgb, box)  # (K, 3) px, confidence
        timings["pose_landmark"] = (time.perf_counter() - t0) * 1e3
        if float(kpts[:17, 2].mean()) < self.cfg.min_body_confidence:
            self.prev_box = None
            self.smoother.reset()
            return BodyResult(found=False, detector_ran=detector_ran, timings_ms=timings)
        self.prev_box = bbox_from_keypoints(kpts, (W, H))

        # One-euro smoothing of every keypoint, as the BlazePose stage smooths its 33 points.
        norm = np.zeros((len(kpts), 3), np.float32)
        norm[:, 0], norm[:, 1] = kpts[:, 0] / W, kpts[:, 1] / H
        scale_px = float(((box[2] - box[0]) + (box[3] - box[1])) / 2)
        sm = self.smoother.apply(int(round(timestamp_s * 1e9)), norm, (W, H), scale_px)
        smoothed = kpts.copy()
        smoothed[:, 0], smoothed[:, 1] = sm[:, 0] * W, sm[:, 1] * H

        body25_raw, _, _ = self.landmarker.to_k67_parts(kpts)
        body25, left, right = self.landmarker.to_k67_parts(smoothed)
        result = BodyResult(
            found=True, body25=body25, body25_raw=body25_raw, scale_px=scale_px,
            detector_ran=detector_ran, timings_ms=timings,
            wrist_visibility=kpts[list(COCO_WRISTS), 2].astype(np.float32),
        )
        if self.wholebody:
            anchors = np.stack([sm[list(ids), :2] for ids in WHOLEBODY_HAND_ANCHORS]).astype(np.float32)
            result.hand_anchors = anchors  # (2, 3, 2) normalised, like BlazePose's
            raw_left, raw_right = coco_hands(kpts)
            result.hands_px = np.stack([left, right])          # (2, 21, 3) smoothed
            result.hands_px_raw = np.stack([raw_left, raw_right])
        return result


def coco_hands(kpts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(133, 3) COCO-WholeBody -> the left and right (21, 3) hands in K67 hand order."""
    return kpts[COCO_WHOLEBODY_LEFT_HAND].copy(), kpts[COCO_WHOLEBODY_RIGHT_HAND].copy()
