"""End to end: the app's 3D stage on the demo clip (random-weight nets in the checkpoint format)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mocap.app.stage3d import assumed_cam_K
from mocap.app.take import load_take
from test_app_errors import assert_one_line_error
from conftest import interrupt_after


@pytest.mark.parametrize("overlap", [True, False], ids=["overlap", "no-overlap"])
def test_demo_clip_writes_the_take(run, tmp_path, demo_video, nets_dir, env, overlap):
    out = tmp_path / "run"
    args = ["--video", demo_video, "--max-frames", 30, "--headless", "--out", out, "--no-progress",
            "--nets3d", nets_dir] + ([] if overlap else ["--no-overlap"]) + (["--save-video"] if overlap else [])
    proc = run("app.cli", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    take = load_take(out / "smplx.npz")
    with np.load(out / "keypoints.npz") as z:
        frames = len(z["frame_index"])
        body_conf = z["k67_raw"][:, :25, 2]
    assert take.num_frames == frames == 30
    assert take.poses.shape == (30, 165) and take.trans.shape == (30, 3) and take.contacts.shape == (30, 4)
    assert take.fps == 30.0 and take.model == "open" and take.frame == "world"   # the default world stage
    np.testing.assert_allclose(take.cam_K, assumed_cam_K(960, 540), rtol=1e-6)
    # valid exactly where the front end saw enough body points
    np.testing.assert_array_equal(take.valid, (body_conf > 0.5).sum(1) >= 4)
    assert take.valid[8:].all()
    assert np.all((take.contacts >= 0) & (take.contacts <= 1))
    timings = json.loads((out / "timings.json").read_text())
    assert {"pose_init", "descent", "stage3d"} <= set(timings["summary"])
    assert all("stage3d" in f for f in timings["frames"])
    if overlap:
        assert "draw_mesh" in timings["summary"]
        cap = cv2.VideoCapture(str(out / "overlay.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
        cap.release()


def test_export_command_exports_the_3d_nets(run, tmp_path, nets_dir):
    cache = tmp_path / "cache"
    first = run("export.cli", "--cache", cache, "--nets3d", nets_dir, timeout=300)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((cache / "manifest.json").read_text())
    assert {"pose_init", "descent"} <= set(manifest)
    exported = [ln.split()[0] for ln in first.stdout.splitlines() if "max |ONNX - PyTorch|" in ln]
    assert {"pose_init", "descent"} <= set(exported) <= {"pose_init", "descent", "trajectory"}
    second = run("export.cli", "--cache", cache, "--nets3d", nets_dir, timeout=300)
    assert second.returncode == 0 and "max |ONNX" not in second.stdout
    assert sorted(p.name for p in cache.glob("*.onnx")) == sorted(m["onnx"] for m in manifest.values())


def test_no_3d_is_2d_only(run, tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "run"
    proc = run("app.cli", "--video", demo_video, "--max-frames", 5, "--headless", "--out", out, "--no-progress",
               "--nets3d", nets_dir, "--no-3d", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (out / "keypoints.npz").is_file() and not (out / "smplx.npz").exists()
    timings = json.loads((out / "timings.json").read_text())
    assert "pose_init" not in timings["summary"] and "stage3d" not in timings["summary"]


def test_missing_or_corrupt_net_files(run, tmp_path, demo_video, nets_dir, env):
    proc = run("app.cli", "--video", demo_video, "--nets3d", tmp_path / "nowhere", "--out", tmp_path / "a",
               env=env, timeout=120)
    assert_one_line_error(proc, "net file not found", "pose_init.pt")
    bad = tmp_path / "bad nets"
    bad.mkdir()
    for f in nets_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "descent.pt").write_bytes(b"\x08\x07garbage" * 100)
    proc = run("app.cli", "--video", demo_video, "--nets3d", bad, "--out", tmp_path / "b", env=env, timeout=120)
    assert_one_line_error(proc, "descent.pt")


def test_ctrl_c_keeps_a_valid_take(tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "o"
    code, err = interrupt_after(["--video", demo_video, "--headless", "--out", out, "--nets3d", nets_dir], 230,
                                env=env)
    with np.load(out / "keypoints.npz") as z:
        n = len(z["frame_index"])
    if code == 0:   # the clip ended before the signal came (a fast machine): nothing to test
        pytest.skip("the run finished before Ctrl-C")
    assert code == 130 and "Traceback" not in err
    assert 8 <= n < 230
    assert load_take(out / "smplx.npz").num_frames == n
