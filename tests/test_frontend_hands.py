"""The hand tracker's decisions with stand-in nets: gate, batching, RoiTracking, palm fallback, duplicates."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.models.frontend.config import HandsConfig, PalmFallbackConfig
from mocap.models.frontend.detection import Detections
from mocap.models.frontend.hands import HandTracker
from mocap.models.frontend.rect import hand_landmarks_to_rect, transform_rect

W, H = 400, 200
IMG = np.zeros((H, W, 3), np.uint8)


def _hand_at(cx, cy, s=10.0):
    """(21, 3) image-normalised upright hand centred near (cx, cy) px, wrist below."""
    pts = np.zeros((21, 3), np.float32)
    pts[0, :2] = (cx, cy + 2 * s)
    for f, dx in enumerate((-1.0, 0.0, 1.0, 2.0)):
        for j in range(4):
            pts[5 + 4 * f + j, :2] = (cx + dx * s, cy - j * s)
    for j in range(4):
        pts[1 + j, :2] = (cx - 2 * s, cy + (1 - j * 0.5) * s)
    pts[:, 0] /= W
    pts[:, 1] /= H
    return pts


class FakeRecrop:
    def __init__(self):
        self.calls = []

    def __call__(self, rgb, rects):
        self.calls.append(len(rects))
        return list(rects)  # the re-crop ROI is the ROI from pose


class FakeLandmarks:
    """Puts a hand at the centre of every ROI; presence from a table keyed by ROI x (left/right half)."""

    def __init__(self, presence=(0.9, 0.9)):
        self.presence = presence
        self.calls = []

    def __call__(self, rgb, rects):
        self.calls.append(len(rects))
        lm = np.stack([_hand_at(r.x_center * W, r.y_center * H) for r in rects])
        flag = np.array([self.presence[0 if r.x_center < 0.5 else 1] for r in rects], np.float32)
        return lm, flag


class FakePalm:
    def __init__(self, palms_px):
        self.palms_px = palms_px  # list of (wrist x, wrist y) px
        self.calls = 0

    def __call__(self, rgb):
        self.calls += 1
        n = len(self.palms_px)
        kps = np.zeros((n, 7, 2), np.float32)
        boxes = np.zeros((n, 4), np.float32)
        for i, (x, y) in enumerate(self.palms_px):
            kps[i, 0] = (x / W, y / H)
            kps[i, 2] = (x / W, (y - 20) / H)
            boxes[i] = ((x - 15) / W, (y - 35) / H, 30 / W, 30 / H)
        return Detections(boxes, kps, np.linspace(0.9, 0.6, n).astype(np.float32))


def _anchors(left_px=(300, 120), right_px=(100, 120)):
    """(2, 3, 2) [left, right] x [wrist, pinky, index], upright forearms (the person faces us)."""
    a = np.zeros((2, 3, 2), np.float32)
    for s, (x, y) in enumerate((left_px, right_px)):
        a[s] = [(x, y), (x, y - 15), (x, y - 15)]
    return a / np.array([W, H], np.float32)


def _tracker(presence=(0.9, 0.9), palms=(), **palm_kw):
    cfg = HandsConfig(palm=PalmFallbackConfig(enabled=True, **palm_kw))
    rec, lm, palm = FakeRecrop(), FakeLandmarks(presence), FakePalm(list(palms))
    return HandTracker(rec, lm, cfg, palm), rec, lm, palm


def test_both_sides_batched_once():
    t, rec, lm, palm = _tracker()
    r = t(IMG, _anchors(), np.array([0.9, 0.9]), 150.0)
    assert rec.calls == [2] and lm.calls == [2] and palm.calls == 0
    assert r.source == ["pose", "pose"]
    assert r.landmarks[0][0, 0] > 0.5 > r.landmarks[1][0, 0]  # left hand on the image's right
    assert np.allclose(r.presence, 0.9)
    assert set(r.timings_ms) == {"hand_recrop", "hand_landmark"}


def test_wrist_gate_and_no_body():
    t, rec, lm, palm = _tracker(interval=1000)
    r = t(IMG, _anchors(), np.array([0.05, 0.9]), 150.0)  # left wrist not visible enough (> 0.1 needed)
    assert rec.calls == [1] and r.landmarks[0] is None and r.source[1] == "pose"
    r = t(IMG, None, None)
    assert r.landmarks == [None, None] and t.prev == [None, None]


def test_roi_tracking_keeps_previous_rect():
    t, rec, lm, palm = _tracker()
    r1 = t(IMG, _anchors(), np.array([0.9, 0.9]), 150.0)
    r2 = t(IMG, _anchors(), np.array([0.9, 0.9]), 150.0)
    # the previous hand lies well inside the re-crop ROI and its ROI is similar: keep it (7.3)
    expect = transform_rect(hand_landmarks_to_rect(r1.landmarks[0], (W, H)), (W, H), t.cfg.landmarks_roi_transform)
    assert r2.rois[0] == expect and r2.rois[0] != r1.rois[0]
    # a hand far from the new re-crop ROI is not tracked: the re-crop ROI wins
    r3 = t(IMG, _anchors(left_px=(330, 120)), np.array([0.9, 0.9]), 150.0)
    assert r3.rois[0].x_center == pytest.approx(330 / W)


def test_palm_search_interval():
    # the landmark net rejects every ROI on the image's left half (the right side's hand), so the
    # right side stays without a hand and asks for a palm search, at most every 3 frames
    t, rec, lm, palm = _tracker(presence=(0.2, 0.9), palms=[(102, 125)], interval=3)
    calls = []
    for _ in range(7):
        r = t(IMG, _anchors(), np.array([0.9, 0.9]), 150.0)
        calls.append(palm.calls)
        assert r.landmarks[1] is None and r.landmarks[0] is not None
    assert calls == [1, 1, 1, 2, 2, 2, 3]
    assert "palm_detector" in r.timings_ms


def test_palm_fallback_finds_hand_when_pose_roi_fails():
    t, rec, lm, palm = _tracker(palms=[(250, 20), (100, 125)], interval=1)  # palm 0: far from both wrists

    calls = {"n": 0}
    orig = lm.__call__

    def first_batch_fails(rgb, rects):
        calls["n"] += 1
        out, flag = orig(rgb, rects)
        if calls["n"] == 1:
            flag[:] = 0.1  # both pose-driven ROIs fail
        return out, flag

    t.landmark_net = first_batch_fails
    r = t(IMG, _anchors(), np.array([0.9, 0.9]), 150.0)
    assert palm.calls == 1
    assert r.source == [None, "palm"]  # only the palm near the right wrist is taken
    assert r.landmarks[1] is not None and r.presence[1] > 0.5
    assert t.prev[1] is not None  # tracked from the palm hand next frame


def test_palm_not_searched_for_wrist_outside_image():
    t, rec, lm, palm = _tracker(presence=(0.1, 0.1), palms=[(100, 125)], interval=1)
    t(IMG, _anchors(left_px=(300, 400), right_px=(-100, 120)), np.array([0.9, 0.9]), 150.0)
    assert palm.calls == 0


def test_duplicate_hand_kept_on_nearer_side():
    t, rec, lm, palm = _tracker()
    # both pose wrists near the same spot, the right wrist a bit nearer to where the hand is
    a = _anchors(left_px=(215, 120), right_px=(205, 120))
    r = t(IMG, a, np.array([0.9, 0.9]), 150.0)
    assert (r.landmarks[0] is None) != (r.landmarks[1] is None)
    # Holistic's behaviour when asked: both kept
    t2 = HandTracker(FakeRecrop(), FakeLandmarks(), HandsConfig(duplicate_iou=None, palm=PalmFallbackConfig(enabled=False)))
    r2 = t2(IMG, a, np.array([0.9, 0.9]), 150.0)
    assert r2.landmarks[0] is not None and r2.landmarks[1] is not None


def test_misconfiguration_rejected():
    with pytest.raises(ValueError, match="palm detector"):
        HandTracker(FakeRecrop(), FakeLandmarks(), HandsConfig())
    with pytest.raises(ValueError, match="interval"):
        PalmFallbackConfig(interval=0)
