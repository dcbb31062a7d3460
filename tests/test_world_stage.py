"""The world stage (models/world/stage.py), foot pinning and metrics (models/world/feet.py), the world take."""
from __future__ import annotations

import numpy as np
import pytest

from mocap.app.take import Take, load_take, save_take
from mocap.models.body.smplx_model import load_body_model
from mocap.models.camera import look_at
from mocap.models.world.feet import FootMetrics, FootPinner, PinOptions, foot_metrics
from mocap.models.world.stage import BodyRig, WorldOptions, WorldStage, rotmat_to_axis_angle
from mocap.models.world.trajectory import DEFAULT_WEIGHTS, load_trajectory_net
from mocap.models.world.transform import yaw_matrix

FPS = 30.0


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.fixture(scope="module")
def rig(model):
    return BodyRig.from_model(model)


def test_rig_matches_the_body_model(model, rig):
    import torch

    rng = np.random.default_rng(0)
    poses, betas = rng.normal(0, 0.3, 165), rng.normal(0, 1, 10)
    J, pts, R = rig.forward(poses, betas)
    dt = model.v_template.dtype
    with torch.no_grad():
        out = model(betas=torch.tensor(betas[None], dtype=dt), global_orient=torch.tensor(poses[None, :3], dtype=dt),
                    body_pose=torch.tensor(poses[None, 3:66], dtype=dt))
    ref = out.joints[0, :22].double().numpy()
    np.testing.assert_allclose(J, ref - ref[0], atol=1e-6)
    np.testing.assert_allclose(rig.root_joint(betas), ref[0], atol=1e-6)   # SMPL-X turns about the root joint
    # contact points ride on the ankles / toe joints; a flat rest foot has them 2-4 cm above the sole
    assert np.all((rig.contact_heights > 0.01) & (rig.contact_heights < 0.06))
    assert np.linalg.norm(pts[0] - J[7]) < 0.1 and np.linalg.norm(pts[1] - J[10]) < 0.1


def _scene(rig, R_w2c, t_w2c, R_root_w, root_w, T):
    """Camera-space inputs of a rest-pose body (poses, root_c) for world truth and cameras (T frames)."""
    R_w2c = np.broadcast_to(R_w2c, (T, 3, 3))
    t_w2c = np.broadcast_to(t_w2c, (T, 3))
    poses = np.zeros((T, 165))
    root_c = np.zeros((T, 3))
    for i in range(T):
        poses[i, :3] = rotmat_to_axis_angle(R_w2c[i] @ R_root_w[i])
        root_c[i] = R_w2c[i] @ root_w[i] + t_w2c[i]
    return poses, root_c


def _standing_height(rig):
    _, pts, _ = rig.forward(np.zeros(165), np.zeros(10))
    return rig.contact_heights[0] - pts[0, 1]     # root height that puts the rest soles on y = 0


def _arc_walk(rig, T):
    """A rest-pose body walking an arc on the ground (root_w (T, 3), R_root_w (T, 3, 3)) and a camera 1.5 m
    up, pitched and rolled, looking at it (R_w2c, t_w2c)."""
    ang = 0.4 * np.arange(T) / FPS
    root_w = np.stack([3 * np.sin(ang), np.full(T, _standing_height(rig)), 1 + 3 * (1 - np.cos(ang))], 1)
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([0.0, 1.5 - np.tan(0.25) * 4, 4.0]), 0.05)
    return root_w, yaw_matrix(ang + 0.3), R_w2c, t_w2c


