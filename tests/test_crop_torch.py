"""Torch crops (models/frontend/crop_torch.py) against the OpenCV crops of crop.py.

Both paths share crop.crop_matrix; they differ in the resampling: OpenCV 4's fixed-point warp
(positions rounded to 1/32 px, 15-bit weights, uint8 result) against grid_sample's float
bilinear. Differences are in uint8 levels (1 level = 1/255 of the value range). Measured
(torch 2.13 CPU, per crop batch): blurred-noise images max 1.3-3.1 / mean 0.17-0.26 levels,
hard-edged checkerboards max 5.8-6.7 / mean 0.18-0.24, demo-clip frames max 1.6-2.4 / mean
0.14-0.25 (the 960 -> 192 palm-detector letterbox lands on whole 1/32 px: max 0.01). A 1 px
shift of the grid gives a mean of 3.3-14 levels on the same images, a 0.5 px shift 4.2-7.3
(synthetic), so the tolerances below catch both.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from mocap.models.frontend.config import CropSpec, FrontendConfig
from mocap.models.frontend.crop import crop_image, crop_rois
from mocap.models.frontend.crop_torch import (check_device, crop_rois as crop_rois_torch, device_for_provider,
                                              inverse_crop_matrices, source_region, upload, warp_rois)
from mocap.models.frontend.rect import NormalizedRect

# Worst pixel: OpenCV rounds each source coordinate to 1/32 px (error <= 1/64 px); on a 0 -> 255 step
# in x and in y (a checker corner) that is <= 2 x 255 / 64 = 8 levels, plus 0.5 for the uint8 result.
MAX_LEVELS = 8.5
MEAN_LEVELS = 0.35  # mostly OpenCV's rounding to uint8 (uniform +-0.5 level: mean 0.25)

SPECS = [CropSpec(size=(64, 48), value_range=(0.0, 1.0), border="replicate"),
         CropSpec(size=(48, 48), value_range=(-1.0, 1.0), border="zero"),
         CropSpec(size=(40, 56), value_range=(0.0, 1.0), border="zero", keep_aspect_ratio=False)]
RECTS = [NormalizedRect(0.45, 0.55, 0.3, 0.5, 0.5),      # rotated, inside
         NormalizedRect(0.92, 0.08, 0.35, 0.45, -1.1),   # rotated, partly outside (top right)
         NormalizedRect(0.05, 0.9, 0.2, 0.3, 2.8),       # nearly upside down, partly outside
         NormalizedRect(1.4, 0.5, 0.1, 0.1, 0.2),        # wholly outside (right)
         None]                                           # whole image, letterboxed


def _noise_image(h: int = 90, w: int = 140, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.0)


def _checker_image(h: int = 100, w: int = 70) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 255 * (((xx // 7) + (yy // 5)) % 2)
    img[..., 1] = (3 * xx + 2 * yy) % 256
    img[..., 2] = 255 * ((xx - 35) ** 2 + (yy - 50) ** 2 < 400)
    return img


def _levels(a: np.ndarray, b, spec: CropSpec) -> np.ndarray:
    """|a - b| in uint8 levels of the spec's value range."""
    b = b.cpu().numpy() if isinstance(b, torch.Tensor) else b
    lo, hi = spec.value_range
    return np.abs(a - b) * 255.0 / (hi - lo)


