"""The front end on the bundled demo clip: a body is found, tracked, and its keypoints make sense."""
from __future__ import annotations

import numpy as np
import pytest
from frontend_tools import needs_frontend_nets, read_rgb_frames
from mocap.engines.onnxruntime import OrtConfig
from mocap.models.frontend.holistic import Frontend

N_FRAMES = 30

pytestmark = needs_frontend_nets


@pytest.fixture(scope="module")
def frames(demo_video):
    return read_rgb_frames(demo_video, N_FRAMES)


@pytest.fixture(scope="module")
def results(frames):
    fe = Frontend.from_onnx(ort=OrtConfig(threads=2))
    return [fe.process(f, (i + 1) / 30.0) for i, f in enumerate(frames)], fe


def test_body_found_and_tracked(results, frames):
    res, _ = results
    H, W = frames[0].shape[:2]
    # The clip opens backlit with two people. MediaPipe 0.10.21, fed these same decoded pixels,
    # loses the pose on frames 0, 1 and 3-6 (pose flag 0.03 on frame 0) and so do we; whether frame
    # 0 passes depends on the decoder's YUV->RGB rounding. Ask for a body within the first 3
    # frames and on every frame once the subject is in the clear.
    assert any(r.tracking["body"] for r in res[:3]) and all(r.tracking["body"] for r in res[10:])
    assert res[0].tracking["body_detector"] and "pose_detector" in res[0].timings_ms
    for prev, r in zip(res, res[1:]):
        # the detector runs only when the previous frame lost the body (tracking otherwise)
        assert r.tracking["body_detector"] == (not prev.tracking["body"])
        assert ("pose_detector" in r.timings_ms) == r.tracking["body_detector"]
    assert sum(r.tracking["body_detector"] for r in res[10:]) == 0
    for r in res:
        for k in (r.k67, r.k67_raw):
            assert k.shape == (67, 3) and k.dtype == np.float32
            assert np.all((k[:, 2] >= 0) & (k[:, 2] <= 1))
        if not r.tracking["body"]:
            assert np.all(r.k67[:, 2] == 0)
            continue
        body = r.k67[:25]
        seen = body[:, 2] > 0.5
        assert seen.sum() >= 10
        assert np.all((body[seen, 0] >= 0) & (body[seen, 0] < W) & (body[seen, 1] >= 0) & (body[seen, 1] < H))
        assert r.rois["pose"] is not None
        assert {"pose_landmark", "frontend_total"} <= set(r.timings_ms)


def test_body_is_plausible(results):
    res, _ = results
    k = res[-1].k67
    neck, midhip, nose = k[1], k[8], k[0]
    assert neck[1] < midhip[1], "neck above the hips (y down)"
    assert nose[1] < neck[1]
    torso = np.linalg.norm(neck[:2] - midhip[:2])
    assert torso > 10
    # smoothing is small next to the body size
    assert np.median(np.linalg.norm(res[-1].k67[:25, :2] - res[-1].k67_raw[:25, :2], axis=1)) < 0.1 * torso
    # consecutive frames move little (30 fps)
    d = np.linalg.norm(res[-1].k67[[1, 8], :2] - res[-2].k67[[1, 8], :2], axis=1)
    assert np.all(d < 0.25 * torso)


def test_hand_slots_follow_flags(results):
    res, _ = results
    for r in res:
        for side, sl in (("left_hand", slice(25, 46)), ("right_hand", slice(46, 67))):
            conf = r.k67_raw[sl, 2]
            if r.tracking[side]:
                assert np.all(conf > 0.5) and np.all(conf == conf[0])  # one presence for the whole hand
                assert r.rois[side] is not None
            else:
                assert np.all(conf == 0)


def test_misuse_rejected(results, frames):
    _, fe = results
    with pytest.raises(ValueError, match="uint8"):
        fe.process(frames[0].astype(np.float32), 100.0)
    with pytest.raises(ValueError, match="not after"):
        fe.process(frames[0], 0.5)
    fe.reset()
    r = fe.process(frames[0], 0.5)  # after reset the clock starts again and the detector runs
    assert r.tracking["body_detector"]
