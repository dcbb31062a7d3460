"""Facts about the SMPL-X model layout: joint names and parents, pose slots, file keys, K67 picks.

Every fact about the SMPL-X skeleton and mesh that the loader relies on lives here, with its source.
Sources (restated, not copied; the `smplx` package is a non-commercial reference, read only):
- joint order and names: `smplx/joint_names.py` `JOINT_NAMES[:55]` (PyPI smplx 0.1.28);
- parents: the `kintree_table` row 0 of the SMPL-X model files, also listed in
  shared reference "smplx-and-nets" section 1.2 and checked in several public loaders;
- vertex ids of nose, eyes, ears, toes, heels and fingertips: `smplx/vertex_ids.py` `vertex_ids['smplx']`;
- K67 = OpenPose BODY_25 + left hand 21 + right hand 21 (DESIGN section 4, `mocap.models.keypoints`).
"""
from __future__ import annotations

import numpy as np
from mocap.models.keypoints import BODY25_NAMES, HAND_NAMES, NUM_K67

NUM_JOINTS = 55          # 1 root + 21 body + jaw + 2 eyes + 2 x 15 fingers
NUM_BODY_JOINTS = 21     # joints 1..21 (body_pose)
NUM_HAND_JOINTS = 15     # per hand: joints 25..39 (left), 40..54 (right)
NUM_POSEDIRS = 9 * (NUM_JOINTS - 1)   # 486: (R - I) of the 54 non-root joints, 9 entries each

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")   # SMPL-X order: ring comes after pinky
JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
) + tuple(f"{side}_{finger}{k}" for side in ("left", "right") for finger in _FINGERS for k in (1, 2, 3))
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint (-1 for the root); every parent has a lower index, so forward kinematics
# can run in index order.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

# Slots of the full (55, 3) axis-angle pose, in joint-index order: jaw and eyes (22-24) come
# before the hands (smplx `SMPLX.forward` concatenation order).
POSE_SLOTS: tuple[tuple[str, int, int], ...] = (   # (forward argument, first joint, joint count)
    ("global_orient", 0, 1), ("body_pose", 1, NUM_BODY_JOINTS), ("jaw_pose", 22, 1),
    ("leye_pose", 23, 1), ("reye_pose", 24, 1), ("left_hand_pose", 25, NUM_HAND_JOINTS),
    ("right_hand_pose", 40, NUM_HAND_JOINTS),
)

# Keys of an SMPL-X `.npz` (reference section 1.1). Hand PCA keys, landmarks and UVs may be present;
# the loader does not read them (full 15 x 3 hand poses, flat hand mean).
REQUIRED_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")
# Optional key of our own bakes: (55,) str joint names; when present it must equal JOINT_NAMES.
JOINT_NAMES_KEY = "joint_names"
# Optional key written by our own bakes: (67,) int vertex id per K67 point, -1 where a joint is used.
K67_VERTEX_IDS_KEY = "k67_vertex_ids"

# shapedirs columns: files with >= 400 columns (v1.1) hold 300 betas then 100 expression
# columns; older files hold 10 betas then 10 expression columns (smplx `SMPL.__init__`,
# `SMPLX.__init__`: SHAPE_SPACE_DIM = 300, EXPRESSION_SPACE_DIM = 100).
SHAPE_SPACE_DIM = 300
EXPRESSION_SPACE_DIM = 100
OLD_SHAPE_SPACE_DIM = 10

# Official SMPL-X vertex ids (smplx/vertex_ids.py, vertex_ids['smplx']); valid on the
# official 10,475-vertex mesh only.
SMPLX_VERTEX_IDS = {
    "nose": 9120, "reye": 9929, "leye": 9448, "rear": 616, "lear": 6,
    "LBigToe": 5770, "LSmallToe": 5780, "LHeel": 8846,
    "RBigToe": 8463, "RSmallToe": 8474, "RHeel": 8635,
    "lthumb": 5361, "lindex": 4933, "lmiddle": 5058, "lring": 5169, "lpinky": 5286,
    "rthumb": 8079, "rindex": 7669, "rmiddle": 7794, "rring": 7905, "rpinky": 8022,
}
SMPLX_NUM_VERTICES = 10475

