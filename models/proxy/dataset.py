"""`ProxyWindows`: a torch Dataset of corrupted K67 windows and camera-space targets (DESIGN 6, 7).

Every draw re-projects the stored world-space points through a camera (a new random one when
`resample_cameras`, else the stored one) and corrupts them, from a generator seeded by
(seed, epoch, index): the same epoch gives the same sample, another epoch a different one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mocap.models.body.mirror import (CONTACT_MIRROR, JOINT_MIRROR, K67_MIRROR, POINT_SIGNS, mirror_axis_angle,
                                      mirror_box_xy, mirror_points, mirror_rot6d, mirror_rotmat)
from mocap.models.proxy.cameras import CameraOptions, project, sample_camera, world_to_camera
from mocap.models.proxy.corrupt import (CorruptionOptions, box_from_points, corrupt, global_info,
                                        normalize_to_box)
from mocap.models.proxy.generate import axis_angle_to_rot6d, to_camera_params


def proxy_path(path: str | Path, split: str) -> Path:
    """The split's file: `path` itself if it is a file, else `<path>/proxy_<split>.npz`."""
    p = Path(path)
    return p if p.is_file() else p / f"proxy_{split}.npz"


def target_frames(n_frames: int, targets: int, causal: bool) -> slice:
    """Where a chunk's `targets` labelled frames sit among its `n_frames` (window + targets - 1) frames:
    the last ones (causal), or from window // 2 on (centred: each target is its window's middle frame)."""
    first = n_frames - targets if causal else (n_frames - targets) // 2
    return slice(first, first + targets)


