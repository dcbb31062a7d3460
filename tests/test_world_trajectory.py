"""Trajectory head (DESIGN 9): egocentric representation known answers, causality, training round trip."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mocap.models.world.trajectory import (TrajectoryNet, TrajectoryNetConfig, TrajectoryTracker,
                                           egocentric_from_world, features, heading_angle, load_trajectory_net,
                                           local_joints, mirror_motion, world_from_egocentric)
from mocap.models.world.transform import yaw_matrix

torch.set_num_threads(1)


def circle_walk(T: int = 80, fps: float = 30.0):
    t = np.arange(T) / fps
    ang = 0.6 * t
    root = np.stack([2 * np.sin(ang), 0.9 + 0.03 * np.sin(12 * t), 2 * np.cos(ang)], 1)
    lean = Rotation.from_rotvec(np.stack([0.1 * np.sin(6 * t), 0 * t, 0.05 * np.cos(6 * t)], 1)).as_matrix()
    R = yaw_matrix(ang + np.pi / 2) @ lean
    return root, R


def fake_joints(root: np.ndarray, R: np.ndarray, seed: int = 0) -> np.ndarray:
    """(T, 22, 3): a rigid random skeleton carried by the root, plus a small swing."""
    rng = np.random.default_rng(seed)
    offs = rng.normal(0, 0.3, (22, 3))
    offs[0] = 0
    T = root.shape[0]
    swing = 0.05 * np.sin(np.arange(T) / 3.0)[:, None, None] * rng.normal(0, 1, (1, 22, 3))
    swing[:, 0] = 0
    return root[:, None] + np.einsum("tij,tnj->tni", R, offs[None] + swing)


def test_heading_known_answers():
    assert heading_angle(np.eye(3)) == pytest.approx(0.0)
    assert heading_angle(yaw_matrix(0.3)) == pytest.approx(0.3)
    # Tilt about the body's own x axis does not change the heading.
    tilt = Rotation.from_rotvec([0.4, 0, 0]).as_matrix()
    assert heading_angle(yaw_matrix(-2.0) @ tilt) == pytest.approx(-2.0)


def test_straight_walk_known_psi():
    """Facing world +x (heading 90 deg) and walking 5 cm per frame along +x: forward (dz) = 0.05, dx = 0."""
    T = 10
    root = np.stack([0.05 * np.arange(T), np.full(T, 0.95), np.zeros(T)], 1)
    R = np.repeat(yaw_matrix(np.pi / 2)[None], T, 0)
    psi = egocentric_from_world(root, R)
    np.testing.assert_allclose(psi[1:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(psi[1:, 1], 0.05, atol=1e-12)
    np.testing.assert_allclose(psi[:, 2], 0.95)
    np.testing.assert_allclose(psi[:, 3], 0.0, atol=1e-12)
    np.testing.assert_allclose(psi[:, 4:], np.tile([1, 0, 0, 0, 1, 0], (T, 1)), atol=1e-12)   # no tilt
    np.testing.assert_allclose(psi[0, [0, 1, 3]], 0.0)


def test_turn_in_place_known_psi():
    T = 12
    h = 0.1 * np.arange(T) - 3.0               # crosses -pi: the change must be wrapped
    psi = egocentric_from_world(np.tile([0, 1.0, 0], (T, 1)), yaw_matrix(h))
    np.testing.assert_allclose(psi[1:, 3], 0.1, atol=1e-12)
    np.testing.assert_allclose(psi[:, :2], 0.0, atol=1e-12)


def test_round_trip_is_exact():
    root, R = circle_walk()
    psi = egocentric_from_world(root, R)
    root2, R2, h = world_from_egocentric(psi, root[0, [0, 2]], heading_angle(R[0]))
    np.testing.assert_allclose(root2, root, atol=1e-10)
    np.testing.assert_allclose(R2, R, atol=1e-10)


def test_features_ignore_where_and_which_way():
    """Moving and turning the whole sequence about the vertical leaves the net's input unchanged."""
    root, R = circle_walk()
    J = fake_joints(root, R)
    G = yaw_matrix(1.1)
    J2 = J @ G.T + np.array([3.0, 0.0, -1.0])
    R2 = G @ R
    np.testing.assert_allclose(features(J2, R2, 30.0), features(J, R, 30.0), atol=1e-5)
    np.testing.assert_allclose(features(J, R, 30.0)[0, 63:], 0.0)                   # no velocity on frame 0
    f_live = features(J[5:6], R[5:6], 30.0, prev_local=local_joints(J[4:5], R[4:5])[0])
    np.testing.assert_allclose(f_live, features(J, R, 30.0)[5:6], atol=1e-5)


