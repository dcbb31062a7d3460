"""ImageToTensor (CPU/OpenCV path): rotated ROI crops of a uint8 RGB image into float tensors.

Source: calculators/tensor/image_to_tensor_calculator.cc, image_to_tensor_utils.cc,
image_to_tensor_converter_opencv.cc (reference/mediapipe-graphs.md 4.1): the ROI is padded to
the tensor's aspect ratio (never cropped), its rotated corners are mapped onto the tensor's
pixel edges with cv2.getPerspectiveTransform, the uint8 image is resampled with
cv2.warpPerspective INTER_LINEAR, and only then converted to float in the value range.

The resampling is OpenCV 4's warpPerspective done by hand (`warp_fixed_point`): source positions
rounded to 1/32 px, then cv2.remap's fixed-point bilinear on uint8. OpenCV 5's own
warpPerspective no longer does this (it samples at full precision), and on the 6 test clips that
alone moved MediaPipe's pose detections by 5-10 px; remap with fixed-point maps is the same in 4.x
and 5.x, so the crops are the same as MediaPipe's (which links OpenCV 4) whatever cv2 is installed.
Where the installed cv2.warpPerspective still resamples that way (checked once), it is used as is.
"""
from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Sequence, Union

import cv2
import numpy as np

from .config import CropSpec
from .rect import NormalizedRect

if TYPE_CHECKING:
    import torch

# A frame as the stages take it: (H, W, 3) uint8 RGB, numpy (OpenCV crops) or a torch tensor on the
# pre-processing device (torch crops, crop_torch.py).
Image = Union[np.ndarray, "torch.Tensor"]

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


_INTER_BITS = 5  # OpenCV's INTER_BITS: warps quantize source positions to 1/32 px
_INTER_TAB = 1 << _INTER_BITS


_scratch = threading.local()  # per-thread map buffers (the body and hand stages may run in two threads)


def _scratch_buffers(tw: int, th: int, channels: int):
    """Reused (mx, my, xy, frac, u8) buffers for one output size: fresh 100-300 kB arrays cost
    more in page faults than the whole map computation."""
    cache = getattr(_scratch, "bufs", None)
    if cache is None:
        cache = _scratch.bufs = {}
    key = (tw, th, channels)
    if key not in cache:
        cache[key] = (np.empty((th, tw), np.float32), np.empty((th, tw), np.float32),
                      np.empty((th, tw, 2), np.int16), np.empty((th, tw), np.uint16),
                      np.empty((th, tw, channels), np.uint8))
    return cache[key]


