"""Pose-initialisation net (DESIGN 7; issue 4 item 2): architecture only, no training here.

Design: VideoPose3D's temporal net (Pavllo et al. CVPR 2019; reference smplx-and-nets.md 4.1),
reimplemented (the original code is CC BY-NC), with every temporal convolution partial
(``PartialConv1d``, DESIGN 7 eq.):

* expand: PartialConv1d(C_in -> ch, kernel W_0 = 3, dilation 1, no bias) -> BN -> ReLU -> Dropout
* residual block i = 1..3, dilation D_i = prod_{k<i} W_k = 3, 9, 27:
  PartialConv1d(ch -> ch, 3, D_i, no bias) -> BN -> ReLU -> Dropout -> Conv1d(ch -> ch, 1) (plain)
  -> BN -> ReLU -> Dropout, plus the residual sliced to the block's output frames.
* head: Conv1d(ch -> 52*6 + 10 + 3 + 4, 1) (plain).

Convolutions are 'valid' (no padding), so a sequence of T >= 81 frames gives T - 80 output frames and
``receptive_field()`` = prod(W_i) = 81 for the default (3, 3, 3, 3).

Causal (``causal=True``, the live default): each block's residual is sliced to the LAST frames
(``x[..., 2 pad_i:]``, VideoPose3D's causal shift), so output frame j belongs to input frame
j + RF - 1 and uses only that frame and the RF - 1 frames before it. ``forward`` returns the newest
frame (the last input frame). ``causal=False`` (offline) slices the residual centred, so output frame
j belongs to input frame j + (RF - 1) / 2 and ``forward`` on an 81-frame window returns its centre
frame (as ``ProxyWindows(causal=False)`` labels it).

Input channels (C_in = 2 * 67 + 2 * 42 + 3 = 221): the K67 keypoints in ``keypoints_to_channels``
order (x, y interleaved per keypoint, box-normalised as ``ProxyWindows.k67_xy``), with the per-keypoint
mask expanded to both coordinates; then both hands in their own frame (``features.hand_local``,
``hand_local=True``); then the 3 CLIFF global-information channels
``[c_x - p_x, c_y - p_y, b] / f`` (reference 6, eq. 5 without the demo's H36M constants) appended
with mask 1 in every frame that has at least one observed keypoint (0 otherwise: in a frame with no
keypoint the box is a guess, and 3 valid channels out of C_in would be rescaled by the partial conv's
size/sum, about 70x).

Outputs (``PoseInitOutput``):

* ``pose_6d`` (B, 52, 6): global orientation (camera frame), 21 body joints, 15 left-hand, 15
  right-hand joints, in the 6D convention of ``mocap.models.proxy.generate.axis_angle_to_rot6d``:
  the first two COLUMNS of R, column after column, [R00 R10 R20 R01 R11 R21] (Zhou et al. 2019;
  GLAMR's order, reference 3). The head's output is added to the identity's 6D, so an untrained net
  starts near the rest pose. Not Gram-Schmidt-normalised here (the decoder does that).
* ``betas`` (B, 10).
* ``cam_crop`` (B, 3): CLIFF's crop camera (s, t_x, t_y) (reference 6): weak-perspective scale s > 0
  (softplus, initialised near 0.9 as CLIFF's mean camera) and translation in box-normalised units
  ([-1, 1] over the box, as k67_xy).
* ``root_c`` (B, 3): the root joint (pelvis) in camera space, metres, under full perspective, from
  CLIFF's ``cam_crop2full`` with the body origin at the root joint:
  ``t_z = 2 f / (b s)``, ``t_x' = t_x + 2 (c_x - p_x) / (b s)``, ``t_y' = t_y + 2 (c_y - p_y) / (b s)``.
  With the global-information vector g = [c_x - p_x, c_y - p_y, b] / f of the output frame this is
  ``root_c = [t_x + 2 g_0 / (g_2 s), t_y + 2 g_1 / (g_2 s), 2 / (g_2 s)]``: the focal length (from the
  camera file or the assumed field of view) enters only through g, and the root projects to box
  coordinates s * (t_x, t_y), exactly as in CLIFF.
* ``contacts`` (B, 4): foot-contact logits (sigmoid for probabilities), in ProxyWindows' order.

``forward_sequence`` returns the same fields with a time axis (B, T - RF + 1, ...).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mocap.models.nets.features import NUM_HAND_LOCAL, hand_local
from mocap.models.nets.partial_conv import PartialConv1d, expand_keypoint_mask, keypoints_to_channels

N_ROT = 52          # global orient + 21 body + 15 left hand + 15 right hand
N_BETAS = 10
N_CONTACTS = 4
N_GLOBAL = 3        # CLIFF global-information vector
# identity rotation in the column 6D convention [R00 R10 R20 R01 R11 R21]
IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CLIFF_MEAN_SCALE = 0.9


@dataclass
class PoseInitConfig:
    """Hyper-parameters of ``PoseInitNet``.

    filter_widths: kernel widths W_0..W_n (odd); the default (3, 3, 3, 3) gives dilations 1, 3, 9, 27
    and receptive field 81. channels: hidden width (VideoPose3D uses 1024; 256 is the live size).
    """
    num_keypoints: int = 67
    filter_widths: tuple[int, ...] = (3, 3, 3, 3)
    channels: int = 256
    dropout: float = 0.25
    causal: bool = True
    use_global_info: bool = True
    hand_local: bool = True
    partial: bool = True      # False: the ablation, zero-filled inputs and ordinary convolutions
    bn_momentum: float = 0.1


@dataclass
class PoseInitOutput:
    """Net outputs for the output frame(s); shapes for ``forward`` (``forward_sequence`` adds a time
    axis after B). See the module docstring for conventions."""
    pose_6d: torch.Tensor    # (B, 52, 6)
    betas: torch.Tensor      # (B, 10)
    cam_crop: torch.Tensor   # (B, 3) CLIFF (s, t_x, t_y)
    root_c: torch.Tensor     # (B, 3) metres, camera space
    contacts: torch.Tensor   # (B, 4) logits


def cliff_cam_to_root(cam_crop: torch.Tensor, global_info: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """CLIFF's crop camera (s, t_x, t_y) to the camera-space root translation under full perspective.

    Args:
        cam_crop: (..., 3) (s, t_x, t_y), s > 0, box-normalised units.
        global_info: (..., 3) [c_x - p_x, c_y - p_y, b] / f (f the full-image focal length in px).

    Returns:
        (..., 3) [t_x + 2 g_0 / (g_2 s), t_y + 2 g_1 / (g_2 s), 2 / (g_2 s)] (reference 6; CLIFF adds
        1e-9 to b s, so do we).
    """
    s, tx, ty = cam_crop.unbind(-1)
    gx, gy, gb = global_info.unbind(-1)
    bs = gb * s + eps
    return torch.stack([tx + 2 * gx / bs, ty + 2 * gy / bs, 2 / bs], -1)


class _Block(nn.Module):
    """One VideoPose3D residual block with a partial dilated conv and a plain 1x1 conv."""

    def __init__(self, ch: int, width: int, dilation: int, dropout: float, momentum: float, causal: bool):
        super().__init__()
        self.conv = PartialConv1d(ch, ch, width, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm1d(ch, momentum=momentum)
        self.conv1x1 = nn.Conv1d(ch, ch, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(ch, momentum=momentum)
        self.drop = nn.Dropout(dropout)
        self.pad = (width - 1) * dilation // 2
        self.causal = causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = x.shape[-1]
        res = x[..., 2 * self.pad:] if self.causal else x[..., self.pad:t - self.pad]
        y, m = self.conv(x, mask)
        y = self.drop(F.relu(self.bn1(y)))
        y = self.drop(F.relu(self.bn2(self.conv1x1(y))))
        return (res + y) * m, m


class PoseInitNet(nn.Module):
    """Temporal partial-conv pose-initialisation net (module docstring for the design)."""

    def __init__(self, config: PoseInitConfig | None = None):
        super().__init__()
        cfg = config or PoseInitConfig()
        if any(w % 2 == 0 or w < 1 for w in cfg.filter_widths) or not cfg.filter_widths:
            raise ValueError(f"filter widths must be odd and positive, got {cfg.filter_widths}")
        self.config = cfg
        ch = cfg.channels
        c_in = 2 * cfg.num_keypoints + (N_GLOBAL if cfg.use_global_info else 0) \
            + (2 * NUM_HAND_LOCAL if cfg.hand_local else 0)
        self.expand = PartialConv1d(c_in, ch, cfg.filter_widths[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(ch, momentum=cfg.bn_momentum)
        self.drop = nn.Dropout(cfg.dropout)
        blocks, dilation = [], cfg.filter_widths[0]
        for w in cfg.filter_widths[1:]:
            blocks.append(_Block(ch, w, dilation, cfg.dropout, cfg.bn_momentum, cfg.causal))
            dilation *= w
        self.blocks = nn.ModuleList(blocks)
        self.n_out = N_ROT * 6 + N_BETAS + 3 + N_CONTACTS
        self.head = nn.Conv1d(ch, self.n_out, 1)
        nn.init.zeros_(self.head.bias)
        with torch.no_grad():
            self.head.weight.mul_(0.1)   # start near the offsets below
        self.register_buffer("pose_offset", torch.tensor(IDENTITY_6D).repeat(N_ROT), persistent=False)
        self.s_offset = math.log(math.expm1(CLIFF_MEAN_SCALE))   # softplus(s_offset) = 0.9

    def receptive_field(self) -> int:
        """Input frames that one output frame depends on: prod(filter_widths) (81 for the default)."""
        return math.prod(self.config.filter_widths)

    def _output_frame_offset(self) -> int:
        rf = self.receptive_field()
        return rf - 1 if self.config.causal else (rf - 1) // 2

    def forward_sequence(self, k67_xy: torch.Tensor, mask: torch.Tensor,
                         global_info: torch.Tensor | None = None) -> PoseInitOutput:
        """All output frames of a sequence.

        Args:
            k67_xy: (B, T, K, 2) box-normalised keypoints, T >= receptive_field().
            mask: (B, T, K) 1 = observed (bool or float); missing keypoints' xy are ignored.
            global_info: (B, T, 3) CLIFF vector per frame; required when ``use_global_info``.

        Returns:
            PoseInitOutput with a time axis: output frame j is input frame j + RF - 1 (causal) or
            j + (RF - 1) / 2 (centred); T_out = T - RF + 1.
        """
        b, t, k, _ = k67_xy.shape
        rf = self.receptive_field()
        if t < rf:
            raise ValueError(f"need at least {rf} frames, got {t}")
        if mask.shape != (b, t, k):
            raise ValueError(f"mask must be {(b, t, k)}, got {tuple(mask.shape)}")
        x = keypoints_to_channels(k67_xy)
        m = expand_keypoint_mask(mask.to(x.dtype).permute(0, 2, 1))
        x = torch.where(m > 0, x, torch.zeros((), dtype=x.dtype, device=x.device))   # missing xy may be garbage, even NaN
        if self.config.hand_local:
            xy = x.permute(0, 2, 1).reshape(b, t, k, 2)
            loc, lm = hand_local(xy, mask.to(x.dtype))
            x = torch.cat([x, keypoints_to_channels(loc)], 1)
            m = torch.cat([m, expand_keypoint_mask(lm.permute(0, 2, 1))], 1)
        if not self.config.partial:   # every channel counts as observed: partial convs become plain ones
            m = torch.ones_like(m)
        if self.config.use_global_info:
            if global_info is None or global_info.shape != (b, t, N_GLOBAL):
                raise ValueError(f"global_info must be {(b, t, N_GLOBAL)}")
            x = torch.cat([x, global_info.to(x.dtype).permute(0, 2, 1)], 1)
            # the box information counts only in frames with an observed keypoint: a frame without any
            # (padding before the stream starts, a dropped frame) must not pass through the partial
            # convs as 3 valid channels, rescaled by size / sum ~ 70x
            # (the ordinary-conv ablation keeps this mask too: an empty frame is missing in both variants)
            seen = (mask.to(x.dtype).sum(-1) > 0).to(x.dtype)[:, None, :]          # (B, 1, T)
            m = torch.cat([m, seen.expand(b, N_GLOBAL, t)], 1)
        y, m = self.expand(x, m)
        y = self.drop(F.relu(self.expand_bn(y))) * m
        for blk in self.blocks:
            y, m = blk(y, m)
        out = self.head(y).permute(0, 2, 1)   # (B, T_out, n_out)
        t_out = out.shape[1]
        i = 0
        pose = out[..., i:i + N_ROT * 6] + self.pose_offset
        i += N_ROT * 6
        betas = out[..., i:i + N_BETAS]
        i += N_BETAS
        cam_raw = out[..., i:i + 3]
        i += 3
        contacts = out[..., i:i + N_CONTACTS]
        s = F.softplus(cam_raw[..., :1] + self.s_offset) + 1e-3
        cam = torch.cat([s, cam_raw[..., 1:]], -1)
        if self.config.use_global_info:
            off = self._output_frame_offset()
            g = global_info[:, off:off + t_out].to(out.dtype)
            root = cliff_cam_to_root(cam, g)
        else:   # no box information: the crop is taken as centred and f-normalised size 1
            root = cliff_cam_to_root(cam, torch.tensor([0.0, 0.0, 1.0], dtype=out.dtype,
                                                       device=out.device).expand_as(cam))
        return PoseInitOutput(pose_6d=pose.reshape(b, t_out, N_ROT, 6), betas=betas, cam_crop=cam,
                              root_c=root, contacts=contacts)

    def forward(self, k67_xy: torch.Tensor, mask: torch.Tensor,
                global_info: torch.Tensor | None = None) -> PoseInitOutput:
        """Outputs for the newest frame (causal) or, centred, the frame (RF - 1) / 2 before the end:
        the last output frame of ``forward_sequence``. Input as ``forward_sequence`` (B, T >= RF, ...),
        typically one ``ProxyWindows`` window of 81 frames."""
        o = self.forward_sequence(k67_xy, mask, global_info)
        return PoseInitOutput(*(getattr(o, f)[:, -1] for f in PoseInitOutput.__dataclass_fields__))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