def test_static_camera_recovers_the_world_and_the_camera(rig):
    """A body walking an arc seen by a static, pitched and rolled camera: the stage's world (origin under
    the camera, heading along its optical axis: the truth's gauge here) is recovered to 1e-6 m once the
    ground is fitted (from the third frame), and the camera pose with it."""
    T = 90
    root_w, R_root_w, R_w2c, t_w2c = _arc_walk(rig, T)
    poses, root_c = _scene(rig, R_w2c, t_w2c, R_root_w, root_w, T)
    stage = WorldStage(rig, FPS, WorldOptions(pin=False))
    frames = stage.run(poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    err = np.array([np.linalg.norm(f.root_w - root_w[i]) for i, f in enumerate(frames)])
    assert err[2:].max() < 1e-6, err
    assert stage.fitted and stage.plane.constrained == "none" and abs(stage.plane.d - 1.5) < 1e-6
    np.testing.assert_allclose(frames[-1].R_w2c, R_w2c, atol=1e-6)
    np.testing.assert_allclose(frames[-1].t_w2c, t_w2c, atol=1e-6)
    for i in (5, T - 1):   # the world root orientation and the soles on the ground
        np.testing.assert_allclose(frames[i].R_root_w, R_root_w[i], atol=1e-6)
        assert np.all(np.abs(frames[i].contacts_w[:, 1] - rig.contact_heights) < 1e-6)
    # a second stage with that plane fixed is exact from the first frame
    fixed = WorldStage(rig, FPS, WorldOptions(pin=False, fixed_plane=stage.plane))
    f0 = fixed.step(poses[0], np.zeros(10), root_c[0], np.ones(4))
    assert np.linalg.norm(f0.root_w - root_w[0]) < 1e-6


def test_frames_without_a_body_hold_the_last_world_frame(rig):
    stage = WorldStage(rig, FPS, WorldOptions(pin=False))
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([0.0, 1.0, 4.0]))
    poses, root_c = _scene(rig, R_w2c, t_w2c, yaw_matrix(np.zeros(3)),
                           np.array([[0, _standing_height(rig), 3.0]] * 3), 3)
    a = stage.step(poses[0], np.zeros(10), root_c[0], np.ones(4))
    b = stage.step(poses[1] * 0 + 5, np.zeros(10), root_c[1] + 9, np.zeros(4), valid=False)
    assert a.valid and not b.valid
    np.testing.assert_array_equal(a.root_w, b.root_w)
    np.testing.assert_array_equal(a.joints_w, b.joints_w)


