"""The committed open default body model (models/body/data/open_smplx.npz, baked from Anny by
export/bake_anny.py) loads in the reference `smplx` package and is a plausible SMPL-X-layout body.

`smplx` is the test oracle only (non-commercial code licence; never imported by the app).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

smplx = pytest.importorskip("smplx")

OPEN_MODEL = Path(str(files("mocap.models.body") / "data" / "open_smplx.npz"))
NUM_VERTICES, NUM_FACES, NUM_JOINTS = 13718, 27420, 55
# SMPL-X kintree row 0 (smplx/joint_names.py order; DESIGN 5).
SMPLX_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15,
                 15, 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38, 21, 40, 41, 21,
                 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]
PELVIS, L_KNEE, L_ANKLE, R_ANKLE, NECK, HEAD = 0, 4, 7, 8, 12, 15
L_SHOULDER, R_SHOULDER, L_ELBOW, L_WRIST, R_WRIST = 16, 17, 18, 20, 21
# K67 slots (models/keypoints.py): vertex-based points; hand slots are 25 + i (left), 46 + i (right).
NOSE, R_EYE, L_EYE, R_EAR, L_EAR = 0, 15, 16, 17, 18
L_FOOT_SLOTS, R_FOOT_SLOTS = (19, 20, 21), (22, 23, 24)
TIP = {"thumb": 4, "index": 8, "middle": 12, "ring": 16, "pinky": 20}
# SMPL-X distal finger joints (index3, middle3, pinky3, ring3, thumb3) of the left hand; +15 right.
DISTAL = {"index": 27, "middle": 30, "pinky": 33, "ring": 36, "thumb": 39}
MM = 1e-3


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    with np.load(OPEN_MODEL) as npz:      # no pickled objects: loads without allow_pickle
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def body(tmp_path_factory):
    """smplx.create on the committed file, laid out as smplx expects ({dir}/smplx/SMPLX_NEUTRAL.npz)."""
    root = tmp_path_factory.mktemp("model dir with spaces")
    (root / "smplx").mkdir()
    (root / "smplx" / "SMPLX_NEUTRAL.npz").symlink_to(OPEN_MODEL)
    return smplx.create(str(root), model_type="smplx", gender="neutral", ext="npz", num_betas=10,
                        use_pca=False, flat_hand_mean=True, dtype=torch.float64)


def forward(body, **kw):
    with torch.no_grad():
        out = body(return_verts=True, **kw)
    return out.vertices[0].numpy(), out.joints[0, :NUM_JOINTS].numpy()


@pytest.fixture(scope="module")
def rest(body):
    return forward(body)


def test_file_layout(data):
    assert str(data["model_name"]) == "open"
    assert data["v_template"].shape == (NUM_VERTICES, 3) and data["v_template"].dtype == np.float32
    assert data["f"].shape == (NUM_FACES, 3) and data["f"].min() == 0
    assert data["f"].max() == NUM_VERTICES - 1
    assert data["shapedirs"].shape == (NUM_VERTICES, 3, 400)
    assert np.abs(data["shapedirs"][:, :, :10]).max(axis=(0, 1)).min() > 1 * MM
    assert not data["shapedirs"][:, :, 300:].any(), "expression directions are zero"
    assert data["posedirs"].shape == (NUM_VERTICES, 3, 486) and not data["posedirs"].any()
    assert data["J_regressor"].shape == (NUM_JOINTS, NUM_VERTICES)
    assert data["J_regressor"].min() >= 0
    np.testing.assert_allclose(data["J_regressor"].sum(axis=1), 1.0, atol=1e-5)
    assert list(data["kintree_table"][0, 1:]) == SMPLX_PARENTS[1:]
    assert list(data["kintree_table"][1]) == list(range(NUM_JOINTS))
    for side in "lr":
        assert data[f"hands_components{side}"].shape == (45, 45)
        assert data[f"hands_mean{side}"].shape == (45,)
    assert OPEN_MODEL.stat().st_size < 4e6


def test_skinning_weights(data):
    w = data["weights"]
    assert w.shape == (NUM_VERTICES, NUM_JOINTS) and w.min() >= 0
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
    assert (w.max(axis=0) > 0.5).all(), f"joints without own vertices: {np.flatnonzero(w.max(0) <= 0.5)}"


def test_k67_vertex_ids(data):
    ids = data["k67_vertex_ids"]
    assert ids.dtype == np.int64 and ids.shape == (67,)
    vertex_slots = {NOSE, R_EYE, L_EYE, R_EAR, L_EAR, *L_FOOT_SLOTS, *R_FOOT_SLOTS}
    vertex_slots |= {base + t for base in (25, 46) for t in TIP.values()}
    assert set(np.flatnonzero(ids >= 0)) == vertex_slots
    assert ids.max() < NUM_VERTICES and len(set(ids[ids >= 0])) == len(vertex_slots)


def test_rest_pose_is_upright_tpose_in_smplx_frame(rest):
    """Y up, metres, the person's left at +X, facing +Z, arms out sideways."""
    v, j = rest
    height = v[:, 1].max() - v[:, 1].min()
    assert 1.5 < height < 2.0, height
    assert j[HEAD, 1] > j[NECK, 1] > j[PELVIS, 1] > j[L_KNEE, 1] > j[L_ANKLE, 1]
    assert np.abs(j[PELVIS]).max() < 2 * MM, "the pelvis sits at the origin at zero pose"
    assert j[L_SHOULDER, 0] > 0.1 and j[R_SHOULDER, 0] < -0.1 and j[L_ANKLE, 0] > 0 > j[R_ANKLE, 0]
    # T-pose: wrists out to the side, about shoulder height.
    assert j[L_WRIST, 0] > 0.5 and j[R_WRIST, 0] < -0.5
    assert abs(j[L_WRIST, 1] - j[L_SHOULDER, 1]) < 0.1


