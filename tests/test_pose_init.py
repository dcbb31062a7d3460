"""Pose-initialisation net (DESIGN 7): shapes, receptive field, causality, masking, CLIFF translation."""
import numpy as np
import pytest
import torch

from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet, cliff_cam_to_root
from mocap.models.proxy.generate import rot6d_to_rotmat

B, W, K = 2, 81, 67


def inputs(b=B, t=W, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.randn(b, t, K, 2, generator=g) * 0.5
    mask = (torch.rand(b, t, K, generator=g) > 0.2).float()
    gi = torch.stack([torch.randn(b, t, generator=g) * 0.2, torch.randn(b, t, generator=g) * 0.2,
                      0.3 + 0.2 * torch.rand(b, t, generator=g)], -1)
    return xy, mask, gi


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = PoseInitNet(PoseInitConfig(channels=64))
    # non-trivial BN statistics so eval mode is not the identity
    with torch.no_grad():
        n.train()
        for _ in range(3):
            n(*inputs(4, W, seed=9))
    return n.eval()


def test_shapes_and_receptive_field(net):
    assert net.receptive_field() == 81
    assert [b.conv.dilation[0] for b in net.blocks] == [3, 9, 27] and net.expand.dilation[0] == 1
    out = net(*inputs())
    assert out.pose_6d.shape == (B, 52, 6) and out.betas.shape == (B, 10)
    assert out.root_c.shape == (B, 3) and out.cam_crop.shape == (B, 3) and out.contacts.shape == (B, 4)
    assert (out.cam_crop[:, 0] > 0).all() and (out.root_c[:, 2] > 0).all()
    seq = net.forward_sequence(*inputs(t=100))
    assert seq.pose_6d.shape == (B, 20, 52, 6) and seq.contacts.shape == (B, 20, 4)
    # decodable 6D in the dataset's column convention
    R = rot6d_to_rotmat(out.pose_6d.detach().numpy().astype(np.float64))
    assert np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(3), atol=1e-6)


def test_default_parameter_count():
    n = PoseInitNet()
    assert n.receptive_field() == 81 and n.config.causal
    print("PoseInitNet default (256 ch) parameters:", n.num_parameters())
    assert 5e5 < n.num_parameters() < 5e6


@torch.no_grad()
def test_causal_receptive_field(net):
    t = 100
    xy, mask, gi = inputs(t=t)
    base = net(xy, mask, gi)
    seq = net.forward_sequence(xy, mask, gi)

    def changed(frames, tensor="xy"):
        x2, m2, g2 = xy.clone(), mask.clone(), gi.clone()
        if tensor == "xy":
            x2[:, frames] += 1.0
        elif tensor == "mask":
            m2[:, frames] = 1 - m2[:, frames]
        else:
            g2[:, frames] += 0.1
        return net(x2, m2, g2), net.forward_sequence(x2, m2, g2)

    # frames older than the field (newest frame 99 sees 19..99)
    for kind in ("xy", "mask", "global"):
        o, _ = changed(slice(0, t - 81), kind)
        assert torch.equal(o.pose_6d, base.pose_6d) and torch.equal(o.root_c, base.root_c)
    # the oldest and newest frame inside the field matter
    for f in (t - 81, t - 1):
        o, _ = changed([f])
        assert not torch.allclose(o.pose_6d, base.pose_6d)
    # future frames: output frame j (input frame j + 80) is unchanged when later frames change
    _, s2 = changed(slice(91, t))
    j = 90 - 80
    assert torch.equal(s2.pose_6d[:, :j + 1], seq.pose_6d[:, :j + 1])
    assert torch.equal(s2.root_c[:, :j + 1], seq.root_c[:, :j + 1])
    assert not torch.allclose(s2.pose_6d[:, j + 1:], seq.pose_6d[:, j + 1:])


@torch.no_grad()
def test_centred_receptive_field():
    torch.manual_seed(1)
    n = PoseInitNet(PoseInitConfig(channels=32, causal=False)).eval()
    xy, mask, gi = inputs(t=W)
    base = n(xy, mask, gi)
    x2 = xy.clone()
    x2[:, 41:] += 1.0   # the future of the centre frame 40 is inside a centred field
    assert not torch.allclose(n(x2, mask, gi).pose_6d, base.pose_6d)