def test_net_is_causal_and_steps_match_the_sequence():
    torch.manual_seed(0)
    net = TrajectoryNet(TrajectoryNetConfig(hidden=16, embed=16, skip=True)).eval()
    x = torch.randn(1, 20, 126)
    with torch.no_grad():
        full, _ = net(x)
        y = x.clone()
        y[:, 12:] += 5.0                      # change the future
        changed, _ = net(y)
        state = net.initial_state(1)
        steps = []
        for t in range(20):
            p, state = net(x[:, t:t + 1], state)
            steps.append(p)
    torch.testing.assert_close(changed[:, :12], full[:, :12])
    assert not torch.allclose(changed[:, 12:], full[:, 12:])
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_tracker_integrates_like_world_from_egocentric(tmp_path):
    torch.manual_seed(1)
    net = TrajectoryNet(TrajectoryNetConfig(hidden=8, embed=8))
    path = tmp_path / "t.pt"
    torch.save({"model": net.state_dict(), "net_config": {"hidden": 8, "embed": 8, "layers": 1, "fps": 30.0}}, path)
    net = load_trajectory_net(path)
    root, R = circle_walk(30)
    J = fake_joints(root, R)
    with torch.no_grad():
        psi, _ = net(torch.as_tensor(features(J, R, 30.0))[None])
    psi = psi[0].double().numpy()
    want_root, want_R, _ = world_from_egocentric(psi, np.array([0.5, -1.0]), 0.3)
    tr = TrajectoryTracker(net, start_xz=(0.5, -1.0), start_heading=0.3)
    for t in range(30):
        _, r, Rt = tr.step(J[t], R[t])
        np.testing.assert_allclose(r, want_root[t], atol=1e-5)
        np.testing.assert_allclose(Rt, want_R[t], atol=1e-5)


def test_load_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_trajectory_net(tmp_path / "missing.pt")
    torch.save({"weights": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a trajectory-head checkpoint"):
        load_trajectory_net(tmp_path / "x.pt")


def write_fake_proxy(path, n_seq: int = 3, T: int = 50, seed: int = 0) -> None:
    joints, go, starts = [], [], [0]
    for s in range(n_seq):
        root, R = circle_walk(T)
        joints.append(np.concatenate([fake_joints(root, R, seed + s), np.zeros((T, 33, 3))], 1))
        go.append(Rotation.from_matrix(R).as_rotvec())
        starts.append(starts[-1] + T)
    np.savez(path, joints_w=np.concatenate(joints).astype(np.float32), global_orient=np.concatenate(go).astype(np.float32),
             seq_start=np.array(starts), fps=np.full(n_seq, 30.0, np.float32))


def test_training_runs_checkpoints_and_resumes(tmp_path):
    from mocap.models.world.train_trajectory import TrainConfig, train
    write_fake_proxy(tmp_path / "proxy_train.npz")
    write_fake_proxy(tmp_path / "proxy_val.npz", seed=7)
    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), crop=40, batch=4, max_steps=4, val_every=2,
                      hidden=8, embed=8)
    best = train(cfg)
    assert best.is_file() and (tmp_path / "run" / "last.pt").is_file()
    net = load_trajectory_net(best)
    assert net.config.hidden == 8
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert ck["step"] == 4
    train(TrainConfig(**{**cfg.__dict__, "max_steps": 6}))           # resumes at step 4
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=False)["step"] == 6
    with pytest.raises(ValueError, match="crop >= 2"):
        TrainConfig(crop=1)


def test_onnx_step_matches_pytorch_with_state_carried(tmp_path):
    from mocap.export.trajectory import max_abs_diff, torch2onnx_trajectory, trajectory_onnx, TOLERANCE
    from mocap.engines.base import EngineError
    torch.manual_seed(2)
    net = TrajectoryNet(TrajectoryNetConfig(hidden=12, embed=10, skip=True, height_prior=True)).eval()
    (tmp_path / "a dir").mkdir()
    path = torch2onnx_trajectory(net, tmp_path / "a dir" / "t.onnx")
    assert max_abs_diff(path, net, frames=20) <= TOLERANCE
    # The state input matters: a net whose state is ignored would pass a single-frame check only.
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((1, 126), np.float32)
    a = sess.run(None, {"features": x, "state": np.zeros((1, 1, 12), np.float32)})[0]
    b = sess.run(None, {"features": x, "state": np.ones((1, 1, 12), np.float32)})[0]
    assert np.abs(a - b).max() > 1e-4
    ck = tmp_path / "c.pt"
    torch.save({"model": net.state_dict(), "net_config": {"hidden": 12, "embed": 10, "layers": 1, "fps": 30.0, "skip": True,
                                                       "height_prior": True}}, ck)
    cached, diff = trajectory_onnx(ck, tmp_path / "cache")
    assert diff is not None and diff <= TOLERANCE
    assert trajectory_onnx(ck, tmp_path / "cache") == (cached, None)        # reused
    with pytest.raises(EngineError, match="not found"):
        trajectory_onnx(tmp_path / "nope.pt", tmp_path / "cache")


