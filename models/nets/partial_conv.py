"""Partial 1D (temporal) convolution for keypoint sequences with missing detections (DESIGN 7).

Equation (seed 000 eq. 1, after Liu et al. 2018), per output frame t and its kernel window:

    M_{k+1} = 1[sum(M_k) > 0]
    X_{k+1} = M_{k+1} * (W^T (X_k . M_k) * size(M_k) / sum(M_k) + b)

sum and size run over the whole window: all input channels and all kernel taps, so
size(M_k) = C_in * kernel_size and every output channel of a frame shares one count; the new mask
is therefore single-channel, (B, 1, T_out). A window that is entirely masked gives output 0 (bias
included) and mask 0. The bias is not rescaled (as NVIDIA's partialconv).

Padding: by default the convolution is 'valid' (no padding), as in VideoPose3D, so
T_out = floor((T - (kernel_size - 1) * dilation - 1) / stride) + 1. With ``causal=True`` the input is
left-padded with (kernel_size - 1) * dilation frames whose mask is 0, so output frame t sees only
frames <= t and (stride 1) T_out = T; the padded frames count as missing, which the rescaling
compensates for.

Channel order: a keypoint sequence (B, T, K, 2) is laid out as VideoPose3D reshapes it, (B, K*2, T)
with x and y interleaved per keypoint: channel 2k is keypoint k's x, channel 2k + 1 its y.
``expand_keypoint_mask`` maps a per-keypoint mask (B, K, T) to that layout.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def expand_keypoint_mask(mask_kpt: torch.Tensor) -> torch.Tensor:
    """Per-keypoint mask to per-channel mask in the interleaved (x, y) channel order.

    Args:
        mask_kpt: (B, K, T) mask, 1 = keypoint observed in that frame, 0 = missing (bool or float).

    Returns:
        (B, 2K, T) mask, same dtype: channels 2k and 2k + 1 (x and y of keypoint k) both equal
        ``mask_kpt[:, k]``.

    Raises:
        ValueError: if the mask is not 3-dimensional.
    """
    if mask_kpt.dim() != 3:
        raise ValueError(f"keypoint mask must be (B, K, T), got shape {tuple(mask_kpt.shape)}")
    return mask_kpt.repeat_interleave(2, dim=1)


def keypoints_to_channels(kpts: torch.Tensor) -> torch.Tensor:
    """(B, T, K, 2) keypoint sequence to the nets' (B, 2K, T) layout, x and y interleaved per keypoint."""
    b, t, k, c = kpts.shape
    return kpts.reshape(b, t, k * c).permute(0, 2, 1)


def partial_conv1d(x: torch.Tensor, mask: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                   stride: int = 1, dilation: int = 1, causal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial 1D convolution (module docstring for the equation and the padding rules).

    Args:
        x: (B, C_in, T) input features.
        mask: (B, C_in, T) or (B, 1, T) binary mask (1 = valid); a (B, 1, T) mask applies to every
            channel. Not differentiated through.
        weight: (C_out, C_in, kernel_size), as ``nn.Conv1d.weight``.
        bias: (C_out,) or None.
        stride, dilation: as ``nn.Conv1d``.
        causal: left-pad by (kernel_size - 1) * dilation masked frames instead of 'valid'.

    Returns:
        y: (B, C_out, T_out), 0 wherever the new mask is 0.
        new_mask: (B, 1, T_out), dtype of x, 1 where the window held at least one valid value.

    Raises:
        ValueError: on mismatched shapes, or a sequence shorter than the receptive field ('valid').
    """
    if x.dim() != 3 or mask.dim() != 3:
        raise ValueError(f"x and mask must be (B, C, T), got {tuple(x.shape)} and {tuple(mask.shape)}")
    c_out, c_in, k = weight.shape
    b, c, t = x.shape
    if c != c_in:
        raise ValueError(f"x has {c} channels but the weight expects {c_in}")
    if mask.shape[0] != b or mask.shape[2] != t or mask.shape[1] not in (1, c):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not fit x {tuple(x.shape)}; use (B, C, T) or (B, 1, T)")
    mask = mask.detach().to(x.dtype).expand(b, c, t)
    span = (k - 1) * dilation
    if causal:
        x = F.pad(x, (span, 0))
        mask = F.pad(mask, (span, 0))  # padded frames are missing
    elif t <= span:
        raise ValueError(f"sequence of {t} frames is shorter than the receptive field {span + 1} ('valid' conv)")
    # sum(M) over the window: all channels and taps -> (B, 1, T_out), exact small integers in float
    count = F.conv1d(mask, torch.ones(1, c_in, k, dtype=x.dtype, device=x.device), stride=stride, dilation=dilation)
    new_mask = (count > 0).to(x.dtype)
    ratio = (c_in * k) / count.clamp(min=1.0) * new_mask  # size(M)/sum(M), 0 for empty windows (no 0/0)
    y = F.conv1d(x * mask, weight, None, stride=stride, dilation=dilation) * ratio
    if bias is not None:
        y = (y + bias.view(1, -1, 1)) * new_mask
    return y, new_mask


class PartialConv1d(nn.Conv1d):
    """``nn.Conv1d`` (no padding) whose forward is the partial convolution; weights are interchangeable.

    forward(x (B, C_in, T), mask (B, C_in, T) or (B, 1, T)) -> (y (B, C_out, T_out), new_mask (B, 1, T_out)).
    With an all-ones mask and ``causal=False`` it equals ``nn.Conv1d`` with the same weights.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1, stride: int = 1,
                 bias: bool = True, causal: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, dilation=dilation,
                         bias=bias)
        self.causal = causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        return partial_conv1d(x, mask, self.weight, self.bias, self.stride[0], self.dilation[0], self.causal)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", causal={self.causal}"
