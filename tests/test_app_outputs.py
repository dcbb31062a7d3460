"""End to end: `mocap-live --export` and `--vmc` on the demo clip (random-weight 3D nets, like test_app_3d)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pygltflib
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from scipy.spatial.transform import Rotation

from mocap.app.formats.skeleton import SMPLX_TO_VRM
from mocap.app.take import load_take
from mocap.models.body.smplx_layout import JOINT_NAMES
from mocap.models.mocap.readers import read_bvh
from test_app_errors import assert_one_line_error
from conftest import interrupt_after

FRAMES = 20


class VmcReceiver:
    """A real python-osc ThreadingOSCUDPServer on a free loopback port that groups messages into bundles.

    python-osc hands each datagram (one bundle) to its own thread and dispatches the bundle's messages
    in order, /VMC/Ext/T last; a thread-local list collects one bundle's messages.
    """

    def __init__(self):
        self.bundles: list[list[tuple[str, tuple]]] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        disp = Dispatcher()
        disp.set_default_handler(self._on_message)
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), disp)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def _on_message(self, address, *args):
        msgs = self._local.__dict__.setdefault("msgs", [])
        msgs.append((address, args))
        if address == "/VMC/Ext/T":
            with self._lock:
                self.bundles.append(list(msgs))
            msgs.clear()

    def wait_for(self, n: int, timeout: float = 5.0) -> list:
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.bundles) < n:
            time.sleep(0.02)
        time.sleep(0.2)   # anything beyond n would show up now
        with self._lock:
            return sorted(self.bundles, key=lambda b: b[-1][1][0])   # by /VMC/Ext/T: frame order

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run_with_receiver(out, demo_video, nets_dir, env, frames, *extra):
    """Run the app on the demo clip with --vmc to a loopback receiver; (proc, bundles in frame order, port)."""
    rx = VmcReceiver()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mocap.app.cli", "--video", str(demo_video), "--max-frames", str(frames),
             "--headless", "--no-progress", "--out", str(out), "--nets3d", str(nets_dir),
             "--vmc", f"127.0.0.1:{rx.port}", *extra],
            capture_output=True, text=True, env=env, timeout=300)
        bundles = rx.wait_for(frames)
    finally:
        rx.close()
    return proc, bundles, rx.port


@pytest.fixture(scope="module")
def live_run(tmp_path_factory, demo_video, nets_dir, env):
    """One run on the demo clip (world stage on, the default) with --export bvh,glb and --vmc."""
    out = tmp_path_factory.mktemp("live outputs") / "run"
    proc, bundles, port = run_with_receiver(out, demo_video, nets_dir, env, FRAMES, "--export", "bvh,glb")
    return proc, out, bundles, port


def assert_bundles_carry_the_take(bundles, take):
    """One bundle per frame with the full bone set; the last frame's left shoulder is the take's (body joints
    are the 3D stage's camera-space result in both frames), as a Unity quaternion (x, -y, -z, w)."""
    assert len(bundles) == take.num_frames
    vrm = {SMPLX_TO_VRM[n] for n in JOINT_NAMES}
    for b in bundles:
        addrs = [a for a, _ in b]
        assert addrs.count("/VMC/Ext/Root/Pos") == 1 and addrs.count("/VMC/Ext/OK") == 1
        assert {args[0] for a, args in b if a == "/VMC/Ext/Bone/Pos"} == vrm
    assert take.valid[-1]
    poses = take.extra.get("poses_cam", take.poses)
    j = JOINT_NAMES.index("left_shoulder")
    want = Rotation.from_rotvec(poses[-1, 3 * j:3 * j + 3].astype(np.float64)).as_quat() * [1, -1, -1, 1]
    got = next(np.array(args[4:], np.float64) for a, args in bundles[-1]
               if a == "/VMC/Ext/Bone/Pos" and args[0] == SMPLX_TO_VRM["left_shoulder"])
    assert np.abs(np.abs(got @ want) - 1.0) < 1e-5, (got, want)


def test_export_writes_bvh_and_glb_of_the_take(live_run):
    proc, out, _, _ = live_run
    assert proc.returncode == 0, proc.stderr
    take = load_take(out / "smplx.npz")
    assert take.num_frames == FRAMES
    motion = read_bvh(out / "take.bvh", units_m=1.0)
    assert motion.num_frames == take.num_frames
    assert set(JOINT_NAMES) <= set(motion.joint_names)
    g = pygltflib.GLTF2().load(str(out / "take.glb"))
    assert len(g.animations) == 1 and len(g.skins) == 1 and len(g.meshes) == 1
    times = g.accessors[g.animations[0].samplers[0].input]
    assert times.count == take.num_frames
    np.testing.assert_allclose(times.max[0], (take.num_frames - 1) / take.fps, rtol=1e-5)
    assert not (out / "take.fbx").exists()


def test_vmc_one_bundle_per_frame_with_the_takes_pose(live_run):
    proc, out, bundles, port = live_run
    assert proc.returncode == 0, proc.stderr
    take = load_take(out / "smplx.npz")
    assert take.num_frames == FRAMES and take.frame == "world"
    assert_bundles_carry_the_take(bundles, take)
    timings = json.loads((out / "timings.json").read_text())
    assert all(f["vmc"] > 0 and f["vmc_cpu"] >= 0 for f in timings["frames"])
    assert timings["summary"]["vmc_cpu"]["median"] <= timings["summary"]["vmc"]["median"] + 0.01
    assert timings["summary"]["vmc"]["count"] == FRAMES - timings["warmup_frames_excluded"]
    assert timings["vmc"] == {"target": f"127.0.0.1:{port}", "sent": FRAMES, "dropped": 0}
    assert re.search(r"VMC send [\d.]+ / [\d.]+ ms", proc.stdout)


def test_vmc_without_the_world_stage_streams_the_camera_space_result(tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "run"
    proc, bundles, _ = run_with_receiver(out, demo_video, nets_dir, env, 12, "--world", "off")
    assert proc.returncode == 0, proc.stderr
    take = load_take(out / "smplx.npz")
    assert take.frame == "camera" and take.num_frames == 12
    assert_bundles_carry_the_take(bundles, take)
    # the root as sent: camera space turned y up (x, -y, -z), then Unity's mirrored x
    j0 = Rotation.from_rotvec(take.poses[-1, :3].astype(np.float64))
    want = (Rotation.from_matrix(np.diag([1.0, -1.0, -1.0])) * j0).as_quat() * [1, -1, -1, 1]
    got = next(np.array(args[4:], np.float64) for a, args in bundles[-1]
               if a == "/VMC/Ext/Bone/Pos" and args[0] == "Hips")
    assert np.abs(np.abs(got @ want) - 1.0) < 1e-5, (got, want)


def test_failing_exporter_keeps_the_take_and_the_other_formats(run, tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "run"
    (out / "take.glb").mkdir(parents=True)   # a folder where the GLB goes: that exporter fails
    proc = run("app.cli", "--video", demo_video, "--max-frames", 5, "--headless", "--no-progress", "--out", out,
               "--nets3d", nets_dir, "--export", "glb,bvh", env=env)
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "export failed" in ln]
    assert len(lines) == 1 and lines[0].startswith("mocap-live: warning: glb export failed:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert load_take(out / "smplx.npz").num_frames == 5
    assert read_bvh(out / "take.bvh", units_m=1.0).num_frames == 5


@pytest.mark.parametrize("args, needles", [
    (["--vmc", "localhost:notaport"], ["VMC target", "port must be an integer"]),
    (["--vmc", "127.0.0.1:70000"], ["1..65535"]),
    (["--export", "bvh,obj"], ["--export", "unknown format 'obj'"]),
    (["--export", "bvh", "--no-3d"], ["--export needs the 3D stage"]),
    (["--vmc", "--no-3d"], ["--vmc needs the 3D stage"]),
], ids=["vmc-port", "vmc-range", "export-format", "export-no-3d", "vmc-no-3d"])
def test_bad_output_flags_are_one_line_errors(run, tmp_path, demo_video, args, needles):
    proc = run("app.cli", "--video", demo_video, "--out", tmp_path / "o", *args, timeout=60)
    assert_one_line_error(proc, *needles)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "o").exists()   # rejected before anything ran


def test_unresolvable_vmc_host_is_one_line_at_start(run, tmp_path, demo_video, nets_dir, env):
    proc = run("app.cli", "--video", demo_video, "--out", tmp_path / "o", "--nets3d", nets_dir, "--headless",
               "--vmc", "no-such-host.invalid:39539", env=env, timeout=120)
    assert_one_line_error(proc, "--vmc", "no-such-host.invalid", "cannot resolve")
    assert not (tmp_path / "o" / "keypoints.npz").exists()


def test_ctrl_c_still_exports_the_frames_processed(tmp_path, demo_video, nets_dir, env):
    out = tmp_path / "o"
    code, err = interrupt_after(["--video", demo_video, "--headless", "--out", out, "--nets3d", nets_dir,
                                 "--export", "bvh"], 230, env=env)
    if code == 0:
        pytest.skip("the run finished before Ctrl-C")
    assert code == 130 and "Traceback" not in err
    n = load_take(out / "smplx.npz").num_frames
    assert 8 <= n < 230
    assert read_bvh(out / "take.bvh", units_m=1.0).num_frames == n, err
