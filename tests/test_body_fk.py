"""SparseBody equals the full SMPL-X forward pass + detector points; box projection known answer."""
import numpy as np
import torch

from mocap.models.body.detector_points import DetectorPoints
from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets.body_fk import SparseBody, full_rotmats, posed_points, project_to_box
from mocap.models.nets.rotation import rot6d_to_axis_angle_np, rot6d_to_rotmat, rotmat_to_rot6d
from mocap.models.body.lbs import axis_angle_to_rotmat
from mocap.models.proxy.generate import axis_angle_to_rot6d


def test_sparse_body_matches_full_model():
    model = load_body_model()
    points = DetectorPoints.load(model)
    body = SparseBody(model, points)
    g = torch.Generator().manual_seed(0)
    B = 3
    pose = torch.randn(B, 55, 3, generator=g) * 0.3
    pose[:, 22:25] = 0                                   # jaw/eyes are not predicted
    betas = torch.randn(B, 10, generator=g)
    out = model(global_orient=pose[:, 0], body_pose=pose[:, 1:22], left_hand_pose=pose[:, 25:40],
                right_hand_pose=pose[:, 40:55], betas=betas)
    joints, k67 = body(axis_angle_to_rotmat(pose), betas)
    torch.testing.assert_close(joints, out.joints, atol=1e-5, rtol=0)
    torch.testing.assert_close(k67, points(out), atol=1e-5, rtol=0)
    assert body.v_template.shape[0] < 1000              # it is sparse


def test_rot6d_round_trip_and_posed_points():
    aa = np.random.default_rng(1).normal(0, 0.8, (4, 52, 3))
    six = axis_angle_to_rot6d(aa)
    np.testing.assert_allclose(rot6d_to_axis_angle_np(six), aa, atol=1e-6)
    R = rot6d_to_rotmat(torch.as_tensor(six))
    torch.testing.assert_close(rotmat_to_rot6d(R), torch.as_tensor(six))
    assert full_rotmats(R).shape == (4, 55, 3, 3)
    body = SparseBody(load_body_model())
    root = torch.tensor([[0.1, -0.2, 3.0]] * 4, dtype=torch.float64)
    _, joints_c, _ = posed_points(body.double(), torch.as_tensor(six), torch.zeros(4, 10, dtype=torch.float64), root)
    torch.testing.assert_close(joints_c[:, 0], root)


def test_project_to_box_known_answer():
    # f = 1000 px, principal point (320, 240), box centre (420, 240), size 200 px: a point at
    # X/Z = 0.1 projects to u = 420, the box centre -> 0; X/Z = 0.2 -> u = 520 -> +1.
    g = torch.tensor([[100 / 1000, 0.0, 200 / 1000]])
    p = torch.tensor([[[0.2, 0.0, 2.0], [0.4, 0.2, 2.0]]])
    torch.testing.assert_close(project_to_box(p, g), torch.tensor([[[0.0, 0.0], [1.0, 1.0]]]))
