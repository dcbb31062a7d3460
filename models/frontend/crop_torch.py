"""ImageToTensor in torch (GPU path): the rotated ROI crops of crop.py, resampled by grid_sample.

Same geometry as crop.py (its `crop_matrix` and `pad_roi` make the image px -> tensor px matrix and
the letterbox padding); only the resampling differs: torch's full-precision bilinear instead of
OpenCV 4's fixed-point warp (source positions rounded to 1/32 px, 15-bit weights, uint8 result).
The two agree to a few 1/255 at sharp edges (tests/test_crop_torch.py states the measured numbers).

Pixel convention (OpenCV's, which MediaPipe's CPU crops use): pixel (i, j) of an image has its
centre at the integer coordinate (x = i, y = j); a crop's destination pixel (x, y) samples the
source at Mi (x, y, 1) (homogeneous), Mi the inverse of the crop matrix. grid_sample with
align_corners=False puts pixel i's centre at the normalised coordinate (2 i + 1) / size - 1, which
`grid_matrices` folds into the matrix. Border: 'zero' = taps outside the image count as 0
(padding_mode 'zeros' = cv2.BORDER_CONSTANT 0), 'replicate' = positions clamped to the image
(padding_mode 'border' = cv2.BORDER_REPLICATE for bilinear).

Only the image region the crops can touch is converted to float (`source_region`), so a small hand
crop of a large frame costs what the hand costs. The per-ROI matrices reach the device as kernel
scalars, not as a tensor copy, so building a crop never waits for the device.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import CropSpec
from .crop import crop_matrix
from .rect import NormalizedRect

_PADDING = {"zero": "zeros", "replicate": "border"}


def inverse_crop_matrices(rects: Sequence[NormalizedRect | None], image_wh: tuple[int, int],
                          spec: CropSpec) -> tuple[np.ndarray, np.ndarray]:
    """The tensor px -> image px matrices of N crops (inverses of crop.crop_matrix) and their letterbox.

    Args:
        rects: N ROIs (None = the whole image). image_wh: (W, H) px.
    Returns:
        (Mi (N, 3, 3) float64: destination pixel (x, y, 1) -> source position (homogeneous), pixel
        centres at integer coordinates in both; paddings (N, 4) float32 [l, t, r, b] fractions of
        the tensor size).
    """
    n = len(rects)
    Mi = np.empty((n, 3, 3), np.float64)
    pads = np.zeros((n, 4), np.float32)
    for i, rect in enumerate(rects):
        M, pads[i] = crop_matrix(rect, image_wh, spec)
        Mi[i] = np.linalg.inv(M)
    return Mi, pads


def source_region(Mi: np.ndarray, size: tuple[int, int], image_wh: tuple[int, int]) -> tuple[int, int, int, int]:
    """The image region (x0, y0, x1, y1) px, end-exclusive, holding every bilinear tap of N crops.

    The sample positions of the destination pixel centres (0..tw-1, 0..th-1) span the convex
    hull of the four corner positions (exact for affine matrices, and for perspective ones whose
    denominator keeps its sign over the crop); their taps are floor(p) and floor(p) + 1, plus a
    1 px margin for float rounding, clamped to the image. The region is never empty: a crop wholly
    outside the image keeps the nearest edge pixel (what 'replicate' samples there).

    Args:
        Mi: (N, 3, 3) tensor px -> image px. size: (tw, th). image_wh: (W, H).
    """
    tw, th = size
    W, H = image_wh
    corners = np.array([[0, 0, 1], [tw - 1, 0, 1], [0, th - 1, 1], [tw - 1, th - 1, 1]], np.float64)
    p = np.einsum("nij,kj->nki", Mi, corners)  # (N, 4, 3)
    xy = p[..., :2] / p[..., 2:]
    if not np.all(np.isfinite(xy)):
        return 0, 0, W, H
    lo = np.floor(xy.reshape(-1, 2).min(0)) - 1
    hi = np.floor(xy.reshape(-1, 2).max(0)) + 2
    x0 = int(np.clip(lo[0], 0, W - 1))
    y0 = int(np.clip(lo[1], 0, H - 1))
    x1 = int(np.clip(hi[0], x0 + 1, W))
    y1 = int(np.clip(hi[1], y0 + 1, H))
    return x0, y0, x1, y1


def grid_matrices(Mi: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """Fold the region offset and grid_sample's normalisation into the crop matrices.

    Returns:
        (N, 3, 3) float64 A: destination pixel (x, y, 1) -> grid_sample coordinate (homogeneous)
        over the region with align_corners=False, i.e. g = (2 (p - origin) + 1) / region size - 1
        per axis for the source position p (px, pixel centres at integers).
    """
    x0, y0, x1, y1 = region
    wr, hr = x1 - x0, y1 - y0
    S = np.array([[2.0 / wr, 0.0, (1.0 - 2.0 * x0) / wr - 1.0],
                  [0.0, 2.0 / hr, (1.0 - 2.0 * y0) / hr - 1.0],
                  [0.0, 0.0, 1.0]])
    return S @ Mi


@lru_cache(maxsize=32)
def _pixel_coords(tw: int, th: int, device: torch.device) -> torch.Tensor:
    """Destination pixels as homogeneous rows (x, y, 1): (th * tw, 3) float32 on `device`, row-major
    (read-only, cached)."""
    y, x = torch.meshgrid(torch.arange(th, dtype=torch.float32, device=device),
                          torch.arange(tw, dtype=torch.float32, device=device), indexing="ij")
    return torch.stack((x.reshape(-1), y.reshape(-1), torch.ones(th * tw, device=device)), dim=1)


def sampling_grid(A: np.ndarray, size: tuple[int, int], device: torch.device | str) -> torch.Tensor:
    """The grid_sample grid of N crops stacked along the height: (1, N th, tw, 2) float32.

    Args:
        A: (N, 3, 3) destination pixel -> normalised source coordinate (from `grid_matrices`);
            one small upload for all N, then one batched product and one division on the device
            (a handful of kernels whatever N is: on a GPU the crop is launch-bound, not compute-bound).
        size: (tw, th) of each crop.
    """
    tw, th = size
    device = torch.device(device)
    pix = _pixel_coords(tw, th, device)                                                # (P, 3)
    A_t = torch.from_numpy(np.asarray(A, np.float32)).to(device, non_blocking=True)   # (N, 3, 3)
    g = torch.matmul(pix, A_t.transpose(1, 2))                                        # (N, P, 3)
    xy = g[..., :2] / g[..., 2:]
    return xy.reshape(1, A_t.shape[0] * th, tw, 2)


def warp_rois(image: torch.Tensor, Mi: np.ndarray, spec: CropSpec) -> torch.Tensor:
    """Resample N crops of one image with the given inverse matrices and convert to spec.value_range.

    Args:
        image: (H, W, 3) uint8 RGB on any device.
        Mi: (N, 3, 3) tensor px -> image px (`inverse_crop_matrices`).
    Returns:
        (N, th, tw, 3) float32 contiguous on image.device: lo + v (hi - lo) / 255 for the bilinear
        value v in [0, 255] (border 'zero' samples 0 before the conversion, i.e. lo).
    """
    H, W = image.shape[:2]
    tw, th = spec.size
    n = Mi.shape[0]
    region = source_region(Mi, spec.size, (W, H))
    x0, y0, x1, y1 = region
    src = image[y0:y1, x0:x1].permute(2, 0, 1).unsqueeze(0).to(torch.float32)  # (1, 3, hr, wr)
    grid = sampling_grid(grid_matrices(Mi, region), spec.size, image.device)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode=_PADDING[spec.border], align_corners=False)
    lo, hi = spec.value_range
    out = out.mul_((hi - lo) / 255.0)
    if lo != 0.0:
        out = out.add_(lo)
    return out.view(3, n, th, tw).permute(1, 2, 3, 0).contiguous()


def crop_rois(image: torch.Tensor, rects: Sequence[NormalizedRect | None],
              spec: CropSpec) -> tuple[torch.Tensor, np.ndarray]:
    """Crop N ROIs of one image into one NHWC float32 batch on the image's device (crop.crop_rois in torch).

    Args:
        image: (H, W, 3) uint8 RGB torch tensor (uploaded once per frame, see `upload`).
        rects: N ROIs (None = the whole image, letterboxed when spec.keep_aspect_ratio).
    Returns:
        (batch (N, th, tw, 3) float32 in spec.value_range on image.device, paddings (N, 4) float32
        numpy [l, t, r, b] fractions of the tensor size).
    Raises:
        ValueError: a ROI of zero size, or an image that is not (H, W, 3) uint8.
    """
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 torch image, got {image.dtype} {tuple(image.shape)}")
    H, W = image.shape[:2]
    Mi, pads = inverse_crop_matrices(rects, (W, H), spec)
    return warp_rois(image, Mi, spec), pads


def upload(rgb: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """One frame to the pre-processing device: (H, W, 3) uint8 numpy -> the same as a torch tensor.

    On CPU this is a view of `rgb` (no copy): do not change the array while its crops are made.
    """
    return torch.from_numpy(np.ascontiguousarray(rgb)).to(device, non_blocking=True)


def check_device(device: str) -> torch.device:
    """The torch device for pre-processing; ValueError when it does not exist here."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"preprocess device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"preprocess device {device!r}: torch sees no CUDA device here")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"preprocess device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return dev


# What runs the nets -> where their crops are best made: on an NVIDIA GPU the crops stay there.
_GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "cuda", "tensorrt")


def device_for_provider(provider: str) -> str:
    """The pre-processing device for nets run by `provider`: "cuda" when torch sees a CUDA device
    and the provider is ONNX Runtime's CUDA or TensorRT provider or the TensorRT back end (in a
    "+"-joined list such as Frontend.provider, any one of them); "cpu" otherwise (OpenCV crops)."""
    parts = provider.split("+")
    if any(p in _GPU_PROVIDERS for p in parts) and torch.cuda.is_available():
        return "cuda"
    return "cpu"


__all__ = ["device_for_provider", "inverse_crop_matrices", "source_region", "grid_matrices", "sampling_grid", "warp_rois", "crop_rois",
           "upload", "check_device"]
