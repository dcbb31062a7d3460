"""Known answers for the pose metrics."""
import math

import torch

from mocap.models.nets.metrics import mpjpe, pa_mpjpe, procrustes_align


def _rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def test_pa_mpjpe_removes_similarity_but_not_shape():
    g = torch.Generator().manual_seed(0)
    gt = torch.randn(2, 22, 3, generator=g, dtype=torch.float64) * 100
    pred = 1.7 * gt @ _rot_z(0.9).T + torch.tensor([5.0, -3.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(procrustes_align(pred, gt), gt)
    assert pa_mpjpe(pred, gt).max() < 1e-9
    assert mpjpe(pred, gt).min() > 10                      # root alignment does not undo rotation/scale
    # a reflection is not a rotation: the mirrored skeleton keeps an error
    mirrored = gt * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert pa_mpjpe(mirrored, gt).min() > 1.0


def test_mpjpe_known_answer():
    gt = torch.zeros(1, 3, 3)
    pred = torch.tensor([[[0.0, 0, 0], [3.0, 4, 0], [0.0, 0, 0]]])
    assert abs(float(mpjpe(pred, gt)) - 5.0 / 3) < 1e-6