@torch.no_grad()
def test_masked_frames_and_garbage(net):
    xy, mask, gi = inputs()
    mask[:, -1] = 0          # newest frame entirely missing
    mask[:, 10:30] = 0       # and a long gap
    xy[mask == 0] = 1e6      # missing xy are ignored, whatever they hold
    xy[:, -1] = float("nan")
    out = net(xy, mask, gi)
    for v in (out.pose_6d, out.betas, out.root_c, out.contacts):
        assert torch.isfinite(v).all()
    xy2 = xy.clone()
    xy2[mask == 0] = -3.0
    assert torch.allclose(net(xy2, mask, gi).pose_6d, out.pose_6d)
    # all keypoints of the whole window missing: still runs
    out0 = net(xy, torch.zeros_like(mask), gi)
    assert torch.isfinite(out0.pose_6d).all() and torch.isfinite(out0.root_c).all()


def test_proxy_like_batch_trains_one_step():
    torch.manual_seed(0)
    n = PoseInitNet(PoseInitConfig(channels=32)).train()
    batch = {"k67_xy": torch.randn(8, W, K, 2), "mask": (torch.rand(8, W, K) > 0.3).float(),
             "global_info": torch.rand(8, W, 3) * 0.3 + torch.tensor([0.0, 0.0, 0.2]),
             "pose_6d": torch.randn(8, 52, 6), "betas": torch.randn(8, 10), "root_c": torch.randn(8, 3),
             "contacts": (torch.rand(8, 4) > 0.5).float()}
    out = n(batch["k67_xy"], batch["mask"], batch["global_info"])
    loss = ((out.pose_6d - batch["pose_6d"]) ** 2).mean() + ((out.betas - batch["betas"]) ** 2).mean() \
        + ((out.root_c - batch["root_c"]) ** 2).mean() \
        + torch.nn.functional.binary_cross_entropy_with_logits(out.contacts, batch["contacts"])
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in n.parameters() if p.grad is not None)
    assert n.expand.weight.grad is not None and n.head.weight.grad.abs().sum() > 0


def test_cliff_translation_projects_root_to_box():
    # root at box coords s * (tx, ty) -> pixel c + s t b / 2; full perspective: p + f X / Z
    f, px, py, cx, cy, b = 1500.0, 960.0, 540.0, 1200.0, 400.0, 300.0
    cam = torch.tensor([[0.8, 0.1, -0.2]], dtype=torch.float64)
    g = torch.tensor([[(cx - px) / f, (cy - py) / f, b / f]], dtype=torch.float64)
    X, Y, Z = cliff_cam_to_root(cam, g)[0].tolist()
    assert Z == pytest.approx(2 * f / (b * 0.8))
    assert px + f * X / Z == pytest.approx(cx + 0.8 * 0.1 * b / 2)
    assert py + f * Y / Z == pytest.approx(cy + 0.8 * -0.2 * b / 2)


def test_frames_without_keypoints_are_ignored_whatever_their_box():
    """Padding frames (no keypoint) may carry any box information: the output must not change."""
    torch.manual_seed(0)
    n = PoseInitNet(PoseInitConfig(channels=32)).eval()
    T = 100
    xy, mask = torch.rand(1, T, 67, 2) * 2 - 1, torch.ones(1, T, 67)
    mask[:, :30] = 0                                       # the stream starts at frame 30
    g1 = torch.tensor([0.1, 0.0, 0.5]).repeat(1, T, 1)
    g2 = g1.clone()
    g2[:, :30] = torch.tensor([5.0, -3.0, 9.0])
    with torch.no_grad():
        a, b = n.forward_sequence(xy, mask, g1), n.forward_sequence(xy, mask, g2)
    torch.testing.assert_close(a.pose_6d, b.pose_6d)
    torch.testing.assert_close(a.root_c, b.root_c)
