"""Specification of our SMPL-X loader and forward pass: `smplx` 0.1.28 as the oracle, known answers, misuse."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mocap.models.body import lbs
from mocap.models.body.smplx_layout import (
    JOINT_NAMES,
    K67_JOINT_IDS,
    K67_SMPLX_VERTEX_IDS,
    NUM_JOINTS,
    NUM_POSEDIRS,
    PARENTS,
    SMPLX_NUM_VERTICES,
    SMPLX_VERTEX_IDS,
)
from mocap.models.body.smplx_model import (
    DEFAULT_MODEL_PATH,
    ENV_VAR,
    SmplxModel,
    SmplxOptions,
    load_body_model,
)
from mocap.models.keypoints import (
    K67_NAMES,
    LEFT_HAND,
    NUM_K67,
    RIGHT_HAND,
    Body25,
    Hand21,
)

# Our forward pass must match the reference within this (metres); the only expected difference
# is smplx's 1e-8 rad Rodrigues bias (reference 1.3 step 5), i.e. ~1e-7 m.
ORACLE_TOL_M = 1e-5
N_BATCH = 4


def synthetic_smplx_arrays(seed: int = 0, n_shape_cols: int = 20) -> dict[str, np.ndarray]:
    """Random but plausible arrays in the SMPL-X `.npz` layout (reference 1.1).

    10,475 vertices so that smplx's built-in vertex picks (ids up to 9929) are valid; the real
    SMPL-X kintree; J_regressor rows and skinning weights normalised; small blend directions.
    """
    rng = np.random.default_rng(seed)
    V = SMPLX_NUM_VERTICES
    v_template = (rng.uniform(-1, 1, (V, 3)) * [0.4, 0.9, 0.15]).astype(np.float32)
    J_regressor = np.zeros((NUM_JOINTS, V), np.float32)
    for j in range(NUM_JOINTS):                      # each joint: a weighted mean of 12 vertices
        idx = rng.choice(V, 12, replace=False)
        w = rng.uniform(0.1, 1, 12)
        J_regressor[j, idx] = w / w.sum()
    weights = np.zeros((V, NUM_JOINTS), np.float32)
    for k in range(4):                               # four influencing joints per vertex
        weights[np.arange(V), rng.integers(0, NUM_JOINTS, V)] += rng.uniform(0.1, 1, V)
    weights /= weights.sum(1, keepdims=True)
    kintree = np.stack([np.array(PARENTS, np.int64), np.arange(NUM_JOINTS)]).astype(np.uint32)
    kintree[0, 0] = 4294967295                       # the files' uint32 -1 sentinel for the root
    faces = np.stack([rng.choice(V, 3, replace=False) for _ in range(2000)]).astype(np.uint32)
    return {
        "v_template": v_template,
        "f": faces,
        "shapedirs": (rng.normal(0, 0.01, (V, 3, n_shape_cols))).astype(np.float32),
        "posedirs": (rng.normal(0, 0.005, (V, 3, NUM_POSEDIRS))).astype(np.float32),
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "hands_componentsl": rng.normal(0, 0.3, (45, 45)).astype(np.float32),
        "hands_componentsr": rng.normal(0, 0.3, (45, 45)).astype(np.float32),
        "hands_meanl": rng.normal(0, 0.2, 45).astype(np.float32),
        "hands_meanr": rng.normal(0, 0.2, 45).astype(np.float32),
        "lmk_faces_idx": rng.integers(0, len(faces), 51).astype(np.int64),
        "lmk_bary_coords": rng.dirichlet(np.ones(3), 51).astype(np.float32),
    }


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    # A space in the path on purpose; smplx takes the model type from the file-name prefix.
    return tmp_path_factory.mktemp("body model")


@pytest.fixture(scope="module")
def synthetic_path(model_dir) -> Path:
    path = model_dir / "SMPLX_NEUTRAL.npz"
    np.savez(path, **synthetic_smplx_arrays())
    return path


@pytest.fixture(scope="module")
def ours64(synthetic_path) -> SmplxModel:
    return load_body_model(synthetic_path, SmplxOptions(dtype=torch.float64))


def random_params(B: int, nb: int, ne: int, seed: int, dtype=torch.float64) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    def r(*shape, s=0.5):
        return (torch.randn(B, *shape, generator=g) * s).to(dtype)
    return dict(global_orient=r(3, s=1.0), body_pose=r(21, 3), left_hand_pose=r(15, 3),
                right_hand_pose=r(15, 3), jaw_pose=r(3, s=0.2), leye_pose=r(3, s=0.2),
                reye_pose=r(3, s=0.2), betas=r(nb, s=1.0), expression=r(ne, s=1.0), transl=r(3))


def smplx_oracle(path: Path, nb: int, ne: int, params: dict[str, torch.Tensor]):
    """smplx's vertices (B, V, 3) and joints (B, 76+, 3) for our parameters, float64."""
    smplx = pytest.importorskip("smplx")
    B = params["betas"].shape[0]
    ref = smplx.create(str(path), model_type="smplx", num_betas=nb, num_expression_coeffs=ne,
                       use_pca=False, flat_hand_mean=True, batch_size=B, dtype=torch.float64)
    flat = {k: v.reshape(B, -1) for k, v in params.items()}
    with torch.no_grad():
        out = ref(**flat, return_verts=True)
    return out.vertices, out.joints


