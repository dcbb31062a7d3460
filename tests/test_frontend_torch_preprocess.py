"""The whole front end with torch pre-processing (FrontendConfig.preprocess="torch") against the
default OpenCV crops, on 30 frames of the demo clip.

The two paths' crops differ by about a quarter of a uint8 level on average (tests/test_crop_torch.py);
the nets and the tracking loop turn that into small landmark differences, plus rare jumps on
blurred limbs (even a torch crop that rounds like OpenCV, equal on 99.2 % of the pixels and 1
level off on the rest, moves single keypoints by up to 37 px on this clip). So the comparison
is statistical, over frames 100-129 where the person is in the clear. Measured (torch 2.13 CPU,
ONNX Runtime CPU): confident body keypoints median 0.26 px / p90 1.1 px, hand keypoints median
0.15 px / p90 0.35 px; the body flag equal on every frame, a hand flag different on 3 frames
(presence 0.52-0.57 against the 0.5 threshold). A crop grid shifted by 1 px (either axis, either
way) or 0.5 px raises the body median to 1.1-1.6 px (1.2 px on the first 12 frames, which the
test checks), so the tolerances catch it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from frontend_tools import needs_frontend_nets, read_rgb_frames
from mocap.engines.onnxruntime import OrtConfig
from mocap.models.frontend import crop_torch
from mocap.models.frontend.config import FrontendConfig
from mocap.models.frontend.holistic import Frontend

FIRST, N_FRAMES = 100, 30
BODY_MEDIAN_PX, BODY_P90_PX = 0.6, 3.0   # confident (> 0.5 in both) body keypoints
HAND_MEDIAN_PX, HAND_P90_PX = 0.5, 1.5   # hand keypoints where both paths have the hand
HAND_FLAG_NEAR = 0.6  # a hand seen by one path only had a presence flag below this (threshold 0.5)
SHIFT_FRAMES = 12     # the 1 px shift check runs on the first frames only (test time)

pytestmark = needs_frontend_nets


@pytest.fixture(scope="module")
def frames(demo_video):
    return read_rgb_frames(demo_video, N_FRAMES, FIRST)


def _run(frames, config: FrontendConfig):
    """Process the frames; also returns the types of every input the engines were given."""
    fe = Frontend.from_onnx(ort=OrtConfig(threads=1), config=config)
    fed: list[type] = []
    for eng in fe.engines:
        run = eng.run

        def spy(feeds, run=run):
            fed.extend(type(v) for v in feeds.values())
            return run(feeds)

        eng.run = spy
    return [fe.process(f, (i + 1) / 30.0) for i, f in enumerate(frames)], fed


def _distances(ref, got) -> tuple[np.ndarray, np.ndarray, int]:
    """(body px distances, hand px distances, frames whose tracking flags agree)."""
    body, hand, same = [], [], 0
    for a, b in zip(ref, got):
        same += a.tracking == b.tracking
        assert a.tracking["body"] == b.tracking["body"]
        for s, side in enumerate(("left_hand", "right_hand")):
            if a.tracking[side] != b.tracking[side]:  # only a hand whose flag is near the 0.5 threshold may flip
                assert max(a.hands.presence[s], b.hands.presence[s]) < HAND_FLAG_NEAR, (side, a.hands.presence,
                                                                                       b.hands.presence)
        d = np.linalg.norm(a.k67_raw[:, :2] - b.k67_raw[:, :2], axis=1)
        body.append(d[:25][(a.k67_raw[:25, 2] > 0.5) & (b.k67_raw[:25, 2] > 0.5)])
        hand.append(d[25:][(a.k67_raw[25:, 2] > 0) & (b.k67_raw[25:, 2] > 0)])
    return np.concatenate(body), np.concatenate(hand), same


@pytest.fixture(scope="module")
def reference(frames):
    return _run(frames, FrontendConfig())


def test_torch_preprocess_matches_opencv(frames, reference):
    ref, ref_fed = reference
    got, fed = _run(frames, FrontendConfig(preprocess="torch", device="cpu"))
    assert ref_fed and all(t is np.ndarray for t in ref_fed)
    assert fed and all(t is torch.Tensor for t in fed)  # every crop went to the engine as a torch batch
    assert all(r.body is None or r.body.device_image is None for r in got)  # the frame is not kept
    body, hand, same = _distances(ref, got)
    assert same >= N_FRAMES - 4, same
    assert len(body) >= 20 * 23 and len(hand) >= 2 * 21, (len(body), len(hand))
    assert np.median(body) <= BODY_MEDIAN_PX and np.percentile(body, 90) <= BODY_P90_PX, \
        (np.median(body), np.percentile(body, 90))
    assert np.median(hand) <= HAND_MEDIAN_PX and np.percentile(hand, 90) <= HAND_P90_PX, \
        (np.median(hand), np.percentile(hand, 90))


def test_one_pixel_grid_shift_is_caught(frames, reference, monkeypatch):
    """The tolerances above are tight enough to fail a crop grid that is off by 1 px."""
    ref, _ = reference
    grid_matrices = crop_torch.grid_matrices

    def shifted(Mi, region):
        T = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return grid_matrices(T @ Mi, region)

    monkeypatch.setattr(crop_torch, "grid_matrices", shifted)
    got, _ = _run(frames[:SHIFT_FRAMES], FrontendConfig(preprocess="torch"))
    body = np.concatenate([np.linalg.norm(a.k67_raw[:25, :2] - b.k67_raw[:25, :2], axis=1)[
        (a.k67_raw[:25, 2] > 0.5) & (b.k67_raw[:25, 2] > 0.5)] for a, b in zip(ref, got)])
    assert np.median(body) > BODY_MEDIAN_PX, np.median(body)


def test_torch_preprocess_reports_bad_device():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA"):
        Frontend.from_onnx(config=FrontendConfig.for_device("cuda"))


def test_use_device_switches_after_loading():
    fe = Frontend(body=None, hands=None, config=FrontendConfig(enable_hands=False))
    fe.use_device("cpu")
    assert fe.config.preprocess == "opencv" and fe._upload(np.zeros((2, 2, 3), np.uint8)).__class__ is np.ndarray
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            fe.use_device("cuda")
        assert fe.config.preprocess == "opencv"
    else:
        fe.use_device("cuda")
        assert (fe.config.preprocess, fe.config.device) == ("torch", "cuda")
        assert fe._upload(np.zeros((2, 2, 3), np.uint8)).device.type == "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)")
def test_cuda_preprocess_matches_opencv(frames, reference):
    """On a GPU: crops on the device (the engine copies them to the host when it runs on the CPU)."""
    ref, _ = reference
    got, fed = _run(frames, FrontendConfig.for_device("cuda"))
    assert fed and all(t is torch.Tensor for t in fed)
    body, hand, same = _distances(ref, got)
    assert same >= N_FRAMES - 4
    assert np.median(body) <= BODY_MEDIAN_PX and np.percentile(body, 90) <= BODY_P90_PX
    assert len(hand) == 0 or np.median(hand) <= HAND_MEDIAN_PX
