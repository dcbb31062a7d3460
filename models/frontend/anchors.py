"""SSD anchors of MediaPipe's detectors (SsdAnchorsCalculator, non-multiscale path).

Source: calculators/tflite/ssd_anchors_calculator.cc, reference/mediapipe-graphs.md 2.2.
"""
from __future__ import annotations

import math

import numpy as np

from .config import SsdAnchorOptions


def _layer_scale(opts: SsdAnchorOptions, layer: int) -> float:
    n = len(opts.strides)
    if n == 1:
        return (opts.min_scale + opts.max_scale) / 2
    return opts.min_scale + (opts.max_scale - opts.min_scale) * layer / (n - 1)


def ssd_anchors(opts: SsdAnchorOptions) -> np.ndarray:
    """All anchors of a detector, in the order of the model's output rows.

    Consecutive layers with equal stride share one grid; per grid cell there is one anchor per
    (layer, aspect ratio) plus one interpolated anchor per layer. Order: grid group, then row y,
    then column x, then anchor.

    Returns:
        (N, 4) float32 [x_center, y_center, width, height], normalised to the network input.
        With fixed_anchor_size, width = height = 1.
    """
    out = []
    strides = opts.strides
    layer = 0
    while layer < len(strides):
        scales, ratios = [], []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            s = _layer_scale(opts, last)
            for ar in opts.aspect_ratios:
                scales.append(s)
                ratios.append(ar)
            if opts.interpolated_scale_aspect_ratio > 0:
                s_next = 1.0 if last == len(strides) - 1 else _layer_scale(opts, last + 1)
                scales.append(math.sqrt(s * s_next))
                ratios.append(opts.interpolated_scale_aspect_ratio)
            last += 1
        fh = math.ceil(opts.input_height / strides[layer])
        fw = math.ceil(opts.input_width / strides[layer])
        na = len(scales)
        ys, xs = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        xc = np.repeat(((xs + opts.anchor_offset_x) / fw).reshape(-1), na)
        yc = np.repeat(((ys + opts.anchor_offset_y) / fh).reshape(-1), na)
        if opts.fixed_anchor_size:
            w = np.ones_like(xc)
            h = np.ones_like(xc)
        else:
            sc, ar = np.asarray(scales), np.sqrt(np.asarray(ratios))
            w = np.tile(sc * ar, fh * fw)
            h = np.tile(sc / ar, fh * fw)
        out.append(np.stack([xc, yc, w, h], axis=1))
        layer = last
    return np.concatenate(out).astype(np.float32)
