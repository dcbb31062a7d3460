"""Bad input gets one clear line on stderr and a non-zero exit, never a traceback."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from mocap.app.capture import VideoSource
from mocap.app.errors import AppError
from mocap.app.record import prepare_out_dir


def assert_one_line_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mocap-live: error:"), proc.stderr
    for n in needles:
        assert n in last, last


def test_missing_video(run, tmp_path):
    proc = run("app.cli", "--video", tmp_path / "nope.mp4", "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "video not found", "nope.mp4")


def test_corrupt_video(run, tmp_path):
    bad = tmp_path / "corrupt clip.mp4"  # a space in the path on purpose
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    proc = run("app.cli", "--video", bad, "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "corrupt clip.mp4")


def test_missing_camera(run, tmp_path):
    proc = run("app.cli", "--camera", "97", "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "camera 97")


def test_unwritable_out_dir(run, tmp_path, demo_video):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("app.cli", "--video", demo_video, "--out", blocker / "sub", timeout=60)
    assert_one_line_error(proc, "not writable")


def test_missing_model_dir(run, tmp_path, demo_video):
    proc = run("app.cli", "--video", demo_video, "--model-dir", tmp_path / "models", "--out", tmp_path / "o",
               timeout=60)
    assert_one_line_error(proc, "not found")


def test_corrupt_model_file(run, tmp_path, demo_video):
    from mocap.export.cli import BUNDLED_ONNX

    models = tmp_path / "models"
    shutil.copytree(BUNDLED_ONNX, models)
    (models / "pose_landmark_full.onnx").write_bytes(b"\x08\x07garbage" * 100)
    proc = run("app.cli", "--video", demo_video, "--model-dir", models, "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "pose_landmark_full")


def test_wrong_shaped_model(run, tmp_path, demo_video):
    from mocap.export.cli import BUNDLED_ONNX

    models = tmp_path / "models"
    shutil.copytree(BUNDLED_ONNX, models)
    # The palm detector where the hand landmark net belongs: a valid model of the wrong shape.
    shutil.copy(models / "palm_detection_full.onnx", models / "hand_landmark_full.onnx")
    proc = run("app.cli", "--video", demo_video, "--model-dir", models, "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "hand_landmark_full")


def test_bad_flags_are_rejected(run, tmp_path):
    proc = run("app.cli", "--max-frames", "0", "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "max_frames")


def test_prepare_out_dir_raises_app_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(AppError, match="not writable"):
        prepare_out_dir(tmp_path / "f" / "x")


def test_video_source_reads_every_frame(demo_video):
    with VideoSource(video=demo_video) as src:
        assert (src.width, src.height) == (960, 540)
        n = 0
        while (frame := src.read()) is not None:
            assert frame.index == n and frame.bgr.shape == (540, 960, 3)
            n += 1
    assert n == 230


def test_unusable_display(run, tmp_path, demo_video):
    """A DISPLAY with no X server behind it: Qt would abort the process; we never let it."""
    import os

    env = {**os.environ, "DISPLAY": ":59"}
    forced = run("app.cli", "--video", demo_video, "--show", "--max-frames", 3, "--out", tmp_path / "a", env=env)
    assert_one_line_error(forced, "--show", "--headless")
    auto = run("app.cli", "--video", demo_video, "--max-frames", 3, "--out", tmp_path / "b", "--no-progress", env=env)
    assert auto.returncode == 0, auto.stderr
    assert "running headless" in auto.stderr and (tmp_path / "b" / "keypoints.npz").is_file()


def test_model_with_the_right_names_but_the_wrong_input_size(run, tmp_path, demo_video):
    from mocap.export.cli import BUNDLED_ONNX

    models = tmp_path / "models"
    shutil.copytree(BUNDLED_ONNX, models)
    # The palm detector has the pose detector's output names (boxes, scores) but a 192x192 input:
    # refused when the models load, not in the middle of the run.
    shutil.copy(models / "palm_detection_full.onnx", models / "pose_detection.onnx")
    proc = run("app.cli", "--video", demo_video, "--model-dir", models, "--out", tmp_path / "o", timeout=60)
    assert_one_line_error(proc, "pose_detection", "expected [N, 224, 224, 3]")
