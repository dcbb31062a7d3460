"""Partial 1D convolution against a loop-by-loop NumPy evaluation of DESIGN 7's equation."""
import numpy as np
import pytest
import torch

from mocap.models.nets.partial_conv import PartialConv1d, expand_keypoint_mask, keypoints_to_channels, partial_conv1d

TOL = 1e-5  # float32 against float64 loops


def reference(x, mask, w, b, stride=1, dilation=1, causal=False):
    """DESIGN 7 literally: per window, sum/size over all input channels and taps."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    mask = np.broadcast_to(np.asarray(mask, np.float64), x.shape)
    bsz, c_in, t = x.shape
    c_out, _, k = w.shape
    span = (k - 1) * dilation
    if causal:
        x = np.concatenate([np.zeros((bsz, c_in, span)), x], axis=2)
        mask = np.concatenate([np.zeros((bsz, c_in, span)), mask], axis=2)
        t += span
    t_out = (t - span - 1) // stride + 1
    y, m = np.zeros((bsz, c_out, t_out)), np.zeros((bsz, 1, t_out))
    for n in range(bsz):
        for to in range(t_out):
            taps = [to * stride + j * dilation for j in range(k)]
            xw, mw = x[n][:, taps], mask[n][:, taps]  # (C_in, k)
            s, size = mw.sum(), mw.size
            if s == 0:
                continue
            m[n, 0, to] = 1
            for o in range(c_out):
                y[n, o, to] = (w[o] * xw * mw).sum() * size / s + (0 if b is None else b[o])
    return y, m


def make(rng, bsz, c, t, p_hole):
    x = torch.tensor(rng.standard_normal((bsz, c, t)), dtype=torch.float32)
    mask = torch.tensor(rng.random((bsz, c, t)) > p_hole, dtype=torch.float32)
    return x, mask


@pytest.mark.parametrize("k,dilation,stride,causal", [(3, 1, 1, False), (3, 3, 1, False), (3, 9, 1, False),
                                                       (5, 2, 2, False), (3, 3, 1, True), (1, 1, 1, False)])
def test_matches_numpy_loops_with_random_masks(k, dilation, stride, causal):
    rng = np.random.default_rng(k * 100 + dilation * 10 + stride + causal)
    layer = PartialConv1d(6, 4, k, dilation=dilation, stride=stride, causal=causal)
    x, mask = make(rng, 3, 6, 40, 0.5)
    mask[1, :, 10:30] = 0  # a long gap: windows inside it are entirely masked
    y, new_mask = layer(x, mask)
    y_ref, m_ref = reference(x.numpy(), mask.numpy(), layer.weight.detach().numpy(), layer.bias.detach().numpy(),
                             stride, dilation, causal)
    assert y.shape == y_ref.shape and new_mask.shape == m_ref.shape
    np.testing.assert_allclose(y.detach().numpy(), y_ref, atol=TOL, rtol=TOL)
    np.testing.assert_array_equal(new_mask.numpy(), m_ref)
    if causal:
        assert y.shape[-1] == 40


def test_fully_masked_windows_give_zero_output_and_mask():
    layer = PartialConv1d(4, 3, 3, dilation=2)
    with torch.no_grad():
        layer.bias.fill_(5.0)  # a non-zero bias must not leak into holes
    x = torch.randn(2, 4, 20)
    mask = torch.ones(2, 4, 20)
    mask[0, :, 5:15] = 0
    y, new_mask = layer(x, mask)
    # output frame t reads input frames t, t+2, t+4: fully masked for t in 5..10
    assert torch.all(new_mask[0, 0, 5:11] == 0) and torch.all(new_mask[0, 0, :5] == 1)
    assert torch.all(new_mask[0, 0, 11:] == 1) and torch.all(new_mask[1] == 1)
    assert torch.all(y[0, :, 5:11] == 0)
    assert torch.isfinite(y).all()


def test_all_ones_mask_equals_plain_conv1d():
    torch.manual_seed(0)
    layer = PartialConv1d(8, 5, 3, dilation=3, stride=1)
    plain = torch.nn.Conv1d(8, 5, 3, dilation=3)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, 8, 30)
    for mask in (torch.ones(2, 8, 30), torch.ones(2, 1, 30)):
        y, new_mask = layer(x, mask)
        torch.testing.assert_close(y, plain(x), atol=TOL, rtol=TOL)
        assert torch.all(new_mask == 1) and new_mask.shape == (2, 1, 24)


def test_single_channel_mask_equals_expanded_mask():
    rng = np.random.default_rng(3)
    layer = PartialConv1d(6, 2, 3, dilation=3)
    x, _ = make(rng, 2, 6, 25, 0.0)
    frame_mask = torch.tensor(rng.random((2, 1, 25)) > 0.6, dtype=torch.float32)
    y1, m1 = layer(x, frame_mask)
    y2, m2 = layer(x, frame_mask.expand(2, 6, 25).clone())
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(m1, m2)
    y_ref, m_ref = reference(x.numpy(), frame_mask.numpy(), layer.weight.detach().numpy(),
                             layer.bias.detach().numpy(), dilation=3)
    np.testing.assert_allclose(y1.detach().numpy(), y_ref, atol=TOL, rtol=TOL)


def test_no_bias_and_functional_form():
    rng = np.random.default_rng(4)
    layer = PartialConv1d(3, 2, 3, bias=False)
    assert layer.bias is None
    x, mask = make(rng, 1, 3, 12, 0.7)
    y, m = partial_conv1d(x, mask, layer.weight, None)
    y_ref, m_ref = reference(x.numpy(), mask.numpy(), layer.weight.detach().numpy(), None)
    np.testing.assert_allclose(y.detach().numpy(), y_ref, atol=TOL, rtol=TOL)
    np.testing.assert_array_equal(m.numpy(), m_ref)


def test_keypoint_mask_expansion_interleaves_x_and_y():
    mask_kpt = torch.tensor([[[1, 0, 1], [0, 0, 1]]], dtype=torch.float32)  # (B=1, K=2, T=3)
    expected = torch.tensor([[[1, 0, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1]]], dtype=torch.float32)
    torch.testing.assert_close(expand_keypoint_mask(mask_kpt), expected)
    # it lines up with the keypoint -> channel layout: channel 2k is x_k, 2k + 1 is y_k
    kpts = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(1, 3, 2, 2)  # (B, T, K, 2)
    ch = keypoints_to_channels(kpts)
    assert ch.shape == (1, 4, 3)
    torch.testing.assert_close(ch[0, 2], kpts[0, :, 1, 0])  # keypoint 1, x
    torch.testing.assert_close(ch[0, 3], kpts[0, :, 1, 1])  # keypoint 1, y
    with pytest.raises(ValueError, match=r"\(B, K, T\)"):
        expand_keypoint_mask(torch.ones(3, 4))


def test_gradients_flow_to_weights_and_valid_inputs_only():
    rng = np.random.default_rng(5)
    layer = PartialConv1d(4, 3, 3, dilation=2)
    x, mask = make(rng, 2, 4, 16, 0.4)
    mask[0, :, 4:12] = 0
    x.requires_grad_(True)
    y, _ = layer(x, mask)
    y.square().sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert layer.bias.grad is not None and layer.bias.grad.abs().sum() > 0
    assert torch.isfinite(x.grad).all()
    assert torch.all(x.grad[mask == 0] == 0)  # masked inputs cannot influence the output
    assert x.grad[mask == 1].abs().sum() > 0


def test_misuse_raises():
    layer = PartialConv1d(4, 3, 3, dilation=3)
    with pytest.raises(ValueError, match="mask shape"):
        layer(torch.randn(1, 4, 10), torch.ones(1, 2, 10))
    with pytest.raises(ValueError, match="channels"):
        layer(torch.randn(1, 5, 10), torch.ones(1, 5, 10))
    with pytest.raises(ValueError, match="receptive field"):
        layer(torch.randn(1, 4, 6), torch.ones(1, 4, 6))  # RF 7
    assert layer(torch.randn(1, 4, 7), torch.ones(1, 4, 7))[0].shape == (1, 3, 1)
