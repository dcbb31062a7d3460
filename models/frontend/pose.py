"""BlazePose body stage: detector (only when tracking is lost) -> landmark net -> smoothing -> next ROI.

Follows PoseLandmarkCpu (modules/pose_landmark/pose_landmark_cpu.pbtxt and subgraphs), see
reference/mediapipe-graphs.md 5 and 6. The stage is a callable `(rgb, timestamp_s) -> BodyResult`
so another body net (e.g. MMPose) can stand in for it (see `BodyStage`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mocap.engines.base import Engine
from mocap.models.keypoints import BLAZEPOSE_TO_BODY25, remap

from .config import PoseConfig
from .crop import Image, crop_image
from .detection import Detections
from .detector import SsdDetector
from .landmarks import decode_pose_landmarks, project_landmarks, refine_from_heatmap, remove_landmark_letterbox
from .netio import BoundNet
from .rect import NormalizedRect, rect_from_alignment_points, transform_rect
from .smoothing import LandmarksSmoother, VisibilitySmoother


@dataclass
class BodyResult:
    """One frame of a body stage.

    found: a body was tracked this frame (all fields below None / empty otherwise).
    body25 / body25_raw: (25, 3) float32 (x px, y px, confidence) smoothed / unsmoothed.
    hand_anchors: (2, 3, 2) float32 image-normalised [left, right] x [wrist, pinky, index] (x, y),
        from the smoothed landmarks (what Holistic's hand ROI uses).
    wrist_visibility: (2,) float32 smoothed visibility of the [left, right] wrist.
    scale_px: body size in pixels (for distance gates), here the pose ROI side before the 1.25.
    roi: the ROI the landmark net ran on (for drawing).
    detector_ran: the detector ran this frame.
    """

    found: bool
    body25: np.ndarray | None = None
    body25_raw: np.ndarray | None = None
    hand_anchors: np.ndarray | None = None
    wrist_visibility: np.ndarray | None = None
    scale_px: float = 0.0
    roi: NormalizedRect | None = None
    detector_ran: bool = False
    landmarks: np.ndarray | None = None  # (33, 5) normalised, smoothed (BlazePose only)
    # Body nets that also give the hands (COCO-WholeBody): (2, 21, 3) [left, right] px + confidence,
    # smoothed / raw. The Frontend then takes these instead of running the hand nets.
    hands_px: np.ndarray | None = None
    hands_px_raw: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    # FrontendConfig.preprocess == "torch": the frame as uploaded for this frame's crops (a torch
    # tensor), handed to the hand stage so each frame is uploaded once; the hand stage drops it.
    device_image: object | None = None


class BodyStage(Protocol):
    """What the composition needs from a body net; BlazePoseTracker is one, MMPose may be another.

    A stage with a true class attribute `takes_device_image` is handed the torch frame when the
    front end pre-processes in torch (FrontendConfig.preprocess); others get the numpy frame.
    """

    def __call__(self, rgb: np.ndarray, timestamp_s: float) -> BodyResult: ...

    def reset(self) -> None: ...




def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


def pose_detector(engine: Engine, cfg: PoseConfig) -> SsdDetector:
    """The pose_detection net (PoseDetectionCpu: 224x224, [-1, 1], zero border) [2-4]."""
    return SsdDetector(engine, cfg.anchors, cfg.decode, cfg.nms, cfg.detector_crop, cfg.min_detection_confidence)


class PoseLandmarkNet:
    """pose_landmark_full net on one ROI -> (39, 5) image-normalised landmarks and the pose flag."""

    def __init__(self, engine: Engine, cfg: PoseConfig):
        self.cfg = cfg
        n = cfg.num_landmarks
        w, h = cfg.landmark_crop.size
        self.net = BoundNet(engine, "image", {"landmarks": (n * 5,), "pose_flag": (1,),
                                              "heatmap": (h // 4, w // 4, n)}, (w, h))
        self._buf = np.empty((1, h, w, 3), np.float32)

    def __call__(self, rgb: Image, rect: NormalizedRect, always: bool = False) -> tuple[np.ndarray | None, float]:
        """rgb: (H, W, 3) uint8 RGB, numpy or torch (crop.crop_image). Returns (landmarks (39, 5)
        [x, y, z, visibility, presence] image-normalised, or None when the flag is not above
        min_tracking_confidence and not `always`; the flag)."""
        cfg = self.cfg
        batch, pads = crop_image(rgb, [rect], cfg.landmark_crop, out=self._buf)
        out = self.net(batch)
        flag = float(out["pose_flag"][0, 0])
        if not flag > cfg.min_tracking_confidence and not always:  # ThresholdingCalculator, strict '>'
            return None, flag
        lm = decode_pose_landmarks(out["landmarks"][0], cfg.landmark_crop.size, cfg.num_landmarks)
        lm = refine_from_heatmap(lm, out["heatmap"][0], cfg.heatmap_kernel_size, cfg.heatmap_min_confidence)
        lm = remove_landmark_letterbox(lm, pads[0])
        return project_landmarks(lm, rect), flag


def detection_to_pose_rect(dets: Detections, image_wh, cfg: PoseConfig) -> NormalizedRect:
    """PoseDetectionToRoi for the best detection: keypoint 0 -> 1 at 90 deg, then 1.25 square."""
    kp = dets.keypoints[0]
    r = rect_from_alignment_points(kp[0], kp[1], image_wh, cfg.alignment_target_degrees)
    return transform_rect(r, image_wh, cfg.roi_transform)


class BlazePoseTracker:
    """The MediaPipe pose body stage (tracking, smoothing, next-frame ROI from smoothed aux points)."""

    takes_device_image = True  # its crops accept a torch frame (FrontendConfig.preprocess = "torch")

    def __init__(self, detector: SsdDetector, landmark_net: PoseLandmarkNet, cfg: PoseConfig,
                 hand_points: tuple[tuple[int, int, int], tuple[int, int, int]] = ((15, 17, 19), (16, 18, 20))):
        self.detector = detector
        self.landmark_net = landmark_net
        self.cfg = cfg
        self.hand_points = np.array(hand_points)  # (2, 3) BlazePose ids [left, right] x [wrist, pinky, index]
        self.lm_smoother = LandmarksSmoother(cfg.landmark_filter)
        self.aux_smoother = LandmarksSmoother(cfg.aux_filter)
        self.vis_smoother = VisibilitySmoother(cfg.visibility_alpha)
        self.aux_vis_smoother = VisibilitySmoother(cfg.visibility_alpha)
        self.prev_rect: NormalizedRect | None = None

    def reset(self) -> None:
        self.prev_rect = None
        for s in (self.lm_smoother, self.aux_smoother, self.vis_smoother, self.aux_vis_smoother):
            s.reset()

    def __call__(self, rgb: Image, timestamp_s: float) -> BodyResult:
        """rgb: (H, W, 3) uint8 RGB, numpy or a torch tensor on the pre-processing device."""
        cfg = self.cfg
        H, W = rgb.shape[:2]
        wh = (W, H)
        timings: dict[str, float] = {}
        detector_ran = False
        rect = self.prev_rect
        if rect is None:
            t0 = time.perf_counter()
            dets = self.detector(rgb)
            detector_ran = True
            rect = detection_to_pose_rect(dets, wh, cfg) if len(dets) else None
            timings["pose_detector"] = _ms(t0)
        if rect is None:
            return self._lost(timings, detector_ran, None)
        t0 = time.perf_counter()
        retry = detector_ran and cfg.retry_from_landmarks
        lm39, flag = self.landmark_net(rgb, rect, always=retry)
        if retry and not flag > cfg.min_tracking_confidence:
            a0, a1 = cfg.aux_landmarks
            retry_rect = None
            if np.isfinite(lm39[[a0, a1], :2]).all():
                retry_rect = transform_rect(
                    rect_from_alignment_points(lm39[a0], lm39[a1], wh, cfg.alignment_target_degrees), wh, cfg.roi_transform)
            if retry_rect is not None and retry_rect.width > 0:
                rect = retry_rect
                lm39, flag = self.landmark_net(rgb, rect)
            else:
                lm39 = None
        timings["pose_landmark"] = _ms(t0)
        if lm39 is None or not flag > cfg.min_tracking_confidence:
            return self._lost(timings, detector_ran, rect)

        t_ns = int(round(timestamp_s * 1e9))
        n = cfg.num_pose_landmarks
        a0, a1 = cfg.aux_landmarks
        raw = lm39[:n]
        aux = lm39[[a0, a1]]
        # Object scale: ROI from the UNFILTERED aux points without the 1.25 scale (6.1).
        scale_rect = rect_from_alignment_points(aux[0], aux[1], wh, cfg.alignment_target_degrees)
        scale_px = (scale_rect.width * W + scale_rect.height * H) / 2
        sm = raw
        if cfg.smooth_landmarks:  # smooth_landmarks switches both filters of the 33 points (6.1)
            sm = raw.copy()
            sm[:, 3] = self.vis_smoother.apply(raw[:, 3])
            sm = self.lm_smoother.apply(t_ns, sm, wh, scale_px)
        aux_sm = aux.copy()
        aux_sm[:, 3] = self.aux_vis_smoother.apply(aux[:, 3])
        aux_sm = self.aux_smoother.apply(t_ns, aux_sm, wh, scale_px)
        # Next-frame ROI from the smoothed aux landmarks (5.6).
        self.prev_rect = transform_rect(
            rect_from_alignment_points(aux_sm[0], aux_sm[1], wh, cfg.alignment_target_degrees), wh, cfg.roi_transform)

        to_px = np.array([W, H], np.float32)
        pts = np.empty((n, 3), np.float32)
        pts[:, :2] = raw[:, :2] * to_px
        pts[:, 2] = raw[:, 3] * flag
        body_raw = remap(pts, BLAZEPOSE_TO_BODY25)
        pts[:, :2] = sm[:, :2] * to_px
        pts[:, 2] = sm[:, 3] * flag
        body = remap(pts, BLAZEPOSE_TO_BODY25)
        return BodyResult(
            found=True, body25=body, body25_raw=body_raw,
            hand_anchors=sm[self.hand_points, :2].astype(np.float32),
            wrist_visibility=sm[self.hand_points[:, 0], 3].astype(np.float32),
            scale_px=float(scale_px), roi=rect, detector_ran=detector_ran, landmarks=sm, timings_ms=timings)

    def _lost(self, timings, detector_ran, rect) -> BodyResult:
        # No landmarks: the one-euro smoothers reset, the visibility low-pass does not (6.4);
        # no ROI for the next frame, so the detector runs then.
        self.prev_rect = None
        self.lm_smoother.reset()
        self.aux_smoother.reset()
        return BodyResult(found=False, roi=rect, detector_ran=detector_ran, timings_ms=timings)