def test_face_and_feet_points(data, rest):
    v, j = rest
    p = v[data["k67_vertex_ids"]]
    assert p[NOSE, 2] > j[HEAD, 2] + 0.05, "the face looks toward +Z"
    assert p[L_EYE, 0] > 0 > p[R_EYE, 0] and p[L_EAR, 0] > p[L_EYE, 0] and p[R_EAR, 0] < p[R_EYE, 0]
    assert min(p[[NOSE, L_EYE, R_EYE, L_EAR, R_EAR], 1]) > j[NECK, 1]
    for slots, ankle in ((L_FOOT_SLOTS, L_ANKLE), (R_FOOT_SLOTS, R_ANKLE)):
        big, small, heel = p[list(slots)]
        assert max(big[1], small[1], heel[1]) < j[ankle, 1], "foot points below the ankle"
        assert big[2] > j[ankle, 2] + 0.08 and small[2] > j[ankle, 2] + 0.05, "toes in front"
        assert heel[2] < j[ankle, 2], "heel behind the ankle"
        assert abs(big[0]) < abs(small[0]), "the big toe is on the inside"


@pytest.mark.parametrize("side, base, offset, sign", [("left", 25, 0, 1), ("right", 46, 15, -1)])
def test_fingertips_at_the_ends_of_the_fingers(data, rest, side, base, offset, sign):
    v, j = rest
    wrist = j[L_WRIST if sign > 0 else R_WRIST]
    hand_x = sign * v[:, 0]
    for finger, tip_slot in TIP.items():
        distal = DISTAL[finger] + offset
        tip = v[data["k67_vertex_ids"][base + tip_slot]]
        bone = j[distal] - j[distal - 1]
        beyond = (tip - j[distal]) @ (bone / np.linalg.norm(bone))
        assert 5 * MM < beyond < 40 * MM, (side, finger, beyond)
        assert sign * (tip[0] - wrist[0]) > 0.05, (side, finger)
    middle_tip = v[data["k67_vertex_ids"][base + TIP["middle"]]]
    assert sign * middle_tip[0] > hand_x.max() - 5 * MM, "the middle fingertip is the arm's end"


def test_betas_change_the_shape(body, rest):
    v0, _ = rest
    for k in range(10):
        betas = torch.zeros(1, 10, dtype=torch.float64)
        betas[0, k] = 2.0
        v, _ = forward(body, betas=betas)
        assert np.abs(v - v0).max() > 2 * MM, k
    betas = torch.zeros(1, 10, dtype=torch.float64)
    heights = []
    for b0 in (-2.0, 2.0):
        betas[0, 0] = b0
        v, _ = forward(body, betas=betas)
        heights.append(v[:, 1].max() - v[:, 1].min())
    assert abs(heights[1] - heights[0]) > 0.1, "the first component carries stature"


def test_pose_moves_the_right_parts(body, rest):
    """A left elbow bend moves the left hand only; an eye rotation moves that eyeball only."""
    v0, j0 = rest
    body_pose = torch.zeros(1, 63, dtype=torch.float64)
    body_pose[0, (L_ELBOW - 1) * 3 + 1] = -np.pi / 2      # about +Y: forearm swings
    v, j = forward(body, body_pose=body_pose)
    assert np.linalg.norm(j[L_WRIST] - j0[L_WRIST]) > 0.15
    np.testing.assert_allclose(j[R_WRIST], j0[R_WRIST], atol=1e-9)
    np.testing.assert_allclose(j[:L_ELBOW + 1], j0[:L_ELBOW + 1], atol=1e-9)
    leye = torch.tensor([[0.0, 0.5, 0.0]], dtype=torch.float64)
    v, _ = forward(body, leye_pose=leye)
    moved = np.linalg.norm(v - v0, axis=1) > 1e-6
    assert 20 < moved.sum() < 500 and (v0[moved, 0] > 0).all()