def test_mirror_is_an_involution_and_flips_turns():
    root, R = circle_walk()
    J = fake_joints(root, R)
    Jm, Rm = mirror_motion(J, R)
    J2, R2 = mirror_motion(Jm, Rm)
    np.testing.assert_allclose(J2, J[:, :22], atol=1e-12)
    np.testing.assert_allclose(R2, R, atol=1e-12)
    psi, psi_m = egocentric_from_world(root, R), egocentric_from_world(Jm[:, 0], Rm)
    np.testing.assert_allclose(psi_m[:, 3], -psi[:, 3], atol=1e-12)       # a left turn becomes a right turn
    np.testing.assert_allclose(psi_m[:, 0], -psi[:, 0], atol=1e-12)
    np.testing.assert_allclose(psi_m[:, [1, 2]], psi[:, [1, 2]], atol=1e-12)
    assert np.allclose(np.linalg.det(Rm), 1.0)


def test_training_cli_with_augmentation(tmp_path):
    from mocap.models.world.train_trajectory import main as train_main
    write_fake_proxy(tmp_path / "proxy_train.npz")
    write_fake_proxy(tmp_path / "proxy_val.npz", seed=7)
    assert train_main(["--data", str(tmp_path), "--out", str(tmp_path / "r"), "--crop", "30", "--batch", "4",
                       "--max-steps", "2", "--val-every", "1", "--hidden", "8", "--embed", "8", "--mirror",
                       "--input-noise-m", "0.01", "--smooth-weight", "1", "--dropout", "0.1", "--skip",
                       "--ship-to", str(tmp_path / "shipped.pt")]) == 0
    shipped = torch.load(tmp_path / "shipped.pt", weights_only=True)
    assert "optimizer" not in shipped and load_trajectory_net(tmp_path / "shipped.pt").skip is not None
    ck = torch.load(tmp_path / "r" / "best.pt", weights_only=False)
    assert ck["train_config"]["mirror"] is True and ck["net_config"]["dropout"] == 0.1
    net = load_trajectory_net(tmp_path / "r" / "best.pt")
    assert net.skip is not None


def test_height_prior_is_the_lowest_joint_below_the_root():
    """With the learnt part zeroed, the height output is exactly -min_j (J_j - J_root)_y."""
    net = TrajectoryNet(TrajectoryNetConfig(hidden=8, embed=8, height_prior=True)).eval()
    with torch.no_grad():
        for p in net.out.parameters():
            p.zero_()
    root, R = circle_walk(20)
    J = fake_joints(root, R)
    with torch.no_grad():
        psi, _ = net(torch.as_tensor(features(J, R, 30.0))[None])
    want = -(J[:, 1:22, 1] - J[:, :1, 1]).min(1)
    np.testing.assert_allclose(psi[0, :, 2].double().numpy(), want, atol=1e-5)
    np.testing.assert_allclose(psi[0, :, [0, 1, 3]].double().numpy(), 0.0, atol=1e-7)


def test_shipped_weights_load_run_and_export(tmp_path):
    from mocap.export.trajectory import TOLERANCE, max_abs_diff, torch2onnx_trajectory
    from mocap.models.world.trajectory import DEFAULT_WEIGHTS
    net = load_trajectory_net(DEFAULT_WEIGHTS)
    assert net.config.fps == 30.0 and net.config.height_prior
    root, R = circle_walk(60)
    J = fake_joints(root, R)
    tr = TrajectoryTracker(net, start_xz=root[0, [0, 2]], start_heading=float(heading_angle(R[0])))
    for t in range(60):
        psi, r, Rt = tr.step(J[t], R[t])
        assert np.all(np.isfinite(psi)) and np.allclose(Rt.T @ Rt, np.eye(3), atol=1e-5)
    assert max_abs_diff(torch2onnx_trajectory(net, tmp_path / "t.onnx"), net, frames=30) <= TOLERANCE