def _shifted(Mi: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Inverse matrices whose source positions move by (dx, dy) px (a grid bug to catch)."""
    T = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    return T @ Mi


@pytest.mark.parametrize("make", [_noise_image, _checker_image], ids=["noise", "checker"])
@pytest.mark.parametrize("spec", SPECS, ids=["replicate-01", "zero-11", "zero-stretch"])
def test_torch_crops_match_opencv(make, spec):
    img = make()
    ref, ref_pads = crop_rois(img, RECTS, spec)
    got, pads = crop_rois_torch(torch.from_numpy(img), RECTS, spec)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.is_contiguous()
    assert tuple(got.shape) == ref.shape and got.device == torch.device("cpu")
    np.testing.assert_array_equal(pads, ref_pads)  # same geometry (crop.crop_matrix), same letterbox
    d = _levels(ref, got, spec)
    assert d.max() <= MAX_LEVELS and d.mean() <= MEAN_LEVELS, (d.max(), d.mean())
    for i in range(len(RECTS)):  # every ROI on its own, not just on average
        assert d[i].mean() <= 2 * MEAN_LEVELS, (i, d[i].mean())
    # the ROI wholly outside: zero border -> lo everywhere; replicate -> the image's right column
    lo = spec.value_range[0]
    if spec.border == "zero":
        assert torch.all(got[3] == lo)
    # a 1 px and a 0.5 px shift of the grid fail the same tolerance (the comparison can fail)
    H, W = img.shape[:2]
    Mi, _ = inverse_crop_matrices(RECTS[:3], (W, H), spec)
    for dx, dy in ((1.0, 0.0), (0.0, 1.0), (0.5, 0.0), (0.0, -0.5)):
        bad = warp_rois(torch.from_numpy(img), _shifted(Mi, dx, dy), spec)
        assert _levels(ref[:3], bad, spec).mean() > 4 * MEAN_LEVELS, (dx, dy)


def test_identity_crop_is_exact():
    """A ROI that covers the image with the image's own size samples every pixel centre exactly."""
    img = _noise_image(30, 40)
    spec = CropSpec(size=(40, 30), border="replicate")
    got, pads = crop_rois_torch(torch.from_numpy(img), [NormalizedRect(0.5, 0.5, 1.0, 1.0)], spec)
    np.testing.assert_array_equal(pads, 0)
    np.testing.assert_allclose(got[0].numpy() * 255, img, atol=1e-3)
    # shifted by exactly 3 px right / 2 px down: whole-pixel taps again, and the border replicates
    rect = NormalizedRect(0.5 + 3 / 40, 0.5 + 2 / 30, 1.0, 1.0)
    got, _ = crop_rois_torch(torch.from_numpy(img), [rect], spec)
    np.testing.assert_allclose(got[0, :-2, :-3].numpy() * 255, img[2:, 3:], atol=1e-3)
    np.testing.assert_allclose(got[0, :-2, -3:].numpy() * 255, np.repeat(img[2:, -1:], 3, axis=1), atol=1e-3)
    # zero border in [-1, 1]: outside is exactly -1 (0 before the conversion)
    got, _ = crop_rois_torch(torch.from_numpy(img), [rect], CropSpec(size=(40, 30), value_range=(-1.0, 1.0),
                                                                     border="zero"))
    assert torch.all(got[0, -2:] == -1.0) and torch.all(got[0, :, -3:] == -1.0)
    np.testing.assert_allclose((got[0, :-2, :-3].numpy() + 1) * 127.5, img[2:, 3:], atol=1e-3)


def test_letterbox_padding():
    """Whole image, keep aspect: a wide image gets top/bottom bands, a tall one left/right."""
    spec = CropSpec(size=(64, 64), value_range=(-1.0, 1.0), border="zero")
    wide = np.full((50, 100, 3), 200, np.uint8)
    got, pads = crop_rois_torch(torch.from_numpy(wide), [None], spec)
    np.testing.assert_allclose(pads[0], [0, 0.25, 0, 0.25])
    assert torch.all(got[0, :15] == -1.0) and torch.all(got[0, 49:] == -1.0)
    assert torch.allclose(got[0, 17:47], torch.tensor(200 / 127.5 - 1))
    tall = np.full((100, 50, 3), 200, np.uint8)
    got, pads = crop_rois_torch(torch.from_numpy(tall), [None], spec)
    np.testing.assert_allclose(pads[0], [0.25, 0, 0.25, 0])
    assert torch.all(got[0, :, :15] == -1.0) and torch.all(got[0, :, 49:] == -1.0)
    ref, _ = crop_rois(tall, [None], spec)
    assert _levels(ref, got, spec).max() <= MAX_LEVELS


def test_source_region_covers_the_taps():
    """Only the region the crops touch is converted; it holds every tap and stays inside the image."""
    img = _noise_image()
    H, W = img.shape[:2]
    spec = SPECS[0]
    Mi, _ = inverse_crop_matrices([RECTS[0]], (W, H), spec)
    x0, y0, x1, y1 = source_region(Mi, spec.size, (W, H))
    assert 0 < x0 < x1 < W and 0 < y0 < y1 < H  # a small inside ROI: a proper sub-region
    Mi, _ = inverse_crop_matrices([RECTS[3]], (W, H), spec)  # wholly outside: the right edge column
    x0, y0, x1, y1 = source_region(Mi, spec.size, (W, H))
    assert (x0, x1) == (W - 1, W) and y1 > y0
    # every bilinear tap of every sample position (float64), clamped to the image, lies in the region
    tw, th = spec.size
    yy, xx = np.mgrid[0:th, 0:tw]
    for rect in RECTS:
        Mi, _ = inverse_crop_matrices([rect], (W, H), spec)
        x0, y0, x1, y1 = source_region(Mi, spec.size, (W, H))
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
        p = np.einsum("ij,jhw->ihw", Mi[0], np.stack([xx, yy, np.ones_like(xx)]).astype(np.float64))
        px, py = p[0] / p[2], p[1] / p[2]
        for tx in (np.floor(px), np.floor(px) + 1):
            assert np.all((np.clip(tx, 0, W - 1) >= x0) & (np.clip(tx, 0, W - 1) < x1))
        for ty in (np.floor(py), np.floor(py) + 1):
            assert np.all((np.clip(ty, 0, H - 1) >= y0) & (np.clip(ty, 0, H - 1) < y1))


def test_demo_clip_frames(demo_video):
    """Real frames: the body, hand and detector crops of both paths agree."""
    cap = cv2.VideoCapture(str(demo_video))
    frames = []
    for idx in (5, 110, 200):
        cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
        ok, bgr = cap.read()
        assert ok, f"demo clip has no frame {idx}"
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cfg = FrontendConfig()
    cases = [([NormalizedRect(0.37, 0.29, 0.33, 0.59, -0.05)], cfg.pose.landmark_crop),
             ([NormalizedRect(0.31, 0.41, 0.12, 0.21, 0.7), NormalizedRect(0.97, 0.95, 0.12, 0.21, -2.0)],
              cfg.hands.recrop_crop),
             ([NormalizedRect(0.45, 0.4, 0.1, 0.18, math.pi / 2)], cfg.hands.landmark_crop),
             ([None], cfg.pose.detector_crop), ([None], cfg.hands.palm.crop)]
    worst = 0.0
    for rgb in frames:
        image = upload(rgb, "cpu")
        for rects, spec in cases:
            ref, ref_pads = crop_rois(rgb, rects, spec)
            got, pads = crop_rois_torch(image, rects, spec)
            np.testing.assert_array_equal(pads, ref_pads)
            d = _levels(ref, got, spec)
            assert d.max() <= MAX_LEVELS and d.mean() <= MEAN_LEVELS, (spec, d.max(), d.mean())
            worst = max(worst, float(d.max()))
            Mi, _ = inverse_crop_matrices(rects, rgb.shape[1::-1], spec)  # a 1 px grid shift fails
            assert _levels(ref, warp_rois(image, _shifted(Mi, 1.0, 0.0), spec), spec).mean() > 4 * MEAN_LEVELS
    assert worst > 0.5  # the paths do differ (float vs fixed point): the comparison is not vacuous


def test_crop_image_dispatch_and_errors():
    img = _noise_image()
    spec = SPECS[0]
    a, _ = crop_image(img, RECTS[:2], spec)
    b, _ = crop_image(torch.from_numpy(img), RECTS[:2], spec)
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
    with pytest.raises(ValueError, match="uint8"):
        crop_rois_torch(torch.from_numpy(img).float(), RECTS[:1], spec)
    with pytest.raises(ValueError, match="positive size"):
        crop_rois_torch(torch.from_numpy(img), [NormalizedRect(0.5, 0.5, 0.0, 0.1)], spec)


def test_config_switch():
    assert FrontendConfig().preprocess == "opencv" and FrontendConfig.for_device("cpu") == FrontendConfig()
    c = FrontendConfig.for_device("cuda:0", enable_hands=False)
    assert (c.preprocess, c.device, c.enable_hands) == ("torch", "cuda:0", False)
    with pytest.raises(ValueError, match="needs preprocess='torch'"):
        FrontendConfig(device="cuda")
    with pytest.raises(ValueError, match="must be 'opencv' or 'torch'"):
        FrontendConfig(preprocess="cupy")
    assert device_for_provider("CPUExecutionProvider") == "cpu"
    assert device_for_provider("CPUExecutionProvider+CUDAExecutionProvider") == (
        "cuda" if torch.cuda.is_available() else "cpu")
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError):
        check_device("nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            check_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)")
def test_cuda_crops_match_cpu():
    """On a GPU: the batch stays on the device and equals the CPU torch crop (float rounding only)."""
    img = _checker_image()
    for spec in SPECS:
        cpu, pads = crop_rois_torch(torch.from_numpy(img), RECTS, spec)
        gpu, gpads = crop_rois_torch(upload(img, "cuda"), RECTS, spec)
        assert gpu.device.type == "cuda" and gpu.dtype == torch.float32
        np.testing.assert_array_equal(pads, gpads)
        assert _levels(cpu.numpy(), gpu, spec).max() <= 0.01