def test_moving_camera_follows_a_pan_and_reprojects_the_body(rig):
    """A standing body filmed by a camera panning +-17 degrees: the moving-camera stage (trajectory head,
    no camera evidence of the pan) keeps the body nearly still in the world and recovers the pan in the
    camera's world yaw; the recovered camera maps the world body exactly onto the camera-space body."""
    T = 90
    t = np.arange(T) / FPS
    pan = 0.3 * np.sin(2 * t)
    R_w2c, t_w2c = look_at(np.tile([0, 1.5, 0.0], (T, 1)), np.stack([4 * np.sin(pan), np.ones(T), 4 * np.cos(pan)], 1))
    root_w = np.tile([0.5, _standing_height(rig), 4.0], (T, 1))
    poses, root_c = _scene(rig, R_w2c, t_w2c, np.repeat(yaw_matrix(2.5)[None], T, 0), root_w, T)
    stage = WorldStage(rig, FPS, WorldOptions(camera="moving", pin=False), load_trajectory_net(DEFAULT_WEIGHTS))
    frames = stage.run(poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    roots = np.array([f.root_w for f in frames])
    assert np.linalg.norm(roots - roots[0], axis=1).max() < 0.4     # dead reckoning of a still body
    fwd = np.array([f.R_w2c[2] for f in frames])
    yaw = np.arctan2(fwd[:, 0], fwd[:, 2])
    assert np.degrees(np.abs((yaw - yaw[0]) - (pan - pan[0]))).max() < 20
    assert np.degrees(np.ptp(yaw)) > 25                                # the pan (34 degrees) is seen
    for i in (0, 40, T - 1):
        J_c, _, _ = rig.forward(poses[i], np.zeros(10))
        np.testing.assert_allclose(frames[i].joints_w @ frames[i].R_w2c.T + frames[i].t_w2c, J_c + root_c[i],
                                   atol=1e-9)
    with pytest.raises(ValueError, match="trajectory head"):
        WorldStage(rig, FPS, WorldOptions(camera="moving"))


# ----------------------------------------------------------------------------- metrics


def _feet_track(T, toe_y, ankle_y, vx):
    """(T, 22, 3) joints: both feet with the given heights and horizontal speed (m/s), the rest at 1 m."""
    J = np.ones((T, 22, 3))
    x = np.cumsum(np.full(T, vx / FPS))
    for ankle, toe in ((7, 10), (8, 11)):
        J[:, ankle] = np.stack([x, np.full(T, ankle_y), np.zeros(T)], 1)
        J[:, toe] = np.stack([x, np.full(T, toe_y), np.full(T, 0.15)], 1)
    return J


def test_foot_metrics_known_answers():
    # feet on the floor, sliding at 0.3 m/s: every contact frame skates
    m = foot_metrics(_feet_track(31, 0.03, 0.08, 0.3), FPS)
    assert (m.contact_frames, m.skating_frames, m.skating_ratio) == (60, 60, 1.0)
    # sliding at 0.05 m/s (below 10 cm/s): contact, no skating
    m = foot_metrics(_feet_track(31, 0.03, 0.08, 0.05), FPS)
    assert (m.contact_frames, m.skating_ratio) == (60, 0.0)
    # ankle too high (0.2 m > 0.15 m): no contact at all
    m = foot_metrics(_feet_track(31, 0.03, 0.20, 0.3), FPS)
    assert (m.contact_frames, m.skating_ratio) == (0, 0.0)
    # half sliding, half still
    J = np.concatenate([_feet_track(11, 0.03, 0.08, 0.3), _feet_track(10, 0.03, 0.08, 0.0) + [0.1, 0, 0]])
    J[11:, :, 0] = J[10, :, 0]
    m = foot_metrics(J, FPS)
    assert m.contact_frames == 40 and m.skating_frames == 20 and m.skating_ratio == 0.5
    # penetration: toes 1 cm below the ground in half the frames -> mean 5 mm, max 10 mm
    J = _feet_track(20, 0.03, 0.08, 0.0)
    J[::2, [10, 11], 1] = -0.01
    m = foot_metrics(J, FPS)
    assert m.penetration_mm == pytest.approx(5.0) and m.max_penetration_mm == pytest.approx(10.0)
    assert isinstance(m, FootMetrics) and set(m.as_dict()) >= {"skating_ratio", "penetration_mm"}
    with pytest.raises(ValueError):
        foot_metrics(np.zeros((5, 4, 3)), FPS)


def test_pinner_stops_a_sliding_contact_foot():
    """A foot point on the floor sliding at 0.5 m/s with contact probability 1: pinned, it moves at most
    the pull speed (5 cm/s); released (probability 0; the support prior off, else the lowest point on the
    floor stays a contact) the correction returns to zero at that speed."""
    pin = FootPinner(FPS, PinOptions(support=False))
    T = 60
    pts = np.zeros((T, 2, 3))
    pts[:, 0, 0] = 0.5 * np.arange(T) / FPS            # sliding heel
    pts[:, 1, 0] = 0.5 * np.arange(T) / FPS + 0.2      # sliding toe
    out = []
    for i in range(T):
        off, pinned = pin.step(pts[i], np.ones(2))
        assert pinned.all()
        out.append(pts[i] + off)
    out = np.array(out)
    speed = np.linalg.norm(np.diff(out[:, :, [0, 2]], axis=0), axis=2) * FPS
    assert speed.max() <= 0.05 + 1e-9
    assert np.abs(out[:, :, 1]).max() < 1e-12
    for i in range(30):   # released: back towards the raw track at 5 cm/s
        off, pinned = pin.step(pts[-1], np.zeros(2))
    assert not pinned.any()
    assert np.linalg.norm(off) == pytest.approx(max(0.0, abs(out[-1, 0, 0] - pts[-1, 0, 0]) - 30 * 0.05 / FPS), abs=1e-9)


def test_support_prior_pins_the_lowest_low_foot_whatever_the_nets_say():
    """Probability 0 everywhere: the lowest point counts as a contact while it is below the contact height
    (a walker always has a foot down) and holds still; lifted above it (a flight phase) it is free."""
    T = 20
    pts = np.zeros((T, 2, 3))
    pts[:, :, 0] = 0.3 * np.arange(T)[:, None] / FPS    # both points drift at 0.3 m/s (the nets' jitter)
    pts[:, 0, 1], pts[:, 1, 1] = 0.02, 0.25              # one point on the floor, one in the air
    pin = FootPinner(FPS, PinOptions())
    out = []
    for i in range(T):
        off, pinned = pin.step(pts[i], np.zeros(2))
        assert pinned.tolist() == [True, False]
        out.append(pts[i, 0] + off)
    assert np.abs(np.diff(np.array(out)[:, 0])).max() * FPS <= 0.05 + 1e-9
    off, pinned = FootPinner(FPS, PinOptions(support=False)).step(pts[0], np.zeros(2))
    assert not pinned.any()
    high = pts[0].copy()
    high[:, 1] = [0.2, 0.3]
    _, pinned = FootPinner(FPS, PinOptions()).step(high, np.zeros(2))
    assert not pinned.any()


def test_support_pins_are_held_within_the_band_of_the_lowest_sole():
    """A planted heel and toe (probability 0) take turns at being the lowest by 1 cm: both stay pinned
    (with a band of 0 only the lowest of the moment is, and the pins flicker); a point lifted more than
    the band above the lowest is released."""
    pts = np.zeros((2, 3))
    pts[1, 0] = 0.2
    def run(band: float) -> list[list[bool]]:
        pin, seen = FootPinner(FPS, PinOptions(support_band_m=band)), []
        for i in range(8):
            p = pts.copy()
            p[:, 1] = [0.01, 0.0] if i % 2 else [0.0, 0.01]
            seen.append(pin.step(p, np.zeros(2))[1].tolist())
        p[1, 1] = 0.01 + band + 0.01                       # the toe lifts: out of the band
        seen.append(pin.step(p, np.zeros(2))[1].tolist())
        return seen
    held = run(0.05)
    assert all(s == [True, True] for s in held[1:-1]) and held[-1] == [True, False]
    flicker = run(0.0)
    assert all(sum(s) == 1 for s in flicker)


def test_pinner_keeps_feet_above_the_ground():
    pin = FootPinner(FPS, PinOptions(support=False))     # (no contact at all: penetration alone lifts)
    off, pinned = pin.step(np.array([[0, -0.05, 0], [0.2, 0.3, 0]]), np.zeros(2))
    assert not pinned.any() and off[1] == pytest.approx(0.05 - PinOptions().penetration_tol_m)
    pin = FootPinner(FPS, PinOptions(penetration_tol_m=0.0, support=False))
    off, _ = pin.step(np.array([[0, -0.05, 0], [0.2, 0.3, 0]]), np.zeros(2))
    assert off[1] == pytest.approx(0.05)
    # contacts: their mean sole height goes to the ground (at most vertical_mps per frame)
    pin = FootPinner(FPS, PinOptions(vertical_mps=100.0))
    off, pinned = pin.step(np.array([[0, 0.04, 0], [0.2, 0.02, 0]]), np.ones(2))
    assert pinned.all() and off[1] == pytest.approx(-0.03)


def test_world_stage_pinning_removes_sliding(rig):
    """Static camera; the body glides at 0.4 m/s with both feet in contact (what a drifting net does):
    before pinning every contact frame skates; after, none does, and the correction stays bounded."""
    T = 60
    root_w = np.stack([0.4 * np.arange(T) / FPS, np.full(T, _standing_height(rig)), np.full(T, 4.0)], 1)
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([1.0, 1.0, 4.0]))
    poses, root_c = _scene(rig, R_w2c, t_w2c, np.repeat(yaw_matrix(1.0)[None], T, 0), root_w, T)
    stage = WorldStage(rig, FPS, WorldOptions(pin=True))
    frames = stage.run(poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    after = np.array([f.joints_w for f in frames])[5:]
    before = np.array([f.joints_w - f.offset for f in frames])[5:]
    mb, ma = foot_metrics(before, FPS), foot_metrics(after, FPS)
    assert mb.contact_frames > 0 and mb.skating_ratio == 1.0
    assert ma.contact_frames > 0 and ma.skating_ratio == 0.0
    assert all(f.pinned.all() for f in frames[5:])
    assert max(np.linalg.norm(f.offset) for f in frames) < 0.4 * T / FPS


# ----------------------------------------------------------------------------- the take


def test_world_take_keys_round_trip(tmp_path, model, rig):
    from mocap.app.world_stage import WorldRun

    T = 30
    R_w2c, t_w2c = look_at(np.array([0, 1.4, 0.0]), np.array([0.0, 0.9, 4.0]))
    root_w = np.stack([np.linspace(-1, 1, T), np.full(T, _standing_height(rig)), np.full(T, 4.0)], 1)
    poses, root_c = _scene(rig, R_w2c, t_w2c, np.repeat(yaw_matrix(0.5)[None], T, 0), root_w, T)
    valid = np.ones(T, bool)
    valid[:2] = False
    j_root = rig.root_joint(np.zeros(10))
    cam = Take(poses=poses.astype(np.float32), trans=(root_c - j_root).astype(np.float32), betas=np.zeros(10, np.float32),
               fps=FPS, contacts=np.zeros((T, 4), np.float32), valid=valid)   # no contacts: no pinning shift
    run = WorldRun(model, FPS, "static", options=WorldOptions(fusion_gain=1.0, pin_options=PinOptions(support=False)))
    # camera only and no contact at all (the support prior off): exact
    for i in range(T):
        class P:   # a Pose3DResult's fields
            pass
        p = P()
        p.poses, p.betas, p.root_c, p.contacts, p.valid = poses[i], np.zeros(10), root_c[i], np.ones(4), valid[i]
        run.step(p)   # (the live pass sees contacts: its ground plane is fitted)
    take = run.world_take(cam, root_c)
    path = save_take(tmp_path / "smplx.npz", take)
    back = load_take(path)
    assert back.frame == "world" and set(back.extra) == {"cam_R", "cam_t", "poses_cam", "trans_cam"}
    np.testing.assert_allclose(back.extra["poses_cam"], cam.poses, atol=1e-6)
    np.testing.assert_allclose(back.extra["trans_cam"], cam.trans, atol=1e-6)
    # x_cam = cam_R x_world + cam_t for the root joint, every frame with a body
    rc = np.einsum("tij,tj->ti", back.extra["cam_R"], back.trans + j_root) + back.extra["cam_t"]
    np.testing.assert_allclose(rc[2:], root_c[2:], atol=1e-4)
    assert run.stage.fitted
    np.testing.assert_allclose(back.trans[2:] + j_root, root_w[2:], atol=1e-4)
    assert np.all(back.trans[:2] == 0) and np.all(back.poses[:2] == 0)
    np.testing.assert_allclose(back.extra["cam_R"][5], R_w2c, atol=1e-5)


# ----------------------------------------------------------------------------- leg IK


def test_two_bone_ik_reaches_the_target_and_keeps_the_bones():
    from mocap.models.world.feet import two_bone_ik

    rng = np.random.default_rng(3)
    for _ in range(20):
        h = rng.normal(0, 0.1, 3) + [0, 0.9, 0]
        k = h + [0.02, -0.42, 0.05] + rng.normal(0, 0.03, 3)
        a = k + [0.0, -0.40, -0.06] + rng.normal(0, 0.03, 3)
        target = a + np.append(rng.normal(0, 0.06, 2), 0)[[0, 2, 1]]
        if np.linalg.norm(target - h) > np.linalg.norm(k - h) + np.linalg.norm(a - k) - 1e-3:
            continue   # out of reach: below
        Rs, Rk = two_bone_ik(h, k, a, target, np.array([1.0, 0, 0]))
        k2 = h + Rs @ (k - h)
        a2 = k2 + Rk @ (a - k)
        np.testing.assert_allclose(a2, target, atol=1e-6)
        assert np.linalg.norm(k2 - h) == pytest.approx(np.linalg.norm(k - h)) and \
            np.linalg.norm(a2 - k2) == pytest.approx(np.linalg.norm(a - k))
        for R in (Rs, Rk):
            np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
    # out of reach: the leg straightens towards the target
    Rs, Rk = two_bone_ik(np.zeros(3), np.array([0, -0.4, 0.05]), np.array([0, -0.8, 0]), np.array([0, -2.0, 0]),
                         np.array([1.0, 0, 0]))
    k2 = Rs @ np.array([0, -0.4, 0.05])
    a2 = k2 + Rk @ np.array([0, -0.4, -0.05])
    assert np.linalg.norm(a2) > 0.8 and a2[1] < -0.8 and abs(a2[0]) < 1e-6


def test_leg_ik_pins_a_jittering_foot_and_the_world_pose_reproduces_the_joints(rig):
    """The body stands still while the nets' left hip and knee angles jitter (the foot slides back and
    forth, 2-3 cm a frame): with the leg IK the left ankle stays within the pull speed of its anchor,
    and the world take's poses (hip, knee, ankle rewritten) give exactly the world joints by FK."""
    T = 60
    rng = np.random.default_rng(0)
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([0.0, 1.0, 4.0]))
    root_w = np.tile([0.0, _standing_height(rig), 4.0], (T, 1))
    poses, root_c = _scene(rig, R_w2c, t_w2c, np.repeat(yaw_matrix(0.7)[None], T, 0), root_w, T)
    poses[:, 3:6] = rng.normal(0, 0.04, (T, 3)) + [0.2, 0, 0]       # left hip
    poses[:, 12:15] = rng.normal(0, 0.04, (T, 3)) + [0.3, 0, 0]     # left knee, bent
    contacts = np.tile([1.0, 1.0, 1.0, 1.0], (T, 1))
    out = {}
    for ik in (False, True):
        stage = WorldStage(rig, FPS, WorldOptions(leg_ik=ik, pin_options=PinOptions(contact_height_m=0.3)))
        out[ik] = stage.run(poses, np.zeros((T, 10)), root_c, contacts, np.ones(T, bool))
    ank = {ik: np.array([f.joints_w[7] for f in fr]) for ik, fr in out.items()}
    sp = {ik: np.linalg.norm(np.diff(a[:, [0, 2]], axis=0), axis=1) * FPS for ik, a in ank.items()}
    assert np.median(sp[False]) > 0.3                  # the jitter slides the foot
    assert np.percentile(sp[True][5:], 90) <= 0.05 + 1e-6   # pinned: the pull speed at most ...
    assert sp[True][5:].max() < 0.1                     # ... but where the jittered leg cannot reach the anchor
    for t in (10, 30, T - 1):
        f = out[True][t]
        assert {1, 4, 7} <= set(f.pose_edits)
        J, _, _ = rig.forward(f.world_poses(poses[t]), np.zeros(10))
        np.testing.assert_allclose(J + f.root_w, f.joints_w, atol=1e-6)
        assert np.linalg.norm(J[4] - J[1]) == pytest.approx(np.linalg.norm(rig.forward(poses[t], np.zeros(10))[0][4]
                                                                           - rig.forward(poses[t], np.zeros(10))[0][1]))


