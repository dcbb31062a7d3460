"""The 3D stage at run time: window normalisation (known answers), the nets through ONNX Runtime against
PyTorch, held frames, the take, and the mesh overlay against the body model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.app.draw import MeshOverlay
from mocap.app.stage3d import TakeRecorder, assumed_cam_K
from mocap.app.take import load_take
from mocap.models.body.smplx_model import load_body_model
from mocap.models.camera import intrinsics
from mocap.models.keypoints import NUM_BODY
from mocap.models.nets.body_fk import SparseBody
from mocap.models.nets.checkpoint import load_descent, load_pose_init
from mocap.models.nets.runtime import (MIN_CONFIDENCE, K67Window, Pose3DResult, Pose3DStage, RootJoint,
                                       net52_to_smplx_poses, observed_mask)
from nets3d_synth import write_random_nets

W_IMG, H_IMG = 640, 480


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.fixture(scope="module")
def ckpts(model, tmp_path_factory):
    return write_random_nets(tmp_path_factory.mktemp("nets"), SparseBody(model))


@pytest.fixture(scope="module")
def stage(ckpts, tmp_path_factory):
    return Pose3DStage.from_checkpoints(*ckpts, W_IMG, H_IMG, assumed_cam_K(W_IMG, H_IMG),
                                        cache=tmp_path_factory.mktemp("cache"))


def person(rng, shift=0.0) -> np.ndarray:
    """(67, 3) a plausible detection: body points in a 150 x 300 px region, both hands present."""
    k = np.zeros((67, 3), np.float32)
    k[:, 0] = 250 + shift + rng.uniform(0, 150, 67)
    k[:, 1] = 100 + rng.uniform(0, 300, 67)
    k[:, 2] = 0.9
    k[[20, 23], 2] = 0.0   # small toes: the MediaPipe nets never give them
    return k


def test_observed_mask_threshold_and_image_bounds():
    k = np.zeros((67, 3), np.float32)
    k[:, :2] = 10
    k[:, 2] = 1.0
    k[0, 2], k[1, 2] = MIN_CONFIDENCE, MIN_CONFIDENCE + 0.01
    k[2, 0], k[3, 0], k[4, 1], k[5, 0] = -0.5, W_IMG, H_IMG + 3, np.nan
    m = observed_mask(k, W_IMG, H_IMG)
    assert not m[0] and m[1] and not m[2:6].any() and m[6:].all()


def test_window_normalisation_known_answers():
    K = intrinsics(45.0, W_IMG, H_IMG)
    f = K[0, 0]
    win = K67Window(W_IMG, H_IMG, K)
    xy = np.zeros((67, 2))
    xy[0], xy[1] = (100, 200), (300, 400)
    mask = np.zeros(67, bool)
    mask[[0, 1]] = True
    win.push(xy + 7.0, np.zeros(67, bool))      # an empty frame first: its pixels must not count
    win.push(xy, mask)
    d = win.inputs()
    assert d["k67_xy"].shape == (81, 67, 2) and d["mask"].shape == (81, 67) and d["global_info"].shape == (81, 3)
    # box: centre (200, 300), size 1.2 x 200 = 240 px; box coordinates (xy - centre) / 120
    np.testing.assert_allclose(d["box"][-1], [200, 300, 240])
    np.testing.assert_allclose(d["k67_xy"][-1, :2], [[-100 / 120, -100 / 120], [100 / 120, 100 / 120]], rtol=1e-6)
    assert np.all(d["k67_xy"][-1, 2:] == 0) and d["mask"][-1].sum() == 2
    np.testing.assert_allclose(d["global_info"][-1], [(200 - 320) / f, (300 - 240) / f, 240 / f], rtol=1e-6)
    # padding and empty frames: mask 0, xy 0, the nearest frame's box (as ProxyWindows pads)
    assert d["mask"][:-1].sum() == 0 and np.all(d["k67_xy"][:-1] == 0)
    np.testing.assert_allclose(d["global_info"][:-1], np.broadcast_to(d["global_info"][-1], (80, 3)), rtol=1e-6)
    for _ in range(81):   # the frame leaves the window after 81 more frames
        win.push(xy, np.zeros(67, bool))
    assert win.inputs()["mask"].sum() == 0


def test_window_matches_the_training_windows(proxy_dataset):
    """Raw pixels pushed frame by frame give exactly the inputs ProxyWindows trains on (padding included)."""
    from mocap.models.proxy.corrupt import denormalize_from_box
    from mocap.models.proxy.dataset import ProxyWindows

    ds = ProxyWindows(proxy_dataset / "out", "train", window=81, causal=True, seed=0)
    for i in (5, 60, 100):                     # 75 padded frames, 20 padded frames, a full window
        x = {k: v.numpy().astype(np.float64) for k, v in ds[i].items()}
        w, h = (int(v) for v in x["image_wh"])
        px = denormalize_from_box(x["k67_xy"], x["box"][:, :2], x["box"][:, 2])
        win = K67Window(w, h, x["K"])
        for t in range(81):
            win.push(px[t], x["mask"][t] > 0)
        d = win.inputs()
        np.testing.assert_array_equal(d["mask"], x["mask"])
        np.testing.assert_allclose(d["k67_xy"], x["k67_xy"], atol=1e-5)
        np.testing.assert_allclose(d["global_info"], x["global_info"], rtol=1e-5, atol=1e-7)


def test_stage_runs_the_nets_as_pytorch_does_and_holds_empty_frames(stage, ckpts, model):
    rng = np.random.default_rng(0)
    stage.reset()
    for i in range(5):
        res = stage(person(rng, shift=4.0 * i))
    assert res.valid and res.poses.shape == (165,) and res.contacts.shape == (4,)
    assert {"pose_init", "descent", "stage3d"} <= set(res.timings_ms)
    assert np.all(res.poses[66:75] == 0), "jaw and eyes stay at rest"
    assert np.all((res.contacts > 0) & (res.contacts < 1))
    # the same window through the PyTorch nets
    feeds = {k: torch.from_numpy(v[None]) for k, v in stage.window.inputs().items() if k != "box"}
    init, descent = load_pose_init(ckpts[0]), load_descent(ckpts[1], SparseBody(model))
    with torch.no_grad():
        o = init(feeds["k67_xy"], feeds["mask"], feeds["global_info"])
        pose, betas, root = descent(o.pose_6d, o.betas, o.root_c, feeds["k67_xy"][:, -1], feeds["mask"][:, -1],
                                    feeds["global_info"][:, -1])
    np.testing.assert_allclose(res.pose_6d, pose[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(res.betas, betas[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(res.root_c, root[0].numpy(), atol=1e-4 * max(1.0, float(root.abs().max())))
    np.testing.assert_allclose(res.poses, net52_to_smplx_poses(pose[0].numpy()), atol=1e-4)
    np.testing.assert_allclose(res.contacts, torch.sigmoid(o.contacts[0]).numpy(), atol=1e-5)
    # a frame without a body: not valid, the last parameters held, the nets not run
    empty = person(rng)
    empty[:NUM_BODY, 2] = 0.1
    held = stage(empty)
    assert not held.valid and "pose_init" not in held.timings_ms
    np.testing.assert_array_equal(held.poses, res.poses)
    np.testing.assert_array_equal(held.root_c, res.root_c)


def test_stage_refuses_a_net_in_the_wrong_slot(ckpts, tmp_path):
    from mocap.engines.base import EngineError
    from mocap.engines.onnxruntime import OrtEngine
    from mocap.export.nets import net_onnx

    init = OrtEngine(net_onnx("pose_init", ckpts[0], tmp_path)[0])
    descent = OrtEngine(net_onnx("descent", ckpts[1], tmp_path)[0])
    with pytest.raises(EngineError, match="no input named 'pose_6d'"):
        Pose3DStage(descent=init, pose_init=init, width=W_IMG, height=H_IMG, cam_K=assumed_cam_K(W_IMG, H_IMG))
    with pytest.raises(EngineError, match="no output named 'pose_6d'"):
        Pose3DStage(pose_init=descent, descent=descent, width=W_IMG, height=H_IMG, cam_K=assumed_cam_K(W_IMG, H_IMG))


def test_root_joint_matches_the_body_model(model):
    betas = np.random.default_rng(1).normal(0, 1, (3, 10)).astype(np.float32)
    out = model(betas=torch.from_numpy(betas))
    np.testing.assert_allclose(RootJoint(model)(betas), out.joints[:, 0].numpy(), atol=1e-5)


def test_take_recorder_one_shape_and_root_translation(model, tmp_path):
    rec = TakeRecorder(tmp_path / "smplx.npz", 25.0, assumed_cam_K(W_IMG, H_IMG), model)
    rng = np.random.default_rng(2)

    def result(valid, betas, root):
        return Pose3DResult(valid, rng.normal(0, 0.3, 165).astype(np.float32), np.zeros((52, 6), np.float32),
                            np.asarray(betas, np.float32), np.asarray(root, np.float32),
                            np.full(4, 0.25, np.float32))

    b1, b2 = rng.normal(0, 1, 10), rng.normal(0, 1, 10)
    rec.add(result(False, np.zeros(10), np.zeros(3)))
    rec.add(result(True, b1, [0.1, 0.2, 3.0]))
    rec.add(result(False, b1, [0.1, 0.2, 3.0]))
    rec.add(result(True, b2, [0.0, 0.3, 2.5]))
    take = load_take(rec.write())
    assert take.num_frames == 4 and take.fps == 25.0 and take.model == model.model_name and take.frame == "camera"
    np.testing.assert_array_equal(take.valid, [False, True, False, True])
    np.testing.assert_allclose(take.betas, (b1 + b2) / 2, rtol=1e-6)
    j_root = RootJoint(model)((b1 + b2) / 2)
    np.testing.assert_allclose(take.trans[1], np.array([0.1, 0.2, 3.0]) - j_root, atol=1e-6)
    assert np.all(take.trans[0] == 0)
    np.testing.assert_allclose(take.cam_K, assumed_cam_K(W_IMG, H_IMG), rtol=1e-6)
    np.testing.assert_allclose(take.contacts, 0.25)


def test_mesh_overlay_skins_like_the_body_model(model):
    mesh = MeshOverlay(model)
    assert 2000 < mesh.num_faces < 12000 and mesh.faces.max() < len(mesh.keep)
    rng = np.random.default_rng(3)
    poses, betas, trans = rng.normal(0, 0.3, 165), rng.normal(0, 1, 10), np.array([0.1, -0.2, 3.0])
    out = model(global_orient=torch.tensor(poses[None, :3], dtype=torch.float32),
                body_pose=torch.tensor(poses[None, 3:66], dtype=torch.float32),
                jaw_pose=torch.tensor(poses[None, 66:69], dtype=torch.float32),
                leye_pose=torch.tensor(poses[None, 69:72], dtype=torch.float32),
                reye_pose=torch.tensor(poses[None, 72:75], dtype=torch.float32),
                left_hand_pose=torch.tensor(poses[None, 75:120], dtype=torch.float32),
                right_hand_pose=torch.tensor(poses[None, 120:], dtype=torch.float32),
                betas=torch.tensor(betas[None], dtype=torch.float32), transl=torch.tensor(trans[None], dtype=torch.float32))
    if float(model.posedirs.abs().max()) == 0:   # the open model: no pose correctives, so exact
        np.testing.assert_allclose(mesh.vertices(poses, betas, trans), out.vertices[0, mesh.keep].numpy(), atol=1e-5)


def test_mesh_overlay_paints_only_where_the_body_projects(model):
    mesh = MeshOverlay(model)
    K = intrinsics(45.0, W_IMG, H_IMG)
    poses = np.zeros(165)
    poses[0] = np.pi                           # model y up -> camera y down, facing the camera
    trans = np.array([0.0, 0.0, 3.0])
    img = np.full((H_IMG, W_IMG, 3), 40, np.uint8)
    mesh.draw(img, poses, np.zeros(10), trans, K)
    v = mesh.vertices(poses, np.zeros(10), trans)
    uv = v[:, :2] / v[:, 2:] * K[0, 0] + K[:2, 2]
    lo, hi = np.floor(uv.min(0)).astype(int), np.ceil(uv.max(0)).astype(int)
    changed = np.any(img != 40, axis=2)
    assert changed.sum() > 2000
    ys, xs = np.nonzero(changed)
    assert xs.min() >= lo[0] - 1 and xs.max() <= hi[0] + 1 and ys.min() >= lo[1] - 1 and ys.max() <= hi[1] + 1
    assert changed[int(uv[:, 1].mean()), int(uv[:, 0].mean())], "the torso is painted"
    behind = np.full_like(img, 40)
    mesh.draw(behind, poses, np.zeros(10), -trans, K)
    assert np.all(behind == 40), "a body behind the camera draws nothing"