# K67 body points from SMPL-X joints (DESIGN section 4).
_BODY25_JOINT = {
    "Neck": "neck", "RShoulder": "right_shoulder", "RElbow": "right_elbow",
    "RWrist": "right_wrist", "LShoulder": "left_shoulder", "LElbow": "left_elbow",
    "LWrist": "left_wrist", "MidHip": "pelvis", "RHip": "right_hip", "RKnee": "right_knee",
    "RAnkle": "right_ankle", "LHip": "left_hip", "LKnee": "left_knee", "LAnkle": "left_ankle",
}
# K67 body points from mesh vertices (keys of SMPLX_VERTEX_IDS).
_BODY25_VERTEX = {
    "Nose": "nose", "REye": "reye", "LEye": "leye", "REar": "rear", "LEar": "lear",
    "LBigToe": "LBigToe", "LSmallToe": "LSmallToe", "LHeel": "LHeel",
    "RBigToe": "RBigToe", "RSmallToe": "RSmallToe", "RHeel": "RHeel",
}
# K67 hand point (HAND_NAMES order: MediaPipe/OpenPose) -> SMPL-X joint suffix or fingertip vertex.
# SMPL-X's finger joints 1/2/3 are the MCP/PIP/DIP for index..pinky; for the thumb, thumb1/2/3
# are the CMC/MCP/IP (MANO's thumb chain starts at the carpometacarpal joint).
_HAND_SOURCE = {
    "Wrist": ("joint", "wrist"),
    "ThumbCMC": ("joint", "thumb1"), "ThumbMCP": ("joint", "thumb2"), "ThumbIP": ("joint", "thumb3"),
    "ThumbTip": ("vertex", "thumb"),
    **{f"{F}{p}": ("joint", f"{F.lower()}{k}") for F in ("Index", "Middle", "Ring", "Pinky")
       for k, p in ((1, "MCP"), (2, "PIP"), (3, "DIP"))},
    **{f"{F}Tip": ("vertex", F.lower()) for F in ("Index", "Middle", "Ring", "Pinky")},
}


def _k67_tables() -> tuple[np.ndarray, np.ndarray]:
    """(67,) SMPL-X joint id per K67 point (-1 = from a vertex) and (67,) official vertex ids (-1 = joint)."""
    joint_ids, vertex_ids = [], []
    for name in BODY25_NAMES:
        joint_ids.append(JOINT_INDEX[_BODY25_JOINT[name]] if name in _BODY25_JOINT else -1)
        vertex_ids.append(SMPLX_VERTEX_IDS[_BODY25_VERTEX[name]] if name in _BODY25_VERTEX else -1)
    for side, s in (("left", "l"), ("right", "r")):
        for name in HAND_NAMES:
            kind, what = _HAND_SOURCE[name]
            if kind == "joint":
                joint_ids.append(JOINT_INDEX[f"{side}_{what}"])
                vertex_ids.append(-1)
            else:
                joint_ids.append(-1)
                vertex_ids.append(SMPLX_VERTEX_IDS[s + what])
    joint_ids, vertex_ids = np.array(joint_ids, np.int64), np.array(vertex_ids, np.int64)
    if len(joint_ids) != NUM_K67 or np.any((joint_ids < 0) == (vertex_ids < 0)):
        raise RuntimeError("K67 tables: each point needs exactly one source")   # a bug here, not misuse
    return joint_ids, vertex_ids


# (67,) SMPL-X joint per K67 point, -1 where the point is a vertex; (67,) official vertex ids, -1 where a joint.
K67_JOINT_IDS, K67_SMPLX_VERTEX_IDS = _k67_tables()