class ProxyWindows(Dataset):
    """Windows of `window` frames ending (causal) or centred on each frame of each sequence.

    Frames before the start (or after the end) of a sequence are padding: mask 0, xy 0,
    `frame_valid` 0. A sample is a dict of float32 tensors (see docs/proxy.md):
    k67_xy (W, 67, 2) box-normalised, mask (W, 67), conf (W, 67), global_info (W, 3),
    box (W, 3) [cx, cy, size] px, frame_valid (W,), K (3, 3), R_w2c (3, 3), t_w2c (3,),
    image_wh (2,), occluded (), and for the target frame: global_orient (3,), body_pose (21, 3),
    left_hand_pose / right_hand_pose (15, 3) axis-angle, pose_6d (52, 6), betas (10,),
    transl (3,) SMPL-X transl in camera, root_c (3,) m, joints_c (55, 3) mm, k67_c (67, 3) mm,
    k67_px (67, 2) clean pixels, visible (67,), contacts (4,).
    """

    def __init__(self, path: str | Path, split: str = "train", window: int = 81, causal: bool = True,
                 resample_cameras: bool = True, seed: int = 0, corruption: CorruptionOptions | None = None,
                 cameras: CameraOptions | None = None, stride: int = 1, targets: int = 1,
                 mirror: float = 0.0) -> None:
        """Load one split.

        `mirror` is the probability that a sample is drawn as its left-right mirror image
        (``mirror_sample``: the image flipped, the body mirrored; a training augmentation).

        `targets` > 1 makes each sample a chunk: the `targets` consecutive frames ending at its frame are
        all labelled (target arrays gain a leading (targets,) axis, plus `target_valid`), and the keypoint
        arrays cover window + targets - 1 frames, so a temporal net computes all of them in one pass.
        Chunks tile each sequence from its end (stride = targets); target frames before the sequence
        start are padding with target_valid 0.

        Raises:
            FileNotFoundError: no such split file.
            ValueError: window < 1 or even when not causal, stride < 1.
        """
        if window < 1 or (not causal and window % 2 == 0):
            raise ValueError(f"window must be >= 1 (odd when not causal), got {window}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        file = proxy_path(path, split)
        if not file.is_file():
            raise FileNotFoundError(f"proxy split file {file} not found (build it with python -m "
                                    "mocap.models.proxy.build)")
        with np.load(file, allow_pickle=False) as z:
            self.data = {k: z[k] for k in z.files}
        self.window, self.causal, self.resample = window, causal, resample_cameras
        self.seed, self.epoch = seed, 0
        self.corruption, self.cameras = corruption or CorruptionOptions(), cameras or CameraOptions()
        if targets < 1:
            raise ValueError(f"targets must be >= 1, got {targets}")
        self.targets = targets
        self.mirror = mirror
        starts = self.data["seq_start"]
        if targets == 1:
            self._index = np.concatenate([np.stack([np.full(e - s, i), np.arange(s, e)], 1)[::stride]
                                          for i, (s, e) in enumerate(zip(starts[:-1], starts[1:]))])
        else:
            rows = []
            for i, (s, e) in enumerate(zip(starts[:-1], starts[1:])):
                ends = np.arange(e - 1, s - 1, -targets)[::-1]      # last target frame of each chunk
                rows.append(np.stack([np.full(len(ends), i), ends], 1))
            self._index = np.concatenate(rows)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch (a different epoch draws different cameras and corruption)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        d = self.data
        s, t = (int(v) for v in self._index[i])
        lo, hi = int(d["seq_start"][s]), int(d["seq_start"][s + 1])
        W, n = self.window, self.targets
        tgt = np.arange(t - n + 1, t + 1)                      # target frames (may start before lo)
        first = tgt[0] - (W - 1) if self.causal else tgt[0] - W // 2
        frames = np.arange(first, first + W + n - 1)
        valid = (frames >= lo) & (frames < hi)
        idx = np.clip(frames, lo, hi - 1)
        fps = float(d["fps"][s])
        rng = np.random.default_rng([self.seed, self.epoch, i])
        if self.resample:
            cam = sample_camera(rng, d["joints_w"][idx, 0].astype(np.float64), fps, float(d["stature"][s]),
                                self.cameras)
            K, R, tt, w, h = cam.K, cam.R_w2c, cam.t_w2c, cam.width, cam.height
        else:
            K = d["K"][s].astype(np.float64)
            R, tt = d["R_w2c"][idx].astype(np.float64), d["t_w2c"][idx].astype(np.float64)
            w, h = (int(v) for v in d["image_wh"][s])
        uv, front = project(world_to_camera(d["k67_w"][idx].astype(np.float64), R, tt), K)
        c = corrupt(rng, uv, front & valid[:, None], w, h, fps, self.corruption)
        mask = c["mask"] * valid[:, None]
        centre, size = box_from_points(c["xy_px"], mask, w, h)
        xy = normalize_to_box(c["xy_px"], centre, size) * mask[..., None]
        j = tgt - first                                # target frames' places in the window
        tc = np.clip(tgt, lo, hi - 1)
        Rt = R[j] if R.ndim == 3 else np.broadcast_to(R, (n, 3, 3))
        tt_t = tt[j] if tt.ndim == 2 else np.broadcast_to(tt, (n, 3))
        go_c, transl_c, root_c = to_camera_params(d["global_orient"][tc].astype(np.float64),
                                                  d["transl"][tc].astype(np.float64),
                                                  d["j_root"][s].astype(np.float64), Rt, tt_t)
        joints_c = world_to_camera(d["joints_w"][tc].astype(np.float64), Rt, tt_t)
        k67_c = world_to_camera(d["k67_w"][tc].astype(np.float64), Rt, tt_t)
        pose = np.concatenate([go_c[:, None], d["body_pose"][tc], d["left_hand_pose"][tc],
                               d["right_hand_pose"][tc]], 1).astype(np.float64)
        per_target = {
            "R_w2c": Rt, "t_w2c": tt_t, "global_orient": go_c, "body_pose": d["body_pose"][tc],
            "left_hand_pose": d["left_hand_pose"][tc], "right_hand_pose": d["right_hand_pose"][tc],
            "pose_6d": axis_angle_to_rot6d(pose), "transl": transl_c, "root_c": root_c,
            "joints_c": joints_c * 1000.0, "k67_c": k67_c * 1000.0, "k67_px": uv[j], "visible": front[j],
            "contacts": d["contacts"][tc],
        }
        if n == 1:
            per_target = {k: v[0] for k, v in per_target.items()}
        else:
            per_target["target_valid"] = tgt >= lo
        out = {
            "k67_xy": xy, "mask": mask, "conf": c["conf"] * valid[:, None],
            "global_info": global_info(centre, size, K),
            "box": np.concatenate([centre, size[:, None]], 1), "frame_valid": valid,
            "K": K, "image_wh": np.array([w, h]), "occluded": c["occluded"], "betas": d["betas"][s],
            **per_target,
        }
        if self.mirror > 0 and rng.random() < self.mirror:
            out = mirror_sample(out)
        return {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in out.items()}


_BODY_MIRROR = JOINT_MIRROR[1:22] - 1     # body_pose rows (joints 1..21) of the mirrored body


def mirror_sample(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sample of the horizontally flipped image (x_px -> W - x_px) of the mirrored body.

    Camera-space values are reflected by M = diag(-1, 1, 1) with left and right swapped
    (``mocap.models.body.mirror``); the world is reflected by the same M, so R_w2c -> M R M and
    t_w2c -> M t. Betas are kept (the mirrored body of a symmetric template). Keys as ``__getitem__``;
    per-target arrays may have a leading targets axis.
    """
    w = s["image_wh"][0]
    K = s["K"].copy()
    K[0, 2] = w - K[0, 2]
    root_c = s["root_c"] * POINT_SIGNS
    out = dict(s)
    out.update(
        k67_xy=mirror_box_xy(s["k67_xy"]), mask=s["mask"][..., K67_MIRROR], conf=s["conf"][..., K67_MIRROR],
        global_info=s["global_info"] * np.array([-1.0, 1.0, 1.0]),
        box=_flip_x(s["box"], w), K=K, R_w2c=mirror_rotmat(s["R_w2c"]), t_w2c=s["t_w2c"] * POINT_SIGNS,
        global_orient=mirror_axis_angle(s["global_orient"]),
        body_pose=mirror_axis_angle(s["body_pose"], _BODY_MIRROR),
        left_hand_pose=mirror_axis_angle(s["right_hand_pose"]),
        right_hand_pose=mirror_axis_angle(s["left_hand_pose"]),
        pose_6d=mirror_rot6d(s["pose_6d"]), root_c=root_c, transl=root_c - (s["root_c"] - s["transl"]),
        joints_c=mirror_points(s["joints_c"], JOINT_MIRROR), k67_c=mirror_points(s["k67_c"], K67_MIRROR),
        k67_px=_flip_x(s["k67_px"][..., K67_MIRROR, :], w),
        visible=s["visible"][..., K67_MIRROR], contacts=s["contacts"][..., CONTACT_MIRROR],
    )
    return out


def _flip_x(a: np.ndarray, width: float) -> np.ndarray:
    """Pixel x (the first value of the last axis) of the horizontally flipped image: x -> width - x."""
    return np.concatenate([width - a[..., :1], a[..., 1:]], -1)