def test_a_root_jump_is_a_cut(rig):
    """Another person (the root 2 m away from one frame to the next): the foot pins do not carry over."""
    T = 20
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([0.0, 1.0, 4.0]))
    root_w = np.tile([0.0, _standing_height(rig), 4.0], (T, 1))
    root_w[10:, 0] += 2.0
    poses, root_c = _scene(rig, R_w2c, t_w2c, np.repeat(yaw_matrix(0.7)[None], T, 0), root_w, T)
    stage = WorldStage(rig, FPS, WorldOptions())
    frames = stage.run(poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    assert stage.cuts == 1
    assert np.linalg.norm(frames[10].offset[[0, 2]]) < 1e-6          # not pulled back to the old anchors
    assert frames[10].root_w[0] - frames[9].root_w[0] == pytest.approx(2.0, abs=1e-3)


def test_static_fusion_stays_on_the_camera_evidence(rig):
    """Fusion with the shipped trajectory head (gain 0.3): the head's dead reckoning of a rest-pose body
    sliding along an arc is wrong, but the camera pulls the root back every frame: bounded error, no
    drift; with 5 cm depth jitter on the camera root, the fused root jitters less than the camera's."""
    T = 120
    t = np.arange(T) / FPS
    ang = 0.4 * t
    root_w = np.stack([3 * np.sin(ang), np.full(T, _standing_height(rig)), 1 + 3 * (1 - np.cos(ang))], 1)
    R_w2c, t_w2c = look_at(np.array([0, 1.5, 0.0]), np.array([0.0, 1.5 - np.tan(0.25) * 4, 4.0]), 0.05)
    poses, root_c = _scene(rig, R_w2c, t_w2c, yaw_matrix(ang + 0.3), root_w, T)
    net = load_trajectory_net(DEFAULT_WEIGHTS)
    stage = WorldStage(rig, FPS, WorldOptions(pin=False, fusion_gain=0.3), net)
    frames = stage.run(poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    err = np.array([np.linalg.norm((f.root_w - root_w[i])[[0, 2]]) for i, f in enumerate(frames)])
    assert frames[5].source == "fused" and err.max() < 0.15 and err[-30:].mean() < 0.1
    rng = np.random.default_rng(0)
    ray = root_c / np.linalg.norm(root_c, axis=1, keepdims=True)
    noisy = root_c + ray * rng.normal(0, 0.05, (T, 1))
    jit = {}
    for gain in (1.0, 0.3):
        fr = WorldStage(rig, FPS, WorldOptions(pin=False, fusion_gain=gain), net).run(
            poses, np.zeros((T, 10)), noisy, np.ones((T, 4)), np.ones(T, bool))
        xz = np.array([f.root_w for f in fr])[:, [0, 2]]
        jit[gain] = np.linalg.norm(np.diff(xz, 2, axis=0), axis=1).mean()
    assert jit[0.3] < 0.6 * jit[1.0]


def test_focal_refinement_in_the_stage_finds_the_true_focal_and_rescales_depth(rig):
    """Bodies at 3-5 m projected with a 60-degree camera while the 3D stage assumed 45 degrees (its body on the
    45-degree ray, its depth x f0 / f): with refine_focal the stage picks ~f and puts the root at the true depth."""
    from mocap.calib.focal import fov_y_to_focal, ray_rotation

    rng = np.random.default_rng(0)
    W, H, T = 1280, 720, 40
    f, f0 = fov_y_to_focal(60.0, H), fov_y_to_focal(45.0, H)
    K0 = np.array([[f0, 0, W / 2], [0, f0, H / 2], [0, 0, 1]])
    betas = np.zeros(10)
    poses, roots0, k67s, truth = [], [], [], []
    for t in range(T):
        p = np.zeros(165)
        p[:3] = rotmat_to_axis_angle(yaw_matrix(rng.uniform(-np.pi, np.pi)) @ np.diag([1.0, -1.0, -1.0]))
        p[3:66] = rng.normal(0, 0.2, 63)
        J, _, _, G = rig.forward_full(p, betas)
        z = rng.uniform(3, 5)
        px = rng.uniform([-0.35 * W, -0.3 * H], [0.35 * W, 0.3 * H])
        root = np.array([px[0] * z / f, px[1] * z / f, z])
        P = rig.body_points(J, G) + root
        k67 = np.zeros((67, 3))
        k67[:25, :2] = f * P[:, :2] / P[:, 2:] + K0[:2, 2]
        k67[:25, 2] = 0.9
        R = ray_rotation(np.append(px / f, 1.0), np.append(px / f0, 1.0))   # what a 45-degree 3D stage sees
        p0 = p.copy()
        p0[:3] = rotmat_to_axis_angle(R @ G[0])
        poses.append(p0)
        roots0.append(root * [1.0, 1.0, f0 / f])
        k67s.append(k67)
        truth.append(root)
    stage = WorldStage(rig, 30.0, WorldOptions(refine_focal=True, refine_frames=T), cam_K=K0)
    stage.run(np.array(poses), np.repeat(betas[None], T, 0), np.array(roots0), np.zeros((T, 4)), np.ones(T, bool),
              np.array(k67s))
    assert stage.focal_estimate is not None and stage.focal_px == pytest.approx(f, rel=0.03)
    root_fixed, _ = stage._focal_correction(np.array(roots0[0]))
    np.testing.assert_allclose(root_fixed, truth[0], rtol=0.03)
    off = WorldStage(rig, 30.0, WorldOptions(), cam_K=K0)          # default: off
    off.run(np.array(poses), np.repeat(betas[None], T, 0), np.array(roots0), np.zeros((T, 4)), np.ones(T, bool),
            np.array(k67s))
    assert off.focal_px is None


def test_panning_camera_recovers_the_world_with_the_cameras_rotation(rig):
    """The walk of the static test seen by a camera that turns in place (yaw up to 40 degrees, a little
    tilt): with each frame's rotation to the first camera (what camera_rotation.PanTracker measures)
    the panning stage gives the static stage's world to 1e-6 m and each frame's true camera rotation;
    the static stage on the same frames does not."""
    from scipy.spatial.transform import Rotation

    T = 90
    root_w, R_root_w, R_w2c0, t_w2c0 = _arc_walk(rig, T)
    R_t0 = Rotation.from_euler("yx", np.stack([np.linspace(0, 40, T), np.linspace(0, 3, T)], 1), degrees=True).as_matrix()
    R_w2c = R_t0 @ R_w2c0                 # camera t = camera 0 turned by R_t0 (same centre)
    t_w2c = np.einsum("tij,j->ti", R_t0, t_w2c0)
    poses, root_c = _scene(rig, R_w2c, t_w2c, R_root_w, root_w, T)
    R_pan = np.transpose(R_t0, (0, 2, 1))  # camera t -> camera 0
    args = (poses, np.zeros((T, 10)), root_c, np.ones((T, 4)), np.ones(T, bool))
    panning = WorldStage(rig, FPS, WorldOptions(pin=False, camera="panning")).run(*args, R_pan=R_pan)
    err = np.array([np.linalg.norm(f.root_w - root_w[i]) for i, f in enumerate(panning)])
    assert err[2:].max() < 1e-6, err
    for i in (10, T - 1):
        np.testing.assert_allclose(panning[i].R_w2c, R_w2c[i], atol=1e-6)
        np.testing.assert_allclose(panning[i].t_w2c, t_w2c[i], atol=1e-6)
    static = WorldStage(rig, FPS, WorldOptions(pin=False)).run(*args)
    assert max(np.linalg.norm(f.root_w - root_w[i]) for i, f in enumerate(static)) > 0.5


def test_reach_shift_moves_the_body_just_enough_and_only_when_every_leg_then_reaches():
    from mocap.models.world.feet import reach_shift

    hip = np.array([[0.0, 0.9, 0.0]])
    # within reach: no move
    np.testing.assert_array_equal(reach_shift(hip, np.array([[0.1, 0.1, 0.0]]), [0.85]), np.zeros(3))
    # 0.5 m below and 0.8 m ahead of the hip with a 0.8 m leg: the hip moves forward by 0.8 - sqrt(0.8^2 - 0.5^2)
    s = reach_shift(hip, np.array([[0.0, 0.4, 0.8]]), [0.8], slack_m=0.0)
    np.testing.assert_allclose(s, [0.0, 0.0, 0.8 - np.sqrt(0.8 ** 2 - 0.5 ** 2)], atol=1e-12)
    # two legs: one behind out of reach, one reachable from the moved hip as well
    hips = np.array([[-0.1, 0.9, 0.0], [0.1, 0.9, 0.0]])
    targets = np.array([[-0.1, 0.1, -0.5], [0.1, 0.1, -0.2]])
    s = reach_shift(hips, targets, [0.85, 0.85])
    assert s[1] == 0 and s[2] < 0
    assert np.all(np.linalg.norm(targets - (hips + s), axis=1) <= 0.85 - 1e-3 + 1e-6)
    # two targets too far apart for any move: no move (each leg reaches as far as it can)
    targets = np.array([[-0.1, 0.1, -0.6], [0.1, 0.1, 0.6]])
    np.testing.assert_array_equal(reach_shift(hips, targets, [0.85, 0.85]), np.zeros(3))
