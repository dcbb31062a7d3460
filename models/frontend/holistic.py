"""The 2D front end: body stage + both hands -> tracked K67 keypoints, timed per module.

`Frontend` composes a body stage (BlazePose by default; any `BodyStage`) with the Holistic hand
tracker. One object per video stream, owned by one thread; timestamps must increase.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.engines.onnxruntime import OrtConfig, OrtEngine
from mocap.models.keypoints import LEFT_HAND, NUM_BODY, NUM_K67, RIGHT_HAND

from .config import FrontendConfig
from .hands import HandLandmarkNet, HandRecropNet, HandsResult, HandTracker, PalmDetector
from .pose import BlazePoseTracker, BodyResult, BodyStage, PoseDetector, PoseLandmarkNet
from .rect import NormalizedRect

# The converted nets (export/ writes them; reference/mediapipe-graphs.md 1.1 for their I/O).
MODEL_FILES = {
    "pose_detector": "pose_detection.onnx",
    "pose_landmark": "pose_landmark_full.onnx",
    "palm_detector": "palm_detection_full.onnx",
    "hand_landmark": "hand_landmark_full.onnx",
    "hand_recrop": "hand_recrop.onnx",
}


def default_model_dir() -> Path:
    """models/onnx inside the installed package."""
    return Path(__file__).resolve().parent.parent / "onnx"


@dataclass
class FrontendResult:
    """One frame of the front end.

    k67 / k67_raw: (67, 3) float32 (x px, y px, confidence in [0, 1]) smoothed / unsmoothed; body
        confidence = visibility x pose flag, hand confidence = hand flag (0 = no hand).
    timings_ms: module -> ms for the modules that ran this frame (pose_detector, pose_landmark,
        hand_recrop, palm_detector, hand_landmark) and frontend_total.
    rois: 'pose', 'left_hand', 'right_hand' -> NormalizedRect or None (for drawing).
    tracking: 'body' (a body this frame), 'body_detector' (the detector ran), 'left_hand',
        'right_hand' (a hand this frame); hand_source: 'pose' | 'tracked' | 'palm' | None per side.
    """

    k67: np.ndarray
    k67_raw: np.ndarray
    timings_ms: dict[str, float]
    rois: dict[str, NormalizedRect | None]
    tracking: dict[str, bool]
    hand_source: dict[str, str | None] = field(default_factory=dict)
    body: BodyResult | None = None
    hands: HandsResult | None = None


class Frontend:
    """Body stage -> hands -> K67, per frame."""

    def __init__(self, body: BodyStage, hands: HandTracker | None, config: FrontendConfig = FrontendConfig()):
        self.body = body
        self.hands = hands if config.enable_hands else None
        self.config = config
        self._last_t: float | None = None
        self._hand_smoothers = None
        if config.hands.smoothing is not None:
            from .smoothing import LandmarksSmoother
            self._hand_smoothers = [LandmarksSmoother(config.hands.smoothing) for _ in range(2)]

    @classmethod
    def from_onnx(cls, model_dir: str | Path | None = None, ort: OrtConfig = OrtConfig(),
                  config: FrontendConfig = FrontendConfig(), body: BodyStage | None = None) -> "Frontend":
        """Load the MediaPipe nets (ONNX) from model_dir (default: the package's models/onnx).

        Args:
            ort: ONNX Runtime settings for every net (on the 2-core development machine
                threads=1 is faster than 2: intra-op threads spin against each other).
            body: another body stage to use instead of BlazePose (e.g. an MMPose adapter); the
                pose nets are then not loaded.
        Raises:
            EngineError: a model file is missing, unreadable or lacks the contract's names.
        """
        d = Path(model_dir) if model_dir is not None else default_model_dir()

        def load(key):
            return OrtEngine(d / MODEL_FILES[key], ort)

        if body is None:
            body = BlazePoseTracker(PoseDetector(load("pose_detector"), config.pose),
                                    PoseLandmarkNet(load("pose_landmark"), config.pose), config.pose,
                                    (config.hands.pose_points_left, config.hands.pose_points_right))
        hands = None
        if config.enable_hands:
            hc = config.hands
            palm = PalmDetector(load("palm_detector"), hc.palm) if hc.palm.enabled else None
            hands = HandTracker(HandRecropNet(load("hand_recrop"), hc), HandLandmarkNet(load("hand_landmark"), hc),
                                hc, palm)
        return cls(body, hands, config)

    def reset(self) -> None:
        """Forget all tracking state (new video or a cut)."""
        self.body.reset()
        if self.hands is not None:
            self.hands.reset()
        if self._hand_smoothers:
            for s in self._hand_smoothers:
                s.reset()
        self._last_t = None

    def process(self, rgb: np.ndarray, timestamp_s: float) -> FrontendResult:
        """Run one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            timestamp_s: capture time in seconds; must increase from call to call (drives the filters).
        Raises:
            ValueError: wrong image type/shape, or a timestamp not after the previous one.
        """
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(rgb, 'dtype', type(rgb))} "
                             f"{getattr(rgb, 'shape', '')}")
        if self._last_t is not None and not timestamp_s > self._last_t:
            raise ValueError(f"timestamp {timestamp_s} s is not after the previous one ({self._last_t} s); "
                             "call reset() for a new stream")
        self._last_t = timestamp_s
        t_start = time.perf_counter()
        H, W = rgb.shape[:2]
        k67 = np.zeros((NUM_K67, 3), np.float32)
        k67_raw = np.zeros((NUM_K67, 3), np.float32)
        body = self.body(rgb, timestamp_s)
        timings = dict(body.timings_ms)
        hands_res = None
        if body.found:
            k67[:NUM_BODY] = body.body25
            k67_raw[:NUM_BODY] = body.body25_raw
        if self.hands is not None:
            hands_res = self.hands(rgb, body.hand_anchors if body.found else None,
                                   body.wrist_visibility, body.scale_px)
            timings.update(hands_res.timings_ms)
            to_px = np.array([W, H], np.float32)
            for s, sl in enumerate((LEFT_HAND, RIGHT_HAND)):
                lm = hands_res.landmarks[s]
                if lm is None:
                    if self._hand_smoothers:
                        self._hand_smoothers[s].reset()
                    continue
                k67_raw[sl, :2] = lm[:, :2] * to_px
                k67_raw[sl, 2] = hands_res.presence[s]
                if self._hand_smoothers:
                    roi = hands_res.rois[s]
                    scale = (roi.width * W + roi.height * H) / 2 if roi is not None else None
                    lm = self._hand_smoothers[s].apply(int(round(timestamp_s * 1e9)), lm, (W, H), scale)
                k67[sl, :2] = lm[:, :2] * to_px
                k67[sl, 2] = hands_res.presence[s]
        timings["frontend_total"] = (time.perf_counter() - t_start) * 1e3
        have = [hands_res is not None and hands_res.landmarks[s] is not None for s in range(2)]
        return FrontendResult(
            k67=k67, k67_raw=k67_raw, timings_ms=timings,
            rois={"pose": body.roi,
                  "left_hand": hands_res.rois[0] if hands_res else None,
                  "right_hand": hands_res.rois[1] if hands_res else None},
            tracking={"body": body.found, "body_detector": body.detector_ran,
                      "left_hand": have[0], "right_hand": have[1]},
            hand_source={"left_hand": hands_res.source[0] if hands_res else None,
                         "right_hand": hands_res.source[1] if hands_res else None},
            body=body, hands=hands_res)
