"""Detector-consistent K67 points: the bundled regressor, its mesh check, and the fitting maths."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.models.body.detector_points import (
    DEFAULT_REGRESSOR_PATH, MEAN_SLOTS, DetectorPoints, VertexRegressor, dlt_rows, fit_sparse_regressor, mesh_hash,
)
from mocap.models.body.render import intrinsics, look_at
from mocap.models.body.smplx_model import DEFAULT_MODEL_PATH, SmplxModel, load_body_model
from mocap.models.keypoints import NUM_K67

# How far a detector-consistent point may sit from the model's own point (the measured offsets
# are a few cm; 8 cm would mean a wrong vertex, e.g. the other side of the body).
_NEAR_MODEL_M = 0.08
_WEIGHT_TOL = 1e-5


@pytest.fixture(scope="module")
def model() -> SmplxModel:
    return load_body_model()


@pytest.fixture(scope="module")
def regressor() -> VertexRegressor:
    return VertexRegressor.read(DEFAULT_REGRESSOR_PATH)


def test_bundled_regressor_is_small_sparse_and_convex(regressor, model):
    assert DEFAULT_REGRESSOR_PATH.stat().st_size < 64 * 1024
    assert regressor.indices.shape == regressor.weights.shape and regressor.indices.shape[0] == NUM_K67
    assert regressor.indices.shape[1] <= 16
    assert regressor.fitted.sum() >= 25        # at least the body points the detector sees
    w = regressor.weights[regressor.fitted]
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(1), 1.0, atol=_WEIGHT_TOL)
    assert (regressor.weights[~regressor.fitted] == 0).all()
    assert regressor.indices.min() >= 0 and regressor.indices.max() < model.num_vertices
    for k, (a, b) in MEAN_SLOTS.items():        # Neck, MidHip: the mean of the pair's rows
        if regressor.fitted[k]:
            assert regressor.fitted[a] and regressor.fitted[b]


def test_points_are_near_the_models_own_points(model):
    points_fn = DetectorPoints.load(model)
    g = torch.Generator().manual_seed(0)
    body_pose = 0.2 * torch.randn(3, 21, 3, generator=g)
    betas = torch.randn(3, 10, generator=g)
    with torch.no_grad():
        out = model(body_pose=body_pose, betas=betas, transl=torch.tensor([[0.0, 0.0, 3.0]] * 3))
        pts = points_fn(out)
    assert pts.shape == (3, NUM_K67, 3) and pts.dtype == out.k67.dtype
    dist = (pts - out.k67).norm(dim=-1)
    assert dist.max() < _NEAR_MODEL_M, f"max {dist.max():.3f} m at slot {int(dist.max(0).values.argmax())}"
    fitted = torch.as_tensor(points_fn.regressor.fitted)
    assert torch.equal(pts[:, ~fitted], out.k67[:, ~fitted])     # unfitted slots: the model's points


def test_refuses_another_mesh(model, regressor):
    with np.load(DEFAULT_MODEL_PATH, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["v_template"] = arrays["v_template"] * 1.01          # same topology, another mesh
    other = SmplxModel(arrays, model_name="other")
    with pytest.raises(ValueError, match="hashes to"):
        DetectorPoints(regressor, other)
    small = VertexRegressor(regressor.indices % 100, regressor.weights, regressor.fitted, 100, "0" * 16)
    with pytest.raises(ValueError, match="100-vertex mesh"):
        DetectorPoints(small, model)


def test_mesh_hash_ignores_dtype(model):
    assert mesh_hash(model.v_template) == mesh_hash(model.v_template.double())


def test_save_read_round_trip(tmp_path, regressor):
    folder = tmp_path / "dir with space"
    folder.mkdir()
    path = regressor.save(folder / "r.npz")
    back = VertexRegressor.read(path)
    np.testing.assert_array_equal(back.indices, regressor.indices)
    np.testing.assert_allclose(back.weights, regressor.weights, atol=1e-7)
    assert back.v_template_hash == regressor.v_template_hash
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a K67 detector regressor"):
        VertexRegressor.read(tmp_path / "bad.npz")


def test_fit_recovers_a_known_convex_combination():
    """Points built as known combinations of vertices, seen by random cameras, are recovered."""
    rng = np.random.default_rng(0)
    M, N = 30, 60
    rest = rng.normal(0, 0.1, (M, 3))                             # candidate vertices, metres
    true_idx = np.array([3, 11, 20])
    true_w = np.array([0.5, 0.3, 0.2])
    K = intrinsics(40, 640, 480)
    pc = np.empty((N, M, 3))
    uv = np.empty((N, 2))
    for n in range(N):
        # a random rigid motion plus a small non-rigid jitter (posing), then a camera at 3 m
        verts = rest @ _random_rotation(rng).T + rng.normal(0, 0.01, (M, 3))
        R, t = look_at(3.0 * _unit(rng), (0.0, 0.0, 0.0))
        pc[n] = verts @ R.T + t
        p = (true_w[:, None] * pc[n, true_idx]).sum(0)
        uv[n] = (K @ p)[:2] / p[2]
    A = dlt_rows(pc, uv, K, np.ones(N)).reshape(-1, M)
    sel, w = fit_sparse_regressor(A, rest, prior=np.zeros(3), prior_weight=1e-3)
    got = np.zeros(M)
    got[sel] = w
    want = np.zeros(M)
    want[true_idx] = true_w
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_dlt_rows_are_pixel_errors():
    """With sum w = 1 and one depth, a row times w is exactly the pixel error times the scale."""
    K = intrinsics(50, 640, 480)
    pc = np.array([[[0.1, -0.2, 2.0], [0.3, 0.1, 2.0]]])           # (1, 2, 3) equal depths
    w = np.array([0.25, 0.75])
    p = (w[:, None] * pc[0]).sum(0)
    uv_true = (K @ p)[:2] / p[2]
    target = uv_true + np.array([3.0, -4.0])
    r = np.einsum("nrm,m->nr", dlt_rows(pc, target[None], K, np.array([2.0])), w)
    np.testing.assert_allclose(r[0], -2.0 * np.array([3.0, -4.0]), atol=1e-9)


def _unit(rng) -> np.ndarray:
    v = rng.normal(size=3)
    v[1] = 0.3 * abs(v[1])
    return v / np.linalg.norm(v)


def _random_rotation(rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q
