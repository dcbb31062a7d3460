"""Fixed, regenerable test inputs for the converted MediaPipe nets (numpy only).

Shared by `export/convert_mediapipe.py` (which records TFLite reference outputs on them) and
`tests/test_onnx_models.py` (which regenerates them instead of storing images). Keep this module
free of any dependency beyond numpy: the conversion script imports it from its own folder.
"""
from __future__ import annotations

import hashlib

import numpy as np

# Seeds of the uniform-noise inputs recorded per model; "blobs" is the smooth structured input.
RANDOM_SEEDS: tuple[int, ...] = (0, 1)
INPUT_KINDS: tuple[str, ...] = tuple(f"rand{s}" for s in RANDOM_SEEDS) + ("blobs",)


def random_image(height: int, width: int, value_range: tuple[float, float], seed: int) -> np.ndarray:
    """Uniform noise image.

    Args:
        height, width: image size in pixels.
        value_range: (low, high) of the model's input range, e.g. (0, 1) or (-1, 1).
        seed: seed of `np.random.default_rng`.

    Returns:
        (1, height, width, 3) float32 NHWC array.
    """
    rng = np.random.default_rng(seed)
    low, high = value_range
    return rng.uniform(low, high, size=(1, height, width, 3)).astype(np.float32)


def blobs_image(height: int, width: int, value_range: tuple[float, float], seed: int = 7) -> np.ndarray:
    """Smooth structured image: a colour gradient plus a few Gaussian blobs.

    Args:
        height, width: image size in pixels.
        value_range: (low, high) of the model's input range.
        seed: seed for the blob centres, sizes and colours.

    Returns:
        (1, height, width, 3) float32 NHWC array with values inside value_range.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    y /= max(height - 1, 1)
    x /= max(width - 1, 1)
    img = np.stack([x, y, 0.5 * (1.0 - x * y)], axis=-1) * 0.5  # (H, W, 3) in [0, 0.5]
    for _ in range(6):
        cy, cx = rng.uniform(0.15, 0.85, size=2)
        sigma = rng.uniform(0.05, 0.2)
        colour = rng.uniform(0.0, 0.5, size=3)
        g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * sigma**2))
        img += g[..., None] * colour
    img = np.clip(img, 0.0, 1.0)
    low, high = value_range
    return (low + (high - low) * img)[None].astype(np.float32)


def make_input(kind: str, height: int, width: int, value_range: tuple[float, float]) -> np.ndarray:
    """Return the input named `kind` (one of INPUT_KINDS) as (1, H, W, 3) float32.

    Raises:
        ValueError: unknown kind.
    """
    if kind == "blobs":
        return blobs_image(height, width, value_range)
    if kind.startswith("rand") and kind[4:].isdigit():
        return random_image(height, width, value_range, int(kind[4:]))
    raise ValueError(f"unknown input kind {kind!r}; expected one of {INPUT_KINDS}")


def digest(array: np.ndarray) -> str:
    """SHA-256 of an array's float32 bytes, to prove a regenerated input equals the recorded one."""
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()
