"""Ground plane, camera height, pitch and roll from accumulated foot-contact points (issue 5 item 4c).

Input: foot points in CAMERA coordinates (OpenCV axes: x right, y down, z forward; metres) from
frames where a foot is in contact, accumulated over time. A robust plane fit (RANSAC over point
triples, then a total-least-squares refit on the inliers) gives the plane n . x + d = 0 with the
unit normal n pointing up (towards the camera side) and d > 0 the camera's height above the ground.
From it, a world frame for a static camera: y up, ground y = 0, camera above the world origin, the
optical axis' heading along world +z (`camera_pose_from_ground`).

Contact points of a person walking a straight line lie near a line, and those of a person standing
still near a point: such a set does not fix a plane. Then the fit needs the up direction from
elsewhere (`up_hint_c`, e.g. the body's mean up axis in the camera while standing) and uses the
points only for what they fix (the height, and the tilt across the line).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_POINTS = 12


@dataclass
class GroundPlane:
    """n . x + d = 0 in camera coordinates.

    Attributes:
        normal_c: (3,) unit normal pointing up (towards the camera's side of the ground).
        d: offset, metres; the camera centre's height above the plane when positive.
        inliers: (N,) bool, the points within the inlier distance of the plane.
        rms_m: RMS distance of the inliers to the plane, metres.
        constrained: "none", "line" or "point": how much the up hint had to supply.
    """
    normal_c: np.ndarray
    d: float
    inliers: np.ndarray
    rms_m: float
    constrained: str = "none"


@dataclass
class CameraPose:
    """A static camera above the ground: x_cam = R_w2c x_W + t_w2c, world y up, ground y = 0.

    Attributes:
        height_m: camera centre above the ground.
        pitch_rad: optical axis below the horizon (positive looking down).
        roll_rad: rotation of the image about the optical axis, as models/camera.look_at's roll
            (positive turns the camera's x axis towards its y axis).
        R_w2c: (3, 3), t_w2c: (3,).
    """
    height_m: float
    pitch_rad: float
    roll_rad: float
    R_w2c: np.ndarray
    t_w2c: np.ndarray


def fit_ground_plane(points_c: np.ndarray, inlier_m: float = 0.03, iterations: int = 300, seed: int = 0,
                     up_hint_c: np.ndarray | None = None, min_spread_m: float = 0.1,
                     min_points: int = MIN_POINTS) -> GroundPlane:
    """Robust plane fit to foot-contact points.

    Args:
        points_c: (N, 3) contact points in camera coordinates, metres.
        inlier_m: distance within which a point counts as on the plane.
        iterations: RANSAC samples (seeded by `seed`: the same input gives the same plane).
        up_hint_c: (3,) the up direction in camera coordinates, if known (needed for a line or a
            point of contacts; otherwise it only orients the normal).
        min_spread_m: the inliers' standard deviation along their second principal direction below which
            they count as a line (and along the first as a point).
        min_points: fewer points than this are refused.
    Returns:
        GroundPlane with the normal oriented up (towards up_hint_c, else towards the camera: d > 0).
    Raises:
        ValueError: too few points, or contacts along a line or at a point with no up_hint_c.
    """
    P = np.asarray(points_c, np.float64).reshape(-1, 3)
    P = P[np.all(np.isfinite(P), axis=1)]
    if len(P) < min_points:
        raise ValueError(f"too few foot-contact points for a ground plane: {len(P)}, need at least {min_points}")
    hint = None if up_hint_c is None else np.asarray(up_hint_c, np.float64) / np.linalg.norm(up_hint_c)
    rng = np.random.default_rng(seed)
    # RANSAC, vectorised: all candidate planes at once, inliers counted with one matrix product.
    tri = P[rng.integers(0, len(P), (iterations, 3))]      # (I, 3, 3); repeated points give no plane, skipped
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norms = np.linalg.norm(normals, axis=1)
    ok = norms > 1e-9
    inl = np.ones(len(P), bool)
    if ok.any():
        normals = normals[ok] / norms[ok, None]
        offsets = -np.einsum("ij,ij->i", normals, tri[ok, 0])
        counts = (np.abs(normals @ P.T + offsets[:, None]) < inlier_m).sum(1)
        k = int(np.argmax(counts))                     # the first of the best: deterministic
        inl = np.abs(P @ normals[k] + offsets[k]) < inlier_m
    if inl.sum() < 3:
        inl = np.ones(len(P), bool)
    constrained = "none"
    for _ in range(3):                                      # refit on the inliers, re-select, twice more
        Q = P[inl]
        c = Q.mean(0)
        _, s, vt = np.linalg.svd(Q - c, full_matrices=False)
        spread = s / np.sqrt(len(Q))
        if spread[0] < min_spread_m:
            constrained = "point"
        elif spread[1] < min_spread_m:
            constrained = "line"
        else:
            constrained = "none"
        if constrained != "none" and hint is None:
            raise ValueError(f"the foot-contact points lie along a {constrained} (spread {spread[0]:.2f} x "
                             f"{spread[1]:.2f} m): they do not fix the ground's tilt; give an up direction "
                             "(up_hint_c) or accumulate contacts over more of the floor")
        if constrained == "point":
            n = hint
        elif constrained == "line":
            line = vt[0]
            n = hint - (hint @ line) * line                 # the plane contains the line, tilted as the hint
            n = n / np.linalg.norm(n)
        else:
            n = vt[-1]
        d = -float(n @ c)
        new = np.abs(P @ n + d) < inlier_m
        if new.sum() < 3 or np.array_equal(new, inl):
            break
        inl = new
    if (hint is not None and n @ hint < 0) or (hint is None and d < 0):
        n, d = -n, -d
    res = P[inl] @ n + d
    return GroundPlane(normal_c=n, d=d, inliers=inl, rms_m=float(np.sqrt(np.mean(res ** 2))), constrained=constrained)


def camera_pose_from_ground(plane: GroundPlane) -> CameraPose:
    """World frame of a static camera from its ground plane (module docstring).

    The world's y axis is the plane normal, its z axis the optical axis' horizontal direction, the
    origin the ground point below the camera: R_w2c's columns are the world axes in camera
    coordinates, the camera centre is (0, h, 0) in world, and t_w2c = -h n.

    Raises:
        ValueError: the camera looks straight down or up (no horizontal heading), or is below the plane.
    """
    n, h = np.asarray(plane.normal_c, np.float64), float(plane.d)
    if h <= 0:
        raise ValueError(f"the camera is not above the ground plane (height {h:.3f} m)")
    z = np.array([0.0, 0.0, 1.0]) - n[2] * n                # optical axis minus its vertical part
    if np.linalg.norm(z) < 1e-6:
        raise ValueError("the camera looks straight down or up: its heading is undefined")
    z = z / np.linalg.norm(z)
    x = np.cross(n, z)                                       # right-handed: x = y cross z
    R_w2c = np.column_stack([x, n, z])
    pitch = float(np.arcsin(np.clip(-n[2], -1, 1)))
    roll = float(np.arctan2(-n[0], -n[1]))
    return CameraPose(height_m=h, pitch_rad=pitch, roll_rad=roll, R_w2c=R_w2c, t_w2c=-h * n)