# The K67 names of smplx's 21 vertex picks, in smplx's order (joints 55-75).
SMPLX_PICKS = ("Nose", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
               "RSmallToe", "RHeel") + tuple(s + f + "Tip" for s in "LR"
                                            for f in ("Thumb", "Index", "Middle", "Ring", "Pinky"))


def assert_matches_oracle(path: Path, model: SmplxModel, nb: int, ne: int, seed: int) -> None:
    params = random_params(N_BATCH, nb, ne, seed)
    ref_v, ref_j = smplx_oracle(path, nb, ne, params)
    with torch.no_grad():
        out = model(**params)
    assert out.vertices.shape == ref_v.shape
    assert (out.vertices - ref_v).abs().max().item() < ORACLE_TOL_M
    assert (out.joints - ref_j[:, :NUM_JOINTS]).abs().max().item() < ORACLE_TOL_M
    # smplx appends vertex picks after the 55 joints: nose, reye, leye, rear, lear, 6 foot
    # points, then fingertips l/r thumb, index, middle, ring, pinky (reference 1.4); they are
    # the K67 face, foot and fingertip points when both use the same ids.
    k67_idx = [K67_NAMES.index(n) for n in SMPLX_PICKS]
    assert (out.k67[:, k67_idx] - ref_j[:, 55:76]).abs().max().item() < ORACLE_TOL_M


# --- the oracle ---------------------------------------------------------------------------------

def test_forward_matches_smplx_old_layout(synthetic_path, ours64):
    """20 shape columns: 10 betas then 10 expression (the pre-v1.1 layout)."""
    assert_matches_oracle(synthetic_path, ours64, 10, 10, seed=1)


def test_forward_matches_smplx_v11_layout_float32(model_dir):
    """400 columns: betas from 0, expression from 300 (v1.1), more than 10 betas; float32 model."""
    arrays = synthetic_smplx_arrays(seed=2, n_shape_cols=400)
    path = model_dir / "v11" / "SMPLX_NEUTRAL.npz"
    path.parent.mkdir()
    np.savez(path, **arrays)
    ours = load_body_model(path, SmplxOptions(num_betas=16, num_expression=5))
    params = random_params(N_BATCH, 16, 5, seed=3)
    ref_v, ref_j = smplx_oracle(path, 16, 5, params)
    with torch.no_grad():
        out = ours(**{k: v.float() for k, v in params.items()})
    assert out.vertices.dtype == torch.float32
    assert (out.vertices.double() - ref_v).abs().max().item() < ORACLE_TOL_M
    assert (out.joints.double() - ref_j[:, :NUM_JOINTS]).abs().max().item() < ORACLE_TOL_M


