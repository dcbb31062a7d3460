"""Mocap readers, kinematics, resampling, mirroring and split: known answers on small synthetic files.

Every expected position below was worked out by hand from the file written in the test (comments show
the steps); no file outside tmp_path is read.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from mocap.models.mocap.inventory import main as inventory_main
from mocap.models.mocap.motion import (
    Motion,
    axis_angle_to_matrix,
    euler_to_matrix,
    forward_kinematics,
    left_right_mirror,
    matrix_to_quat,
    mirror_pairs,
    quat_to_matrix,
    resample,
    to_world_frame,
)
from mocap.models.mocap.readers import (
    CMU_UNIT_M,
    read_asf_amc,
    read_bvh,
    read_expmap_csv,
)
from mocap.models.mocap.split import split_train_val

TOL = 1e-9

# A 3-joint BVH (Hips, Chest with ZXY, Arm with ZYX) plus an End Site, two frames, centimetres,
# CRLF line endings in the hierarchy and tabs in the MOTION header as in the cgspeed Daz files.
BVH_3 = (
    "HIERARCHY\n"
    "ROOT Hips\r\n{\r\n  OFFSET 0 0 0\r\n"
    "  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\r\n"
    "  JOINT Chest\r\n  {\r\n    OFFSET 0 10 0\r\n    CHANNELS 3 Zrotation Xrotation Yrotation\r\n"
    "    JOINT Arm\r\n    {\r\n      OFFSET 5 0 0\r\n      CHANNELS 3 Zrotation Yrotation Xrotation\r\n"
    "      End Site\r\n      {\r\n        OFFSET 0 0 2\r\n      }\r\n    }\r\n  }\r\n}\r\n"
    "MOTION\r\nFrames:\t2\r\nFrame Time:\t0.0166667\r\n"
    # frame 0: root at (1, 2, 3), no rotation
    "1 2 3 0 0 0  0 0 0  0 0 0\n"
    # frame 1: root at (1, 0, 0) turned Y 90; Chest Z 90, X 90 (ZXY); Arm Y 90, X 90 (ZYX)
    "1 0 0 0 90 0  90 90 0  0 90 90\n"
)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def test_bvh_three_joints_known_positions(tmp_path):
    m = read_bvh(_write(tmp_path / "three joints.bvh", BVH_3), units_m=0.01)
    assert m.joint_names == ["Hips", "Chest", "Arm", "Arm_End"]
    assert list(m.parents) == [-1, 0, 1, 2]
    assert list(m.end_sites) == [False, False, False, True]
    assert m.meta["channel_orders"] == {"Hips": "ZYX", "Chest": "ZXY", "Arm": "ZYX"}
    assert m.fps == 60.0 and m.meta["reference_frame"] == "none"
    p = forward_kinematics(m) * 100.0  # back to cm for readable numbers
    # frame 0: rest pose shifted by the root translation.
    np.testing.assert_allclose(p[0], [[1, 2, 3], [1, 12, 3], [6, 12, 3], [6, 12, 5]], atol=TOL)
    # frame 1: G_root = Ry(90): (x, y, z) -> (z, y, -x).  Chest = (1,0,0) + Ry (0,10,0) = (1,10,0).
    # R_chest = Rz(90) Rx(90): (5,0,0) -Rx-> (5,0,0) -Rz-> (0,5,0); Ry -> (0,5,0): Arm = (1,15,0).
    # R_arm = Ry(90) Rx(90): (0,0,2) -Rx-> (0,-2,0) -Ry-> (0,-2,0); R_chest: -Rx-> (0,0,-2) -Rz-> (0,0,-2);
    # Ry -> (-2,0,0): End = (-1,15,0).
    np.testing.assert_allclose(p[1], [[1, 0, 0], [1, 10, 0], [1, 15, 0], [-1, 15, 0]], atol=TOL)


def _cgspeed_bvh(root, joints, values_per_frame, frame_time="0.0083333"):
    """A tiny BVH whose joint names make it a cgspeed variant; every non-root joint has ZXY channels."""
    txt = f"HIERARCHY\nROOT {root}\n{{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\n"
    for name in joints:
        txt += f" JOINT {name}\n {{\n  OFFSET 1 0 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n"
        txt += "  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n"
    txt += "}\nMOTION\n" + f"Frames: {len(values_per_frame)}\nFrame Time: {frame_time}\n"
    n = 6 + 3 * len(joints)
    for v in values_per_frame:
        txt += " ".join(str(x) for x in (list(v) + [0] * n)[:n]) + "\n"
    return txt


def test_bvh_cgspeed_units_and_reference_frame(tmp_path):
    mb_joints = ["LHipJoint", "LeftUpLeg", "LeftArm"]
    frames = [[0, 17, 0], [1, 17, 2], [2, 17, 4]]  # frame 0 = the T-pose cgspeed adds
    m = read_bvh(_write(tmp_path / "mb.bvh", _cgspeed_bvh("Hips", mb_joints, frames)))
    assert m.meta["variant"] == "motionbuilder" and m.meta["reference_frame"] == "dropped"
    assert m.num_frames == 2 and m.fps == 120.0  # 1/.0083333 snapped
    np.testing.assert_allclose(m.offsets_m[1], [CMU_UNIT_M, 0, 0], atol=TOL)  # 1 unit = 1/0.45 inch
    np.testing.assert_allclose(m.root_translation_m[0], np.array([1, 17, 2]) * 0.0254 / 0.45, atol=TOL)
    np.testing.assert_allclose(m.meta["reference_root_m"], np.array([0, 17, 0]) * CMU_UNIT_M, atol=TOL)
    kept = read_bvh(tmp_path / "mb.bvh", keep_reference_frame=True)
    assert kept.num_frames == 3 and kept.meta["reference_frame"] == "kept"

    daz = read_bvh(_write(tmp_path / "daz.bvh", _cgspeed_bvh("hip", ["lThigh", "lShldr", "rShldr"], frames)))
    assert daz.meta["variant"] == "daz" and daz.num_frames == 2
    np.testing.assert_allclose(daz.offsets_m[1], [0.01, 0, 0], atol=TOL)  # centimetres
    np.testing.assert_allclose(daz.root_translation_m[1], [0.02, 0.17, 0.04], atol=TOL)

    mx = read_bvh(_write(tmp_path / "max.bvh", _cgspeed_bvh("Hips", ["LeftHip", "LeftKnee", "LeftCollar"], frames)))
    assert mx.meta["variant"] == "3dsmax" and mx.num_frames == 3 and mx.meta["reference_frame"] == "none"


def test_bvh_salsa_true_rate(tmp_path):
    txt = _cgspeed_bvh("hip", ["lThigh", "lShldr", "rShldr"], [[0, 0, 0]] * 3, frame_time="0.00833333")
    m = read_bvh(_write(tmp_path / "salsa" / "01.bvh", txt))
    assert m.meta["fps_in_file"] == 120.0 and m.fps == 60.0
    assert read_bvh(_write(tmp_path / "61_02.bvh", txt)).fps == 60.0
    assert read_bvh(_write(tmp_path / "indian" / "01.bvh", txt)).fps == 120.0
    assert read_bvh(tmp_path / "indian" / "01.bvh", fps=30.0).fps == 30.0


ASF = """# test skeleton
:version 1.10
:name TEST
:units
  mass 1.0
  length 0.5
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 0 1 0
     length 10
     axis 0 0 90  XYZ
    dof rx ry
    limits (-180.0 180.0)
           (-180.0 180.0)
  end
  begin
     id 2
     name b
     direction 1 0 0
     length 5
     axis 0 0 0 XYZ
    dof rz
    limits (-180.0 180.0)
  end
