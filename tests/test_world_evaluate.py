"""Trajectory evaluation: metric and baseline known answers; the CLI on a tiny fake split."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.models.world.evaluate_trajectory import constant_velocity, evaluate, window_metrics, write_report
from mocap.models.world.transform import yaw_matrix

FPS = 30.0


def straight_walk(T=120, v=1.2, heading=0.4):
    """Constant velocity along the heading, a rigid random body: (joints (T, 22, 3), R (T, 3, 3))."""
    rng = np.random.default_rng(0)
    offs = rng.normal(0, 0.3, (22, 3))
    offs[0] = 0
    R = np.repeat(yaw_matrix(heading)[None], T, 0)
    d = np.array([np.sin(heading), 0, np.cos(heading)])
    root = np.array([1.0, 0.9, -2.0]) + np.arange(T)[:, None] / FPS * v * d
    return root[:, None] + np.einsum("tij,nj->tni", R, offs), R


def test_constant_velocity_is_exact_on_a_constant_velocity_walk():
    J, R = straight_walk()
    root_cv, R_cv = constant_velocity(J[:, 0], R, 15, 90, 15)
    m = window_metrics(J[15:105], root_cv, R_cv, R[15:105], FPS)
    for k in ("g_mpjpe_mm", "root_err_m", "drift_m", "heading_err_deg", "height_err_mm"):
        assert m[k] == pytest.approx(0.0, abs=1e-9)
    assert m["accel_err_mps2"] == pytest.approx(0.0, abs=1e-6)
    root_st, R_st = constant_velocity(J[:, 0], R, 15, 90, 15, still=True)
    m = window_metrics(J[15:105], root_st, R_st, R[15:105], FPS)
    assert m["drift_m"] == pytest.approx(1.2 * 89 / FPS)          # standing still falls behind by v t
    assert m["root_err_m"] == pytest.approx(1.2 * 44.5 / FPS)      # mean of v t over the window
    assert m["g_mpjpe_mm"] == pytest.approx(1000 * 1.2 * 44.5 / FPS)


def test_heading_error_known_answer():
    J, R = straight_walk(T=10)
    m = window_metrics(J, J[:, 0], np.repeat(yaw_matrix(0.4 + np.radians(10))[None], 10, 0), R, FPS)
    assert m["heading_err_deg"] == pytest.approx(10.0)
    assert m["root_err_m"] == 0.0


def test_evaluate_and_report_on_a_fake_split(tmp_path):
    from test_world_trajectory import write_fake_proxy
    from mocap.models.world.trajectory import TrajectoryNet, TrajectoryNetConfig
    write_fake_proxy(tmp_path / "proxy_val.npz", n_seq=2, T=120)
    net = TrajectoryNet(TrajectoryNetConfig(hidden=8, embed=8))
    torch.save({"model": net.state_dict(), "net_config": {"hidden": 8, "embed": 8, "layers": 1, "fps": 30.0}},
               tmp_path / "w.pt")
    r = evaluate(tmp_path / "w.pt", tmp_path, window_s=2.0, stride_s=1.0, extra={"same net": tmp_path / "w.pt"})
    assert r["sequences"] == 2 and r["windows"] == 2 * 2
    assert set(r["methods"]) == {"trajectory head (GRU)", "same net", "constant velocity", "standing still"}
    assert r["methods"]["same net"] == r["methods"]["trajectory head (GRU)"]
    md = write_report([r], tmp_path / "rep", str(tmp_path / "w.pt"), str(tmp_path)).read_text()
    assert "| constant velocity |" in md
    with pytest.raises(ValueError, match="no validation sequence is longer"):
        evaluate(tmp_path / "w.pt", tmp_path, window_s=10.0)


def test_camera_root_world_inverts_known_extrinsics_and_holds_lost_frames():
    from mocap.models.world.evaluate_trajectory import camera_root_world
    from mocap.models.world.stage import rotmat_to_axis_angle

    J, R = straight_walk(T=6)
    R_w2c = np.repeat(yaw_matrix(2.0)[None] @ np.diag([1.0, -1.0, -1.0]), 6, 0)
    t_w2c = np.tile([0.1, 1.2, 4.0], (6, 1))
    root_c = np.einsum("tij,tj->ti", R_w2c, J[:, 0]) + t_w2c
    poses = np.zeros((6, 165))
    poses[:, :3] = [rotmat_to_axis_angle(R_w2c[t] @ R[t]) for t in range(6)]
    valid = np.array([False, True, True, False, True, True])
    root_w, R_w = camera_root_world({"root_c": root_c, "poses": poses, "valid": valid}, R_w2c, t_w2c)
    expect = J[[1, 1, 2, 2, 4, 5], 0]                    # before the first body: the first; lost: the last
    np.testing.assert_allclose(root_w, expect, atol=1e-9)
    np.testing.assert_allclose(R_w, R[[1, 1, 2, 2, 4, 5]], atol=1e-9)


def test_speed_ratio_known_answers():
    J, R = straight_walk(T=120, v=1.2)
    root_cv, R_cv = constant_velocity(J[:, 0], R, 15, 90, 15)
    assert window_metrics(J[15:105], root_cv, R_cv, R[15:105], FPS)["speed_ratio"] == pytest.approx(1.0)
    half = J[15, 0] + 0.5 * (J[15:105, 0] - J[15, 0])
    assert window_metrics(J[15:105], half, R[15:105], R[15:105], FPS)["speed_ratio"] == pytest.approx(0.5)
    J0, R0 = straight_walk(T=30, v=0.3)                              # too slow to have a ratio
    assert np.isnan(window_metrics(J0, J0[:, 0], R0, R0, FPS)["speed_ratio"])
