"""Pinhole camera maths shared by rendering, proxies and (later) the 3D stage: pure numpy functions.

Frames (DESIGN 8): world y up, metres, right-handed; camera axes as OpenCV (x right, y down,
z forward); x_c = R_w2c x_w + t_w2c, pixels u = K x_c / z_c.
"""
from __future__ import annotations

import numpy as np

MIN_DEPTH_M = 0.1        # points closer than this (or behind) count as not visible


def focal_from_fov(fov_y_deg: float, height: int) -> float:
    """Focal length in pixels for a vertical field of view (degrees) and image height (px)."""
    return 0.5 * height / np.tan(np.radians(fov_y_deg) / 2)


def intrinsics(fov_y_deg: float, width: int, height: int) -> np.ndarray:
    """(3, 3) pinhole K, square pixels, principal point at the image centre."""
    f = focal_from_fov(fov_y_deg, height)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float64)


def look_at(eye: np.ndarray, target: np.ndarray, roll_rad: np.ndarray | float = 0.0,
            up=(0.0, 1.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Batched OpenCV look-at with roll: (R_w2c (..., 3, 3), t_w2c (..., 3)).

    Args:
        eye: (..., 3) camera centres in world, metres.
        target: (..., 3) world points on the optical axis.
        roll_rad: (...) rotation of the image about the optical axis (positive turns the camera's
            x axis towards its y axis, i.e. clockwise in the image).
        up: world up (y up in this project); the image's y axis points down.
    Raises:
        ValueError: a view direction is parallel to up.
    """
    eye, target = np.asarray(eye, np.float64), np.asarray(target, np.float64)
    z = target - eye
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(-np.asarray(up, np.float64), z)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(n < 1e-9):
        raise ValueError("look_at: a view direction is parallel to up")
    x = x / n
    y = np.cross(z, x)
    roll = np.asarray(roll_rad, np.float64)[..., None]
    c, s = np.cos(roll), np.sin(roll)
    x, y = c * x + s * y, -s * x + c * y          # rotate the image axes about z
    R = np.stack([x, y, z], axis=-2)               # rows: camera axes in world coordinates
    t = -np.einsum("...ij,...j->...i", R, eye)
    return R, t


def world_to_camera(points_w: np.ndarray, R_w2c: np.ndarray, t_w2c: np.ndarray) -> np.ndarray:
    """(T, N, 3) world points -> (T, N, 3) camera points with per-frame (T, 3, 3), (T, 3)."""
    return np.einsum("tij,tnj->tni", R_w2c, points_w) + t_w2c[:, None, :]


def project(points_c: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-perspective projection of camera-space points.

    Args:
        points_c: (..., 3) camera-space points, metres.
        K: (3, 3) intrinsics.
    Returns:
        (uv (..., 2) pixels, in_front (...) bool: depth > MIN_DEPTH_M). Points behind the camera
        get finite but meaningless pixels (the depth is clamped).
    """
    z = points_c[..., 2]
    zc = np.where(z > MIN_DEPTH_M, z, MIN_DEPTH_M)
    u = K[0, 0] * points_c[..., 0] / zc + K[0, 1] * points_c[..., 1] / zc + K[0, 2]
    v = K[1, 1] * points_c[..., 1] / zc + K[1, 2]
    return np.stack([u, v], -1), z > MIN_DEPTH_M


def inside_image(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """(...) bool: the pixel lies in [0, width) x [0, height)."""
    return (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)
