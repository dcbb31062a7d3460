"""The 2D front end: body stage + both hands -> tracked K67 keypoints, timed per module.

`Frontend` composes a body stage (BlazePose by default; any `BodyStage`) with the Holistic hand
tracker. One object per video stream, owned by one thread; timestamps must increase.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mocap.engines.base import Engine
from mocap.engines.onnxruntime import OrtConfig
from mocap.engines.select import EngineConfig, open_engine
from mocap.models.keypoints import LEFT_HAND, NUM_BODY, NUM_K67, RIGHT_HAND

from .config import FrontendConfig
from .hands import HandLandmarkNet, HandRecropNet, HandsResult, HandTracker, palm_detector
from .pose import BlazePoseTracker, BodyResult, BodyStage, PoseLandmarkNet, pose_detector
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
        self.engines: list = []  # the engines behind the stages (for reporting the provider)
        self._device = None  # the torch device of the crops (config.preprocess == "torch"), else None
        if config.preprocess == "torch":
            from .crop_torch import check_device

            self._device = check_device(config.device)
        self._last_t: float | None = None
        self._hand_smoothers = None
        if config.hands.smoothing is not None:
            from .smoothing import LandmarksSmoother
            self._hand_smoothers = [LandmarksSmoother(config.hands.smoothing) for _ in range(2)]

    @classmethod
    def from_onnx(cls, model_dir: str | Path | None = None, ort: OrtConfig | EngineConfig = OrtConfig(),
                  config: FrontendConfig = FrontendConfig(), body: BodyStage | None = None,
                  body_model: str | Path | None = None) -> "Frontend":
        """Load the MediaPipe nets (ONNX) from model_dir (default: the package's models/onnx).

        Args:
            config: front-end options; `FrontendConfig.for_device("cuda")` makes the crops on the
                GPU (torch) for nets that run there.
            ort: how every net runs: an OrtConfig (ONNX Runtime; on the 2-core development machine
                threads=1 is faster than 2: intra-op threads spin against each other) or an
                EngineConfig (engines/select.py: ONNX Runtime or TensorRT).
            body: another body stage to use instead of BlazePose; the pose nets are then not loaded.
            body_model: an MMPose RTMPose/RTMW SimCC ONNX file to use as the body landmark net
                (the MediaPipe pose detector still finds the person when tracking is lost).
        Raises:
            EngineError: a model file is missing, unreadable or lacks the contract's names.
            ValueError: config.device does not exist here (torch pre-processing).
        """
        d = Path(model_dir) if model_dir is not None else default_model_dir()
        engines: list[Engine] = []

        def load(key):
            engines.append(open_engine(d / MODEL_FILES[key], ort))
            return engines[-1]

        if body_model is not None:
            from .mmpose import MMPoseBodyLandmarker
            from .mmpose_stage import MMPoseBodyStage, MMPoseStageConfig

            engines.append(open_engine(Path(body_model), ort))
            body = MMPoseBodyStage(MMPoseBodyLandmarker(engines[-1]), pose_detector(load("pose_detector"), config.pose),
                                   MMPoseStageConfig(pose=config.pose))
        elif body is None:
            body = BlazePoseTracker(pose_detector(load("pose_detector"), config.pose),
                                    PoseLandmarkNet(load("pose_landmark"), config.pose), config.pose,
                                    (config.hands.pose_points_left, config.hands.pose_points_right))
        hands = None
        if config.enable_hands:
            hc = config.hands
            palm = palm_detector(load("palm_detector"), hc.palm) if hc.palm.enabled else None
            hands = HandTracker(HandRecropNet(load("hand_recrop"), hc), HandLandmarkNet(load("hand_landmark"), hc),
                                hc, palm)
        frontend = cls(body, hands, config)
        frontend.engines.extend(engines)
        return frontend

    def reset(self) -> None:
        """Forget all tracking state (new video or a cut)."""
        self.body.reset()
        if self.hands is not None:
            self.hands.reset()
        if self._hand_smoothers:
            for s in self._hand_smoothers:
                s.reset()
        self._last_t = None

    @property
    def provider(self) -> str:
        """The execution provider(s) that actually run the nets, e.g. 'CPUExecutionProvider'."""
        return "+".join(sorted({e.provider for e in self.engines})) or "unknown"

    def process(self, rgb: np.ndarray, timestamp_s: float) -> FrontendResult:
        """Run one frame: `process_hands(rgb, process_body(rgb, timestamp_s))`.

        Args:
            rgb: (H, W, 3) uint8 RGB image.
            timestamp_s: capture time in seconds; must increase from call to call (drives the filters).
        Raises:
            ValueError: wrong image type/shape, or a timestamp not after the previous one.
        """
        return self.process_hands(rgb, self.process_body(rgb, timestamp_s), timestamp_s)

    def use_device(self, device: str) -> None:
        """Make the crops where the nets run, after loading: OpenCV crops for "cpu", torch crops on
        `device` otherwise (as FrontendConfig.for_device). Call between streams, not mid-frame.

        Raises:
            ValueError: the device does not exist here.
        """
        if device == "cpu":
            self._device = None
            self.config = replace(self.config, preprocess="opencv", device="cpu")
            return
        from .crop_torch import check_device

        self._device = check_device(device)
        self.config = replace(self.config, preprocess="torch", device=device)

    def _upload(self, rgb: np.ndarray):
        """The frame for the crops: `rgb` itself (OpenCV path), or a uint8 torch tensor on the device."""
        if self._device is None:
            return rgb
        from .crop_torch import upload

        return upload(rgb, self._device)

    def process_body(self, rgb: np.ndarray, timestamp_s: float) -> BodyResult:
        """The body stage of one frame. With `process_hands` it may run in another thread, so the
        body of frame t+1 overlaps the hands of frame t (each stage keeps its own state)."""
        if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(rgb, 'dtype', type(rgb))} "
                             f"{getattr(rgb, 'shape', '')}")
        if self._last_t is not None and not timestamp_s > self._last_t:
            raise ValueError(f"timestamp {timestamp_s} s is not after the previous one ({self._last_t} s); "
                             "call reset() for a new stream")
        self._last_t = timestamp_s
        t_start = time.perf_counter()
        image = self._upload(rgb)
        body = self.body(image if getattr(self.body, "takes_device_image", False) else rgb, timestamp_s)
        if self._device is not None:
            body.device_image = image
        body.timings_ms["body_stage"] = (time.perf_counter() - t_start) * 1e3
        return body

    def process_hands(self, rgb: np.ndarray, body: BodyResult, timestamp_s: float) -> FrontendResult:
        """The hand stage of one frame and the K67 assembly, after `process_body` of that frame."""
        t_start = time.perf_counter()
        H, W = rgb.shape[:2]
        image = rgb
        if self._device is not None:  # the frame process_body uploaded (uploaded here if there is none)
            image = body.device_image if body.device_image is not None else self._upload(rgb)
            body.device_image = None
        k67 = np.zeros((NUM_K67, 3), np.float32)
        k67_raw = np.zeros((NUM_K67, 3), np.float32)
        timings = dict(body.timings_ms)
        hands_res = None
        if body.found:
            k67[:NUM_BODY] = body.body25
            k67_raw[:NUM_BODY] = body.body25_raw
        if body.hands_px is not None:  # the body net gave the hands (COCO-WholeBody)
            k67[LEFT_HAND], k67[RIGHT_HAND] = body.hands_px
            k67_raw[LEFT_HAND], k67_raw[RIGHT_HAND] = body.hands_px_raw
        elif self.hands is not None:
            hands_res = self.hands(image, body.hand_anchors if body.found else None,
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
        timings["hand_stage"] = (time.perf_counter() - t_start) * 1e3
        timings["frontend_total"] = timings["body_stage"] + timings["hand_stage"]
        have = [bool(k67[sl, 2].max() > 0) for sl in (LEFT_HAND, RIGHT_HAND)]
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
