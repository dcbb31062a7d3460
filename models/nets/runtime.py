"""The 3D stage at run time: raw K67 per frame -> the nets (through engines/) -> SMPL-X parameters.

Per frame (owned by one thread; frames in order):

1. observed mask: a K67 point counts as observed when its confidence exceeds ``MIN_CONFIDENCE`` and it
   lies inside the image (the proxies truncate points outside the image the same way);
2. a rolling window of the last 81 frames (raw pixels + mask; frames before the start of the stream
   are padding with mask 0, as ``ProxyWindows`` pads before the start of a sequence);
3. the window normalised exactly as the training data (``models/proxy/corrupt.py``): a square box per
   frame from that frame's observed points (``box_from_points`` over the whole window, so an empty
   frame takes its nearest frame's box), box coordinates ``(xy - centre) / (size / 2)`` times the mask,
   CLIFF ``g = [c - principal point, size] / f`` from ``cam_K``;
4. the init net (81-frame window, newest frame) then the descent net (newest frame's inputs);
5. 6D -> axis-angle, the 52 net joints into SMPL-X's 55 (jaw and eyes at rest), contact logits ->
   probabilities.

A frame with fewer than ``MIN_BODY_POINTS`` observed body points has no body: ``valid = False`` and the
last valid parameters are held (zeros before the first); the nets do not run on it.

Frames: camera space, OpenCV axes (x right, y down, z forward), metres; ``root_c`` is the root joint
(pelvis). SMPL-X ``transl`` = ``root_c - RootJoint(betas)`` (the model rotates about its rest root joint).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.engines.base import Engine, EngineError
from mocap.models.keypoints import NUM_BODY, NUM_K67
from mocap.models.nets.body_fk import NET_TO_SMPLX
from mocap.models.nets.rotation import rot6d_to_axis_angle_np
from mocap.models.proxy.corrupt import box_from_points, global_info, normalize_to_box

WINDOW = 81
# Observed = confidence above this. Body confidence is MediaPipe visibility x the pose flag, and 0.5 is
# the visibility threshold of MediaPipe's own drawing utilities (drawing_utils._VISIBILITY_THRESHOLD);
# hand points carry the hand presence flag, which is 0 or at least the tracker's presence threshold 0.5.
MIN_CONFIDENCE = 0.5
MIN_BODY_POINTS = 4      # fewer observed BODY_25 points: no body in this frame
N_SMPLX_JOINTS = 55

POSE_INIT_IO = (("k67_xy", "mask", "global_info"), ("pose_6d", "betas", "cam_crop", "root_c", "contacts"))
DESCENT_IO = (("pose_6d", "betas", "root_c", "k67_xy", "mask", "global_info"),
              ("pose_6d_refined", "betas_refined", "root_c_refined"))


def observed_mask(k67: np.ndarray, width: int, height: int, min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
    """(67,) bool: confidence > min_confidence, finite, inside [0, width) x [0, height). k67: (67, 3) px."""
    k67 = np.asarray(k67)
    x, y, c = k67[:, 0], k67[:, 1], k67[:, 2]
    return (c > min_confidence) & np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x < width) & (y >= 0) & (y < height)


class K67Window:
    """The last ``window`` frames of raw K67 pixels and masks, and the nets' inputs built from them."""

    def __init__(self, width: int, height: int, cam_K: np.ndarray, window: int = WINDOW):
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        self.width, self.height, self.window = int(width), int(height), int(window)
        self.cam_K = np.asarray(cam_K, np.float64)
        if self.cam_K.shape != (3, 3) or not self.cam_K[0, 0] > 0:
            raise ValueError(f"cam_K must be a (3, 3) intrinsics matrix with f > 0, got {self.cam_K.tolist()}")
        self.reset()

    def reset(self) -> None:
        """Forget every frame: the window is all padding again."""
        self.xy_px = np.zeros((self.window, NUM_K67, 2), np.float64)   # (W, 67, 2), 0 where masked
        self.mask = np.zeros((self.window, NUM_K67), np.float32)       # (W, 67)

    def push(self, xy_px: np.ndarray, mask: np.ndarray) -> None:
        """Append one frame (67, 2) px with its (67,) observed mask; the oldest frame leaves."""
        m = np.asarray(mask, bool)
        self.xy_px = np.roll(self.xy_px, -1, axis=0)
        self.mask = np.roll(self.mask, -1, axis=0)
        self.xy_px[-1] = np.where(m[:, None], np.asarray(xy_px, np.float64), 0.0)
        self.mask[-1] = m

    def inputs(self) -> dict[str, np.ndarray]:
        """The init net's inputs for the window (float32): k67_xy (W, 67, 2), mask (W, 67),
        global_info (W, 3); and box (W, 3) [c_x, c_y, size] px."""
        centre, size = box_from_points(self.xy_px, self.mask, self.width, self.height)
        xy = normalize_to_box(self.xy_px, centre, size) * self.mask[..., None]
        g = global_info(centre, size, self.cam_K)
        return {"k67_xy": xy.astype(np.float32), "mask": self.mask.copy(), "global_info": g.astype(np.float32),
                "box": np.concatenate([centre, size[:, None]], 1)}


