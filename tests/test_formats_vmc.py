"""VMC sender: a real python-osc server on loopback receives every frame's bundle with the full bone set."""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest
import torch
from formats_synth import ARM_RAISE_FRAME, model_joints, synthetic_take
from mocap.app.formats.skeleton import SMPLX_TO_VRM, YUP_FROM_CAMERA
from mocap.app.formats.vmc import DEFAULT_PORT, VmcSender, VmcStream, parse_host_port
from mocap.models.body.smplx_layout import JOINT_NAMES, PARENTS
from mocap.models.body.smplx_model import load_body_model
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from scipy.spatial.transform import Rotation

VRM_BONES = {SMPLX_TO_VRM[n] for n in JOINT_NAMES}
FK_TOL_M = 2e-5          # float32 on the wire


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.fixture
def receiver():
    """A python-osc UDP server on a free loopback port; yields (port, receive_one_bundle())."""
    got: list = []
    disp = Dispatcher()
    disp.set_default_handler(lambda address, *args: got.append((address, args)))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), disp)
    server.timeout = 2.0

    def receive() -> list:
        got.clear()
        server.handle_request()             # one datagram = one frame's bundle
        return list(got)

    yield server.server_address[1], receive
    server.server_close()


def stream(take, port, model, frame="world"):
    with VmcSender("127.0.0.1", port, betas=take.betas, model=model, frame=frame) as vmc:
        for i in range(take.num_frames):
            assert vmc.send(i, take.poses[i], take.trans[i])
            yield i


def bones_of(msgs) -> dict[str, np.ndarray]:
    return {a[0]: np.array(a[1:], np.float64) for addr, a in msgs if addr == "/VMC/Ext/Bone/Pos"}


def unity_fk(msgs) -> dict[str, np.ndarray]:
    """World positions (Unity axes) of every bone from the received root + local positions/rotations."""
    root = next(np.array(a[1:], np.float64) for addr, a in msgs if addr == "/VMC/Ext/Root/Pos")
    bones = bones_of(msgs)
    R = {-1: Rotation.from_quat(root[3:]).as_matrix()}
    P = {-1: root[:3]}
    for j, n in enumerate(JOINT_NAMES):
        b = bones[SMPLX_TO_VRM[n]]
        p = PARENTS[j]
        P[j] = P[p] + R[p] @ b[:3]
        R[j] = R[p] @ Rotation.from_quat(b[3:]).as_matrix()
    return {n: P[j] for j, n in enumerate(JOINT_NAMES)}


def test_every_frame_arrives_with_full_bone_set_and_unit_quaternions(receiver, model):
    port, receive = receiver
    take = synthetic_take(T=12, seed=4)
    times = []
    for i in stream(take, port, model):
        msgs = receive()
        addrs = [m[0] for m in msgs]
        assert addrs.count("/VMC/Ext/Root/Pos") == 1 and addrs.count("/VMC/Ext/OK") == 1
        bones = bones_of(msgs)
        assert set(bones) == VRM_BONES and addrs.count("/VMC/Ext/Bone/Pos") == 55
        assert sum(b.startswith(("Left", "Right")) and b.endswith(("Proximal", "Intermediate", "Distal"))
                   for b in bones) == 30                                    # every finger bone
        q = np.array([b[3:] for b in bones.values()])
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)
        assert next(a for addr, a in msgs if addr == "/VMC/Ext/OK") == (1, 3, 0)
        times.append(next(a[0] for addr, a in msgs if addr == "/VMC/Ext/T"))
    assert len(times) == take.num_frames and np.all(np.diff(times) >= 0)