@pytest.mark.parametrize("kind", ["pickled dense", "scipy sparse"])
def test_pickled_j_regressor_matches_dense(model_dir, synthetic_path, ours64, kind):
    """Old files hold J_regressor as a pickled object (scipy.sparse in the official pkls)."""
    arrays = dict(np.load(synthetic_path))
    J = arrays["J_regressor"]
    if kind == "scipy sparse":
        J = pytest.importorskip("scipy.sparse", reason="scipy not installed").csc_matrix(J)
    box = np.empty((), dtype=object)
    box[()] = J
    arrays["J_regressor"] = box
    path = model_dir / f"{kind}.npz"
    np.savez(path, **arrays)
    loaded = load_body_model(path, SmplxOptions(dtype=torch.float64))
    params = random_params(2, 10, 10, seed=4)
    assert torch.allclose(loaded(**params).joints, ours64(**params).joints, rtol=0, atol=1e-12)


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(),
                    reason="the open default models/body/data/open_smplx.npz is not baked yet")
def test_open_default_matches_smplx(tmp_path, monkeypatch):
    smplx = pytest.importorskip("smplx")
    arrays = dict(np.load(DEFAULT_MODEL_PATH))
    ours = load_body_model(DEFAULT_MODEL_PATH, SmplxOptions(dtype=torch.float64))
    assert ours.model_name == "open"
    # smplx wants the landmark keys and picks its own vertex ids: give it the open mesh's ids.
    arrays.setdefault("lmk_faces_idx", np.zeros(0, np.int64))
    arrays.setdefault("lmk_bary_coords", np.zeros((0, 3), np.float32))
    ids = ours.k67_vertex_ids.numpy()
    keys = ("nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
            "RSmallToe", "RHeel") + tuple(s + f for s in "lr" for f in ("thumb", "index", "middle", "ring", "pinky"))
    own = {key: int(ids[K67_NAMES.index(name)]) for key, name in zip(keys, SMPLX_PICKS)}
    monkeypatch.setitem(smplx.vertex_ids.vertex_ids, "smplx", own)
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, **arrays)
    assert_matches_oracle(path, ours, 10, 10, seed=5)


# --- known answers -------------------------------------------------------------------------------

def test_zero_pose_zero_betas_is_template_plus_translation(synthetic_path):
    arrays = np.load(synthetic_path)
    model = load_body_model(synthetic_path, SmplxOptions(dtype=torch.float64))
    transl = torch.tensor([[0.1, -0.2, 3.0]], dtype=torch.float64)
    out = model(transl=transl)
    v_template = torch.from_numpy(arrays["v_template"]).double()
    joints = torch.from_numpy(arrays["J_regressor"]).double() @ v_template
    # The file's float32 skinning weights sum to 1 only to ~1e-7, which scales the vertices.
    assert torch.allclose(out.vertices[0], v_template + transl, rtol=0, atol=1e-6)
    assert torch.allclose(out.joints[0], joints + transl, rtol=0, atol=1e-12)


def test_elbow_rotation_moves_wrist_by_known_amount(ours64):
    """90 deg about +Y at the left elbow: forearm d = (dx, dy, dz) becomes (dz, dy, -dx)."""
    rest = ours64().joints[0]
    body_pose = torch.zeros(1, 21, 3, dtype=torch.float64)
    body_pose[0, JOINT_NAMES.index("left_elbow") - 1] = torch.tensor([0.0, math.pi / 2, 0.0], dtype=torch.float64)
    posed = ours64(body_pose=body_pose).joints[0]
    elbow, wrist = JOINT_NAMES.index("left_elbow"), JOINT_NAMES.index("left_wrist")
    dx, dy, dz = (rest[wrist] - rest[elbow]).tolist()
    expected = rest[elbow] + torch.tensor([dz, dy, -dx], dtype=torch.float64)
    assert torch.allclose(posed[wrist], expected, rtol=0, atol=1e-12)
    # A quarter turn moves a point by sqrt(2) times its distance from the axis.
    assert (posed[wrist] - rest[wrist]).norm().item() == pytest.approx(
        math.sqrt(2) * math.hypot(dx, dz), abs=1e-12)
    # Joints outside the elbow's subtree stay put.
    for name in ("pelvis", "right_wrist", "left_elbow", "head"):
        j = JOINT_NAMES.index(name)
        assert torch.allclose(posed[j], rest[j], rtol=0, atol=1e-12)


