"""World display smoothing: the One Euro filter's lag matches the documented formula; rotations stay rotations."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.models.world.smoothing import DisplaySmoother, DisplaySmoothingOptions, one_euro_lag_s

FPS = 30.0
NS = int(1e9 / FPS)


@pytest.mark.parametrize("speed", [0.05, 1.0, 3.0])
def test_ramp_lag_matches_the_formula(speed):
    o = DisplaySmoothingOptions()
    sm = DisplaySmoother(o)
    for n in range(300):
        x = np.array([[speed * n / FPS, 0.9, 0.0]])
        y, _ = sm.apply(n * NS, x)
    lag_measured = (x[0, 0] - y[0, 0]) / speed
    assert lag_measured == pytest.approx(one_euro_lag_s(o.min_cutoff_hz, o.beta, speed), rel=0.02)


def test_documented_lags():
    assert one_euro_lag_s(1.0, 1.0, 0.0) == pytest.approx(0.159, abs=1e-3)
    assert one_euro_lag_s(1.0, 1.0, 1.0) == pytest.approx(0.080, abs=1e-3)
    assert one_euro_lag_s(1.0, 1.0, 3.0) == pytest.approx(0.040, abs=1e-3)


def test_noise_is_reduced_and_rotations_stay_orthonormal():
    rng = np.random.default_rng(0)
    sm = DisplaySmoother()
    R0 = Rotation.from_rotvec([0.3, -0.2, 1.0]).as_matrix()
    ys, rs = [], []
    for n in range(200):
        noisy = np.array([[1.0, 0.9, 2.0]]) + rng.normal(0, 0.01, (1, 3))
        Rn = Rotation.from_rotvec(rng.normal(0, 0.02, 3)).as_matrix() @ R0
        y, R = sm.apply(n * NS, noisy, Rn[None])
        ys.append(y[0])
        rs.append(R[0])
    ys, rs = np.array(ys[50:]), np.array(rs[50:])
    assert ys.std(0).max() < 0.01 / 2          # 1 cm of jitter: at least halved (about 0.36x expected)
    np.testing.assert_allclose(np.einsum("nji,njk->nik", rs, rs), np.broadcast_to(np.eye(3), rs.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rs), 1.0, atol=1e-9)
    assert np.degrees(np.abs(Rotation.from_matrix(rs @ R0.T).magnitude())).mean() < 1.0


def test_first_frame_after_reset_and_disabled_pass_through():
    sm = DisplaySmoother()
    sm.apply(0, np.zeros((1, 3)))
    sm.apply(NS, np.zeros((1, 3)))
    sm.reset()
    y, _ = sm.apply(2 * NS, np.ones((1, 3)))
    np.testing.assert_allclose(y, 1.0)
    off = DisplaySmoother(DisplaySmoothingOptions(enabled=False))
    np.testing.assert_allclose(off.apply(0, np.ones((2, 3)))[0], 1.0)
    np.testing.assert_allclose(off.apply(NS, np.zeros((2, 3)))[0], 0.0)
    with pytest.raises(ValueError, match="cutoffs must be > 0"):
        DisplaySmoothingOptions(min_cutoff_hz=0)
