"""C3D marker clips: axis conversion, joint centres on synthetic markers, the skeletal Motion, the table."""

import numpy as np
import pytest

from mocap.models.mocap import c3d_markers as cm
from mocap.models.mocap.correspondence import correspondence_for
from mocap.models.mocap.motion import forward_kinematics


def test_strip_prefix():
    assert cm.strip_prefix("Male:LFWT   ") == "LFWT"
    assert cm.strip_prefix("male:LFHD") == "LFHD"
    assert cm.strip_prefix("C7") == "C7"


def test_zup_to_yup_is_a_proper_rotation():
    p = np.array([[1.0, 2.0, 3.0]])
    assert np.allclose(cm.zup_to_yup(p), [[1.0, 3.0, -2.0]])
    a = cm.zup_to_yup(np.eye(3))                       # rows: images of x, y, z
    assert np.isclose(np.linalg.det(a), 1.0)           # right-handed stays right-handed (no mirror)
    assert np.allclose(cm.zup_to_yup([0, 0, 1.0]), [0, 1.0, 0])   # z up -> y up


def _standing_markers():
    """Synthetic CMU markers of a person standing upright, y up, facing +z, left at +x (metres).

    Legs straight down, arms hanging straight down at the sides, palms forward."""
    m = {
        "LFWT": (0.12, 1.0, 0.08), "RFWT": (-0.12, 1.0, 0.08), "LBWT": (0.08, 1.0, -0.10), "RBWT": (-0.08, 1.0, -0.10),
        "LKNE": (0.15, 0.5, 0.0), "RKNE": (-0.15, 0.5, 0.0), "LANK": (0.14, 0.08, 0.0), "RANK": (-0.14, 0.08, 0.0),
        "LHEE": (0.10, 0.05, -0.06), "RHEE": (-0.10, 0.05, -0.06), "LTOE": (0.10, 0.04, 0.14),
        "RTOE": (-0.10, 0.04, 0.14), "LMT5": (0.14, 0.04, 0.12), "RMT5": (-0.14, 0.04, 0.12),
        "T10": (0.0, 1.2, -0.12), "STRN": (0.0, 1.2, 0.10), "C7": (0.0, 1.45, -0.08), "CLAV": (0.0, 1.45, 0.06),
        "LFHD": (0.07, 1.62, 0.08), "RFHD": (-0.07, 1.62, 0.08), "LBHD": (0.07, 1.62, -0.10), "RBHD": (-0.07, 1.62, -0.10),
        "LSHO": (0.20, 1.45, 0.0), "RSHO": (-0.20, 1.45, 0.0), "LELB": (0.24, 1.12, 0.0), "RELB": (-0.24, 1.12, 0.0),
        "LWRA": (0.22, 0.88, 0.03), "LWRB": (0.22, 0.88, -0.03), "RWRA": (-0.22, 0.88, 0.03), "RWRB": (-0.22, 0.88, -0.03),
    }
    for k in ("LTHI", "RTHI", "LSHN", "RSHN", "LUPA", "RUPA", "LFRM", "RFRM", "LFIN", "RFIN", "RBAC"):
        m[k] = (0.0, 1.0, 0.0)
    return {k: np.array([v], dtype=float) for k, v in m.items()}


def test_pelvis_frame_identity_when_upright_facing_z():
    r = cm.pelvis_frame(_standing_markers())
    assert np.allclose(r[0], np.eye(3), atol=1e-9)


