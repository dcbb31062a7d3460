"""Focal length from the body (calib/focal.py): known answers on synthetic projections."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.calib.focal import (fit_translation, focal_to_fov_y, fov_y_to_focal, ray_rotation, refine_focal)
from mocap.models.world.transform import yaw_matrix

W, H = 1920, 1080
C = np.array([W / 2, H / 2])


def scene(f_true: float, frames: int = 40, noise_px: float = 0.0, seed: int = 0):
    """A rigid 25-point body (about 1.7 m tall) turning and walking about the image at 3-6 m, projected with
    f_true: (X (F, 25, 3) root-relative camera-oriented points, uv (F, 25, 2), w (F, 25), root_c (F, 3))."""
    rng = np.random.default_rng(seed)
    body = rng.normal(0, 1, (25, 3)) * np.array([0.2, 0.5, 0.12])
    Xs, uvs, roots = [], [], []
    for _ in range(frames):
        X = body @ yaw_matrix(rng.uniform(-np.pi, np.pi)).T + rng.normal(0, 0.05, (25, 3))
        z = rng.uniform(3, 6)
        px = rng.uniform([-0.4 * W, -0.35 * H], [0.4 * W, 0.35 * H])
        t = np.array([px[0] * z / f_true, px[1] * z / f_true, z])
        P = X + t
        Xs.append(X)
        uvs.append(f_true * P[:, :2] / P[:, 2:] + C + rng.normal(0, noise_px, (25, 2)))
        roots.append(t)
    return np.array(Xs), np.array(uvs), np.ones((frames, 25)), np.array(roots)


def test_fov_focal_round_trip():
    assert fov_y_to_focal(90.0, 1000) == pytest.approx(500.0)
    assert focal_to_fov_y(fov_y_to_focal(45.0, H), H) == pytest.approx(45.0)


def test_ray_rotation_maps_a_onto_b():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 3)) + [0, 0, 3], rng.normal(size=(5, 3)) + [0, 0, 3]
    R = ray_rotation(a, b)
    an, bn = a / np.linalg.norm(a, axis=1)[:, None], b / np.linalg.norm(b, axis=1)[:, None]
    np.testing.assert_allclose(np.einsum("fij,fj->fi", R, an), bn, atol=1e-12)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)


def test_fit_translation_exact():
    f = fov_y_to_focal(50.0, H)
    X, uv, w, roots = scene(f, frames=5)
    np.testing.assert_allclose(fit_translation(X, uv, w, f, C), roots, atol=1e-6)


@pytest.mark.parametrize("fov", [30.0, 45.0, 60.0, 80.0])
def test_recovers_the_focal_of_exact_projections(fov):
    f = fov_y_to_focal(fov, H)
    X, uv, w, _ = scene(f)
    est = refine_focal(X, uv, w, C, H)
    assert est.f_px == pytest.approx(f, rel=0.01)
    assert est.fov_y_deg == pytest.approx(fov, rel=0.01)
    assert est.well_posed and est.frames == 40


@pytest.mark.parametrize("fov", [30.0, 60.0])
def test_recovers_the_focal_with_pixel_and_depth_noise(fov):
    f = fov_y_to_focal(fov, H)
    X, uv, w, _ = scene(f, noise_px=2.0, seed=3)
    noisy = X + np.random.default_rng(4).normal(0, 0.02, X.shape)
    assert refine_focal(noisy, uv, w, C, H).f_px == pytest.approx(f, rel=0.03)


@pytest.mark.parametrize("fov", [30.0, 60.0])
def test_ray_correction_undoes_the_assumed_focal_orientation(fov):
    """The 3D stage ran with 45 deg: its body is turned by the ray rotation and its root depth scaled by f0 / f;
    refine_focal given f_assumed and root_c recovers the truth, without them it is biased."""
    f, f0 = fov_y_to_focal(fov, H), fov_y_to_focal(45.0, H)
    X, uv, w, roots = scene(f, noise_px=1.0, seed=5)
    px = f * roots[:, :2] / roots[:, 2:]
    one = np.ones((len(px), 1))
    R = ray_rotation(np.concatenate([px / f, one], 1), np.concatenate([px / f0, one], 1))
    X0 = np.einsum("fij,fnj->fni", R, X)
    est = refine_focal(X0, uv, w, C, H, f_assumed=f0, root_c=roots * [1.0, 1.0, f0 / f])   # same pixel, depth x f0 / f
    assert est.f_px == pytest.approx(f, rel=0.02)
    assert abs(refine_focal(X0, uv, w, C, H).f_px / f - 1) > 0.1


def test_missing_points_and_bad_shapes():
    f = fov_y_to_focal(45.0, H)
    X, uv, w, _ = scene(f, frames=10)
    w[:, 10:] = 0.0                          # 10 points left per frame
    assert refine_focal(X, uv, w, C, H).f_px == pytest.approx(f, rel=0.01)
    with pytest.raises(ValueError, match="detected points"):
        refine_focal(X, uv, np.zeros_like(w), C, H)
    with pytest.raises(ValueError, match="need X"):
        refine_focal(X[..., :2], uv, w, C, H)
