"""MMPose top-down SimCC landmark nets (RTMPose / RTMW) as the body landmark net: crop, run, decode.

A user plugs an ONNX export of an RTMPose (COCO 17 keypoints) or RTMW / RTMPose-WholeBody (COCO-WholeBody
133 keypoints) model with `--body-model path.onnx`; docs/mmpose.md says how to export one. This module holds
the geometry and decoding as pure functions and one thin wrapper class, `MMPoseBodyLandmarker`:
preprocess (box -> padded, aspect-fixed crop -> normalised NCHW tensor) -> engine -> postprocess (SimCC
argmax -> crop pixels -> image pixels, scores -> [0, 1] confidences).

Frames and units used throughout:
- image frame: pixels of the full RGB frame, origin at the top-left pixel's centre, x right, y down
  (OpenCV's warpAffine convention: integer coordinates are pixel centres);
- input frame: pixels of the net's input crop (W_in x H_in), same conventions;
- SimCC bins: `split_ratio` bins per input pixel, bin i is input coordinate i / split_ratio.

Model facts and their sources (read for learning, none copied):
- I/O signature: one input `input` (N, 3, H, W) float32; two outputs `simcc_x` (N, K, W * 2) and
  `simcc_y` (N, K, H * 2). mmdeploy configs/_base_/onnx_config.py (input_names=['input']) and
  configs/mmpose/pose-detection_simcc_onnxruntime_dynamic.py (output_names=['simcc_x', 'simcc_y'],
  export_postprocess=False, only the batch axis dynamic). A plain static mmdeploy config keeps
  output_names=['output'], so the second output gets an exporter-made name: we also accept any two outputs
  and tell them apart by length (W * split vs H * split).
- No normalisation inside the graph: the mmdeploy SDK pipeline (and rtmlib, Tau-J/rtmlib
  rtmlib/tools/pose_estimation/rtmpose.py `preprocess`) normalise outside the net.
- Normalisation and channel order: RTMPose / RTMW configs (mmpose projects/rtmpose/rtmpose/body_2d_keypoint/
  rtmpose-m_8xb256-420e_coco-256x192.py, configs/wholebody_2d_keypoint/rtmpose/cocktail14/
  rtmw-x_8xb320-270e_cocktail14-384x288.py) use PoseDataPreprocessor(mean=[123.675, 116.28, 103.53],
  std=[58.395, 57.12, 57.375], bgr_to_rgb=True): MMPose loads BGR and converts, so the net sees RGB.
  (rtmlib feeds OpenCV's BGR unconverted; Tau-J/rtmlib issue #48 reports the resulting accuracy loss and the
  maintainer confirms the RTMPose series is RGB.)
- Box -> centre/scale: mmpose/structures/bbox/transforms.py `bbox_xyxy2cs` (centre = box middle, scale =
  box size * padding); GetBBoxCenterScale's default padding is 1.25 (mmpose/datasets/transforms/
  common_transforms.py), also rtmlib `RTMPose.preprocess` (padding=1.25) and mmdeploy
  pose-detection_simcc_sdk_static-256x192.py (ext_info padding=1.25).
- Aspect-ratio fix: TopdownAffine `_fix_aspect_ratio` (rtmlib pre_processings.py `top_down_affine`): grow
  the shorter side so that scale_w / scale_h = W_in / H_in.
- Warp: mmpose/structures/bbox/transforms.py `get_warp_matrix` (box centre -> crop centre, box width ->
  crop width, optional rotation about the centre), applied with cv2.warpAffine, INTER_LINEAR, border 0.
- SimCC decode: mmpose/codecs/utils/post_processing.py `get_simcc_maximum` (argmax per axis; score = the
  smaller of the two axis maxima; location -1 where the score <= 0) then SimCCLabel.decode divides by
  simcc_split_ratio = 2.0 (every RTMPose / RTMW codec config).
- Back to the image: mmdeploy codebase/mmpose/deploy/pose_detection_model.py and mmpose
  TopdownPoseEstimator.add_pred_to_datasample: kpts / input_size * bbox_scale + bbox_center
  - 0.5 * bbox_scale (the inverse of the warp for rotation 0).
- Scores are not probabilities: they are the raw maxima of the SimCC logits, usually in about [0, 1.1]
  (open-mmlab/mmpose issues #2755, #3122, #3207); MMPose's demos threshold them at 0.3
  (demo/topdown_demo_with_mmdet.py --kpt-thr). We clip them to [0, 1].
- Box from the previous frame's keypoints: rtmlib tools/solution/pose_tracker.py `pose_to_bbox` (the
  extent of the keypoints grown by 1.25 about its centre).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np

from mocap.engines.base import Engine, EngineError
from mocap.models.keypoints import (
    COCO17_TO_BODY25,
    COCO_WHOLEBODY_LEFT_HAND,
    COCO_WHOLEBODY_RIGHT_HAND,
    COCO_WHOLEBODY_TO_BODY25,
    remap,
)

log = logging.getLogger(__name__)

# Model facts (sources in the module docstring).
RTMPOSE_MEAN_RGB = (123.675, 116.28, 103.53)
RTMPOSE_STD_RGB = (58.395, 57.12, 57.375)
RTMPOSE_BBOX_PADDING = 1.25
SIMCC_SPLIT_RATIO = 2.0
POSE_TO_BBOX_EXPANSION = 1.25
NUM_COCO17 = 17
NUM_COCO_WHOLEBODY = 133
SUPPORTED_NUM_KEYPOINTS = (NUM_COCO17, NUM_COCO_WHOLEBODY)
# Input sizes (H, W) of the released RTMPose / RTMW checkpoints; other fixed sizes are accepted too.
RELEASED_INPUT_HW = ((256, 192), (384, 288))
# MMPose demos' keypoint score threshold (demo/topdown_demo_with_mmdet.py --kpt-thr).
MMPOSE_KPT_THR = 0.3

_ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


# ----------------------------------------------------------------------------- pure functions


def bbox_xyxy_to_cs(
    bbox_xyxy: np.ndarray, padding: float = RTMPOSE_BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Box corners -> (centre, scale), the MMPose top-down box format.

    Args:
        bbox_xyxy: (4,) x1, y1, x2, y2 in image pixels.
        padding: factor applied to the box size (MMPose default 1.25).

    Returns:
        center: (2,) float32 box centre (x, y), image pixels.
        scale: (2,) float32 padded box size (w, h), image pixels.
    """
    box = np.asarray(bbox_xyxy, dtype=np.float32).reshape(4)
    center = (box[:2] + box[2:]) * 0.5
    scale = (box[2:] - box[:2]) * np.float32(padding)
    return center.astype(np.float32), scale.astype(np.float32)


