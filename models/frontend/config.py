"""Every MediaPipe fact the 2D front end uses, as frozen dataclasses, plus our own extension options.

The defaults ARE the facts of MediaPipe's legacy Holistic CPU graph (mediapipe 0.10.21 wheel);
each group names the graph or calculator it comes from, as listed in
reference/mediapipe-graphs.md (section numbers in brackets). Paths are inside
google/mediapipe:mediapipe/. Change a default only to deviate from MediaPipe on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SsdAnchorOptions:
    """SsdAnchorsCalculator options (calculators/tflite/ssd_anchors_calculator.proto) [2.1]."""

    input_width: int
    input_height: int
    strides: tuple[int, ...]
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0  # proto default, unset in both graphs
    fixed_anchor_size: bool = True
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5

    @property
    def num_layers(self) -> int:
        return len(self.strides)


@dataclass(frozen=True)
class DetectionDecodeOptions:
    """TensorsToDetectionsCalculator options (calculators/tensor/tensors_to_detections_calculator) [3.1].

    Raw boxes are XYWH (reverse_output_order: true) followed by keypoint (x, y) pairs, in
    input-pixel units divided by `scale`; no exp() on the box size; scores are sigmoid(clip(logit)).
    """

    num_boxes: int
    num_coords: int
    num_keypoints: int
    scale: float  # x_scale = y_scale = w_scale = h_scale
    box_coord_offset: int = 0
    keypoint_coord_offset: int = 4
    score_clipping_thresh: float = 100.0
    min_score_thresh: float = 0.5  # overridden by min_detection_confidence (python API, 0.5)


@dataclass(frozen=True)
class NmsOptions:
    """NonMaxSuppressionCalculator options (calculators/util/non_max_suppression_calculator) [3.2]:
    algorithm WEIGHTED, overlap INTERSECTION_OVER_UNION."""

    min_suppression_threshold: float = 0.3


@dataclass(frozen=True)
class CropSpec:
    """ImageToTensorCalculator options for one crop (calculators/tensor/image_to_tensor_calculator) [4.1].

    size: (width, height) of the tensor; value_range: (min, max) the uint8 [0, 255] maps to;
    border: 'zero' = cv2.BORDER_CONSTANT 0 (before normalisation), 'replicate' = BORDER_REPLICATE
    (the calculator's default when border_mode is unspecified).
    """

    size: tuple[int, int]
    value_range: tuple[float, float] = (0.0, 1.0)
    border: Literal["zero", "replicate"] = "replicate"
    keep_aspect_ratio: bool = True


@dataclass(frozen=True)
class RectTransform:
    """RectTransformationCalculator options (calculators/util/rect_transformation_calculator) [5.1]:
    shift (in the rotated ROI frame, pre-square size), then square_long, then scale."""

    scale_x: float = 1.0
    scale_y: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    square_long: bool = True


@dataclass(frozen=True)
class OneEuroParams:
    """LandmarksSmoothingCalculator one_euro_filter options
    (calculators/util/landmarks_smoothing_calculator.proto; util/filtering/one_euro_filter.cc) [6.1, 6.2]."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    frequency: float = 30.0  # initial frequency before two timestamps are seen (proto default)
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False


@dataclass(frozen=True)
class RoiTrackingRequirements:
    """RoiTrackingCalculator options for Holistic hands
    (modules/holistic_landmark/hand_tracking.pbtxt; .../calculators/roi_tracking_calculator) [7.3]."""

    rotation_degrees: float = 40.0
    translation: float = 0.2
    scale: float = 0.4
    recrop_rect_margin: float = -0.1


# --------------------------------------------------------------------------------------------
# Pose [3, 4, 5, 6]
# --------------------------------------------------------------------------------------------
# modules/pose_detection/pose_detection_cpu.pbtxt [2.1]: 28x28x2 + 14x14x2 + 7x7x6 = 2254 anchors.
POSE_DETECTOR_ANCHORS = SsdAnchorOptions(input_width=224, input_height=224, strides=(8, 16, 32, 32, 32))
# modules/pose_detection/pose_detection_cpu.pbtxt [3.1]: 12 coords = box + 4 keypoints (0 mid-hip,
# 1 full-body size/rotation point, 2 mid-shoulder, 3 upper-body size/rotation point).
POSE_DETECTOR_DECODE = DetectionDecodeOptions(num_boxes=2254, num_coords=12, num_keypoints=4, scale=224.0)


@dataclass(frozen=True)
class PoseConfig:
    """Pose detection, landmarks, tracking and smoothing (modules/pose_landmark/pose_landmark_cpu.pbtxt)."""

    anchors: SsdAnchorOptions = POSE_DETECTOR_ANCHORS
    decode: DetectionDecodeOptions = POSE_DETECTOR_DECODE
    nms: NmsOptions = NmsOptions()
    # Detector crop: whole image, 224x224, keep aspect, [-1, 1], BORDER_ZERO
    # (modules/pose_detection/pose_detection_cpu.pbtxt) [4.1].
    detector_crop: CropSpec = CropSpec(size=(224, 224), value_range=(-1.0, 1.0), border="zero")
    # Landmark crop: 256x256, keep aspect, [0, 1], replicate (pose_landmark_by_roi_cpu.pbtxt) [4.1].
    landmark_crop: CropSpec = CropSpec(size=(256, 256))
    # AlignmentPointsRects: keypoint 0 -> 1, target 90 deg (pose_detection_to_roi.pbtxt,
    # pose_landmarks_to_roi.pbtxt) [5.1, 5.6].
    alignment_target_degrees: float = 90.0
    # RectTransformation 1.25, square_long, no shift (same graphs) [5.1, 5.6].
    roi_transform: RectTransform = RectTransform(scale_x=1.25, scale_y=1.25)
    # min_detection_confidence / min_tracking_confidence of the python API (holistic.py) [5.2, 9].
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5  # pose flag > this (strict), else tracking is lost
    # TensorsToLandmarks: 39 landmarks on a 256 crop, sigmoid visibility/presence
    # (tensors_to_pose_landmarks_and_segmentation.pbtxt) [5.3].
    num_landmarks: int = 39
    num_pose_landmarks: int = 33  # 0..32 pose, 33/34 auxiliary (ROI), 35..38 unused [5.3]
    aux_landmarks: tuple[int, int] = (33, 34)
    # RefineLandmarksFromHeatmap: min_confidence_to_refine 0.5 (proto) [5.4]. Kernel 9, not the 7
    # that reference 5.4 reads from the graph source: the 0.10.21 wheel behaves as kernel 9 (proto
    # default). Measured against its PoseLandmarkCpu on identical crops (glamr, sports2d, static
    # mode, 30 frames): kernel 9 agrees to a median 0.01-0.04 px, kernel 7 to 0.14-0.27 px (p90 0.8-1.7 px).
    heatmap_kernel_size: int = 9
    heatmap_min_confidence: float = 0.5
    # PoseLandmarkFiltering (modules/pose_landmark/pose_landmark_filtering.pbtxt) [6.1].
    smooth_landmarks: bool = True
    landmark_filter: OneEuroParams = OneEuroParams(min_cutoff=0.05, beta=80.0)
    aux_filter: OneEuroParams = OneEuroParams(min_cutoff=0.01, beta=10.0)  # always on
    visibility_alpha: float = 0.1  # VisibilitySmoothingCalculator low-pass [6.3]
    # Ours: when the flag fails on the detector's ROI, re-centre the ROI on the auxiliary
    # landmarks that crop gave anyway and run the landmark net once more (one extra run, only on
    # frames without tracking). MediaPipe gives up until the next frame.
    retry_from_landmarks: bool = True

    def __post_init__(self):
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"PoseConfig.{name}={v} must be in [0, 1]")


