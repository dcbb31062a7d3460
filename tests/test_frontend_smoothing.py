"""Known-answer tests for MediaPipe's landmark smoothing (reference/mediapipe-graphs.md 6)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mocap.models.frontend.config import OneEuroParams
from mocap.models.frontend.smoothing import LandmarksSmoother, OneEuroFilter, VisibilitySmoother, one_euro_alpha


def _alpha(cutoff, freq):
    tau = 1 / (2 * math.pi * cutoff)
    return 1 / (1 + tau * freq)


def test_alpha_table_at_30hz():
    # the EMA alphas the reference recomputes for the graph's cutoffs at 30 Hz (6.1)
    for c, a in ((0.01, 0.00209), (0.05, 0.01036), (0.1, 0.02051), (1.0, 0.17317)):
        assert one_euro_alpha(c, 30.0) == pytest.approx(a, abs=1e-5)


def test_one_euro_matches_formula_with_raw_derivative():
    p = OneEuroParams(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
    f = OneEuroFilter(p)
    ts = [0.1, 0.15, 0.25, 0.26]  # irregular: the frequency follows the timestamps
    vs = [10.0, 12.0, 11.0, 15.0]
    scale = 0.01
    got = [float(f.apply(int(t * 1e9), scale, np.array([v]))[0]) for t, v in zip(ts, vs)]
    # hand-rolled reference, scalar: derivative from the previous RAW value
    freq, x_prev, dx_prev, raw_prev, exp = 30.0, None, None, None, []
    last = 0.0
    for t, v in zip(ts, vs):
        if last != 0:
            freq = 1 / (t - last)
        last = t
        d = 0.0 if raw_prev is None else (v - raw_prev) * scale * freq
        dx = d if dx_prev is None else _alpha(1.0, freq) * d + (1 - _alpha(1.0, freq)) * dx_prev
        cut = 0.05 + 80.0 * abs(dx)
        x = v if x_prev is None else _alpha(cut, freq) * v + (1 - _alpha(cut, freq)) * x_prev
        exp.append(x)
        x_prev, dx_prev, raw_prev = x, dx, v
    np.testing.assert_allclose(got, exp, rtol=1e-5)
    assert got[0] == 10.0  # first sample passes through


def test_one_euro_ignores_old_timestamps_and_resets():
    f = OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=0.0))
    f.apply(1_000_000_000, 1.0, np.array([1.0]))
    y = f.apply(1_033_000_000, 1.0, np.array([2.0]))
    assert 1.0 < y[0] < 2.0
    assert f.apply(1_033_000_000, 1.0, np.array([7.0]))[0] == 7.0  # not after the last: passthrough
    assert f.apply(1_066_000_000, 1.0, np.array([2.0]))[0] < 2.0  # state untouched by the passthrough
    f.reset()
    assert f.apply(2_000_000_000, 1.0, np.array([5.0]))[0] == 5.0


def test_landmarks_smoother_works_in_pixels_with_object_scale():
    p = OneEuroParams(min_cutoff=0.05, beta=80.0)
    wh = (200, 100)
    a, b = LandmarksSmoother(p), OneEuroFilter(p)
    lm0 = np.array([[0.5, 0.5, 0.1, 0.9]], np.float32)
    lm1 = np.array([[0.52, 0.49, 0.11, 0.3]], np.float32)
    a.apply(33_333_000, lm0, wh, 50.0)
    out = a.apply(66_666_000, lm1, wh, 50.0)
    b.apply(33_333_000, 1 / 50.0, lm0[:, :3] * (200, 100, 200))
    ref = b.apply(66_666_000, 1 / 50.0, lm1[:, :3] * (200, 100, 200)) / (200, 100, 200)
    np.testing.assert_allclose(out[:, :3], ref, rtol=1e-6)
    assert out[0, 3] == pytest.approx(0.3)  # extra columns copied through
    # without a ROI the scale is the landmarks' bbox: two points 40 x 20 px -> 30 px
    c, d = LandmarksSmoother(p), OneEuroFilter(p)
    pts0 = np.array([[0.4, 0.4, 0], [0.6, 0.6, 0]], np.float32)
    pts1 = pts0 + 0.01
    c.apply(1, pts0, wh)
    out = c.apply(2, pts1, wh)
    d.apply(1, 1 / 30.0, pts0 * (200, 100, 200))
    np.testing.assert_allclose(out, d.apply(2, 1 / 30.0, pts1 * (200, 100, 200)) / (200, 100, 200), rtol=1e-6)


def test_visibility_low_pass():
    v = VisibilitySmoother(0.1)
    np.testing.assert_allclose(v.apply(np.array([1.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(v.apply(np.array([0.0, 1.0])), [0.9, 0.1], rtol=1e-6)
    np.testing.assert_allclose(v.apply(np.array([0.0, 1.0])), [0.81, 0.19], rtol=1e-6)


def test_first_sample_at_time_zero_enters_the_filter():
    """A video's first frame comes at t = 0; it must start the filter like any first sample
    (MediaPipe's own sentinel, last_time = 0, would skip it: its Python API starts at 33 333 us)."""
    p = OneEuroParams(min_cutoff=0.05, beta=80.0)
    a, b = OneEuroFilter(p), OneEuroFilter(p)
    ya = [float(a.apply(t, 0.01, np.array([v]))[0]) for t, v in ((0, 10.0), (33_333_333, 12.0), (66_666_667, 11.0))]
    yb = [float(b.apply(t, 0.01, np.array([v]))[0])
          for t, v in ((33_333_333, 10.0), (66_666_666, 12.0), (100_000_000, 11.0))]
    assert ya[0] == 10.0 and 10.0 < ya[1] < 12.0  # the second sample is filtered, not passed through
    np.testing.assert_allclose(ya, yb, rtol=1e-6)
    assert a.apply(33_333_333, 0.01, np.array([99.0]))[0] == 99.0  # not after the last: passthrough
