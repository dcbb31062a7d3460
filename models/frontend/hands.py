"""Holistic hands for both sides, plus our palm-detector fallback.

Holistic part (reference/mediapipe-graphs.md 7.1-7.5; modules/holistic_landmark/*.pbtxt): per side,
wrist-visibility gate -> ROI from pose wrist/pinky/index -> re-crop net (both sides in one batch)
-> RoiTracking against the previous frame's landmarks -> hand landmark net (both sides in one
batch) -> presence > 0.5. Left/right come from the pose side, never from the handedness output.

Extension (ours, `PalmFallbackConfig`): when a side has no hand but its pose wrist lies in the
image, the palm detector (Hands graph, 7.6) runs on the full frame, at most every `interval`
frames (one search serves both sides); each palm goes to the nearer pose wrist within a distance gate, and the hand
landmark net runs on its ROI. A side whose wrist gate fails but which had a hand in the previous
frame keeps tracking it from its landmarks (the Hands graph's loop, 7.5).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mocap.engines.base import Engine

from .config import HandsConfig, PalmFallbackConfig
from .crop import Image, crop_image
from .detector import SsdDetector
from .landmarks import decode_hand_landmarks, decode_recrop_points, project_landmarks, remove_landmark_letterbox
from .netio import BoundNet
from .rect import (NormalizedRect, hand_landmarks_to_rect, hand_rect_from_pose, palm_detection_to_rect,
                   rect_from_alignment_points, rect_iou_axis_aligned, roi_tracking_keeps_previous, transform_rect)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


class HandRecropNet:
    """hand_recrop net: ROIs from pose -> refined hand ROIs (7.2), all ROIs in one batch."""

    def __init__(self, engine: Engine, cfg: HandsConfig):
        self.cfg = cfg
        w, h = cfg.recrop_crop.size
        self.net = BoundNet(engine, "image", {"points": (4,)}, (w, h))
        self._buf = np.empty((2, h, w, 3), np.float32)

    def __call__(self, rgb: Image, rects: list[NormalizedRect]) -> list[NormalizedRect]:
        cfg = self.cfg
        H, W = rgb.shape[:2]
        batch, pads = crop_image(rgb, rects, cfg.recrop_crop, out=self._buf)
        pts = decode_recrop_points(self.net(batch)["points"], cfg.recrop_crop.size)  # (N, 2, 2)
        out = []
        for i, rect in enumerate(rects):
            p = project_landmarks(remove_landmark_letterbox(pts[i], pads[i]), rect)
            r = rect_from_alignment_points(p[0], p[1], (W, H), cfg.recrop_target_degrees)
            out.append(transform_rect(r, (W, H), cfg.recrop_roi_transform))
        return out


class HandLandmarkNet:
    """hand_landmark_full net on N ROIs in one batch (7.4)."""

    def __init__(self, engine: Engine, cfg: HandsConfig):
        self.cfg = cfg
        w, h = cfg.landmark_crop.size
        self.net = BoundNet(engine, "image", {"landmarks": (63,), "hand_flag": (1,), "handedness": (1,)}, (w, h))
        self._buf = np.empty((2, h, w, 3), np.float32)

    def __call__(self, rgb: Image, rects: list[NormalizedRect]) -> tuple[np.ndarray, np.ndarray]:
        """Returns (landmarks (N, 21, 3) image-normalised [x, y, z], presence (N,))."""
        cfg = self.cfg
        batch, pads = crop_image(rgb, rects, cfg.landmark_crop, out=self._buf)
        out = self.net(batch)
        lm = decode_hand_landmarks(out["landmarks"], cfg.landmark_crop.size, cfg.normalize_z)
        lm = np.stack([project_landmarks(remove_landmark_letterbox(lm[i], pads[i]), r) for i, r in enumerate(rects)])
        return lm, out["hand_flag"][:, 0].astype(np.float32)


def palm_detector(engine: Engine, cfg: PalmFallbackConfig, min_score: float = 0.5) -> SsdDetector:
    """The palm_detection_full net (PalmDetectionCpu: 192x192, [0, 1], zero border) [7.6]."""
    return SsdDetector(engine, cfg.anchors, cfg.decode, cfg.nms, cfg.crop, min_score)


@dataclass
class HandsResult:
    """Both hands of one frame, index 0 = the person's left, 1 = right.

    landmarks: per side (21, 3) float32 image-normalised [x, y, z] or None.
    presence: (2,) hand flag (0 when no hand). rois: the ROI the landmark net ran on (or None).
    source: per side 'pose' (Holistic re-crop ROI), 'tracked' (previous landmarks), 'palm' or None.
    """

    landmarks: list = field(default_factory=lambda: [None, None])
    presence: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    rois: list = field(default_factory=lambda: [None, None])
    source: list = field(default_factory=lambda: [None, None])
    timings_ms: dict[str, float] = field(default_factory=dict)


class HandTracker:
    """Holistic's two hand paths with their loopback state, and the palm fallback."""

    def __init__(self, recrop: HandRecropNet, landmark_net: HandLandmarkNet, cfg: HandsConfig,
                 palm_detector: SsdDetector | None = None):
        if cfg.palm.enabled and palm_detector is None:
            raise ValueError("HandsConfig.palm.enabled needs a palm detector; pass one or disable the fallback")
        self.recrop = recrop
        self.landmark_net = landmark_net
        self.palm_detector = palm_detector if cfg.palm.enabled else None
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        self.prev: list[np.ndarray | None] = [None, None]  # previous frame's landmarks per side
        self.frame = 0
        self.last_palm = [-10**9, -10**9]  # frame index of the last palm search per side

    def __call__(self, rgb: Image, anchors: np.ndarray | None, wrist_visibility: np.ndarray | None,
                 body_scale_px: float = 0.0) -> HandsResult:
        """Args:
            rgb: (H, W, 3) uint8 RGB, numpy or a torch tensor on the pre-processing device.
            anchors: (2, 3, 2) image-normalised [left, right] x [wrist, pinky, index] from the body
                stage, or None when there is no body (then there are no hands, as in Holistic).
            wrist_visibility: (2,) smoothed wrist visibility.
            body_scale_px: body size in px for the palm/tracking distance gates.
        """
        cfg = self.cfg
        H, W = rgb.shape[:2]
        wh = (W, H)
        res = HandsResult()
        self.frame += 1
        if anchors is None:
            self.prev = [None, None]
            return res
        gate = [bool(wrist_visibility[s] > cfg.wrist_visibility_threshold) for s in range(2)]

        # 1. Re-crop ROIs for the gated sides, one batch (7.1, 7.2).
        gated = [s for s in range(2) if gate[s]]
        recrop_rects: list[NormalizedRect | None] = [None, None]
        if gated:
            pose_rects = [transform_rect(hand_rect_from_pose(*anchors[s], wh), wh, cfg.pose_roi_transform) for s in gated]
            t0 = time.perf_counter()
            for s, r in zip(gated, self.recrop(rgb, pose_rects)):
                recrop_rects[s] = r
            res.timings_ms["hand_recrop"] = _ms(t0)

        # 2. Tracking ROI per side (7.3), or hand-only tracking when the gate fails (ours).
        rois: list[NormalizedRect | None] = [None, None]
        for s in range(2):
            prev = self.prev[s]
            prev_rect = (transform_rect(hand_landmarks_to_rect(prev, wh), wh, cfg.landmarks_roi_transform)
                         if prev is not None else None)
            if recrop_rects[s] is not None:
                rois[s] = recrop_rects[s]
                res.source[s] = "pose"
                if prev_rect is not None and roi_tracking_keeps_previous(prev_rect, prev, recrop_rects[s], wh, cfg.tracking):
                    rois[s] = prev_rect
            elif prev_rect is not None and cfg.palm.enabled and cfg.palm.track_without_pose_gate:
                rois[s] = prev_rect
                res.source[s] = "tracked"

        # 3. Hand landmarks on both ROIs, one batch (7.4).
        run = [s for s in range(2) if rois[s] is not None]
        if run:
            t0 = time.perf_counter()
            lm, flag = self.landmark_net(rgb, [rois[s] for s in run])
            res.timings_ms["hand_landmark"] = _ms(t0)
            for i, s in enumerate(run):
                res.rois[s] = rois[s]
                ok = flag[i] > cfg.presence_threshold
                if ok and res.source[s] == "tracked":
                    # Hand-only tracking must stay near its pose wrist, or it may drift onto the
                    # other hand or another person.
                    d = float(np.linalg.norm((lm[i, 0, :2] - anchors[s, 0]) * wh))
                    ok = body_scale_px > 0 and d <= 2 * cfg.palm.max_wrist_distance * body_scale_px
                if ok:
                    res.landmarks[s], res.presence[s] = lm[i], flag[i]
                else:
                    res.source[s] = None
        for s in range(2):
            if res.landmarks[s] is None:
                res.source[s] = None

        # 4. Both sides on one hand: keep it on the nearer side (ours); then the palm fallback
        # for sides still without a hand (ours).
        self._drop_duplicates(anchors, wh, res)
        if self.palm_detector is not None:
            self._palm_fallback(rgb, anchors, body_scale_px, res)
            self._drop_duplicates(anchors, wh, res)
        self.prev = [res.landmarks[s] for s in range(2)]
        return res

    # ---------------------------------------------------------------------------------------
    def _wrist_px(self, anchors: np.ndarray, wh) -> np.ndarray:
        return anchors[:, 0, :] * np.asarray(wh, np.float32)  # (2, 2)

    def _palm_fallback(self, rgb, anchors, body_scale_px, res: HandsResult) -> None:
        pc = self.cfg.palm
        H, W = rgb.shape[:2]
        wh = (W, H)
        m = pc.image_margin
        need = []
        for s in range(2):
            if res.landmarks[s] is not None or self.frame - self.last_palm[s] < pc.interval:
                continue
            x, y = anchors[s, 0]
            if -m <= x <= 1 + m and -m <= y <= 1 + m:
                need.append(s)
        if not need or body_scale_px <= 0:
            return
        t0 = time.perf_counter()
        palms = self.palm_detector(rgb)
        res.timings_ms["palm_detector"] = _ms(t0)
        # The search covered the whole frame, so it counts for both sides.
        self.last_palm = [self.frame, self.frame]
        if len(palms) == 0:
            return
        wrists = self._wrist_px(anchors, wh)  # (2, 2)
        palm_wrist = palms.keypoints[:, 0, :] * np.asarray(wh, np.float32)  # (P, 2)
        d = np.linalg.norm(palm_wrist[:, None, :] - wrists[None, :, :], axis=2)  # (P, 2)
        nearest = d.argmin(axis=1)
        limit = pc.max_wrist_distance * body_scale_px
        chosen: dict[int, int] = {}
        for p in range(len(palms)):  # NMS order = best score first
            s = int(nearest[p])
            if s in need and s not in chosen and d[p, s] <= limit:
                chosen[s] = p
        if not chosen:
            return
        sides = sorted(chosen)
        rects = []
        for s in sides:
            p = chosen[s]
            r = palm_detection_to_rect(palms.boxes[p], palms.keypoints[p], wh, pc.rotation_keypoints,
                                       pc.alignment_target_degrees)
            rects.append(transform_rect(r, wh, pc.roi_transform))
        t0 = time.perf_counter()
        lm, flag = self.landmark_net(rgb, rects)
        res.timings_ms["hand_landmark"] = res.timings_ms.get("hand_landmark", 0.0) + _ms(t0)
        for i, s in enumerate(sides):
            if flag[i] > self.cfg.presence_threshold:
                res.landmarks[s], res.presence[s], res.rois[s], res.source[s] = lm[i], flag[i], rects[i], "palm"

    def _drop_duplicates(self, anchors, wh, res: HandsResult) -> None:
        """If both sides landed on the same hand, keep it on the side whose pose wrist is nearer."""
        thr = self.cfg.duplicate_iou
        if thr is None or res.landmarks[0] is None or res.landmarks[1] is None:
            return
        ra = hand_landmarks_to_rect(res.landmarks[0], wh)
        rb = hand_landmarks_to_rect(res.landmarks[1], wh)
        if rect_iou_axis_aligned(ra, rb) <= thr:
            return
        wrists = self._wrist_px(anchors, wh)
        scale = np.asarray(wh, np.float32)
        d = [float(np.linalg.norm(res.landmarks[s][0, :2] * scale - wrists[s])) for s in range(2)]
        drop = 0 if d[0] > d[1] else 1
        res.landmarks[drop], res.presence[drop], res.source[drop] = None, 0.0, None