def test_raised_right_arm_arrives_as_expected_rotation(receiver, model):
    """SMPL-X frame 0: right arm raised 90 degrees at the shoulder, everything else in T-pose."""
    port, receive = receiver
    take = synthetic_take(T=1)
    next(stream(take, port, model))
    bones = bones_of(receive())
    q = bones["RightUpperArm"][3:]
    # In Unity a VRM avatar faces +Z and its right arm points along +X in the T-pose; raised, it points up.
    up = Rotation.from_quat(q).apply([1.0, 0.0, 0.0])
    np.testing.assert_allclose(up, [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.abs(q), [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)
    assert ARM_RAISE_FRAME == 0
    for name, b in bones.items():
        if name != "RightUpperArm":
            np.testing.assert_allclose(np.abs(b[6]), 1.0, atol=1e-6, err_msg=name)   # identity


@pytest.mark.parametrize("frame", ["world", "camera"])
def test_received_skeleton_matches_forward_kinematics(receiver, model, frame):
    """Rebuilding world joints in Unity axes from the messages, then negating X, gives our FK (y up)."""
    port, receive = receiver
    take = synthetic_take(T=5, seed=9, frame=frame)
    J = model_joints(take)
    if frame == "camera":
        J = J @ YUP_FROM_CAMERA.T
    for i in stream(take, port, model, frame=frame):
        world = unity_fk(receive())
        got = np.array([world[n] for n in JOINT_NAMES]) * [-1.0, 1.0, 1.0]
        assert np.abs(got - J[i]).max() < FK_TOL_M


def test_absent_receiver_costs_nothing(model):
    """No one listens: sends never raise or block, and each stays far below the 0.5 ms budget."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                                           # closed after this block
    take = synthetic_take(T=50, seed=1)
    with VmcSender("127.0.0.1", port, model=model) as vmc:
        t0 = time.perf_counter()
        results = [vmc.send(i, take.poses[i], take.trans[i]) for i in range(take.num_frames)]
        elapsed = time.perf_counter() - t0
    assert vmc.sent + vmc.dropped == 50 and sum(results) == vmc.sent
    assert elapsed < 0.5                                                   # 50 frames; ~0.05 ms each here


def test_parse_host_port_and_misuse(model):
    assert parse_host_port(None) == ("127.0.0.1", DEFAULT_PORT)
    assert parse_host_port("192.168.1.5") == ("192.168.1.5", 39539)
    assert parse_host_port("localhost:39540") == ("localhost", 39540)
    assert parse_host_port(":40000") == ("127.0.0.1", 40000)
    with pytest.raises(ValueError, match="port"):
        parse_host_port("host:abc")
    with pytest.raises(ValueError, match="1..65535"):
        parse_host_port("host:70000")
    with pytest.raises(ValueError, match="frame"):
        VmcSender(frame="screen", model=model)
    with VmcSender(model=model) as vmc, pytest.raises(ValueError, match="165"):
        vmc.send(0, np.zeros(63), np.zeros(3))


def test_root_sits_at_the_floor_under_the_hips(receiver, model):
    """A standing T-pose with the soles on y = 0: the root is on the floor, Hips carries the hip height."""
    port, receive = receiver
    take = synthetic_take(T=1)
    take.poses[:] = 0.0
    with torch.no_grad():
        v = model(betas=torch.as_tensor(take.betas)[None]).vertices[0].numpy()
    take.trans[0] = [0.3, -v[:, 1].min(), -1.2]                              # soles on the ground
    next(stream(take, port, model))
    msgs = receive()
    root = next(np.array(a[1:]) for addr, a in msgs if addr == "/VMC/Ext/Root/Pos")
    hips = bones_of(msgs)["Hips"]
    pelvis = model_joints(take)[0, 0]
    assert abs(root[1]) < 1e-5                                               # on the floor
    np.testing.assert_allclose(root[[0, 2]], [-pelvis[0], pelvis[2]], atol=1e-5)   # under the pelvis (X negated)
    np.testing.assert_allclose(hips[[0, 2]], 0.0, atol=1e-6)
    assert 0.7 < hips[1] < 1.2 and abs(root[1] + hips[1] - pelvis[1]) < 1e-5  # hip height


def test_host_name_is_resolved_once(receiver, model):
    port, receive = receiver
    take = synthetic_take(T=1)
    with VmcSender("localhost", port, model=model) as vmc:
        assert vmc.address[0] in ("127.0.0.1", "::1")
        if vmc.address[0] == "127.0.0.1":
            assert vmc.send(0, take.poses[0], take.trans[0])
            assert len(bones_of(receive())) == 55
    with pytest.raises(OSError, match="cannot resolve"):
        VmcSender("no-such-host.invalid", port, model=model)


def test_stream_sends_every_submitted_frame_from_its_thread(receiver, model):
    """VmcStream: submit returns at once, the sender thread sends every frame, close drains the queue."""
    port, receive = receiver
    take = synthetic_take(T=20, seed=5)
    vmc = VmcStream(VmcSender("127.0.0.1", port, betas=take.betas, model=model), depth=take.num_frames)
    for i in range(take.num_frames):
        vmc.submit(i, take.poses[i], take.trans[i])
    vmc.close()
    got = 0
    for _ in range(take.num_frames):
        msgs = receive()
        assert sum(addr == "/VMC/Ext/Bone/Pos" for addr, _ in msgs) == 55
        got += 1
    assert got == take.num_frames and vmc.sent == take.num_frames and vmc.dropped == 0


def test_stream_drops_the_oldest_frame_when_the_sender_lags(model):
    """A hand-over queue of depth 1 with the sender thread held: later frames replace the waiting one."""
    vmc = VmcStream(VmcSender("127.0.0.1", DEFAULT_PORT, model=model), depth=1)
    take = synthetic_take(T=3, seed=6)
    with vmc._ready:                      # the sender thread cannot take a frame while we hold the lock
        for i in range(3):
            vmc.submit(i, take.poses[i], take.trans[i])
        assert vmc.overwritten == 2
    vmc.close()
    assert vmc.dropped >= 2
