"""A panning camera's rotation from the image (models/world/camera_rotation.py): known answers on
exact rays, with outliers, and on synthetic frames of a rotating camera."""
import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.models.world.camera_rotation import PanTracker, pixel_rays, robust_rotation, rotation_from_rays

K = np.array([[500.0, 0, 320], [0, 500.0, 180], [0, 0, 1]])


def _angle_deg(A, B):
    return np.degrees(Rotation.from_matrix(A @ B.T).magnitude())


def test_rotation_from_rays_is_exact_and_robust_to_outliers():
    rng = np.random.default_rng(0)
    R = Rotation.from_euler("yxz", [7.0, -2.0, 1.0], degrees=True).as_matrix()
    b0 = pixel_rays(rng.uniform([0, 0], [640, 360], (80, 2)), K)
    b1 = b0 @ R.T
    assert _angle_deg(rotation_from_rays(b0, b1), R) < 1e-9
    b1_bad = b1.copy()
    b1_bad[:25] = pixel_rays(rng.uniform([0, 0], [640, 360], (25, 2)), K)   # 31 % outliers (the person, say)
    R_hat, inliers = robust_rotation(b0, b1_bad, max_angle_rad=2.0 / 500)
    assert _angle_deg(R_hat, R) < 1e-9 and inliers[25:].all() and inliers[:25].sum() <= 2
    assert robust_rotation(b0[:4], b1[:4], 0.01)[0] is None     # too few rays: no estimate


def _texture(seed=1, size=(360, 640)):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size[0] // 8, size[1] // 8)).astype(np.float32)
    img = cv2.resize(noise, size[::-1], interpolation=cv2.INTER_CUBIC)
    img = np.clip(img + rng.normal(0, 8, size), 0, 255).astype(np.uint8)
    return np.repeat(img[..., None], 3, 2)


@pytest.mark.parametrize("yaw_per_frame", [0.0, 0.8, -1.5])
def test_pan_tracker_recovers_a_rotating_camera(yaw_per_frame):
    """Frames of a camera turning about its vertical axis (and tilting slightly): the tracker's
    R_{0<-t} matches the true one within 0.1 degree after 4 frames, also with a 'person' box masked."""
    tex = _texture()
    step = Rotation.from_euler("yx", [yaw_per_frame, 0.2 * np.sign(yaw_per_frame)], degrees=True).as_matrix()
    tracker = PanTracker(K)
    R_t0 = np.eye(3)   # camera 0 -> camera t
    person = np.array([[280.0, 100.0], [360.0, 300.0]])
    for t in range(5):
        frame = cv2.warpPerspective(tex, K @ R_t0 @ np.linalg.inv(K), (640, 360))
        R_0t = tracker.step(frame, person)
        assert _angle_deg(R_0t, R_t0.T) < 0.1, (t, _angle_deg(R_0t, R_t0.T))
        R_t0 = step @ R_t0
    assert tracker.inliers >= 30


def test_pan_tracker_on_a_blank_image_keeps_the_last_rotation():
    tracker = PanTracker(K)
    blank = np.zeros((360, 640, 3), np.uint8)
    assert np.allclose(tracker.step(blank), np.eye(3)) and np.allclose(tracker.step(blank), np.eye(3))
    assert tracker.inliers == 0
