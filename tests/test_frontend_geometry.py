"""Known-answer tests for the front end's pure geometry (anchors, decoding, NMS, ROIs, crops, landmarks)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mocap.models.frontend.anchors import ssd_anchors
from mocap.models.frontend.config import (PALM_DETECTOR_ANCHORS, POSE_DETECTOR_ANCHORS, CropSpec,
                                          DetectionDecodeOptions, RectTransform, RoiTrackingRequirements)
from mocap.models.frontend.crop import crop_matrix, crop_rois, pad_roi
from mocap.models.frontend.detection import Detections, decode_detections, remove_detection_letterbox, weighted_nms
from mocap.models.frontend.landmarks import (decode_hand_landmarks, decode_pose_landmarks, project_landmarks,
                                             refine_from_heatmap, remove_landmark_letterbox)
from mocap.models.frontend.rect import (NormalizedRect, hand_landmarks_to_rect, hand_rect_from_pose,
                                        normalize_radians, palm_detection_to_rect, rect_from_alignment_points,
                                        roi_tracking_keeps_previous, transform_rect)

WH = (200, 100)  # a non-square image, so that W/H mix-ups show


# ---------------------------------------------------------------- anchors (reference 2)
def test_anchor_counts_and_ends():
    pose = ssd_anchors(POSE_DETECTOR_ANCHORS)
    palm = ssd_anchors(PALM_DETECTOR_ANCHORS)
    assert pose.shape == (2254, 4) and palm.shape == (2016, 4)
    np.testing.assert_allclose(pose[0, :2], [0.017857, 0.017857], atol=1e-6)
    np.testing.assert_allclose(pose[1, :2], [0.017857, 0.017857], atol=1e-6)
    np.testing.assert_allclose(pose[2, :2], [0.053571, 0.017857], atol=1e-6)
    np.testing.assert_allclose(pose[-1, :2], [0.928571, 0.928571], atol=1e-6)
    assert np.all(pose[:, 2:] == 1.0) and np.all(palm[:, 2:] == 1.0)
    # 28x28x2 then 14x14x2 then 7x7x6 (three stride-32 layers merged): the 7x7 block starts at 1960
    np.testing.assert_allclose(pose[1960, :2], [0.5 / 7, 0.5 / 7], atol=1e-6)
    assert np.all(pose[1960:1966, :2] == pose[1960, :2])
    # palm: 24x24x2 then 12x12x6
    np.testing.assert_allclose(palm[1152, :2], [1 / 24, 1 / 24], atol=1e-6)
    np.testing.assert_allclose(palm[-1, :2], [11.5 / 12, 11.5 / 12], atol=1e-6)


# ---------------------------------------------------------------- decoding and NMS (reference 3)
def test_decode_hand_made_box():
    opts = DetectionDecodeOptions(num_boxes=2, num_coords=8, num_keypoints=2, scale=224.0)
    anchors = np.array([[0.5, 0.5, 1, 1], [0.25, 0.75, 1, 1]], np.float32)
    raw = np.array([[22.4, -11.2, 44.8, 22.4, 0, 0, 11.2, 22.4],
                    [0, 0, 10, 10, 0, 0, 0, 0]], np.float32)
    logits = np.array([[0.0], [-1.0]], np.float32)  # sigmoid 0.5 (kept: >=), 0.27 (dropped)
    d = decode_detections(raw, logits, anchors, opts, min_score=0.5)
    assert len(d) == 1
    np.testing.assert_allclose(d.boxes[0], [0.5, 0.4, 0.2, 0.1], atol=1e-6)
    np.testing.assert_allclose(d.keypoints[0], [[0.5, 0.5], [0.55, 0.6]], atol=1e-6)
    assert d.scores[0] == pytest.approx(0.5)
    # clipping at +-100 keeps huge logits finite
    d2 = decode_detections(raw, np.array([[1e6], [-1e6]], np.float32), anchors, opts, 0.5)
    assert len(d2) == 1 and d2.scores[0] == pytest.approx(1.0)


def test_weighted_nms_hand_computed():
    boxes = np.array([[0, 0, 1, 1], [0.1, 0, 1, 1], [2, 2, 1, 1], [0.8, 0, 1, 1]], np.float32)
    kps = np.array([[[0, 0]], [[1, 1]], [[5, 5]], [[9, 9]]], np.float32)
    scores = np.array([0.9, 0.6, 0.8, 0.7], np.float32)
    out = weighted_nms(Detections(boxes, kps, scores), 0.3)
    # seed A (0.9) merges B (IoU 0.9/1.1 = 0.82 > 0.3) but not D (IoU 0.2/1.8); then C; then D
    assert len(out) == 3
    np.testing.assert_allclose(out.scores, [0.9, 0.8, 0.7])  # seed scores, not averaged
    np.testing.assert_allclose(out.boxes[0], [0.04, 0.0, 1.0, 1.0], atol=1e-6)  # xmin (.9*0+.6*.1)/1.5
    np.testing.assert_allclose(out.keypoints[0], [[0.4, 0.4]], atol=1e-6)
    np.testing.assert_allclose(out.boxes[1], boxes[2])
    np.testing.assert_allclose(out.boxes[2], boxes[3])


def test_letterbox_padding_and_removal():
    w, h, pad = pad_roi(640, 480, (224, 224))
    assert (w, h) == (640, 640)
    np.testing.assert_allclose(pad, [0, 0.125, 0, 0.125])
    d = Detections(np.array([[0.5, 0.125, 0.25, 0.375]], np.float32), np.array([[[0.5, 0.875]]], np.float32),
                   np.ones(1, np.float32))
    r = remove_detection_letterbox(d, pad)
    np.testing.assert_allclose(r.boxes[0], [0.5, 0.0, 0.25, 0.5], atol=1e-6)
    np.testing.assert_allclose(r.keypoints[0, 0], [0.5, 1.0], atol=1e-6)
    lm = remove_landmark_letterbox(np.array([[0.5, 0.125, 0.1]], np.float32), np.array([0.25, 0, 0.25, 0]))
    np.testing.assert_allclose(lm, [[0.5, 0.125, 0.2]], atol=1e-6)  # z scales like x


# ---------------------------------------------------------------- ROIs (reference 5.1, 7)
def test_normalize_radians():
    assert normalize_radians(math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert normalize_radians(-0.3) == pytest.approx(-0.3)


def test_alignment_rect_upright_and_sideways():
    # p0 = (100, 50) px, p1 = (100, 30) px: 20 px straight up -> box 40 px, rotation 0
    r = rect_from_alignment_points(np.array([0.5, 0.5]), np.array([0.5, 0.3]), WH, 90.0)
    assert (r.x_center, r.y_center) == pytest.approx((0.5, 0.5))
    assert (r.width, r.height) == pytest.approx((0.2, 0.4))
    assert r.rotation == pytest.approx(0.0)
    # p1 20 px to the right: the body's "up" points right -> rotation +90 deg (clockwise on screen)
    r = rect_from_alignment_points(np.array([0.5, 0.5]), np.array([0.6, 0.5]), WH, 90.0)
    assert r.rotation == pytest.approx(math.pi / 2)
    # the re-crop's -90 deg target: p1 below p0 gives rotation 0
    r = rect_from_alignment_points(np.array([0.5, 0.5]), np.array([0.5, 0.7]), WH, -90.0)
    assert r.rotation == pytest.approx(0.0)


def test_rect_transformation_shift_square_scale():
    t = RectTransform(scale_x=2.0, scale_y=2.0, shift_y=-0.1)
    r = transform_rect(NormalizedRect(0.5, 0.5, 0.2, 0.2), WH, t)  # 40 x 20 px
    assert r.y_center == pytest.approx(0.5 - 0.02)  # shift uses the pre-square height
    assert (r.width, r.height) == pytest.approx((0.4, 0.8))  # squared to 40 px, then x2
    # rotated by +90 deg: the ROI's "up" shift moves the centre to the right in the image
    r = transform_rect(NormalizedRect(0.5, 0.5, 0.2, 0.4, math.pi / 2), WH, t)
    assert r.x_center == pytest.approx(0.5 + 100 * 0.4 * 0.1 / 200)
    assert r.y_center == pytest.approx(0.5, abs=1e-9)
    assert r.rotation == pytest.approx(math.pi / 2)


def test_hand_rect_from_pose():
    # wrist (100, 60) px; index and pinky (100, 40) -> middle (100, 40), box 2 * 20 px, upright
    r = hand_rect_from_pose(np.array([0.5, 0.6]), np.array([0.5, 0.4]), np.array([0.5, 0.4]), WH)
    assert (r.x_center, r.y_center, r.width, r.height, r.rotation) == pytest.approx((0.5, 0.4, 0.2, 0.4, 0.0))
    # middle = (2 index + pinky) / 3
    r = hand_rect_from_pose(np.array([0.5, 0.6]), np.array([0.47, 0.4]), np.array([0.515, 0.4]), WH)
    assert r.x_center == pytest.approx(0.5)


def _upright_hand(cx=100.0, cy=50.0, s=10.0):
    """21 hand points (px) of an upright open hand, wrist at (cx, cy + 2 s), middle finger on x = cx."""
    pts = np.zeros((21, 2))
    pts[0] = (cx, cy + 2 * s)
    for f, dx in enumerate((-1.0, 0.0, 1.0, 2.0)):  # index..pinky columns; (5 + 13)/2 and 9 on x = cx
        for j in range(4):
            pts[5 + 4 * f + j] = (cx + dx * s, cy - j * s)
    for j in range(4):  # thumb, mirror-symmetric partner of nothing: keep it on the axis
        pts[1 + j] = (cx, cy + (1 - j * 0.5) * s)
    return pts


def test_hand_landmarks_to_rect_upright():
    px = _upright_hand()
    r = hand_landmarks_to_rect(px / WH, WH)
    # rotation: wrist -> ((lm5 + lm13)/2 + lm9)/2 = straight up -> 0
    assert r.rotation == pytest.approx(0.0, abs=1e-9)
    used = px[[0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]]
    lo, hi = used.min(0), used.max(0)
    assert (r.x_center * 200, r.y_center * 100) == pytest.approx(tuple((lo + hi) / 2))
    assert (r.width * 200, r.height * 100) == pytest.approx(tuple(hi - lo))
    # the same hand rotated by 90 deg about its centre: same size, rotation 90 deg
    c = np.array([100.0, 50.0])
    rot = (px - c) @ np.array([[0, 1], [-1, 0]]) + c  # (x, y) -> (-y, x): clockwise on screen
    r2 = hand_landmarks_to_rect(rot / WH, WH)
    assert r2.rotation == pytest.approx(math.pi / 2)
    assert (r2.width * 200, r2.height * 100) == pytest.approx((r.width * 200, r.height * 100))


def test_palm_detection_to_rect():
    # box centre (0.5, 0.5); wrist keypoint 0 below keypoint 2 -> upright
    kps = np.zeros((7, 2), np.float32)
    kps[0] = (0.5, 0.6)
    kps[2] = (0.5, 0.4)
    r = palm_detection_to_rect(np.array([0.45, 0.4, 0.1, 0.2]), kps, WH)
    assert (r.x_center, r.y_center, r.width, r.height, r.rotation) == pytest.approx((0.5, 0.5, 0.1, 0.2, 0.0))


def test_roi_tracking_accept_and_reject():
    req = RoiTrackingRequirements()
    recrop = NormalizedRect(0.5, 0.5, 0.2, 0.4, 0.0)  # 40 px square at (100, 50)
    lm = (np.array([[100.0, 50.0], [110.0, 40.0], [90.0, 60.0]]) / WH).repeat(7, 0)[:21]
    keep = lambda prev, pts=lm: roi_tracking_keeps_previous(prev, pts, recrop, WH, req)  # noqa: E731
    assert keep(recrop)
    assert keep(NormalizedRect(0.5 + 7 / 200, 0.5, 0.2, 0.4))  # 7 px <= 0.2 * 40
    assert not keep(NormalizedRect(0.5 + 9 / 200, 0.5, 0.2, 0.4))  # 9 px > 8 px
    assert keep(NormalizedRect(0.5, 0.5, 0.2, 0.4, math.radians(39)))
    assert not keep(NormalizedRect(0.5, 0.5, 0.2, 0.4, math.radians(41)))
    assert not keep(NormalizedRect(0.5, 0.5, 0.2 * 1.5, 0.4 * 1.5))  # scale 50% > 40%
    assert keep(NormalizedRect(0.5, 0.5, 0.2 * 1.3, 0.4 * 1.3))
    # a landmark outside the recrop rect shrunk to 90% (half side 18 px) rejects
    bad = lm.copy()
    bad[0] = np.array([100 + 18.5, 50]) / WH
    assert not keep(recrop, bad)
    bad[0] = np.array([100 + 17.5, 50]) / WH
    assert keep(recrop, bad)
    # wrap-around of the rotation difference: 179 deg vs -179 deg is 2 deg apart
    r1 = NormalizedRect(0.5, 0.5, 0.2, 0.4, math.radians(179))
    r2 = NormalizedRect(0.5, 0.5, 0.2, 0.4, math.radians(-179))
    assert roi_tracking_keeps_previous(r2, lm, r1, WH, req)


# ---------------------------------------------------------------- crops (reference 4.1)
def test_crop_round_trip_rotated_roi():
    img = np.zeros((100, 200, 3), np.uint8)
    yy, xx = np.mgrid[0:100, 0:200]
    dot = np.array([130.0, 40.0])
    img[..., 1] = np.clip(255 * np.exp(-((xx - dot[0]) ** 2 + (yy - dot[1]) ** 2) / (2 * 1.5 ** 2)), 0, 255).astype(np.uint8)
    rect = NormalizedRect(120 / 200, 50 / 100, 40 / 200, 40 / 100, math.radians(30))
    spec = CropSpec(size=(64, 64))
    batch, pads = crop_rois(img, [rect, None], spec)
    assert batch.shape == (2, 64, 64, 3) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0
    np.testing.assert_allclose(pads[0], 0)
    # where the affine says: offset in the ROI frame = R(-30 deg) (dot - centre), crop px = (off / 40 + .5) 64
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    d = dot - (120, 50)
    off = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])
    expect = (off / 40 + 0.5) * 64
    M, _ = crop_matrix(rect, (200, 100), spec)
    h = M @ np.array([*dot, 1.0])
    np.testing.assert_allclose(h[:2] / h[2], expect, atol=1e-3)
    g = batch[0, ..., 1]
    ys, xs = np.mgrid[0:64, 0:64]
    w = np.where(g > 0.2 * g.max(), g, 0)
    centroid = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()
    np.testing.assert_allclose(centroid, expect, atol=0.5)  # pixel index == edge coordinate (no half pixel)
    # projecting the crop point back lands on the image point
    back = project_landmarks(remove_landmark_letterbox(centroid[None] / 64, pads[0]), rect)[0] * (200, 100)
    np.testing.assert_allclose(back, dot, atol=0.5)
    # whole image, keep aspect: 200x100 -> 64x64 with top/bottom letterbox of 0.25, zero border
    batch, pads = crop_rois(img, [None], CropSpec(size=(64, 64), value_range=(-1, 1), border="zero"))
    np.testing.assert_allclose(pads[0], [0, 0.25, 0, 0.25])
    assert np.all(batch[0, :15] == -1.0) and np.all(batch[0, 49:] == -1.0)


def test_crop_rejects_empty_roi():
    with pytest.raises(ValueError, match="positive size"):
        crop_rois(np.zeros((10, 10, 3), np.uint8), [NormalizedRect(0.5, 0.5, 0.0, 0.1)], CropSpec(size=(8, 8)))


# ---------------------------------------------------------------- landmarks (reference 5.3-5.5, 7.4)
def test_landmark_decoding_and_projection():
    raw = np.zeros((39, 5), np.float32)
    raw[0] = (128, 64, 25.6, 0.0, 2.0)
    lm = decode_pose_landmarks(raw.reshape(-1), (256, 256))
    np.testing.assert_allclose(lm[0], [0.5, 0.25, 0.1, 0.5, 1 / (1 + math.exp(-2))], atol=1e-6)
    hand = decode_hand_landmarks(np.full((2, 63), 22.4, np.float32), (224, 224), 0.4)
    np.testing.assert_allclose(hand[1, 5], [0.1, 0.1, 0.25], atol=1e-6)
    # the top centre of a ROI rotated by +90 deg lands right of the centre
    rect = NormalizedRect(0.5, 0.5, 0.2, 0.4, math.pi / 2)
    p = project_landmarks(np.array([[0.5, 0.0, 0.5]], np.float32), rect)
    np.testing.assert_allclose(p[0], [0.6, 0.5, 0.1], atol=1e-6)
    p = project_landmarks(np.array([[0.0, 0.0, 0.0]], np.float32), NormalizedRect(0.5, 0.5, 0.2, 0.4, 0.0))
    np.testing.assert_allclose(p[0, :2], [0.4, 0.3], atol=1e-6)


def test_heatmap_refinement_as_written():
    hm = np.full((64, 64, 3), -10.0, np.float32)
    hm[20, 30, 0] = hm[20, 31, 0] = 5.0  # two equal peaks -> mean column 30.5 (plus the tiny rest)
    hm[:, :, 1] = -0.1  # max sigmoid < 0.5: not refined
    lm = np.array([[30.2 / 64, 20.7 / 64, 0.3], [0.5, 0.5, 0.3], [1.2, 0.5, 0.3]], np.float32)
    out = refine_from_heatmap(lm, hm, 7, 0.5)
    big, small = 1 / (1 + math.exp(-5)), 1 / (1 + math.exp(10))
    # window: rows 17..23, cols 27..33 (49 cells, 2 peaks)
    tot = 2 * big + 47 * small
    ex = (big * (30 + 31) + small * (sum(range(27, 34)) * 7 - 30 - 31)) / tot / 64
    ey = (big * 40 + small * (sum(range(17, 24)) * 7 - 40)) / tot / 64
    np.testing.assert_allclose(out[0, :2], [ex, ey], rtol=1e-5)
    assert out[0, 2] == lm[0, 2]
    np.testing.assert_array_equal(out[1], lm[1])
    np.testing.assert_array_equal(out[2], lm[2])  # outside the heatmap: untouched
    # at the edge the window shrinks: only cols 60..63
    hm2 = np.full((64, 64, 1), -10.0, np.float32)
    hm2[10, 63, 0] = 8.0
    out2 = refine_from_heatmap(np.array([[63.5 / 64, 10.2 / 64]], np.float32), hm2)
    assert out2[0, 0] == pytest.approx(63 / 64, abs=2e-3) and out2[0, 0] < 63 / 64


# ---------------------------------------------------------------- K67 (DESIGN 4)


# ---------------------------------------------------------------- crop resampling = OpenCV 4's (reference 4.1)
def test_crop_resampling_is_opencv4_fixed_point():
    """Source positions are rounded to 1/32 px and blended with 15-bit integer weights, as
    OpenCV 4's warpPerspective (and so MediaPipe) does; OpenCV 5's warpPerspective samples at
    full precision (255 x 0.51 -> 130), which moved MediaPipe's pose detections by 5-10 px."""
    from mocap.models.frontend.crop import warp_fixed_point
    import cv2

    img = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)  # 1 x 2, black then white
    # destination x -> source x = 0.51 + 0.01 x  (image px -> tensor px is the inverse)
    M = np.array([[100.0, 0, -51.0], [0, 1, 0], [0, 0, 1]])
    out = warp_fixed_point(img, M, (3, 1), cv2.BORDER_REPLICATE)[0, :, 0]
    # 0.51 -> 16/32: (255 * 16384 + 2^14) >> 15 = 128; 0.52 -> 17/32: 135; 0.53 -> 17/32: 135
    np.testing.assert_array_equal(out, [128, 135, 135])
    # the same through crop_rois: a 2 px ROI on a 4 px ramp, whole-pixel positions are exact
    ramp = np.repeat(np.array([[0, 85, 170, 255]], np.uint8)[..., None], 3, axis=2)
    batch, _ = crop_rois(ramp, [NormalizedRect(0.5, 0.5, 0.5, 2.0)], CropSpec(size=(2, 2)))
    np.testing.assert_allclose(batch[0, 0, :, 0] * 255, [85, 170], atol=1e-4)
    # crop_rois resamples like warp_fixed_point whichever cv2 is installed (it uses cv2's own
    # warpPerspective only where that passes the fixed-point self-check)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    rect = NormalizedRect(0.45, 0.55, 0.3, 0.4, 0.4)
    spec = CropSpec(size=(32, 32))
    batch, _ = crop_rois(img, [rect], spec)
    M, _ = crop_matrix(rect, (80, 60), spec)
    np.testing.assert_array_equal(np.rint(batch[0] * 255).astype(np.uint8),
                                  warp_fixed_point(img, M, (32, 32), cv2.BORDER_REPLICATE))
