"""BVH export: reading the file back with our reader gives the body model's joints on every frame."""
from __future__ import annotations

import numpy as np
import pytest
from formats_synth import model_joints, synthetic_take
from mocap.app.formats.bvh import skeleton2bvh
from mocap.app.formats.skeleton import (
    BVH_ROTATION_ORDER,
    YUP_FROM_CAMERA,
    skeleton_motion,
)
from mocap.models.body.smplx_layout import JOINT_NAMES
from mocap.models.body.smplx_model import load_body_model
from mocap.models.mocap.motion import forward_kinematics
from mocap.models.mocap.readers import read_bvh

ROUND_TRIP_TOL_M = 1e-4   # issue 8: same global joint positions as our FK to 1e-4 m


@pytest.fixture(scope="module")
def model():
    return load_body_model()


@pytest.mark.parametrize("units,units_m", [("m", 1.0), ("cm", 0.01)])
@pytest.mark.parametrize("include_face", [True, False])
def test_round_trip_matches_forward_kinematics(tmp_path, model, units, units_m, include_face):
    take = synthetic_take(T=15, seed=3)
    path = skeleton2bvh(skeleton_motion(take, model, include_face), tmp_path / "a take.bvh", units=units)
    motion = read_bvh(path, units_m=units_m)
    pos = forward_kinematics(motion)                                       # (T, J + end sites, 3)
    J = model_joints(take)
    names = [n for n in JOINT_NAMES if include_face or n not in ("jaw", "left_eye_smplhf", "right_eye_smplhf")]
    assert set(names) <= set(motion.joint_names)
    assert sum(not e for e in motion.end_sites) == len(names) == (55 if include_face else 52)
    assert sum(n.startswith(("left_", "right_")) and n[-1] in "123" for n in names) == 30   # every finger joint
    ours = pos[:, [motion.joint_names.index(n) for n in names]]
    ref = J[:, [JOINT_NAMES.index(n) for n in names]]
    assert motion.num_frames == take.num_frames
    assert np.abs(ours - ref).max() < ROUND_TRIP_TOL_M
    assert motion.fps == pytest.approx(take.fps)


def test_camera_frame_take_is_written_y_up(tmp_path, model):
    take = synthetic_take(T=6, seed=5, frame="camera")
    motion = read_bvh(skeleton2bvh(skeleton_motion(take, model), tmp_path / "c.bvh"), units_m=1.0)
    pos = forward_kinematics(motion)[:, [motion.joint_names.index(n) for n in JOINT_NAMES]]
    assert np.abs(pos - model_joints(take) @ YUP_FROM_CAMERA.T).max() < ROUND_TRIP_TOL_M


def test_header_declares_one_rotation_order_and_root_translation(tmp_path, model):
    take = synthetic_take(T=3, fps=25.0)
    text = skeleton2bvh(skeleton_motion(take, model), tmp_path / "h.bvh").read_text()
    rot = " ".join(f"{a}rotation" for a in BVH_ROTATION_ORDER)
    assert text.count(f"CHANNELS 6 Xposition Yposition Zposition {rot}") == 1
    assert text.count(f"CHANNELS 3 {rot}") == 54
    assert "Frame Time: 0.04000000" in text and "Frames: 3" in text
    assert text.splitlines()[1] == "ROOT pelvis"


def test_known_pose_angles(tmp_path, model):
    """Frame 0 raises the right arm 90 degrees about Z: the file says Zrotation -90 there and 0 elsewhere."""
    take = synthetic_take(T=2)
    motion = read_bvh(skeleton2bvh(skeleton_motion(take, model), tmp_path / "k.bvh"), units_m=1.0)
    r = motion.rotations[0, motion.joint_names.index("right_shoulder")]
    np.testing.assert_allclose(r, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-6)
    pos = forward_kinematics(motion)[0]
    upper_arm = pos[motion.joint_names.index("right_elbow")] - pos[motion.joint_names.index("right_shoulder")]
    rest = motion.offsets_m[motion.joint_names.index("right_elbow")]       # about (-0.26, 0, 0)
    assert rest[0] < -0.2
    Rz = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]])                       # -90 degrees about Z
    np.testing.assert_allclose(upper_arm, Rz @ rest, atol=1e-6)             # pointing up (+Y)
    assert upper_arm[1] > 0.99 * np.linalg.norm(upper_arm)


def test_bad_units_rejected(tmp_path, model):
    with pytest.raises(ValueError, match="units"):
        skeleton2bvh(skeleton_motion(synthetic_take(T=2), model), tmp_path / "u.bvh", units="inch")
