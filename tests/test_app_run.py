"""End to end: real clips through `mocap-live` headless, checked against the output contract."""
from __future__ import annotations

import json

import cv2
import numpy as np

from mocap.app.timing import summarize, summarize_frames
from mocap.models.keypoints import Body25
from conftest import interrupt_after


def load_outputs(out):
    with np.load(out / "keypoints.npz") as z:
        npz = {k: z[k] for k in z.files}
    return npz, json.loads((out / "timings.json").read_text())


def test_demo_clip_output_contract(run, tmp_path, demo_video):
    out = tmp_path / "run"
    proc = run("app.cli", "--video", demo_video, "--max-frames", 40, "--headless", "--save-video",
               "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    npz, timings = load_outputs(out)
    k67 = npz["k67"]
    assert k67.shape == (40, 67, 3) and k67.dtype == np.float32
    assert npz["k67_raw"].shape == (40, 67, 3)
    np.testing.assert_array_equal(npz["frame_index"], np.arange(40))
    assert float(npz["fps"]) == 30.0 and int(npz["width"]) == 960 and int(npz["height"]) == 540
    conf = k67[..., 2]
    assert np.all((conf >= 0) & (conf <= 1))
    # The man on the box is in view from the first frame. Backlit and with a second person,
    # the first frames are hard (MediaPipe itself, on the same pixels, loses him on frames 0-1
    # and 3-6); from frame 8 on he is tracked on every frame, his confident points in the image.
    assert conf[:3, Body25.Neck].max() > 0.5 and np.all(conf[8:, Body25.Neck] > 0.5)
    sure = conf > 0.5
    xy = k67[..., :2][sure]
    assert np.all((xy[:, 0] > -20) & (xy[:, 0] < 980) & (xy[:, 1] > -20) & (xy[:, 1] < 560))
    # Tracking: the detector runs on the first frame, not on every frame.
    frames = timings["frames"]
    assert len(frames) == 40
    assert "pose_detector" in frames[0]
    assert sum("pose_detector" in f for f in frames) < 10
    assert {"pose_landmark", "frontend_total", "capture"} <= set(timings["summary"])
    assert timings["fps"] > 0 and timings["backend"] == "onnxruntime"
    assert timings["provider"] == "CPUExecutionProvider" and timings["threads"] == 1
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    cap.release()


def test_video_without_a_person_gives_zero_confidence(run, tmp_path):
    clip = tmp_path / "empty.mp4"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    rng = np.random.default_rng(0)
    for i in range(15):
        w.write(np.full((240, 320, 3), 90, np.uint8) + rng.integers(0, 20, (240, 320, 3), dtype=np.uint8))
    w.release()
    proc = run("app.cli", "--video", clip, "--headless", "--out", tmp_path / "o", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    npz, timings = load_outputs(tmp_path / "o")
    assert npz["k67"].shape == (15, 67, 3)
    assert np.all(npz["k67"][..., 2] == 0)
    assert all("pose_detector" in f for f in timings["frames"])  # nothing to track: detect every frame


def test_ctrl_c_leaves_valid_files(tmp_path, demo_video):
    # The demo clip three times over: long enough that the run is still going when Ctrl-C comes,
    # even on a loaded machine.
    clip = tmp_path / "long.mp4"
    cap = cv2.VideoCapture(str(demo_video))
    frames = []
    while (ok_frame := cap.read())[0]:
        frames.append(ok_frame[1])
    cap.release()
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30, frames[0].shape[1::-1])
    for frame in frames * 3:
        writer.write(frame)
    writer.release()
    total = 3 * len(frames)
    out = tmp_path / "o"
    code, err = interrupt_after(["--video", clip, "--headless", "--out", out], total, timeout=120)
    assert code == 130
    assert "Traceback" not in err
    npz, timings = load_outputs(out)
    n = len(npz["frame_index"])
    assert 8 <= n < total
    np.testing.assert_array_equal(npz["frame_index"], np.arange(n))
    assert npz["k67"].shape == (n, 67, 3) and len(timings["frames"]) == n


def test_summaries_skip_warmup_and_count_missing_modules():
    frames = [{"a": 100.0}] * 10 + [{"a": float(i), "b": 1.0} if i % 2 else {"a": float(i)} for i in range(10)]
    s = summarize_frames(frames, warmup=10)
    assert s["a"]["median"] == 4.5 and s["a"]["count"] == 10
    assert s["b"]["count"] == 5
    assert summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])["p90"] == 9.1
