"""Ground plane, camera height, pitch and roll from foot-contact points: known answers."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.calib.assumed import ASSUMED_FOV_Y_DEG, assumed_camera, camera_for_video
from mocap.calib.camera_file import CameraFile, CameraFileError
from mocap.calib.ground import GroundPlane, camera_pose_from_ground, fit_ground_plane
from mocap.models.camera import look_at

HEIGHT, PITCH, ROLL = 1.55, np.radians(14.0), np.radians(4.0)


def true_camera():
    """A camera 1.55 m up looking 14 deg down with 4 deg roll (models/camera.look_at conventions)."""
    eye = np.array([0.3, HEIGHT, -4.0])
    yaw = 0.2
    target = eye + np.array([np.sin(yaw) * np.cos(PITCH), -np.sin(PITCH), np.cos(yaw) * np.cos(PITCH)])
    return look_at(eye, target, ROLL)


def contact_points(rng, n=300, outliers=0.3, noise=0.005, region=((-1.5, 1.5), (-1.0, 4.0))):
    """Points on y = 0 (plus noise) and a fraction lifted 5-40 cm (feet off the floor), in world."""
    pts = np.stack([rng.uniform(*region[0], n), rng.normal(0, noise, n), rng.uniform(*region[1], n)], 1)
    lift = rng.random(n) < outliers
    pts[lift, 1] += rng.uniform(0.05, 0.4, lift.sum())
    return pts, ~lift


def to_camera(pts_w, R, t):
    return pts_w @ R.T + t


def test_recovers_height_pitch_roll():
    rng = np.random.default_rng(0)
    R, t = true_camera()
    pts, on_floor = contact_points(rng)
    plane = fit_ground_plane(to_camera(pts, R, t))
    pose = camera_pose_from_ground(plane)
    assert pose.height_m == pytest.approx(HEIGHT, abs=0.01)
    assert np.degrees(pose.pitch_rad) == pytest.approx(np.degrees(PITCH), abs=0.5)
    assert np.degrees(pose.roll_rad) == pytest.approx(np.degrees(ROLL), abs=0.5)
    assert plane.constrained == "none" and plane.rms_m < 0.01
    assert (plane.inliers == on_floor).mean() > 0.95
    # The recovered world: floor points at y ~ 0, the camera at (0, h, 0), the same up as the truth.
    pts_w2 = (to_camera(pts, R, t) - pose.t_w2c) @ pose.R_w2c
    assert np.abs(pts_w2[on_floor, 1]).max() < 0.03
    np.testing.assert_allclose(-pose.R_w2c.T @ pose.t_w2c, [0, HEIGHT, 0], atol=0.01)
    np.testing.assert_allclose(pose.R_w2c[:, 1], R[:, 1], atol=0.01)       # world up seen from the camera


def test_exact_points_give_exact_answers():
    R, t = true_camera()
    g = np.stack(np.meshgrid(np.linspace(-1, 1, 5), [0.0], np.linspace(0, 3, 5)), -1).reshape(-1, 3)
    pose = camera_pose_from_ground(fit_ground_plane(to_camera(g, R, t)))
    assert pose.height_m == pytest.approx(HEIGHT, abs=1e-9)
    assert pose.pitch_rad == pytest.approx(PITCH, abs=1e-9)
    assert pose.roll_rad == pytest.approx(ROLL, abs=1e-9)


def test_level_camera_known_pose():
    plane = GroundPlane(normal_c=np.array([0.0, -1.0, 0.0]), d=1.2, inliers=np.ones(1, bool), rms_m=0.0)
    pose = camera_pose_from_ground(plane)
    assert pose.pitch_rad == 0 and pose.roll_rad == 0
    np.testing.assert_allclose(pose.t_w2c, [0, 1.2, 0])            # the world origin is 1.2 m below (+y down)
    np.testing.assert_allclose(pose.R_w2c, np.diag([-1.0, -1.0, 1.0]), atol=1e-12)
    with pytest.raises(ValueError, match="straight down"):
        camera_pose_from_ground(GroundPlane(np.array([0.0, 0, -1]), 1.0, np.ones(1, bool), 0.0))
    with pytest.raises(ValueError, match="not above"):
        camera_pose_from_ground(GroundPlane(np.array([0.0, -1, 0]), -1.0, np.ones(1, bool), 0.0))


def test_straight_line_of_contacts_needs_an_up_hint():
    rng = np.random.default_rng(1)
    R, t = true_camera()
    pts, _ = contact_points(rng, outliers=0.0, region=((-0.05, 0.05), (0.0, 4.0)))     # walking along z
    pts_c = to_camera(pts, R, t)
    with pytest.raises(ValueError, match="lie along a line"):
        fit_ground_plane(pts_c)
    up_true = R[:, 1]
    err = np.radians(2.0)                                      # a hint 2 deg off, tilted sideways
    hint = np.cos(err) * up_true + np.sin(err) * R[:, 0]
    plane = fit_ground_plane(pts_c, up_hint_c=hint)
    assert plane.constrained == "line"
    pose = camera_pose_from_ground(plane)
    assert pose.height_m == pytest.approx(HEIGHT, abs=0.03)
    # The line fixes the tilt along the walk (pitch here); the hint's sideways error stays.
    assert np.degrees(abs(pose.pitch_rad - PITCH)) < 0.5
    assert np.degrees(np.arccos(np.clip(plane.normal_c @ up_true, -1, 1))) <= 2.0 + 0.3


def test_standing_still_uses_the_hint_for_the_tilt():
    rng = np.random.default_rng(2)
    R, t = true_camera()
    pts, _ = contact_points(rng, outliers=0.0, region=((-0.1, 0.1), (1.9, 2.1)))
    plane = fit_ground_plane(to_camera(pts, R, t), up_hint_c=R[:, 1])
    assert plane.constrained == "point"
    assert camera_pose_from_ground(plane).height_m == pytest.approx(HEIGHT, abs=0.01)


def test_too_few_points():
    with pytest.raises(ValueError, match="too few foot-contact points"):
        fit_ground_plane(np.zeros((5, 3)))


def test_assumed_camera():
    cam = assumed_camera(1280, 720)
    assert cam.fov_y_deg == pytest.approx(ASSUMED_FOV_Y_DEG)
    assert cam.K[0, 0] == pytest.approx(360 / np.tan(np.radians(ASSUMED_FOV_Y_DEG / 2)))
    assert (cam.K[0, 2], cam.K[1, 2]) == (640, 360)
    own = CameraFile(K=[[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]], width=1280, height=720)
    assert camera_for_video(1280, 720, own) is own
    assert camera_for_video(640, 360, own).K[0, 0] == pytest.approx(500)
    with pytest.raises(CameraFileError, match="aspect ratio"):
        camera_for_video(640, 480, own)
    with pytest.raises(ValueError, match="field of view"):
        assumed_camera(640, 480, fov_y_deg=0)