# --------------------------------------------------------------------------------------------
# Hands [2, 3, 7]
# --------------------------------------------------------------------------------------------
# modules/palm_detection/palm_detection_cpu.pbtxt [2.1]: 24x24x2 + 12x12x6 = 2016 anchors.
PALM_DETECTOR_ANCHORS = SsdAnchorOptions(input_width=192, input_height=192, strides=(8, 16, 16, 16))
# modules/palm_detection/palm_detection_cpu.pbtxt [3.1]: box + 7 keypoints (0 wrist centre,
# 2 middle-finger MCP; others unnamed).
PALM_DETECTOR_DECODE = DetectionDecodeOptions(num_boxes=2016, num_coords=18, num_keypoints=7, scale=192.0)


@dataclass(frozen=True)
class PalmFallbackConfig:
    """Our extension (not in Holistic): the Hands graph's palm detector as a fallback.

    Model facts from modules/palm_detection/palm_detection_cpu.pbtxt and
    modules/hand_landmark/palm_detection_detection_to_roi.pbtxt [7.6]; the policy fields are ours.
    """

    enabled: bool = True
    anchors: SsdAnchorOptions = PALM_DETECTOR_ANCHORS
    decode: DetectionDecodeOptions = PALM_DETECTOR_DECODE
    nms: NmsOptions = NmsOptions()
    # 192x192, keep aspect, [0, 1], BORDER_ZERO [4.1].
    crop: CropSpec = CropSpec(size=(192, 192), border="zero")
    # DetectionsToRects DEFAULT mode, rotation keypoint 0 -> 2, target 90 deg; then 2.6 / shift -0.5 [7.6].
    rotation_keypoints: tuple[int, int] = (0, 2)
    alignment_target_degrees: float = 90.0
    roi_transform: RectTransform = RectTransform(scale_x=2.6, scale_y=2.6, shift_y=-0.5)
    # --- policy (ours) ---
    # Run the palm detector at most once every `interval` frames (one full-frame search serves both sides).
    interval: int = 5
    # A palm is assigned to the nearer pose wrist only if its wrist keypoint lies within this
    # many pose-ROI sizes of it (the pose ROI is about 1.25-1.5x the body height).
    max_wrist_distance: float = 0.12
    # Only look for a hand whose pose wrist lies inside the image widened by this fraction.
    image_margin: float = 0.05
    # Hand-only tracking (the Hands graph's loop, [7.5, 7.6]) when the wrist-visibility gate fails
    # but the previous frame had a hand on that side.
    track_without_pose_gate: bool = True

    def __post_init__(self):
        if self.interval < 1:
            raise ValueError(f"PalmFallbackConfig.interval={self.interval} must be >= 1")
        if self.max_wrist_distance <= 0:
            raise ValueError(f"PalmFallbackConfig.max_wrist_distance={self.max_wrist_distance} must be > 0")


