"""End to end: the app's world stage on the demo clip (random-weight 3D nets): world take keys, world.mp4,
--world off / moving, --camera-file, flag errors."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mocap.app.take import load_take
from mocap.calib.assumed import camera_for_video
from mocap.calib.camera_file import CameraFile, save_camera_file
from test_app_errors import assert_one_line_error


def _args(demo_video, out, nets_dir, frames=20):
    return ["--video", demo_video, "--max-frames", frames, "--headless", "--out", out, "--no-progress",
            "--nets3d", nets_dir]


def test_static_world_take_and_world_video(run, tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "run"
    proc = run("app.cli", *_args(demo_video, out, nets_dir), "--save-world-video", env=env)
    assert proc.returncode == 0, proc.stderr
    take = load_take(out / "smplx.npz")
    assert take.frame == "world" and take.num_frames == 20
    assert set(take.extra) == {"cam_R", "cam_t", "poses_cam", "trans_cam"}
    R = take.extra["cam_R"]
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-5)
    v = take.valid
    assert v.any()
    # a static camera: one camera pose for the whole take (the final ground plane, second pass)
    first = int(np.argmax(v))
    np.testing.assert_allclose(R[first:], np.broadcast_to(R[first], R[first:].shape), atol=1e-6)
    legs = [3 * j + i for j in (1, 2, 4, 5, 7, 8) for i in range(3)]     # hips, knees, ankles: the leg IK's
    rest = np.setdiff1d(np.arange(3, 165), legs)
    np.testing.assert_allclose(take.poses[v][:, rest], take.extra["poses_cam"][v][:, rest], atol=1e-6)
    timings = json.loads((out / "timings.json").read_text())
    assert {"world", "draw_world"} <= set(timings["summary"])
    cap = cv2.VideoCapture(str(out / "world.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640
    ok, img = cap.read()
    cap.release()
    assert ok and img.std() > 5          # something drawn (grid, camera)
    assert not (out / "world.partial.mp4").exists()


def test_world_off_moving_and_camera_file(run, tmp_path, demo_video, nets_dir, env):
    proc = run("app.cli", *_args(demo_video, tmp_path / "off", nets_dir, 8), "--world", "off", env=env)
    assert proc.returncode == 0, proc.stderr
    take = load_take(tmp_path / "off" / "smplx.npz")
    assert take.frame == "camera" and not take.extra
    assert not (tmp_path / "off" / "world.mp4").exists()

    cam = tmp_path / "cam.json"
    K = np.array([[1500.0, 0, 950], [0, 1500.0, 545], [0, 0, 1]])
    cf = CameraFile(K=K, width=1920, height=1080, dist=np.zeros(5), rms_px=0.3, views=10, source="test")
    save_camera_file(cam, cf)   # another resolution of the same aspect ratio: scaled to the clip's
    proc = run("app.cli", *_args(demo_video, tmp_path / "mov", nets_dir, 12), "--world", "moving",
               "--camera-file", cam, env=env)
    assert proc.returncode == 0, proc.stderr
    take = load_take(tmp_path / "mov" / "smplx.npz")
    assert take.frame == "world" and take.extra["cam_R"].shape == (12, 3, 3)
    np.testing.assert_allclose(take.cam_K, camera_for_video(960, 540, cf).K, rtol=1e-6)
    assert take.cam_K[0, 0] == pytest.approx(750.0)


def test_panning_world_on_a_static_camera_measures_no_turn(run, tmp_path, demo_video, nets_dir, env):
    """--world panning tracks the camera's rotation on the background (the demo clip's camera stands
    still): every frame's camera rotation stays within 1 degree of the first, and the take is a world take."""
    proc = run("app.cli", *_args(demo_video, tmp_path / "pan", nets_dir, 40), "--world", "panning", env=env)
    assert proc.returncode == 0, proc.stderr
    take = load_take(tmp_path / "pan" / "smplx.npz")
    assert take.frame == "world" and take.extra["cam_R"].shape == (40, 3, 3)
    R = take.extra["cam_R"].astype(np.float64)
    turn = np.degrees(np.arccos(np.clip((np.einsum("tij,ij->t", R, R[0]) - 1) / 2, -1, 1)))
    assert turn.max() < 1.0, turn.max()
    timings = json.loads((tmp_path / "pan" / "timings.json").read_text())
    assert "pan" in timings["summary"]


def test_world_flag_errors(run, tmp_path, demo_video, nets_dir, env):
    proc = run("app.cli", *_args(demo_video, tmp_path / "a", nets_dir), "--camera-file", tmp_path / "none.json",
               env=env, timeout=120)
    assert_one_line_error(proc, "--camera-file")
    proc = run("app.cli", *_args(demo_video, tmp_path / "b", nets_dir), "--world", "off", "--save-world-video",
               env=env, timeout=120)
    assert_one_line_error(proc, "--save-world-video")


def test_world_view_draws_and_smooths():
    """The world view draws a frame (grid, frustum, skeleton) and smooths what it draws (One Euro): a body
    jittering by 5 cm per frame moves less on screen than in the data; the frame itself is unchanged."""
    from mocap.app.world_view import WorldView
    from mocap.models.world.stage import WorldFrame

    rng = np.random.default_rng(0)
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    view = WorldView(K, (640, 480))
    base = np.zeros((22, 3))
    base[:, 1] = np.linspace(0.1, 1.7, 22)
    R = np.diag([-1.0, -1.0, 1.0])
    raw, shown = [], []
    for i in range(60):
        J = base + [0, 0, 4.0] + rng.normal(0, 0.05, 3)
        f = WorldFrame(True, np.eye(3), J[0].copy(), J, J[[7, 10, 8, 11]], np.zeros(4, bool), np.zeros(3), J[0].copy(),
                       R, -R @ np.array([0, 1.5, 0.0]), "camera")
        img = view.render(f, i / 30)
        raw.append(f.joints_w[0].copy())
        shown.append(view.trail[-1].copy())
    assert img.shape == (480, 640, 3) and img.std() > 5
    raw, shown = np.asarray(raw)[10:, [0, 2]], np.asarray(shown)[10:, [0, 2]]
    step = lambda a: np.linalg.norm(np.diff(a, axis=0), axis=1).mean()   # noqa: E731
    assert step(shown) < 0.5 * step(raw)
    np.testing.assert_allclose(f.joints_w[0], J[0])                      # the WorldFrame is not modified


def test_refine_focal_flag_reaches_the_world_stage(demo_video, tmp_path):
    """--refine-focal turns on the world stage's focal refinement with the 3D stage's intrinsics."""
    from mocap.app.cli import live_config_from_args, parser
    from mocap.app.pipeline import LiveRun

    args = parser().parse_args(["--video", str(demo_video), "--refine-focal", "--out", str(tmp_path / "o")])
    cfg = live_config_from_args(args)
    assert cfg.refine_focal
    run = LiveRun(cfg)
    try:
        assert run.world.options.refine_focal and run.world.cam_K is not None
        assert np.allclose(run.world.cam_K, run.pose3d.cam_K)
    finally:
        run.source.close()
    default = live_config_from_args(parser().parse_args(["--video", str(demo_video)]))
    assert not default.refine_focal
