"""ImageToTensor (CPU/OpenCV path): rotated ROI crops of a uint8 RGB image into float tensors.

Source: calculators/tensor/image_to_tensor_calculator.cc, image_to_tensor_utils.cc,
image_to_tensor_converter_opencv.cc (reference/mediapipe-graphs.md 4.1): the ROI is padded to
the tensor's aspect ratio (never cropped), its rotated corners are mapped onto the tensor's
pixel edges with cv2.getPerspectiveTransform, the uint8 image is resampled with
cv2.warpPerspective INTER_LINEAR, and only then converted to float in the value range.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from .config import CropSpec
from .rect import NormalizedRect

_BORDER = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}


def pad_roi(w: float, h: float, out_wh: tuple[int, int], keep_aspect_ratio: bool = True):
    """PadRoi: enlarge a (w, h) px ROI to the tensor's aspect ratio.

    Returns:
        (w', h', padding) with padding (4,) float32 [left, top, right, bottom] as fractions of
        the tensor size (the letterbox to remove later).
    """
    if w <= 0 or h <= 0:
        raise ValueError(f"ROI must have positive size, got {w} x {h} px")
    if not keep_aspect_ratio:
        return w, h, np.zeros(4, np.float32)
    ta = out_wh[1] / out_wh[0]
    ra = h / w
    if ta > ra:
        h = w * ta
        pv = (1.0 - ra / ta) / 2
        pad = (0.0, pv, 0.0, pv)
    else:
        w = h / ta
        ph = (1.0 - ta / ra) / 2
        pad = (ph, 0.0, ph, 0.0)
    return w, h, np.array(pad, np.float32)


def crop_matrix(rect: NormalizedRect | None, image_wh: tuple[int, int], spec: CropSpec):
    """The 3x3 perspective matrix image px -> tensor px for one ROI, and the letterbox padding.

    Args:
        rect: the ROI, or None for the whole image.
        image_wh: (W, H) of the image.
    Returns:
        (M (3, 3) float64 for cv2.warpPerspective, padding (4,) [l, t, r, b]).
    """
    W, H = image_wh
    if rect is None:
        cx, cy, w, h, rot = W / 2, H / 2, float(W), float(H), 0.0
    else:
        cx, cy, w, h, rot = rect.to_px(image_wh)
    w, h, pad = pad_roi(w, h, spec.size, spec.keep_aspect_ratio)
    # cv::boxPoints order: bottom-left, top-left, top-right, bottom-right (of the ROI frame).
    src = cv2.boxPoints(((cx, cy), (w, h), math.degrees(rot))).astype(np.float32)
    tw, th = spec.size
    dst = np.array([[0, th], [0, 0], [tw, 0], [tw, th]], np.float32)
    return cv2.getPerspectiveTransform(src, dst), pad


def crop_rois(
    image: np.ndarray, rects: Sequence[NormalizedRect | None], spec: CropSpec, out: np.ndarray | None = None,
):
    """Crop N ROIs of one image into one NHWC float32 batch.

    Args:
        image: (H, W, 3) uint8 RGB.
        rects: N ROIs (None = the whole image).
        out: optional (>=N, th, tw, 3) float32 buffer to fill (avoids an allocation per frame).
    Returns:
        (batch (N, th, tw, 3) float32 in spec.value_range, paddings (N, 4) [l, t, r, b]).
    """
    H, W = image.shape[:2]
    tw, th = spec.size
    n = len(rects)
    if out is None or out.shape[0] < n:
        out = np.empty((n, th, tw, 3), np.float32)
    batch = out[:n]
    lo, hi = spec.value_range
    scale = np.float32((hi - lo) / 255.0)
    pads = np.zeros((n, 4), np.float32)
    border = _BORDER[spec.border]
    for i, rect in enumerate(rects):
        M, pads[i] = crop_matrix(rect, (W, H), spec)
        u8 = cv2.warpPerspective(image, M, (tw, th), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0))
        np.multiply(u8, scale, out=batch[i], dtype=np.float32)
        if lo != 0.0:
            batch[i] += np.float32(lo)
    return batch, pads
