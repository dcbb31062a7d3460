"""GLB export: a valid glTF 2.0 file (Khronos validator) whose skeleton animates like our forward kinematics."""
from __future__ import annotations

import numpy as np
import pygltflib
import pytest
from formats_synth import model_joints, synthetic_take
from formats_tools import validate_gltf, validator_dir
from mocap.app.formats.gltf import skeleton2glb, top_weights
from mocap.app.formats.skeleton import skeleton_motion
from mocap.models.body.smplx_layout import JOINT_NAMES
from mocap.models.body.smplx_model import load_body_model
from scipy.spatial.transform import Rotation

JOINT_TOL_M = 1e-5        # float32 storage of offsets, quaternions and translations
SKIN_TOL_M = 5e-3         # 4 of up to 12 skinning weights kept (1.7 mm seen at 0.25 rad random poses)


@pytest.fixture(scope="module")
def model():
    return load_body_model()


def read_accessor(g: pygltflib.GLTF2, blob: bytes, i: int) -> np.ndarray:
    acc = g.accessors[i]
    view = g.bufferViews[acc.bufferView]
    dtype = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_BYTE: np.uint8,
             pygltflib.UNSIGNED_SHORT: np.uint16, pygltflib.UNSIGNED_INT: np.uint32}[acc.componentType]
    n = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
    start = view.byteOffset + (acc.byteOffset or 0)
    return np.frombuffer(blob, dtype, acc.count * n, start).reshape(acc.count, n)


def glb_joint_positions(path) -> tuple[list[str], np.ndarray, pygltflib.GLTF2, bytes]:
    """(names, (T, J, 3)) world joint positions from the file's node tree and its animation only."""
    g = pygltflib.GLTF2().load(str(path))
    blob = g.binary_blob()
    anim = g.animations[0]
    rot, trans = {}, {}
    for ch in anim.channels:
        out = read_accessor(g, blob, anim.samplers[ch.sampler].output)
        (rot if ch.target.path == "rotation" else trans)[ch.target.node] = out
    joints = g.skins[0].joints
    parent = {c: p for p, n in enumerate(g.nodes) for c in (n.children or [])}
    T = len(next(iter(rot.values())))
    pos = np.zeros((T, len(g.nodes), 3))
    glob = np.zeros((T, len(g.nodes), 3, 3))
    for j in joints:                                          # parents come first (written that way)
        t = trans.get(j, np.tile(g.nodes[j].translation, (T, 1)))
        R = Rotation.from_quat(rot[j]).as_matrix()
        if j in parent:
            p = parent[j]
            pos[:, j] = pos[:, p] + (glob[:, p] @ t[..., None])[..., 0]
            glob[:, j] = glob[:, p] @ R
        else:
            pos[:, j], glob[:, j] = t, R
    return [g.nodes[j].name for j in joints], pos[:, joints], g, blob


def test_animation_reproduces_forward_kinematics(tmp_path, model):
    take = synthetic_take(T=10, seed=7)
    path = skeleton2glb(skeleton_motion(take, model), model, take.betas, tmp_path / "a take.glb")
    names, pos, g, blob = glb_joint_positions(path)
    assert names == list(JOINT_NAMES)
    assert np.abs(pos - model_joints(take)).max() < JOINT_TOL_M
    times = read_accessor(g, blob, g.animations[0].samplers[0].input)[:, 0]
    np.testing.assert_allclose(times, np.arange(10) / take.fps, atol=1e-6)


def test_skinned_mesh_follows_the_body_model(tmp_path, model):
    """Skinning the file's mesh with its own weights and joint matrices gives the body model's vertices."""
    import torch
    take = synthetic_take(T=3, seed=2)
    path = skeleton2glb(skeleton_motion(take, model), model, take.betas, tmp_path / "s.glb")
    names, pos, g, blob = glb_joint_positions(path)
    prim = g.meshes[0].primitives[0]
    v = read_accessor(g, blob, prim.attributes.POSITION).astype(np.float64)
    jw = read_accessor(g, blob, prim.attributes.JOINTS_0).astype(np.int64)
    w = read_accessor(g, blob, prim.attributes.WEIGHTS_0).astype(np.float64)
    ibm = read_accessor(g, blob, g.skins[0].inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    faces = read_accessor(g, blob, prim.indices).reshape(-1, 3)
    assert faces.shape[0] == model.faces.shape[0] and v.shape[0] == model.num_vertices
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    # Global joint rotations again, from the animation (frame 1).
    anim = g.animations[0]
    q = {ch.target.node: read_accessor(g, blob, anim.samplers[ch.sampler].output)[1]
         for ch in anim.channels if ch.target.path == "rotation"}
    parent = {c: p for p, n in enumerate(g.nodes) for c in (n.children or [])}
    G = {}
    for j in g.skins[0].joints:
        R = Rotation.from_quat(q[j]).as_matrix()
        G[j] = G[parent[j]] @ R if j in parent else R
    M = np.zeros((len(G), 4, 4))
    for j in G:
        M[j, :3, :3], M[j, :3, 3], M[j, 3, 3] = G[j], pos[1, j], 1.0
    M = M @ ibm
    skin = np.einsum("vk,vkrc->vrc", w, M[jw])
    posed = (skin[:, :3, :3] @ v[..., None])[..., 0] + skin[:, :3, 3]
    P = torch.as_tensor(take.poses[1:2], dtype=torch.float32).reshape(1, 55, 3)
    with torch.no_grad():
        ref = model(global_orient=P[:, 0], body_pose=P[:, 1:22], jaw_pose=P[:, 22], leye_pose=P[:, 23],
                    reye_pose=P[:, 24], left_hand_pose=P[:, 25:40], right_hand_pose=P[:, 40:55],
                    betas=torch.as_tensor(take.betas)[None], transl=torch.as_tensor(take.trans[1:2])).vertices[0]
    err = np.linalg.norm(posed - ref.numpy(), axis=1)
    assert np.median(err) < 1e-4 and err.max() < SKIN_TOL_M, (np.median(err), err.max())


def test_top_weights_keep_the_largest_and_sum_to_one():
    w = np.array([[0.1, 0.5, 0.05, 0.2, 0.15, 0.0], [1.0, 0, 0, 0, 0, 0]])
    idx, w4 = top_weights(w)
    assert idx[0].tolist() == [1, 3, 4, 0]
    np.testing.assert_allclose(w4[0], np.array([0.5, 0.2, 0.15, 0.1]) / 0.95, rtol=1e-6)
    assert idx[1].tolist() == [0, 0, 0, 0] and w4[1].tolist() == [1, 0, 0, 0]


@pytest.mark.parametrize("include_face", [True, False])
def test_khronos_validator_reports_no_errors(tmp_path, model, include_face):
    modules, why = validator_dir()
    if modules is None:
        pytest.skip(why)
    take = synthetic_take(T=20, seed=1)
    path = skeleton2glb(skeleton_motion(take, model, include_face), model, take.betas, tmp_path / "v.glb")
    report = validate_gltf(path, modules)
    assert report["numErrors"] == 0, report["messages"][:5]
    assert report["numWarnings"] == 0, report["messages"][:5]