def test_rodrigues_known_matrices():
    aa = torch.tensor([
        [0.0, 0.0, math.pi / 2],                         # 90 deg about z
        [1.0, 1.0, 1.0],                                 # scaled below to 120 deg about (1,1,1)
        [0.0, 0.0, 0.0],                                 # identity
        [1e-9, 0.0, 0.0],                                # tiny: still a rotation, no NaN
    ], dtype=torch.float64)
    aa[1] *= (2 * math.pi / 3) / math.sqrt(3)
    R = lbs.axis_angle_to_rotmat(aa)
    expected = torch.tensor([
        [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
        [[0, 0, 1], [1, 0, 0], [0, 1, 0]],               # x -> y -> z -> x
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        [[1, 0, 0], [0, 1, -1e-9], [0, 1e-9, 1]],
    ], dtype=torch.float64)
    assert torch.allclose(R, expected, rtol=0, atol=1e-12)
    # Differentiable at zero (a fitting loop starts there).
    zero = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    lbs.axis_angle_to_rotmat(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_rodrigues_float32_near_threshold_is_orthonormal():
    for angle in (1e-5, 1e-4, 2e-4, 1.0, 3.0):
        R = lbs.axis_angle_to_rotmat(torch.tensor([angle, -angle, angle]) / math.sqrt(3))
        assert torch.allclose(R @ R.T, torch.eye(3), rtol=0, atol=1e-6)


def test_blend_regress_skin_known_answers():
    dirs = torch.zeros(2, 3, 1, dtype=torch.float64)
    dirs[1, 2, 0] = 0.5
    assert lbs.blend_shapes(torch.tensor([[2.0]], dtype=torch.float64), dirs)[0].tolist() == \
        [[0, 0, 0], [0, 0, 1.0]]
    verts = torch.tensor([[[0.0, 0, 0], [2.0, 4, 6]]], dtype=torch.float64)
    assert lbs.regress_joints(torch.tensor([[0.5, 0.5]], dtype=torch.float64), verts)[0].tolist() == [[1, 2, 3]]
    # Pose blend: feature (R_1 - I)[0, 1] is index 1; a 90 deg z turn makes it -1.
    posedirs = torch.zeros(1, 3, 9, dtype=torch.float64)
    posedirs[0, 0, 1] = 0.1
    R = lbs.axis_angle_to_rotmat(torch.tensor([[[0, 0, 0], [0, 0, math.pi / 2]]], dtype=torch.float64))
    assert torch.allclose(lbs.pose_blend_offsets(R, posedirs)[0, 0],
                          torch.tensor([-0.1, 0, 0], dtype=torch.float64), rtol=0, atol=1e-12)
    # Skinning: a vertex half on a joint turned 180 deg about z at the origin, half on the root:
    # the mean of (1, 0, 0) and (-1, 0, 0) is the origin.
    joints_rest = torch.zeros(1, 2, 3, dtype=torch.float64)
    R = lbs.axis_angle_to_rotmat(torch.tensor([[[0, 0, 0], [0, 0, math.pi]]], dtype=torch.float64))
    _, A = lbs.forward_kinematics(R, joints_rest, (-1, 0))
    v = lbs.linear_blend_skinning(torch.tensor([[[1.0, 0, 0]]], dtype=torch.float64),
                                  torch.tensor([[0.5, 0.5]], dtype=torch.float64), A)
    assert torch.allclose(v, torch.zeros(1, 1, 3, dtype=torch.float64), rtol=0, atol=1e-12)


def test_global_orient_pivots_about_rest_pelvis(ours64):
    rest = ours64().joints
    out = ours64(global_orient=torch.tensor([[0.3, -1.2, 0.7]], dtype=torch.float64))
    assert torch.allclose(out.joints[:, 0], rest[:, 0], rtol=0, atol=1e-12)


# --- K67 ------------------------------------------------------------------------------------------

def test_k67_layout(ours64):
    out = ours64(**random_params(3, 10, 10, seed=6))
    assert out.k67.shape == (3, NUM_K67, 3)
    J, V = out.joints, out.vertices
    assert torch.equal(out.k67[:, Body25.MidHip], J[:, JOINT_NAMES.index("pelvis")])
    assert torch.equal(out.k67[:, Body25.Neck], J[:, JOINT_NAMES.index("neck")])
    assert torch.equal(out.k67[:, Body25.LWrist], J[:, JOINT_NAMES.index("left_wrist")])
    assert torch.equal(out.k67[:, Body25.RWrist], J[:, JOINT_NAMES.index("right_wrist")])
    assert torch.equal(out.k67[:, LEFT_HAND.start + Hand21.Wrist], J[:, JOINT_NAMES.index("left_wrist")])
    assert torch.equal(out.k67[:, RIGHT_HAND.start + Hand21.Wrist], J[:, JOINT_NAMES.index("right_wrist")])
    assert torch.equal(out.k67[:, LEFT_HAND.start + Hand21.ThumbCMC], J[:, JOINT_NAMES.index("left_thumb1")])
    assert torch.equal(out.k67[:, RIGHT_HAND.start + Hand21.PinkyDIP], J[:, JOINT_NAMES.index("right_pinky3")])
    assert torch.equal(out.k67[:, RIGHT_HAND.start + Hand21.RingMCP], J[:, JOINT_NAMES.index("right_ring1")])
    assert torch.equal(out.k67[:, Body25.Nose], V[:, 9120])
    assert torch.equal(out.k67[:, LEFT_HAND.start + Hand21.IndexTip], V[:, 4933])


def test_layout_facts_agree_with_smplx():
    smplx = pytest.importorskip("smplx")
    from smplx.joint_names import JOINT_NAMES as REF_NAMES
    assert JOINT_NAMES == tuple(REF_NAMES[:NUM_JOINTS])
    ref_ids = smplx.vertex_ids.vertex_ids["smplx"]
    assert all(SMPLX_VERTEX_IDS[k] == ref_ids[k] for k in SMPLX_VERTEX_IDS)
    assert all(PARENTS[j] < j for j in range(1, NUM_JOINTS))
    assert ((K67_JOINT_IDS >= 0) != (K67_SMPLX_VERTEX_IDS >= 0)).all()


def test_k67_vertex_ids_from_file(model_dir, synthetic_path):
    arrays = dict(np.load(synthetic_path))
    arrays = {k: v[:5000] if k in ("v_template", "weights") else v for k, v in arrays.items()}
    arrays["J_regressor"] = arrays["J_regressor"][:, :5000]
    arrays["shapedirs"], arrays["posedirs"] = arrays["shapedirs"][:5000], arrays["posedirs"][:5000]
    arrays["f"] = arrays["f"][(arrays["f"] < 5000).all(1)]
    path = model_dir / "small.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="k67_vertex_ids"):       # not SMPL-X's mesh, no ids
        load_body_model(path)
    ids = np.where(K67_JOINT_IDS >= 0, -1, np.arange(NUM_K67) * 10).astype(np.int64)
    np.savez(path, k67_vertex_ids=ids, **arrays)
    model = load_body_model(path)
    out = model()
    assert torch.equal(out.k67[0, Body25.Nose], out.vertices[0, 0])
    assert torch.equal(out.k67[0, Body25.REye], out.vertices[0, 10 * Body25.REye])
    ids[Body25.Nose] = -1                                        # the nose has no joint
    np.savez(path, k67_vertex_ids=ids, **arrays)
    with pytest.raises(ValueError, match="k67_vertex_ids.*Nose"):
        load_body_model(path)


# --- choosing the file ---------------------------------------------------------------------------

def test_model_path_from_environment(monkeypatch, synthetic_path):
    monkeypatch.setenv(ENV_VAR, str(synthetic_path))
    model = load_body_model()
    assert model.model_name == "SMPLX_NEUTRAL.npz"
    assert load_body_model(synthetic_path.parent).num_vertices == SMPLX_NUM_VERTICES   # a folder


def test_missing_open_default_says_how_to_point_at_a_file(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr("mocap.models.body.smplx_model.DEFAULT_MODEL_PATH", tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        load_body_model()
    with pytest.raises(FileNotFoundError, match="not found"):
        load_body_model(tmp_path / "nope.npz")


# --- misuse ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_arrays(synthetic_path) -> dict[str, np.ndarray]:
    return dict(np.load(synthetic_path))


@pytest.mark.parametrize("key", ["v_template", "shapedirs", "posedirs", "J_regressor", "weights",
                                 "kintree_table", "f"])
def test_file_missing_a_key(model_dir, small_arrays, key):
    path = model_dir / f"missing {key}.npz"
    np.savez(path, **{k: v for k, v in small_arrays.items() if k != key})
    with pytest.raises(ValueError, match=f"'{key}' missing"):
        load_body_model(path)


def test_wrong_joint_count(small_arrays):
    arrays = dict(small_arrays, kintree_table=small_arrays["kintree_table"][:, :52])
    with pytest.raises(ValueError, match="kintree_table.*52 joints"):
        SmplxModel(arrays)
    arrays = dict(small_arrays, J_regressor=small_arrays["J_regressor"][:24])
    with pytest.raises(ValueError, match="J_regressor"):
        SmplxModel(arrays)
    names = np.array(JOINT_NAMES)
    names[[34, 31]] = names[[31, 34]]                             # ring before pinky: wrong
    with pytest.raises(ValueError, match="joint_names"):
        SmplxModel(dict(small_arrays, joint_names=names))
    SmplxModel(dict(small_arrays, joint_names=np.array(JOINT_NAMES)))
    kintree = small_arrays["kintree_table"].copy()
    kintree[0, 40] = 20                                           # right index1 hung on the left wrist
    with pytest.raises(ValueError, match="kintree_table.*parents"):
        SmplxModel(dict(small_arrays, kintree_table=kintree))


def test_too_many_betas_or_expressions(small_arrays):
    with pytest.raises(ValueError, match="shapedirs.*num_betas=16"):
        SmplxModel(small_arrays, SmplxOptions(num_betas=16))      # a 20-column file holds 10
    with pytest.raises(ValueError, match="num_expression=11"):
        SmplxModel(small_arrays, SmplxOptions(num_expression=11))
    with pytest.raises(ValueError, match="num_betas"):
        SmplxOptions(num_betas=-1)
    with pytest.raises(ValueError, match="dtype"):
        SmplxOptions(dtype=torch.int32)


def test_not_an_npz(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        load_body_model(path)
    with pytest.raises(ValueError, match=r"\.npz layout"):
        (tmp_path / "SMPLX_NEUTRAL.pkl").write_bytes(b"")
        load_body_model(tmp_path / "SMPLX_NEUTRAL.pkl")


@pytest.mark.parametrize("kwargs, match", [
    (dict(body_pose=torch.zeros(2, 20, 3)), r"body_pose must be \(B, 21, 3\)"),
    (dict(left_hand_pose=torch.zeros(2, 6)), "left_hand_pose"),        # PCA coefficients: not taken
    (dict(betas=torch.zeros(2, 11)), r"betas must be \(B, 10\)"),
    (dict(global_orient=torch.zeros(2, 3), transl=torch.zeros(3, 3)), "batch sizes differ"),
])
def test_forward_misuse(ours64, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ours64(**kwargs)


def test_flat_pose_shapes_accepted(ours64):
    params = random_params(2, 10, 10, seed=7)
    flat = {k: v.reshape(2, -1) for k, v in params.items()}
    assert torch.equal(ours64(**flat).vertices, ours64(**params).vertices)