def fix_aspect_ratio(scale: np.ndarray, aspect_w_over_h: float) -> np.ndarray:
    """Grow the shorter side of a (w, h) box size so that w / h == aspect_w_over_h.

    Args:
        scale: (2,) box size (w, h), image pixels.
        aspect_w_over_h: the net input's W / H (0.75 for 256x192 and 384x288).

    Returns:
        (2,) float32 box size (w, h) containing the input box, image pixels.
    """
    w, h = (float(v) for v in np.asarray(scale).reshape(2))
    if w > h * aspect_w_over_h:
        return np.array([w, w / aspect_w_over_h], dtype=np.float32)
    return np.array([h * aspect_w_over_h, h], dtype=np.float32)


def get_warp_matrix(
    center: np.ndarray, scale: np.ndarray, output_wh: tuple[int, int], rot_deg: float = 0.0
) -> np.ndarray:
    """Affine matrix taking image pixels to input-crop pixels (MMPose `get_warp_matrix`, no shift).

    The box centre goes to the crop centre (W/2, H/2); the box width `scale[0]` becomes the crop width W
    (one isotropic factor s = W / scale[0], so `scale` should already be aspect-fixed). With rot_deg != 0
    the image is turned about the centre so that the box direction "up rotated by rot_deg" (image frame,
    y down) points up in the crop, as MMPose's three-point construction does.

    Args:
        center: (2,) box centre (x, y), image pixels.
        scale: (2,) box size (w, h), image pixels; only w sets the factor.
        output_wh: (W, H) of the crop, input pixels.
        rot_deg: box rotation in degrees.

    Returns:
        (2, 3) float64 matrix M with [u, v]^T = M @ [x, y, 1]^T (image -> input pixels).
    """
    cx, cy = (float(v) for v in np.asarray(center).reshape(2))
    s = float(output_wh[0]) / float(np.asarray(scale).reshape(2)[0])
    t = np.deg2rad(rot_deg)
    c, n = np.cos(t), np.sin(t)
    # A = s * R(rot)^T: undoes the box rotation, then scales.
    a = s * np.array([[c, n], [-n, c]])
    offset = np.array([output_wh[0] * 0.5, output_wh[1] * 0.5]) - a @ np.array([cx, cy])
    return np.hstack([a, offset[:, None]])