def warp_fixed_point(image: np.ndarray, M: np.ndarray, size: tuple[int, int], border: int,
                     dst: np.ndarray | None = None) -> np.ndarray:
    """cv2.warpPerspective(image, M, size, INTER_LINEAR, border, value 0) as OpenCV 4.x computes it.

    OpenCV 4 (imgwarp.cpp, WarpPerspectiveInvoker): with Mi = M^-1, for each destination pixel
    (x, y): W = 32 / (Mi[2] . (x, y, 1)); X = round((Mi[0] . (x, y, 1)) W), Y likewise (cvRound);
    then cv2.remap with the integer part X >> 5, Y >> 5 and the 1/32 fraction
    (Y & 31) * 32 + (X & 31), which blends with 15-bit integer weights.

    Our crops are affine (the perspective row of M is float noise, ~1e-10): the source positions
    are then made in float32 and rounded to 1/32 px by cv2.convertMaps, which differs from the
    double-precision rounding only where a position lies within ~1e-4 px of a rounding boundary
    (0.02-0.04 % of the pixels of a 256x256 crop, by 1-2 levels). Real perspective matrices take
    the exact double-precision path.

    Args:
        M: (3, 3) image px -> tensor px. size: (width, height) of the output.
        dst: optional (height, width, C) uint8 array to write into.
    Returns:
        (height, width, C) uint8 (`dst` when given).
    """
    tw, th = size
    Mi = cv2.invert(np.asarray(M, np.float64))[1]
    if abs(Mi[2, 0]) * tw + abs(Mi[2, 1]) * th < 1e-6 * abs(Mi[2, 2]):
        A = Mi[:2] / Mi[2, 2]
        x = np.arange(tw, dtype=np.float64)
        y = np.arange(th, dtype=np.float64)
        mx, my, xy, frac, _ = _scratch_buffers(tw, th, image.shape[2] if image.ndim == 3 else 1)
        np.add.outer((A[0, 1] * y + A[0, 2]).astype(np.float32), (A[0, 0] * x).astype(np.float32), out=mx)
        np.add.outer((A[1, 1] * y + A[1, 2]).astype(np.float32), (A[1, 0] * x).astype(np.float32), out=my)
        xy, frac = cv2.convertMaps(mx, my, cv2.CV_16SC2, dstmap1=xy, dstmap2=frac)
    else:
        x = np.arange(tw, dtype=np.float64)[None, :]
        y = np.arange(th, dtype=np.float64)[:, None]
        w0 = Mi[2, 0] * x + Mi[2, 1] * y + Mi[2, 2]
        wq = np.divide(float(_INTER_TAB), w0, out=np.zeros_like(w0), where=w0 != 0)
        qx = np.rint(np.clip((Mi[0, 0] * x + Mi[0, 1] * y + Mi[0, 2]) * wq, -2.0 ** 31, 2.0 ** 31 - 1)).astype(np.int32)
        qy = np.rint(np.clip((Mi[1, 0] * x + Mi[1, 1] * y + Mi[1, 2]) * wq, -2.0 ** 31, 2.0 ** 31 - 1)).astype(np.int32)
        frac = (((qy & (_INTER_TAB - 1)) << _INTER_BITS) | (qx & (_INTER_TAB - 1))).astype(np.uint16)
        xy = np.stack([np.clip(qx >> _INTER_BITS, -32768, 32767), np.clip(qy >> _INTER_BITS, -32768, 32767)],
                      axis=-1).astype(np.int16)
    return cv2.remap(image, xy, frac, cv2.INTER_LINEAR, dst=dst, borderMode=border, borderValue=(0, 0, 0, 0))


_native_is_fixed_point: bool | None = None


def native_warp_is_fixed_point() -> bool:
    """Does the installed cv2.warpPerspective resample like OpenCV 4 (then it is used directly, it
    is ~0.1 ms faster per crop)? Checked once on a rotated, scaled warp of a random image."""
    global _native_is_fixed_point
    if _native_is_fixed_point is None:
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        src = cv2.boxPoints(((31.3, 22.7), (27.1, 27.1), 23.0)).astype(np.float32)
        dst = np.array([[0, 40], [0, 0], [40, 0], [40, 40]], np.float32)
        M = cv2.getPerspectiveTransform(src, dst)
        same = True
        for border in _BORDER.values():
            ref = warp_fixed_point(img, M, (40, 40), border).copy()
            got = cv2.warpPerspective(img, M, (40, 40), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0))
            same = same and np.array_equal(ref, got)
        _native_is_fixed_point = bool(same)
    return _native_is_fixed_point


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
        if native_warp_is_fixed_point():
            u8 = cv2.warpPerspective(image, M, (tw, th), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0))
        else:
            u8 = warp_fixed_point(image, M, (tw, th), border, dst=_scratch_buffers(tw, th, image.shape[2])[4])
        np.multiply(u8, scale, out=batch[i], dtype=np.float32)
        if lo != 0.0:
            batch[i] += np.float32(lo)
    return batch, pads


def crop_image(image: Image, rects: Sequence[NormalizedRect | None], spec: CropSpec,
               out: np.ndarray | None = None):
    """`crop_rois` for a numpy image (OpenCV, on the CPU); for a torch tensor (any device) the same
    crops in torch (crop_torch.crop_rois, `out` unused), the batch then a tensor on that device.

    Returns:
        (batch (N, th, tw, 3) float32 in spec.value_range, paddings (N, 4) numpy [l, t, r, b]).
    """
    if isinstance(image, np.ndarray):
        return crop_rois(image, rects, spec, out=out)
    from .crop_torch import crop_rois as crop_rois_torch

    return crop_rois_torch(image, rects, spec)