class BoundNet3D:
    """An engine checked against one of the nets' ONNX contracts (names; the init net's 81 x 67 window)."""

    def __init__(self, engine: Engine, io: tuple[tuple[str, ...], tuple[str, ...]], window: int | None = None):
        """Raises:
            EngineError: an input or output name is missing, or the window/keypoint axes do not fit.
        """
        self.engine = engine
        self.input_names, self.output_names = io
        ins = {s.name: s.shape for s in engine.inputs}
        outs = {s.name for s in engine.outputs}
        for n in self.input_names:
            if n not in ins:
                raise EngineError(f"{engine.name}: no input named {n!r} (has {sorted(ins)}); not a mocap 3D net")
        for n in self.output_names:
            if n not in outs:
                raise EngineError(f"{engine.name}: no output named {n!r} (has {sorted(outs)}); not a mocap 3D net")
        want = (window, NUM_K67, 2) if window else (NUM_K67, 2)
        got = tuple(ins["k67_xy"][1:])
        if len(got) != len(want) or any(isinstance(g, int) and g != w for g, w in zip(got, want)):
            raise EngineError(f"{engine.name}: input 'k67_xy' has shape {list(ins['k67_xy'])}, "
                              f"expected [batch, {', '.join(map(str, want))}]")

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One item (no batch axis) in, one item out."""
        out = self.engine.run({n: np.ascontiguousarray(feeds[n][None], np.float32) for n in self.input_names})
        return {n: out[n][0] for n in self.output_names}


def net52_to_smplx_poses(pose_6d: np.ndarray) -> np.ndarray:
    """(52, 6) net rotations -> (165,) SMPL-X axis-angle poses (root, body, jaw, eyes, hands), radians;
    jaw and eyes at rest."""
    aa = np.zeros((N_SMPLX_JOINTS, 3), np.float64)
    aa[list(NET_TO_SMPLX)] = rot6d_to_axis_angle_np(np.asarray(pose_6d, np.float64))
    return aa.reshape(-1).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))).astype(np.float32)


@dataclass
class Pose3DResult:
    """One frame of the 3D stage (camera space; module docstring).

    valid: a body was found and fitted this frame (else everything is the last valid frame's).
    poses: (165,) SMPL-X axis-angle. pose_6d: (52, 6) net rotations. betas: (10,). root_c: (3,) metres.
    contacts: (4,) probabilities (CONTACT_NAMES order). timings_ms: pose_init, descent, stage3d.
    """

    valid: bool
    poses: np.ndarray
    pose_6d: np.ndarray
    betas: np.ndarray
    root_c: np.ndarray
    contacts: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)


def _rest_result() -> Pose3DResult:
    from mocap.models.nets.pose_init import IDENTITY_6D

    return Pose3DResult(False, np.zeros(3 * N_SMPLX_JOINTS, np.float32),
                        np.tile(np.asarray(IDENTITY_6D, np.float32), (52, 1)), np.zeros(10, np.float32),
                        np.zeros(3, np.float32), np.zeros(4, np.float32))


class Pose3DStage:
    """Raw K67 per frame -> SMPL-X parameters in camera space (module docstring). One object per stream."""

    def __init__(self, pose_init: Engine, descent: Engine, width: int, height: int, cam_K: np.ndarray,
                 min_confidence: float = MIN_CONFIDENCE):
        """Raises:
            EngineError: an engine does not have its net's contract. ValueError: bad image size or cam_K.
        """
        self.pose_init = BoundNet3D(pose_init, POSE_INIT_IO, WINDOW)
        self.descent = BoundNet3D(descent, DESCENT_IO)
        self.window = K67Window(width, height, cam_K)
        self.min_confidence = float(min_confidence)
        self.last = _rest_result()

    @classmethod
    def from_checkpoints(cls, pose_init_pt: str | os.PathLike, descent_pt: str | os.PathLike, width: int,
                         height: int, cam_K: np.ndarray, ort=None, cache: str | os.PathLike | None = None
                         ) -> "Pose3DStage":
        """Load both nets from their checkpoints: exported to ONNX on first use (``export/nets.py``, cached),
        run by the engine `ort` names (an OrtConfig or an engines.select.EngineConfig; default ONNX Runtime CPU).

        Raises:
            EngineError: a missing or unreadable file, weights that do not fit, an export that disagrees
                with PyTorch.
        """
        from mocap.engines.onnxruntime import OrtConfig
        from mocap.engines.select import open_engine
        from mocap.export.nets import net_onnx

        ort = ort or OrtConfig()
        nets = (("pose_init", pose_init_pt), ("descent", descent_pt))
        if getattr(ort, "backend", None) == "torch":   # our nets have PyTorch modules: run those directly
            from mocap.engines.select import torch_device
            from mocap.export.nets import torch_engine

            engines = [torch_engine(name, Path(p), torch_device(ort), ort.cuda_graph) for name, p in nets]
        else:
            engines = [open_engine(net_onnx(name, Path(p), cache)[0], ort) for name, p in nets]
        return cls(*engines, width=width, height=height, cam_K=cam_K)

    @property
    def cam_K(self) -> np.ndarray:
        return self.window.cam_K

    @property
    def provider(self) -> str:
        return "+".join(sorted({self.pose_init.engine.provider, self.descent.engine.provider}))

    def reset(self) -> None:
        self.window.reset()
        self.last = _rest_result()

    def __call__(self, k67_raw: np.ndarray) -> Pose3DResult:
        """One frame: (67, 3) raw K67 (x px, y px, confidence) -> Pose3DResult."""
        t0 = time.perf_counter()
        obs = observed_mask(k67_raw, self.window.width, self.window.height, self.min_confidence)
        self.window.push(np.asarray(k67_raw)[:, :2], obs)
        if obs[:NUM_BODY].sum() < MIN_BODY_POINTS:
            held = Pose3DResult(**{**self.last.__dict__, "valid": False, "timings_ms": {}})
            held.timings_ms["stage3d"] = (time.perf_counter() - t0) * 1e3
            return held
        feeds = self.window.inputs()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        init = self.pose_init(feeds)
        timings["pose_init"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        ref = self.descent({"pose_6d": init["pose_6d"], "betas": init["betas"], "root_c": init["root_c"],
                            "k67_xy": feeds["k67_xy"][-1], "mask": feeds["mask"][-1],
                            "global_info": feeds["global_info"][-1]})
        timings["descent"] = (time.perf_counter() - t) * 1e3
        pose_6d = ref["pose_6d_refined"]
        res = Pose3DResult(True, net52_to_smplx_poses(pose_6d), pose_6d.astype(np.float32),
                           ref["betas_refined"].astype(np.float32), ref["root_c_refined"].astype(np.float32),
                           sigmoid(init["contacts"]), timings)
        if not all(np.isfinite(v).all() for v in (res.poses, res.betas, res.root_c, res.contacts)):
            raise EngineError("3D nets returned non-finite values (corrupt weights?)")
        self.last = res
        timings["stage3d"] = (time.perf_counter() - t0) * 1e3
        return res


class RootJoint:
    """The rest-pose root joint J_root(betas) = J_regressor[0] (v_template + shapedirs betas), NumPy."""

    def __init__(self, model, num_betas: int = 10):
        J0 = model.J_regressor[0].detach().cpu().numpy().astype(np.float64)                 # (V,)
        self.template = J0 @ model.v_template.detach().cpu().numpy().astype(np.float64)     # (3,)
        sd = model.shapedirs[:, :, :num_betas].detach().cpu().numpy().astype(np.float64)    # (V, 3, nb)
        self.dirs = np.einsum("v,vdk->dk", J0, sd)                                          # (3, nb)

    def __call__(self, betas: np.ndarray) -> np.ndarray:
        """(..., nb) betas -> (..., 3) metres, model frame."""
        return self.template + np.asarray(betas, np.float64) @ self.dirs.T