def test_joint_centres_known_answers():
    mk = _standing_markers()
    j = cm.joint_centres(mk)
    # Harrington 2007: PW = 0.24 m, PD = 0.18 m -> from mid-ASIS (0, 1, 0.08): fwd -0.24*180-9.9 mm,
    # up -0.30*240-10.9 mm, lateral 0.33*240+7.3 mm
    x, y, z = -0.24 * 180 - 9.9, -0.30 * 240 - 10.9, 0.33 * 240 + 7.3
    assert np.allclose(j["left_hip"][0], [z / 1000, 1.0 + y / 1000, 0.08 + x / 1000])
    assert np.allclose(j["right_hip"][0], [-z / 1000, 1.0 + y / 1000, 0.08 + x / 1000])
    spacing = 2 * z / 1000
    assert np.allclose(j["pelvis"][0], [0.0, 1.0 + y / 1000 + cm.PELVIS_ABOVE_HIPS * spacing, 0.08 + x / 1000])
    # straight legs: knees / ankles moved medially (towards x = 0) by half width + marker radius
    dk = 0.5 * cm.KNEE_WIDTH_M + cm.MARKER_RADIUS_M
    assert j["left_knee"][0, 0] < 0.15 and j["right_knee"][0, 0] > -0.15
    assert np.isclose(np.linalg.norm(j["left_knee"][0] - mk["LKNE"][0]), dk)
    assert np.allclose(j["left_ankle"][0], [0.14 - 0.5 * cm.ANKLE_WIDTH_M - cm.MARKER_RADIUS_M, 0.08, 0.0], atol=1e-3)
    assert np.allclose(j["right_ankle"][0], [-0.14 + 0.5 * cm.ANKLE_WIDTH_M + cm.MARKER_RADIUS_M, 0.08, 0.0], atol=1e-3)
    assert np.allclose(j["left_foot"][0], [0.12, 0.04, 0.13])
    assert np.allclose(j["left_wrist"][0], [0.22, 0.88, 0.0])
    assert np.allclose(j["left_shoulder"][0], [0.20, 1.45 - cm.SHOULDER_DROP_M, 0.0])
    assert np.allclose(j["neck"][0], [0.0, 1.45, -0.01])
    assert np.allclose(j["spine3"][0], [0.0, 1.2, -0.01])
    assert np.allclose(j["head"][0], [0.0, 1.62, -0.01])
    assert j["left_elbow"][0, 0] < 0.24 and j["right_elbow"][0, 0] > -0.24


def test_bent_knee_and_elbow_move_medially():
    mk = _standing_markers()
    # left knee flexed 90 degrees: shank horizontal backwards; marker stays lateral (+x)
    mk["LANK"] = np.array([[0.15, 0.5, -0.42]])
    mk["LHEE"] = np.array([[0.11, 0.45, -0.48]])
    mk["LTOE"] = np.array([[0.11, 0.36, -0.40]])
    # left elbow flexed 90 degrees: forearm forward
    mk["LWRA"], mk["LWRB"] = np.array([[0.24, 1.12, 0.26]]), np.array([[0.22, 1.12, 0.26]])
    j = cm.joint_centres(mk)
    dk = 0.5 * cm.KNEE_WIDTH_M + cm.MARKER_RADIUS_M
    de = 0.5 * cm.ELBOW_WIDTH_M + cm.MARKER_RADIUS_M
    assert j["left_knee"][0, 0] == pytest.approx(0.15 - dk, abs=0.02)
    assert j["left_elbow"][0, 0] == pytest.approx(0.24 - de, abs=0.02)


def test_joints_to_motion_reproduces_bone_directions():
    rng = np.random.default_rng(0)
    base = _standing_markers()
    mk = {k: v + 0.02 * rng.standard_normal((5, 3)) for k, v in base.items()}
    j = cm.joint_centres(mk)
    m = cm.joints_to_motion(j, cm.pelvis_frame(mk), 120.0, meta={"variant": "c3d_markers"})
    pos = forward_kinematics(m)
    assert np.allclose(pos[:, 0], j["pelvis"])
    for name, par in cm.JOINTS.items():
        if par is None:
            continue
        d1, d2 = pos[:, m.index(name)] - pos[:, m.index(par)], j[name] - j[par]
        cos = np.sum(d1 * d2, -1) / np.linalg.norm(d1, axis=-1) / np.linalg.norm(d2, axis=-1)
        assert np.all(cos > 1 - 1e-9), name
    name, table = correspondence_for(m.joint_names, m.meta["variant"])
    assert name == "c3d markers" and len(table) == 18
    assert all(v in m.joint_names for v in table.values())


def test_missing_markers_raise():
    mk = _standing_markers()
    del mk["LKNE"]
    with pytest.raises(ValueError, match="LKNE"):
        cm.joint_centres(mk)
