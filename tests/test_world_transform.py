"""Human-to-world transform (DESIGN 8): known answers on synthetic sequences whose world truth is known."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.models.camera import look_at
from mocap.models.world.transform import (HumanToWorld, accumulate_t_xz, camera_in_world, human_to_world,
                                          r_front, root_transl_in_world, world_to_human, yaw_matrix)

T = 90
FPS = 30.0
J_ROOT = np.array([0.004, -0.37, 0.012])          # a rest root joint that is not the model origin
ATOL = 1e-9


def walk_in_a_circle() -> tuple[np.ndarray, np.ndarray]:
    """(R_root_w (T, 3, 3), root_w (T, 3)): 1 m/s on a 2 m circle, facing along the path, bobbing and leaning."""
    t = np.arange(T) / FPS
    ang = 0.5 * t                                                   # 1 m/s / 2 m
    root = np.stack([2 * np.sin(ang), 0.92 + 0.02 * np.sin(2 * np.pi * 2 * t), 2 * np.cos(ang) - 2], 1)
    heading = ang + np.pi / 2                                       # tangent of the circle
    lean = Rotation.from_euler("x", 0.1 * np.sin(2 * np.pi * t)[:, None]).as_matrix()
    return yaw_matrix(heading) @ lean, root


def camera(kind: str, root_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind == "static":
        eye = np.repeat([[0.5, 1.6, -7.0]], T, 0)
        target = np.repeat([[0.0, 1.0, 0.0]], T, 0)
    elif kind == "pan":            # fixed position, turns to keep the person in view
        eye = np.repeat([[4.0, 1.5, -6.0]], T, 0)
        target = root_w.copy()
    elif kind == "follow":         # moves with the person at a fixed offset (no turn about the vertical)
        eye = root_w + np.array([1.0, 0.7, -3.0])
        target = root_w.copy()
    else:
        raise AssertionError(kind)
    return look_at(eye, target, roll_rad=np.full(T, 0.05))


def expected_world(R_root_w, root_w, R_w2c, t_w2c, origin0):
    """The world the transform must recover, computed independently: the true world moved so that the
    frame-0 camera faces +z (yaw B) and H_0's ground origin o_0 is the origin."""
    f = R_w2c[0, 2]                                                 # camera forward in world at frame 0
    B = yaw_matrix(-np.arctan2(f[0], f[2]))
    o = np.array([origin0[0], 0.0, origin0[2]])
    root = (root_w - o) @ B.T
    return {"R_root_w": B @ R_root_w, "root_w": root, "transl_w": root - J_ROOT,
            "R_w2c": R_w2c @ B.T, "t_w2c": t_w2c + R_w2c @ o}


@pytest.mark.parametrize("kind", ["static", "pan", "follow"])
def test_recovers_world_and_cameras_exactly(kind):
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera(kind, root_w)
    origin0 = np.array([1.3, 0.4, -0.4])             # H_0's origin: anywhere (its y is dropped)
    yaw_h = np.full(T, 0.7)                          # H's yaw: arbitrary, fixed across frames
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, yaw_h, origin0)
    got = human_to_world(*inputs, J_ROOT, front="first")
    want = expected_world(R_root_w, root_w, R_w2c, t_w2c, origin0)
    for key, value in want.items():
        np.testing.assert_allclose(getattr(got, key), value, atol=ATOL, err_msg=f"{kind}: {key}")
    # The recovered world's camera faces +z at frame 0 and the world starts at H_0's origin.
    assert abs(got.R_w2c[0, 2, 0]) < ATOL and got.R_w2c[0, 2, 2] > 0
    np.testing.assert_allclose(got.t_xz[0], 0.0)


@pytest.mark.parametrize("kind", ["static", "pan", "follow"])
def test_recovered_world_reprojects_like_the_truth(kind):
    """Gauge-free check: body points seen through the recovered cameras land where the true ones do."""
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera(kind, root_w)
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, np.full(T, -2.0), np.zeros(3))
    got = human_to_world(*inputs, J_ROOT)
    offsets = np.array([[0.0, 0.0, 0.0], [0.1, -0.9, 0.05], [-0.2, 0.5, 0.0]])    # points on the body, model frame
    def cam_points(R_root, root, R, t):
        pts = root[:, None] + np.einsum("tij,nj->tni", R_root, offsets)
        return np.einsum("tij,tnj->tni", R, pts) + t[:, None]
    np.testing.assert_allclose(cam_points(got.R_root_w, got.root_w, got.R_w2c, got.t_w2c),
                               cam_points(R_root_w, root_w, R_w2c, t_w2c), atol=ATOL)


@pytest.mark.parametrize("kind", ["static", "follow"])
def test_per_frame_front_handles_a_turning_human_space(kind):
    """DESIGN 8 as written (R_front every frame): exact while the camera does not turn about the vertical,
    even when H's yaw follows the person every frame."""
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera(kind, root_w)
    yaw_h = -np.arctan2(R_root_w[:, 0, 2], R_root_w[:, 2, 2])     # H aligned with the person's heading
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, yaw_h, root_w[0])
    got = human_to_world(*inputs, J_ROOT, front="per_frame")
    want = expected_world(R_root_w, root_w, R_w2c, t_w2c, root_w[0])
    for key, value in want.items():
        np.testing.assert_allclose(getattr(got, key), value, atol=ATOL, err_msg=f"{kind}: {key}")


