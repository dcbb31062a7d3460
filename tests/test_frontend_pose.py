"""The BlazePose body stage's tracking logic with stand-in nets (reference/mediapipe-graphs.md 5.2, 5.6, 6.4)."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.models.frontend.config import PoseConfig
from mocap.models.frontend.detection import Detections
from mocap.models.frontend.pose import BlazePoseTracker
from mocap.models.frontend.rect import rect_from_alignment_points, transform_rect

W, H = 320, 240
IMG = np.zeros((H, W, 3), np.uint8)


class FakeDetector:
    def __init__(self):
        self.calls = 0

    def __call__(self, rgb):
        self.calls += 1
        kps = np.array([[[0.5, 0.6], [0.5, 0.3], [0.5, 0.4], [0.5, 0.35]]], np.float32)
        return Detections(np.array([[0.4, 0.2, 0.2, 0.2]], np.float32), kps, np.array([0.9], np.float32))


class FakeLandmarks:
    """39 landmarks; the aux pair (33, 34) moves by `shift` px in x per call; flags from a list."""

    def __init__(self, flags, vis=0.9):
        self.flags = list(flags)
        self.vis = vis
        self.rects = []
        self.n = 0

    def __call__(self, rgb, rect, always=False):
        self.rects.append(rect)
        flag = self.flags.pop(0)
        lm = np.zeros((39, 5), np.float32)
        lm[:, 0] = 0.5 + 0.01 * self.n
        lm[:, 1] = np.linspace(0.2, 0.8, 39)
        lm[33, :2] = (0.5 + 0.01 * self.n, 0.6)
        lm[34, :2] = (0.5 + 0.01 * self.n, 0.3)
        lm[:, 3] = self.vis
        lm[:, 4] = 0.95
        self.n += 1
        return (lm if (flag > 0.5 or always) else None), flag


def _tracker(flags, **cfg):
    det, lm = FakeDetector(), FakeLandmarks(flags)
    return BlazePoseTracker(det, lm, PoseConfig(**cfg)), det, lm


def test_detector_only_when_not_tracking():
    t, det, lm = _tracker([0.9, 0.9, 0.5, 0.9, 0.9], retry_from_landmarks=False)
    r = [t(IMG, (i + 1) / 30) for i in range(5)]
    assert [x.found for x in r] == [True, True, False, True, True]  # flag 0.5 fails: strict '>'
    assert [x.detector_ran for x in r] == [True, False, False, True, False]
    assert det.calls == 2
    # the tracked ROI is the one made from the previous frame's smoothed aux points (here the
    # first frame passes unchanged): centre aux 33, 1.25 x 2 |aux34 - aux33|
    expect = transform_rect(rect_from_alignment_points(np.array([0.5, 0.6]), np.array([0.5, 0.3]), (W, H), 90.0),
                            (W, H), PoseConfig().roi_transform)
    got = lm.rects[1]
    assert (got.x_center, got.y_center, got.width, got.height) == pytest.approx(
        (expect.x_center, expect.y_center, expect.width, expect.height), abs=1e-6)


def test_smoothing_resets_after_loss_but_visibility_does_not():
    t, det, lm = _tracker([0.9, 0.9, 0.2, 0.9], retry_from_landmarks=False)
    r0 = t(IMG, 1 / 30)
    np.testing.assert_array_equal(r0.body25, r0.body25_raw)  # first sample passes
    r1 = t(IMG, 2 / 30)
    assert not np.allclose(r1.body25[:, :2], r1.body25_raw[:, :2])  # lagging behind the move
    t(IMG, 3 / 30)  # lost
    lm.vis = 0.1
    r3 = t(IMG, 4 / 30)
    np.testing.assert_allclose(r3.body25[:, :2], r3.body25_raw[:, :2])  # one-euro restarted
    # visibility low-pass carried over the gap: 0.1 * 0.1 + 0.9 * 0.9
    assert r3.wrist_visibility == pytest.approx([0.82, 0.82], abs=1e-5)
    assert r3.body25[4, 2] == pytest.approx(0.82 * 0.9, abs=1e-5)  # confidence = visibility x flag
    assert r3.body25_raw[4, 2] == pytest.approx(0.1 * 0.9, abs=1e-5)


def test_retry_from_landmarks_on_detector_frames():
    t, det, lm = _tracker([0.3, 0.9, 0.9])
    r = t(IMG, 1 / 30)
    assert r.found and r.detector_ran and len(lm.rects) == 2  # detector ROI, then the aux ROI
    t(IMG, 2 / 30)
    assert len(lm.rects) == 3 and det.calls == 1  # no retry while tracking


def test_config_misuse():
    with pytest.raises(ValueError, match="min_tracking_confidence"):
        PoseConfig(min_tracking_confidence=1.5)


def test_heatmap_refinement_kernel_is_9():
    """MediaPipe 0.10.21's PoseLandmarkCpu refines with a 9x9 window (median 0.01-0.04 px against
    it on identical crops; a 7x7 window leaves 0.14-0.27 px, p90 0.8-1.7 px)."""
    from mocap.models.frontend.landmarks import refine_from_heatmap

    cfg = PoseConfig()
    assert cfg.heatmap_kernel_size == 9
    hm = np.full((64, 64, 1), -10.0, np.float32)
    hm[20, 30, 0] = 5.0
    hm[20, 34, 0] = 5.0  # 4 cells right: inside a 9x9 window, outside a 7x7 one
    lm = np.array([[30.5 / 64, 20.5 / 64]], np.float32)
    out = refine_from_heatmap(lm, hm, cfg.heatmap_kernel_size, cfg.heatmap_min_confidence)
    big, small = 1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(10.0))
    tot = 2 * big + 79 * small
    ex = (big * (30 + 34) + small * (sum(range(26, 35)) * 9 - 30 - 34)) / tot / 64
    assert out[0, 0] == pytest.approx(ex, rel=1e-5)
    assert out[0, 0] > refine_from_heatmap(lm, hm, 7, 0.5)[0, 0]