:hierarchy
  begin
    root a
    a b
  end
"""

AMC = """#!OML:ASF test.asf
:FULLY-SPECIFIED
:DEGREES
1
root 1 2 3 0 0 0
a 0 0
b 0
2
root 0 0 0 0 90 0
a 90 0
b 90
3
root 0 0 0 0 0 0
a 90 90
b 0
"""


def test_asf_amc_known_positions(tmp_path):
    asf = _write(tmp_path / "test.asf", ASF.replace("\n", "\r\n"))  # CRLF as in HDM05
    amc = _write(tmp_path / "clip_60.amc", AMC)
    m = read_asf_amc(asf, amc)
    assert m.joint_names == ["root", "a", "b", "b_end"] and list(m.parents) == [-1, 0, 1, 2]
    assert m.fps == 60.0  # HDM05 file-name suffix
    unit = 0.0254 / 0.5  # ':units length 0.5' -> 1 unit = 1/0.5 inch
    p = forward_kinematics(m) / unit
    # frame 1: rest pose at the root (1,2,3): bone a starts at the root, b at a's tip, b_end at b's tip.
    np.testing.assert_allclose(p[0], [[1, 2, 3], [1, 2, 3], [1, 12, 3], [6, 12, 3]], atol=1e-9)
    # frame 2: G_root = Ry(90) (RX RY RZ = 0 90 0). a: C = Rz(90), M = Rx(90), C M C^T = rotation by 90
    # about C x = +y, i.e. Ry(90); G_a = Ry(180); b starts at (0,10,0) (Ry(180) keeps the y axis).
    # b: C = I, M = Rz(90): G_b = Ry(180) Rz(90); (5,0,0) -> (0,5,0) -> (0,5,0): b_end = (0,15,0).
    np.testing.assert_allclose(p[1], [[0, 0, 0], [0, 0, 0], [0, 10, 0], [0, 15, 0]], atol=1e-9)
    # frame 3: a rx = ry = 90, applied X first: M = Ry Rx; C M C^T = R_{Cy}(90) R_{Cx}(90) = Rx(-90) Ry(90).
    # Rx(-90): (x, y, z) -> (x, z, -y). b = G_a (0,10,0) = Rx(-90) (0,10,0) = (0,0,-10);
    # b_end = b + G_a (5,0,0): (5,0,0) -Ry(90)-> (0,0,-5) -Rx(-90)-> (0,-5,0), so (0,-5,-10).
    np.testing.assert_allclose(p[2], [[0, 0, 0], [0, 0, 0], [0, 0, -10], [0, -5, -10]], atol=1e-9)
    m120 = read_asf_amc(asf, _write(tmp_path / "clip.amc", AMC))
    assert m120.fps == 120.0


def test_expmap_csv_known_positions(tmp_path):
    sk = {"joint_names": ["root", "j1", "j2", "j2_End"], "parents": [-1, 0, 1, 2],
          "offsets_as_listed": [[0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]],
          "is_end_site": [False, False, False, True]}
    skp = _write(tmp_path / "skeleton.json", json.dumps(sk))
    tpose = [0, 0, 0] + [0, 0, 0] + [0, 0, 0.3665] + [0] * 6
    row = [1, 2, 3] + [0, 0, 0] + [0, 0, np.pi / 2] + [0] * 6
    csv = _write(tmp_path / "walk_1.txt", "\n".join(",".join(repr(float(v)) for v in r) for r in (tpose, row)) + "\n")
    m = read_expmap_csv(csv, skp)
    assert m.num_frames == 1 and m.fps == 120.0 and m.meta["reference_frame"] == "dropped"
    p = forward_kinematics(m)[0] / CMU_UNIT_M
    # The source's row-vector FK: j2 = offset_j2 @ expmap2rotmat(0,0,pi/2) + j1 = (1,0,0) @ Rz(90) + j1
    # = (0,-1,0) + (1,3,3); the end site: (0,0,1) @ Rz(90) = (0,0,1).
    np.testing.assert_allclose(p, [[1, 2, 3], [1, 3, 3], [1, 2, 3], [1, 2, 4]], atol=1e-9)
    # the T-pose's +0.3665 rad about z is a -21 degree local rotation in the column convention
    np.testing.assert_allclose(m.meta["reference_rotations"][1], euler_to_matrix(np.array([-0.3665]), "Z"), atol=1e-12)


@pytest.mark.parametrize("name, text, match", [
    ("rows.bvh", BVH_3.replace("1 2 3 0 0 0  0 0 0  0 0 0\n", "1 2 3 0 0 0  0 0 0  0 0\n"),
     r"rows\.bvh:24: 11 values, the hierarchy declares 12"),
    ("frames.bvh", BVH_3.replace("Frames:\t2", "Frames:\t3"), r"frames\.bvh:\d+: Frames says 3 but 2"),
    ("offset.bvh", BVH_3.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), r"offset\.bvh:8: OFFSET is not numeric"),
    ("brace.bvh", BVH_3.replace("MOTION", "}\r\nMOTION"), r"brace\.bvh:21: unbalanced"),
    ("nan.bvh", BVH_3.replace("1 0 0 0 90 0", "1 nan 0 0 90 0"), r"nan\.bvh:25: non-finite"),
    ("word.bvh", BVH_3.replace("1 0 0 0 90 0", "1 x 0 0 90 0"), r"word\.bvh:25: non-numeric"),
    ("head.bvh", "HIERARCY\n", r"head\.bvh:1: expected HIERARCHY"),
])
def test_bvh_malformed(tmp_path, name, text, match):
    with pytest.raises(ValueError, match=match):
        read_bvh(_write(tmp_path / name, text), units_m=0.01)


def test_bvh_generic_needs_units(tmp_path):
    with pytest.raises(ValueError, match=r"g\.bvh: not a cgspeed BVH .* pass units_m"):
        read_bvh(_write(tmp_path / "g.bvh", BVH_3))


def test_asf_amc_malformed(tmp_path):
    asf = _write(tmp_path / "t.asf", ASF)
    with pytest.raises(ValueError, match=r"gap\.amc:12: frame 4 follows frame 2"):
        read_asf_amc(asf, _write(tmp_path / "gap.amc", AMC.replace("\n3\n", "\n4\n")))
    with pytest.raises(ValueError, match=r"count\.amc:6: a has 1 values, the ASF declares 2"):
        read_asf_amc(asf, _write(tmp_path / "count.amc", AMC.replace("a 0 0\n", "a 0\n")))
    with pytest.raises(ValueError, match=r"bone\.amc:8: unknown bone 'c'"):
        read_asf_amc(asf, _write(tmp_path / "bone.amc", AMC.replace("b 0\n2", "b 0\nc 1\n2")))
    bad = _write(tmp_path / "h.asf", ASF.replace("a b\n", "a c\n"))
    with pytest.raises(ValueError, match=r"h\.asf: :hierarchy names bone 'c'"):
        read_asf_amc(bad, tmp_path / "count.amc")


def test_expmap_malformed(tmp_path):
    sk = _write(tmp_path / "s.json", json.dumps({"joint_names": ["r"], "parents": [-1], "offsets_as_listed": [[0, 0, 0]]}))
    with pytest.raises(ValueError, match=r"c\.txt:2: 5 columns, expected 6"):
        read_expmap_csv(_write(tmp_path / "c.txt", "0,0,0,0,0,0\n0,0,0,0,0\n"), sk)
    with pytest.raises(ValueError, match=r"bad\.json: not a skeleton JSON"):
        read_expmap_csv(tmp_path / "c.txt", _write(tmp_path / "bad.json", "{}"))


# ----------------------------------------------------------------------------- maths

def _chain_motion(angles_deg, fps, trans=None):
    """Root + one child at (0,1,0) whose local rotation is Rz(angle) per frame."""
    t = len(angles_deg)
    rot = np.broadcast_to(np.eye(3), (t, 2, 3, 3)).copy()
    rot[:, 1] = euler_to_matrix(np.deg2rad(np.asarray(angles_deg, float))[:, None], "Z")
    tr = np.zeros((t, 3)) if trans is None else np.asarray(trans, float)
    return Motion(["root", "child"], [-1, 0], [[0, 0, 0], [0, 1, 0]], rot, tr, fps=fps)


def test_rotation_helpers_round_trip():
    rng = np.random.default_rng(1)
    r = axis_angle_to_matrix(rng.normal(size=(50, 3)) * 2)
    np.testing.assert_allclose(quat_to_matrix(matrix_to_quat(r)), r, atol=1e-12)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    # intrinsic ZXY = Rz @ Rx @ Ry; extrinsic XYZ (Acclaim) = Rz @ Ry @ Rx
    a = np.deg2rad([30.0, 40.0, 50.0])
    rz, rx, ry = (euler_to_matrix(np.array([v]), ax) for v, ax in zip(a, "ZXY"))
    np.testing.assert_allclose(euler_to_matrix(a, "ZXY"), rz @ rx @ ry, atol=1e-12)
    np.testing.assert_allclose(euler_to_matrix(a, "ZXY", intrinsic=False), ry @ rx @ rz, atol=1e-12)


def test_resample_60_to_30_takes_every_other_frame():
    rng = np.random.default_rng(0)
    t = 11
    rot = axis_angle_to_matrix(rng.normal(size=(t, 2, 3)))
    m = Motion(["root", "child"], [-1, 0], [[0, 0, 0], [0, 1, 0]], rot, rng.normal(size=(t, 3)), fps=60.0)
    r = resample(m, 30)
    assert r.fps == 30.0 and r.num_frames == 6
    np.testing.assert_array_equal(r.rotations, m.rotations[::2])
    np.testing.assert_array_equal(r.root_translation_m, m.root_translation_m[::2])


def test_resample_25_to_30_slerps_at_the_right_times():
    # input frame i at i/25 s, child turned 10 i degrees about z, root x = 0.1 i m
    m = _chain_motion([10.0 * i for i in range(6)], 25.0, trans=[[0.1 * i, 0, 0] for i in range(6)])
    r = resample(m, 30.0)
    # output frame k at k/30 s = input frame 25k/30; the last input time 0.2 s gives k = 0..6
    assert r.num_frames == 7
    u = np.arange(7) * 25.0 / 30.0
    np.testing.assert_allclose(r.rotations[:, 1], euler_to_matrix(np.deg2rad(10.0 * u)[:, None], "Z"), atol=1e-12)
    np.testing.assert_allclose(r.root_translation_m[:, 0], 0.1 * u, atol=1e-12)
    # a slerp, not a matrix lerp: 0 -> 170 degrees, halfway is exactly 85 degrees
    h = resample(_chain_motion([0.0, 170.0], 10.0), 20.0)
    np.testing.assert_allclose(h.rotations[1, 1], euler_to_matrix(np.deg2rad([85.0]), "Z"), atol=1e-12)
    with pytest.raises(ValueError, match="fps must be > 0"):
        resample(m, 0)


def _legs_motion():
    names = ["root", "LeftHip", "LeftKnee", "RightHip", "RightKnee"]
    offs = [[0, 0, 0], [1, 0, 0], [0, -2, 0], [-1, 0, 0], [0, -2, 0]]
    rot = np.broadcast_to(np.eye(3), (1, 5, 3, 3)).copy()
    rot[0, 1] = euler_to_matrix(np.deg2rad([90.0]), "Z")  # left leg abducted sideways
    return Motion(names, [-1, 0, 1, 0, 3], offs, rot, [[0.5, 1.0, 0.2]], fps=30.0)


def test_mirror_known_answer():
    m = _legs_motion()
    assert mirror_pairs(m.joint_names) == [("LeftHip", "RightHip"), ("LeftKnee", "RightKnee")]
    p = forward_kinematics(m)[0]
    # LeftKnee = (0.5,1,0.2) + (1,0,0) + Rz(90)(0,-2,0) = (3.5, 1, 0.2)
    np.testing.assert_allclose(p[2], [3.5, 1, 0.2], atol=TOL)
    q = forward_kinematics(left_right_mirror(m))[0]
    # mirrored: root x negated, the RIGHT leg now abducted to -x, the left leg hanging straight down
    np.testing.assert_allclose(q, [[-0.5, 1, 0.2], [0.5, 1, 0.2], [0.5, -1, 0.2], [-1.5, 1, 0.2], [-3.5, 1, 0.2]], atol=TOL)


def test_mirror_general_property_and_involution():
    rng = np.random.default_rng(3)
    m = _legs_motion()
    m.rotations = axis_angle_to_matrix(rng.normal(size=(4, 5, 3)))
    m.root_translation_m = rng.normal(size=(4, 3))
    mm = left_right_mirror(m)
    perm = [0, 3, 4, 1, 2]
    np.testing.assert_allclose(forward_kinematics(mm), forward_kinematics(m)[:, perm] * [-1, 1, 1], atol=1e-12)
    np.testing.assert_allclose(left_right_mirror(mm).rotations, m.rotations, atol=1e-12)
    assert mirror_pairs(["hip", "lShldr", "rShldr", "lowerback", "lfemur", "rfemur", "LHipJoint", "RHipJoint",
                         "LThumb_End", "RThumb_End"]) == [
        ("lShldr", "rShldr"), ("lfemur", "rfemur"), ("LHipJoint", "RHipJoint"), ("LThumb_End", "RThumb_End")]
    with pytest.raises(ValueError, match="'Nope' is not in the skeleton"):
        left_right_mirror(m, [("LeftHip", "Nope")])
    with pytest.raises(ValueError, match="hierarchy"):
        left_right_mirror(m, [("LeftHip", "RightKnee")])


def test_to_world_frame_z_up():
    m = _legs_motion()
    m.up_axis = "z"
    w = to_world_frame(m)
    a = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # (x, y, z) -> (x, z, -y)
    assert w.up_axis == "y"
    np.testing.assert_allclose(forward_kinematics(w), forward_kinematics(m) @ a.T, atol=1e-12)


def test_split_deterministic_stratified_grouped():
    clips = [("A", f"a{i:02d}") for i in range(20)] + [("B", f"b{i}") for i in range(5)] + [("C", "c0")]
    tr, va = split_train_val(clips, 0.2, seed=7)
    assert (tr, va) == split_train_val(list(reversed(clips)), 0.2, seed=7)
    assert sum(a == "A" for a, _ in va) == 4 and sum(a == "B" for a, _ in va) == 1 and ("C", "c0") in tr
    assert sorted(tr + va) == sorted(clips)
    assert split_train_val(clips, 0.2, seed=8) != (tr, va)
    groups = {("A", c): "g" for _, c in clips[:20]}  # one group: all A clips on one side
    tr2, va2 = split_train_val(clips, 0.2, seed=7, groups=groups)
    assert all(a != "A" for a, _ in va2) or all(a != "A" for a, _ in tr2)
    with pytest.raises(ValueError, match="val_fraction"):
        split_train_val(clips, 1.0)


def test_inventory_cli_uses_manifest_rate(tmp_path):
    arch = tmp_path / "my archive" / "arch_bvh"
    txt = _cgspeed_bvh("hip", ["lThigh", "lShldr", "rShldr"], [[0, 90, 0], [0, 90, 1], [0, 90, 2], [0, 90, 3]])
    _write(arch / "repo" / "x.bvh", txt)
    _write(arch / "repo" / "broken.bvh", "HIERARCHY\nROOT hip\n")
    _write(arch / "MANIFEST.csv", "path,frames,true_fps\nrepo/x.bvh,4,60.0\nrepo/broken.bvh,1,120\n")
    out = tmp_path / "inv.json"
    assert inventory_main(["--root", str(tmp_path / "my archive"), "--out", str(out)]) == 0
    s = json.loads(out.read_text())["archives"]["arch_bvh"]
    assert s["summary"]["clips"] == 1 and s["summary"]["failures"] == 1
    c = s["clips"]["repo/x.bvh"]
    assert c["fps"] == 60.0 and c["frames"] == 3
    assert c["root_speed_mean_mps"] == pytest.approx(0.01 * 60.0)  # 1 cm per frame at 60 Hz
