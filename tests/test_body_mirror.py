"""Left-right mirror maps and reflections (models/body/mirror.py): known answers."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from mocap.models.body.mirror import (CONTACT_MIRROR, JOINT_MIRROR, K67_MIRROR, ROT52_MIRROR, mirror_axis_angle,
                                      mirror_box_xy, mirror_points, mirror_rot6d, mirror_rotmat)
from mocap.models.body.smplx_layout import JOINT_INDEX, JOINT_NAMES
from mocap.models.keypoints import K67_NAMES, Body25
from mocap.models.proxy.generate import axis_angle_to_rot6d


def test_maps_pair_left_with_right_and_are_involutions():
    for order in (JOINT_MIRROR, K67_MIRROR, ROT52_MIRROR, CONTACT_MIRROR):
        np.testing.assert_array_equal(order[order], np.arange(len(order)))
    assert JOINT_NAMES[JOINT_MIRROR[JOINT_INDEX["left_elbow"]]] == "right_elbow"
    assert JOINT_MIRROR[JOINT_INDEX["pelvis"]] == JOINT_INDEX["pelvis"]
    assert JOINT_NAMES[JOINT_MIRROR[JOINT_INDEX["right_pinky3"]]] == "left_pinky3"
    # the body's wrists swap with each other, not with the hands' wrists of the same name
    assert K67_MIRROR[Body25.LWrist] == Body25.RWrist and K67_MIRROR[Body25.Nose] == Body25.Nose
    assert K67_NAMES[K67_MIRROR[25]] == "RWrist" and K67_MIRROR[25] == 46
    assert K67_MIRROR[Body25.LBigToe] == Body25.RBigToe
    # the nets' 52 rotations: root, body 1-21, left hand 25-39 -> slots 22-36, right hand -> 37-51
    assert ROT52_MIRROR[1] == 2 and ROT52_MIRROR[22] == 37 and ROT52_MIRROR[51] == 36


def test_reflection_of_rotations_is_m_r_m():
    rng = np.random.default_rng(0)
    aa = rng.normal(size=(7, 3))
    M = np.diag([-1.0, 1.0, 1.0])
    R = Rotation.from_rotvec(aa).as_matrix()
    Rm = Rotation.from_rotvec(mirror_axis_angle(aa)).as_matrix()
    np.testing.assert_allclose(Rm, M @ R @ M, atol=1e-12)
    np.testing.assert_allclose(mirror_rotmat(R), M @ R @ M, atol=1e-15)
    # 6D and axis-angle agree (6D columns of M R M), for NumPy and torch alike
    six = axis_angle_to_rot6d(aa)[None]
    identity = np.arange(7)
    np.testing.assert_allclose(mirror_rot6d(six, identity), axis_angle_to_rot6d(mirror_axis_angle(aa))[None],
                               atol=1e-12)
    np.testing.assert_allclose(mirror_rot6d(torch.as_tensor(six), identity).numpy(), mirror_rot6d(six, identity))


def test_points_and_box_coordinates():
    p = np.zeros((55, 3))
    p[JOINT_INDEX["left_wrist"]] = (0.4, 1.0, 2.0)
    m = mirror_points(p, JOINT_MIRROR)
    np.testing.assert_allclose(m[JOINT_INDEX["right_wrist"]], (-0.4, 1.0, 2.0))
    assert not m[JOINT_INDEX["left_wrist"]].any()
    xy = torch.zeros(2, 67, 2)
    xy[:, Body25.RShoulder] = torch.tensor([0.3, -0.5])
    f = mirror_box_xy(xy)
    torch.testing.assert_close(f[:, Body25.LShoulder], torch.tensor([[-0.3, -0.5]] * 2))
    torch.testing.assert_close(mirror_box_xy(f), xy)