def write_fake_nets(proxy_path, nets_path, seed: int = 0) -> None:
    """Add a camera rotation to a fake proxy and write a fake 3D nets' output for it (random small poses,
    some frames without a body), the format of evaluate_trajectory.nets_on_proxies."""
    with np.load(proxy_path) as z:
        d = dict(z)
    N = d["joints_w"].shape[0]
    d["R_w2c"] = np.repeat(np.diag([1.0, -1.0, -1.0])[None], N, 0).astype(np.float32)
    np.savez(proxy_path, **d)
    rng = np.random.default_rng(seed)
    poses = (rng.normal(0, 0.1, (N, 165))).astype(np.float32)
    valid = rng.random(N) > 0.1
    np.savez(nets_path, poses=poses, root_c=np.zeros((N, 3), np.float32), betas=np.zeros((N, 10), np.float32),
             contacts=np.zeros((N, 4), np.float32), valid=valid)


def test_training_on_the_nets_poses_with_fast_crops_oversampled(tmp_path):
    import json

    from mocap.models.world.train_trajectory import TrainConfig, prepare_split, train
    write_fake_proxy(tmp_path / "proxy_train.npz")
    write_fake_proxy(tmp_path / "proxy_val.npz", seed=7)
    write_fake_nets(tmp_path / "proxy_train.npz", tmp_path / "nets_train.npz")
    write_fake_nets(tmp_path / "proxy_val.npz", tmp_path / "nets_val.npz", seed=1)
    with np.load(tmp_path / "nets_train.npz") as z:
        d = prepare_split(tmp_path / "proxy_train.npz", mirror=True, nets=dict(z))
    assert d["feats_nets"].shape == d["feats"].shape == (300, 126)
    assert not np.allclose(d["feats_nets"], d["feats"])
    cfg = TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), crop=40, batch=4, max_steps=3, val_every=1,
                      hidden=8, embed=8, mirror=True, nets_train=str(tmp_path / "nets_train.npz"),
                      nets_val=str(tmp_path / "nets_val.npz"), nets_fraction=0.5, fast_speed=0.5, fast_weight=5.0)
    train(cfg)
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    v = hist[-1]["val"]
    assert v["total"] == pytest.approx(0.5 * v["true_total"] + 0.5 * v["nets_total"])
    stats = json.loads((tmp_path / "run" / "data_stats.json").read_text())
    assert stats["uniform"]["crops"] > 0 and 0 <= stats["fast_crop_share_sampled"] <= 1
    with pytest.raises(ValueError, match="nets_fraction"):
        TrainConfig(nets_fraction=1.5)


def test_crop_speeds_and_weighted_crops():
    from mocap.models.world.train_trajectory import crop_speeds, crop_start_weights, sample_crops
    rng = np.random.default_rng(0)
    lengths = [200, 50, 130]
    starts = np.r_[0, np.cumsum(lengths)]
    root = np.cumsum(rng.normal(0, 0.05, (starts[-1], 3)), 0)
    data = {"seq_start": starts, "fps": np.full(3, 30.0), "joints_w": root[:, None]}
    v = crop_speeds(data, 120)
    for s, e in zip(starts[:-1], starts[1:]):
        m = min(e - s - 1, 30)
        for f in range(s, s + max(1, e - s - 120 + 1)):            # brute force: top 1 s speed in the crop
            r = root[f:min(f + 120, e)][:, [0, 2]]
            assert v[f] == pytest.approx(np.linalg.norm(r[m:] - r[:-m], axis=1).max() * 30 / m)
    w, speed = crop_start_weights(data, 120, fast_speed=float(np.median(v[v > 0])), fast_weight=3.0)
    assert set(np.unique(w)) <= {0.0, 1.0, 3.0}
    assert w[200] > 0 and w[201] == 0 and w[81] == 0 and w[80] > 0   # one start in the short sequence
    idx, mask = sample_crops(rng, starts, 120, 64, w)
    assert np.all(w[idx[:, 0]] > 0)
    short = idx[:, 0] == 200
    assert np.all(mask[short].sum(1) == 50) and np.all(mask[~short].sum(1) == 120)


def test_shipped_config_has_no_machine_paths():
    from mocap.models.world.train_trajectory import scrub_paths
    out = scrub_paths({"data": "/home/x/proxy", "out": "/tmp/r/v4", "nets_train": "/data/c/nets_train.npz",
                       "nets3d": "", "ship_to": "models/world/data/t.pt", "seed": 0})
    assert out == {"data": "PROXY_DIR", "out": "runs/v4", "nets_train": "CACHE/nets_train.npz", "nets3d": "",
                   "ship_to": "models/world/data/t.pt", "seed": 0}
    from mocap.models.world.trajectory import DEFAULT_WEIGHTS
    cfg = torch.load(DEFAULT_WEIGHTS, weights_only=True)["train_config"]
    assert not any(isinstance(v, str) and v.startswith("/") for v in cfg.values())