def invert_affine(m: np.ndarray) -> np.ndarray:
    """(2, 3) affine matrix -> its (2, 3) inverse."""
    m = np.asarray(m, dtype=np.float64)
    a_inv = np.linalg.inv(m[:, :2])
    return np.hstack([a_inv, -(a_inv @ m[:, 2:3])])


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (..., 2) points by a (2, 3) affine matrix; returns (..., 2) float32."""
    pts = np.asarray(pts, dtype=np.float64)
    return (pts @ np.asarray(m, dtype=np.float64)[:, :2].T + np.asarray(m)[:, 2]).astype(np.float32)


def crop_image(rgb: np.ndarray, warp_img2in: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """Warp the image into the net's input crop.

    Args:
        rgb: (H_img, W_img, 3) uint8 image.
        warp_img2in: (2, 3) image -> input pixels matrix (`get_warp_matrix`).
        input_hw: (H_in, W_in).

    Returns:
        (H_in, W_in, 3) uint8 crop; outside the image is 0 (MMPose's TopdownAffine border).
    """
    h, w = input_hw
    return cv2.warpAffine(
        rgb, np.asarray(warp_img2in, dtype=np.float64), (int(w), int(h)), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )


def crop_to_tensor(
    crop_rgb: np.ndarray,
    mean: tuple[float, float, float] = RTMPOSE_MEAN_RGB,
    std: tuple[float, float, float] = RTMPOSE_STD_RGB,
    channel_order: str = "rgb",
    dtype: type = np.float32,
) -> np.ndarray:
    """(H, W, 3) uint8 RGB crop -> (1, 3, H, W) normalised tensor, (pixel - mean) / std per channel.

    `mean` and `std` are given in the order of the net's channels (`channel_order`): for "bgr" the crop is
    flipped to BGR before normalising.
    """
    img = crop_rgb[..., ::-1] if channel_order == "bgr" else crop_rgb
    x = (img.astype(np.float32) - np.asarray(mean, np.float32)) * (1.0 / np.asarray(std, np.float32))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=dtype)  # (1, 3, H, W)


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = SIMCC_SPLIT_RATIO
) -> tuple[np.ndarray, np.ndarray]:
    """SimCC vectors -> keypoints in input pixels and raw scores (MMPose `get_simcc_maximum` rule).

    Args:
        simcc_x: (K, W_in * split) x-axis logits.
        simcc_y: (K, H_in * split) y-axis logits.
        split_ratio: bins per input pixel.

    Returns:
        kpts_in: (K, 2) float32 (x, y) input pixels; (-1, -1) / split_ratio where the score <= 0.
        scores: (K,) float32, min of the two axis maxima (raw logits, not probabilities).
    """
    simcc_x = np.asarray(simcc_x, dtype=np.float32)
    simcc_y = np.asarray(simcc_y, dtype=np.float32)
    locs = np.stack([simcc_x.argmax(axis=-1), simcc_y.argmax(axis=-1)], axis=-1).astype(np.float32)
    scores = np.minimum(simcc_x.max(axis=-1), simcc_y.max(axis=-1))
    locs[scores <= 0.0] = -1.0
    return locs / np.float32(split_ratio), scores.astype(np.float32)


def input_to_image(
    kpts_in: np.ndarray, center: np.ndarray, scale: np.ndarray, input_wh: tuple[int, int]
) -> np.ndarray:
    """Input-crop pixels -> image pixels for an unrotated crop (MMPose's formula).

    kpts_img = kpts_in / (W_in, H_in) * scale + center - scale / 2.

    Args:
        kpts_in: (K, 2) input pixels.
        center: (2,) box centre, image pixels.
        scale: (2,) aspect-fixed box size (w, h), image pixels.
        input_wh: (W_in, H_in).

    Returns:
        (K, 2) float32 image pixels.
    """
    scale = np.asarray(scale, np.float32)
    out = np.asarray(kpts_in, np.float32) / np.asarray(input_wh, np.float32) * scale
    return (out + np.asarray(center, np.float32) - 0.5 * scale).astype(np.float32)


def simcc_scores_to_confidence(scores: np.ndarray) -> np.ndarray:
    """Raw SimCC scores -> confidences in [0, 1] (clip; see the module docstring for why not softmax)."""
    return np.clip(np.asarray(scores, dtype=np.float32), 0.0, 1.0)


def coco_to_k67_parts(
    kpts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """COCO 17 or COCO-WholeBody 133 keypoints -> the K67 parts (DESIGN 4).

    Args:
        kpts: (17, 3) or (133, 3) x px, y px, confidence in [0, 1].

    Returns:
        body25: (25, 3) BODY_25 (Neck, MidHip = means with the min confidence; for COCO 17 the toes and
            heels have confidence 0).
        left_hand: (21, 3) the person's left hand (COCO-WholeBody 91-111) or None for COCO 17.
        right_hand: (21, 3) the person's right hand (112-132) or None for COCO 17.

    Raises:
        ValueError: any other keypoint count.
    """
    kpts = np.asarray(kpts, dtype=np.float32)
    if kpts.ndim != 2 or kpts.shape[1] != 3 or kpts.shape[0] not in SUPPORTED_NUM_KEYPOINTS:
        raise ValueError(f"expected (17, 3) or (133, 3) keypoints, got shape {kpts.shape}")
    if kpts.shape[0] == NUM_COCO17:
        return remap(kpts, COCO17_TO_BODY25), None, None
    return (
        remap(kpts, COCO_WHOLEBODY_TO_BODY25),
        kpts[COCO_WHOLEBODY_LEFT_HAND].copy(),
        kpts[COCO_WHOLEBODY_RIGHT_HAND].copy(),
    )


def bbox_from_keypoints(
    kpts_xyc: np.ndarray,
    image_wh: tuple[int, int],
    min_conf: float = MMPOSE_KPT_THR,
    expansion: float = POSE_TO_BBOX_EXPANSION,
    min_points: int = 2,
) -> np.ndarray | None:
    """The person box for the next frame from this frame's keypoints (tracking without a detector).

    The extent of the keypoints with confidence >= min_conf, grown by `expansion` about its centre
    (rtmlib `pose_to_bbox`), clipped to the image. The landmarker pads it again by its own 1.25, as MMPose
    pads a detector box.

    Args:
        kpts_xyc: (K, 3) x px, y px, confidence (any layout: COCO, K67, ...), image pixels.
        image_wh: (W, H) of the image.
        min_conf: keypoints below this confidence are ignored.
        expansion: growth factor of the keypoint extent.
        min_points: fewer confident keypoints than this -> None.

    Returns:
        (4,) float32 x1, y1, x2, y2 image pixels, or None (too few points, or an empty box after clipping).
    """
    kpts = np.asarray(kpts_xyc, dtype=np.float32).reshape(-1, 3)
    ok = (kpts[:, 2] >= min_conf) & np.isfinite(kpts[:, :2]).all(axis=1)
    if int(ok.sum()) < max(min_points, 1):
        return None
    pts = kpts[ok, :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) * 0.5
    lo = center - (center - lo) * expansion
    hi = center + (hi - center) * expansion
    w, h = float(image_wh[0]), float(image_wh[1])
    box = np.array(
        [np.clip(lo[0], 0, w), np.clip(lo[1], 0, h), np.clip(hi[0], 0, w), np.clip(hi[1], 0, h)],
        dtype=np.float32,
    )
    if box[2] - box[0] < 1.0 or box[3] - box[1] < 1.0:
        return None
    return box


# ----------------------------------------------------------------------------- the net wrapper


@dataclass(frozen=True)
class MMPoseOptions:
    """How an MMPose SimCC model's input is made and its output read.

    padding: box padding before the crop (MMPose GetBBoxCenterScale default 1.25).
    split_ratio: SimCC bins per input pixel (2.0 in every RTMPose / RTMW config).
    mean, std: per-channel normalisation in the net's channel order (RTMPose's ImageNet values, RGB).
    channel_order: "rgb" (every RTMPose / RTMW checkpoint) or "bgr" (a model trained without bgr_to_rgb).
    input_name: the net's input; None = its only input.
    simcc_x_name, simcc_y_name: output names; if absent the two outputs are told apart by length.
    """

    padding: float = RTMPOSE_BBOX_PADDING
    split_ratio: float = SIMCC_SPLIT_RATIO
    mean: tuple[float, float, float] = RTMPOSE_MEAN_RGB
    std: tuple[float, float, float] = RTMPOSE_STD_RGB
    channel_order: str = "rgb"
    input_name: str | None = None
    simcc_x_name: str = "simcc_x"
    simcc_y_name: str = "simcc_y"

    def __post_init__(self) -> None:
        if not self.padding > 0:
            raise ValueError(f"padding must be > 0, got {self.padding}")
        if not self.split_ratio > 0:
            raise ValueError(f"split_ratio must be > 0, got {self.split_ratio}")
        if self.channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {self.channel_order!r}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(f"mean and std need 3 values each, got {self.mean} and {self.std}")
        if not all(s > 0 for s in self.std):
            raise ValueError(f"std must be > 0, got {self.std}")


def _fixed(dim) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


class MMPoseBodyLandmarker:
    """An RTMPose / RTMW top-down SimCC net: (RGB frame, person box) -> (K, 3) image px + confidence.

    Built from an engine (`mocap.engines`); reads the input size (H, W) and the keypoint count K (17 or
    133) from the model and rejects any other signature with an EngineError. One instance per thread.
    """

    def __init__(self, engine: Engine, options: MMPoseOptions = MMPoseOptions()):
        """Check the model's signature against `options`.

        Args:
            engine: the loaded model (`OrtEngine`, or any `mocap.engines.base.Engine`).
            options: preprocessing and output naming.

        Raises:
            EngineError: the model is not a single-image SimCC top-down net with 17 or 133 keypoints.
        """
        self.engine = engine
        self.options = options
        name = getattr(engine, "name", "model")
        expected = (
            "expected an MMPose SimCC top-down model: input [1, 3, H, W] with fixed H, W and outputs "
            "simcc_x [1, K, W*{r:g}], simcc_y [1, K, H*{r:g}], K = 17 or 133".format(r=options.split_ratio)
        )

        inputs = {s.name: s for s in engine.inputs}
        if options.input_name is not None:
            if options.input_name not in inputs:
                raise EngineError(
                    f"{name}: no input named {options.input_name!r} (has {sorted(inputs)}); {expected}"
                )
            spec = inputs[options.input_name]
        elif len(inputs) == 1:
            spec = next(iter(inputs.values()))
        else:
            raise EngineError(f"{name}: has {len(inputs)} inputs {sorted(inputs)}; {expected}")
        shape = tuple(spec.shape)
        if len(shape) != 4 or _fixed(shape[1]) != 3 or _fixed(shape[2]) is None or _fixed(shape[3]) is None:
            raise EngineError(f"{name}: input {spec.name!r} has shape {list(shape)}; {expected}")
        if _fixed(shape[0]) not in (None, 1):
            raise EngineError(f"{name}: input {spec.name!r} has batch {shape[0]}; {expected}")
        if spec.dtype not in _ONNX_DTYPES:
            raise EngineError(f"{name}: input {spec.name!r} is {spec.dtype}; expected float32 or float16")
        self.input_name: str = spec.name
        self.input_hw: tuple[int, int] = (int(shape[2]), int(shape[3]))
        self._input_dtype = _ONNX_DTYPES[spec.dtype]
        h, w = self.input_hw
        len_x, len_y = round(w * options.split_ratio), round(h * options.split_ratio)

        outs = {s.name: tuple(s.shape) for s in engine.outputs}
        self._x_name, self._y_name = _pick_simcc_outputs(
            outs, (options.simcc_x_name, options.simcc_y_name), len_x, len_y, name, expected
        )
        ks = set()
        for out_name, length in ((self._x_name, len_x), (self._y_name, len_y)):
            oshape = outs[out_name]
            if len(oshape) != 3 or _fixed(oshape[2]) != length or _fixed(oshape[1]) is None:
                raise EngineError(f"{name}: output {out_name!r} has shape {list(oshape)}; {expected}")
            ks.add(int(oshape[1]))
        if len(ks) != 1 or next(iter(ks)) not in SUPPORTED_NUM_KEYPOINTS:
            raise EngineError(f"{name}: {sorted(ks)} keypoints; {expected}")
        self.num_keypoints: int = ks.pop()
        if self.input_hw not in RELEASED_INPUT_HW:
            log.info("%s: input %dx%d is not a released RTMPose size %s", name, h, w, RELEASED_INPUT_HW)

    # preprocess -> run -> postprocess
    def __call__(self, rgb: np.ndarray, bbox_xyxy) -> np.ndarray:
        """Keypoints of the person in the box.

        Args:
            rgb: (H_img, W_img, 3) uint8 RGB frame.
            bbox_xyxy: (4,) person box x1, y1, x2, y2, image pixels (a detector box or the previous frame's
                `bbox_from_keypoints`); padded by `options.padding` here.

        Returns:
            (K, 3) float32: x, y image pixels, confidence in [0, 1] (K = 17 or 133, COCO order).

        Raises:
            ValueError: the image is not HxWx3 uint8 or the box is not 4 finite numbers with x2 > x1, y2 > y1.
        """
        tensor, warp = self.preprocess(rgb, bbox_xyxy)
        outputs = self.engine.run({self.input_name: tensor})
        return self.postprocess(outputs, warp)

    def preprocess(self, rgb: np.ndarray, bbox_xyxy) -> tuple[np.ndarray, np.ndarray]:
        """(RGB frame, box) -> ((1, 3, H_in, W_in) net input, (2, 3) image -> input warp)."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {got}")
        box = np.asarray(bbox_xyxy, dtype=np.float64).reshape(-1)
        if box.size != 4 or not np.isfinite(box).all() or box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError(f"expected a box x1, y1, x2, y2 with x2 > x1 and y2 > y1, got {bbox_xyxy!r}")
        h, w = self.input_hw
        center, scale = bbox_xyxy_to_cs(box, self.options.padding)
        scale = fix_aspect_ratio(scale, w / h)
        warp = get_warp_matrix(center, scale, (w, h))
        crop = crop_image(rgb, warp, self.input_hw)
        o = self.options
        return crop_to_tensor(crop, o.mean, o.std, o.channel_order, self._input_dtype), warp

    def postprocess(self, outputs: Mapping[str, np.ndarray], warp_img2in: np.ndarray) -> np.ndarray:
        """Net outputs + the warp used -> (K, 3) float32 image px and confidence in [0, 1]."""
        simcc_x = np.asarray(outputs[self._x_name])[0]  # (K, W_in * split)
        simcc_y = np.asarray(outputs[self._y_name])[0]  # (K, H_in * split)
        kpts_in, scores = decode_simcc(simcc_x, simcc_y, self.options.split_ratio)
        kpts = np.empty((self.num_keypoints, 3), dtype=np.float32)
        kpts[:, :2] = apply_affine(invert_affine(warp_img2in), kpts_in)
        kpts[:, 2] = simcc_scores_to_confidence(scores)
        return kpts

    def to_k67_parts(self, kpts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(K, 3) output of `__call__` -> (body25 (25, 3), left hand (21, 3) | None, right hand | None)."""
        return coco_to_k67_parts(kpts)


def _pick_simcc_outputs(
    shapes: Mapping[str, tuple], wanted: tuple[str, str], len_x: int, len_y: int, model: str, expected: str
) -> tuple[str, str]:
    """The (simcc_x, simcc_y) output names: `wanted` if both exist, else two outputs told apart by length.

    Equal lengths (a square input) cannot be told apart; then the export order (x, y) is assumed, which is
    the order MMPose's SimCC heads return them in.
    """
    if wanted[0] in shapes and wanted[1] in shapes:
        return wanted
    names = list(shapes)
    if len(names) != 2:
        raise EngineError(f"{model}: has outputs {names}; {expected}")
    last = [_fixed(shapes[n][-1]) if len(shapes[n]) else None for n in names]
    if last == [len_x, len_y] or (len_x == len_y and None not in last):
        return names[0], names[1]
    if last == [len_y, len_x]:
        return names[1], names[0]
    raise EngineError(f"{model}: outputs {names} have shapes {[list(shapes[n]) for n in names]}; {expected}")


def open_mmpose_landmarker(
    path, options: MMPoseOptions = MMPoseOptions(), ort_config=None
) -> MMPoseBodyLandmarker:
    """Load an MMPose ONNX file under ONNX Runtime and wrap it (`--body-model path.onnx`).

    Args:
        path: the .onnx file.
        options: see MMPoseOptions.
        ort_config: `mocap.engines.onnxruntime.OrtConfig` (None = its defaults: CPU, 1 thread).

    Raises:
        EngineError: the file cannot be loaded or is not a supported SimCC model.
    """
    from mocap.engines.onnxruntime import OrtConfig, OrtEngine

    return MMPoseBodyLandmarker(OrtEngine(path, ort_config or OrtConfig()), options)