def test_per_frame_front_turns_the_world_with_a_panning_camera():
    """Why "first" is the default: per frame, a panning camera drags the world's heading along."""
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera("pan", root_w)
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, np.zeros(T), root_w[0])
    want = expected_world(R_root_w, root_w, R_w2c, t_w2c, root_w[0])["root_w"]
    first = human_to_world(*inputs, J_ROOT, front="first").root_w
    per_frame = human_to_world(*inputs, J_ROOT, front="per_frame").root_w
    np.testing.assert_allclose(first, want, atol=ATOL)
    assert np.abs(per_frame - want).max() > 0.1


def test_r_front_known_answer():
    # A level camera looking along world +x: its heading is 90 degrees.
    R, _ = look_at(np.zeros(3), np.array([1.0, -0.2, 0.0]))
    Rf = r_front(R)
    np.testing.assert_allclose(Rf, [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)
    fwd = Rf.T @ R[2]
    assert abs(fwd[0]) < 1e-12 and fwd[2] > 0 and fwd[1] == pytest.approx(R[2, 1])
    with pytest.raises(ValueError, match="straight up or down"):
        r_front(np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]))      # forward axis = -y


def test_hand_computed_frame():
    """One frame by hand: H turned 90 degrees from the camera heading, t_xz = (1, 0, 2)."""
    Rf = yaw_matrix(np.pi / 2)                                    # x_H = Rf x_W: world +z is H's +x
    R_h2c = np.eye(3) @ Rf.T                                      # camera looks along H's +x = world +z
    t_h2c = np.array([0.0, 1.0, 0.0])
    R_w2c, t_w2c = camera_in_world(R_h2c, t_h2c, r_front(R_h2c), np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(R_w2c, np.eye(3), atol=1e-12)
    # Camera centre in H: (0, -1, 0) -> world (0, -1, 0) + t_xz = (1, -1, 2); t = -R c.
    np.testing.assert_allclose(t_w2c, [-1.0, 1.0, -2.0], atol=1e-12)
    # Transl in H (0.5, 0.9, 0) with J_root: root joint at (0.5, 0.9, 0) + J in H -> world, minus J.
    t_h = np.array([0.5, 0.9, 0.0])
    got = root_transl_in_world(t_h, J_ROOT, Rf, np.array([1.0, 0.0, 2.0]))
    p = t_h + J_ROOT                                              # H -> world: (x, y, z) -> (-z, y, x)
    np.testing.assert_allclose(got, np.array([-p[2], p[1], p[0]]) + [1.0, 0.0, 2.0] - J_ROOT, atol=1e-12)
    np.testing.assert_allclose(accumulate_t_xz(np.array([1.0, 0.0, 2.0]), t_h, Rf), [1.0, 0.0, 2.5], atol=1e-12)


def test_j_root_compensation_is_needed():
    """SMPL-X rotates about J_root: forgetting it shifts the body by (I - R_front^T) J_root (the
    horizontal part of J_root turned by the yaw; about 1 cm here)."""
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera("static", root_w)
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, np.full(T, 1.0), np.zeros(3))
    good = human_to_world(*inputs, J_ROOT)
    bad = human_to_world(*inputs, np.zeros(3)).transl_w + J_ROOT   # forgetting J_root
    want = expected_world(R_root_w, root_w, R_w2c, t_w2c, np.zeros(3))["root_w"]
    np.testing.assert_allclose(good.root_w, want, atol=ATOL)
    shift = J_ROOT - good.R_front[0].T @ J_ROOT
    np.testing.assert_allclose(bad - want, np.broadcast_to(shift, want.shape), atol=ATOL)
    assert np.linalg.norm(shift) > 0.005


@pytest.mark.parametrize("front", ["first", "per_frame"])
def test_live_steps_match_the_sequence(front):
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera("follow", root_w)
    inputs = world_to_human(R_root_w, root_w - J_ROOT, R_w2c, t_w2c, J_ROOT, np.linspace(0, 1, T), np.zeros(3))
    seq = human_to_world(*inputs, J_ROOT, front=front)
    live = HumanToWorld(front)
    for t in range(T):
        R_root, transl, R, tc = live.step(*(x[t] for x in inputs), J_ROOT)
        np.testing.assert_allclose(R_root, seq.R_root_w[t], atol=1e-12)
        np.testing.assert_allclose(transl, seq.transl_w[t], atol=1e-12)
        np.testing.assert_allclose(R, seq.R_w2c[t], atol=1e-12)
        np.testing.assert_allclose(tc, seq.t_w2c[t], atol=1e-12)
    live.reset()
    np.testing.assert_allclose(live.t_xz, 0.0)


def test_unknown_front_mode():
    with pytest.raises(ValueError, match="front must be one of"):
        HumanToWorld("sometimes")
    with pytest.raises(ValueError, match="front must be one of"):
        human_to_world(np.eye(3)[None], np.zeros((1, 3)), np.eye(3)[None], np.zeros((1, 3)), J_ROOT, front="x")


def test_camera_to_world_inverts_the_proxy_camera_parameters():
    """Against models/proxy/generate.to_camera_params (written independently): a static camera's
    camera-space result maps back to the world exactly."""
    from mocap.models.proxy.generate import to_camera_params
    R_root_w, root_w = walk_in_a_circle()
    R_w2c, t_w2c = camera("static", root_w)
    go_w = Rotation.from_matrix(R_root_w).as_rotvec()
    go_c, transl_c, _ = to_camera_params(go_w, root_w - J_ROOT, J_ROOT, R_w2c, t_w2c)
    from mocap.models.world.transform import camera_to_world
    R_back, transl_back = camera_to_world(Rotation.from_rotvec(go_c).as_matrix(), transl_c, J_ROOT, R_w2c, t_w2c)
    np.testing.assert_allclose(R_back, R_root_w, atol=1e-9)
    np.testing.assert_allclose(transl_back, root_w - J_ROOT, atol=1e-9)