@dataclass(frozen=True)
class HandsConfig:
    """Holistic hands (modules/holistic_landmark/hand_landmarks_left_and_right_cpu.pbtxt and subgraphs)."""

    # Pose landmarks [wrist, pinky, index] per side: left 15/17/19, right 16/18/20 [7.1].
    pose_points_left: tuple[int, int, int] = (15, 17, 19)
    pose_points_right: tuple[int, int, int] = (16, 18, 20)
    # Wrist visibility gate, strict '>' on the smoothed visibility
    # (hand_landmarks_from_pose_cpu.pbtxt ThresholdingCalculator) [7.1].
    wrist_visibility_threshold: float = 0.1
    # ROI from pose: 2.7, shift_y -0.1, square_long (hand_landmarks_from_pose_to_recrop_roi.pbtxt) [7.1].
    pose_roi_transform: RectTransform = RectTransform(scale_x=2.7, scale_y=2.7, shift_y=-0.1)
    # Re-crop net: 256x256 [0, 1] replicate; alignment -90 deg; 1.0 / shift_y -0.1
    # (hand_recrop_by_roi_cpu.pbtxt) [7.2].
    recrop_crop: CropSpec = CropSpec(size=(256, 256))
    recrop_target_degrees: float = -90.0
    recrop_roi_transform: RectTransform = RectTransform(shift_y=-0.1)
    # Previous-frame ROI: HandLandmarksToRect then 2.0 / shift_y -0.1 (hand_tracking.pbtxt) [7.3, 7.5].
    landmarks_roi_transform: RectTransform = RectTransform(scale_x=2.0, scale_y=2.0, shift_y=-0.1)
    tracking: RoiTrackingRequirements = RoiTrackingRequirements()
    # Hand landmark net: 224x224 [0, 1] replicate, presence > 0.5 strict, normalize_z 0.4
    # (modules/hand_landmark/hand_landmark_cpu.pbtxt) [7.4].
    landmark_crop: CropSpec = CropSpec(size=(224, 224))
    presence_threshold: float = 0.5
    normalize_z: float = 0.4
    # Ours: Holistic often puts both sides on the same hand (on the shared clips up to a third of
    # its two-hand frames); drop the copy whose pose wrist is farther (axis-aligned IoU of the
    # hands' rects > this). None keeps Holistic's behaviour.
    duplicate_iou: float | None = 0.5
    # Holistic does not smooth hands [6.1]; set to smooth them anyway (ours).
    smoothing: OneEuroParams | None = None
    palm: PalmFallbackConfig = PalmFallbackConfig()


@dataclass(frozen=True)
class FrontendConfig:
    """The whole 2D front end."""

    pose: PoseConfig = field(default_factory=PoseConfig)
    hands: HandsConfig = field(default_factory=HandsConfig)
    enable_hands: bool = True
    # Ours: where the crops are made (ImageToTensor). "opencv": numpy + OpenCV on the CPU, byte for
    # byte MediaPipe's crops (crop.py; the faster path on a CPU). "torch": each frame is uploaded once
    # to `device` and every crop is made there by grid_sample (crop_torch.py), the batch handed to
    # the engine as a device tensor; on a GPU this keeps the crops off the host. Post-processing
    # stays NumPy either way. MMPose body nets keep their own OpenCV crop.
    preprocess: Literal["opencv", "torch"] = "opencv"
    device: str = "cpu"  # torch device of the "torch" path, e.g. "cuda", "cuda:1", "cpu"

    def __post_init__(self):
        if self.preprocess not in ("opencv", "torch"):
            raise ValueError(f"FrontendConfig.preprocess={self.preprocess!r} must be 'opencv' or 'torch'")
        if self.preprocess == "opencv" and self.device != "cpu":
            raise ValueError(f"FrontendConfig.device={self.device!r} needs preprocess='torch' "
                             "(OpenCV crops run on the CPU)")

    @classmethod
    def for_device(cls, device: str = "cpu", **kw) -> "FrontendConfig":
        """The pre-processing that suits nets running on `device`: OpenCV crops for "cpu", torch crops
        on the device otherwise (e.g. "cuda" when the CUDA or TensorRT back end runs the nets).
        Other fields as keyword arguments."""
        if device == "cpu":
            return cls(**kw)
        return cls(preprocess="torch", device=device, **kw)
