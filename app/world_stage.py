"""The app's world stage (issue 5): builds `models.world.stage.WorldStage` for a run, steps it per frame
on the 3D thread, and turns the camera-space take into the world-space take at the end.

The take (smplx.npz, frame "world"): `poses`/`trans` in the world, `cam_R`/`cam_t` per frame, and the
camera-space result under `poses_cam`/`trans_cam`. It comes from a second pass over the recorded
camera-space frames (about 0.2-0.7 ms a frame) with the live run's final ground plane fixed from the first
frame on: for a static camera every frame of the take then shares one ground and one camera pose, where
the live display used the plane known at that moment (the first second or so differs).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..models.world.stage import CAMERA_MODES, BodyRig, OrtTrajectoryNet, WorldFrame, WorldOptions, WorldStage
from .take import Take

log = logging.getLogger(__name__)

WORLD_CHOICES = (*CAMERA_MODES, "off")
WORLD_VIDEO = "world.mp4"


class WorldRun:
    """The world stage of one run: `step` per frame (3D thread), `world_take` at the end."""

    def __init__(self, body_model, fps: float, camera: str = "static", ort=None, options: WorldOptions | None = None,
                 trajectory_checkpoint: Path | None = None, cam_K: np.ndarray | None = None):
        """cam_K: (3, 3) the intrinsics the 3D stage runs with (needed by options.refine_focal, which also
        needs `step`'s k67).

        Raises:
            ValueError: unknown camera mode. EngineError: the trajectory head cannot be exported or loaded.
        """
        if camera not in CAMERA_MODES:
            raise ValueError(f"--world must be one of {WORLD_CHOICES}, got {camera!r}")
        self.fps = float(fps)
        self.options = replace(options or WorldOptions(), camera=camera)
        self.rig = BodyRig.from_model(body_model)
        need_net = camera == "moving" or self.options.fusion_gain < 1
        self.net = OrtTrajectoryNet.from_checkpoint(trajectory_checkpoint, ort=ort) if need_net else None
        self.cam_K = cam_K
        self.stage = WorldStage(self.rig, self.fps, self.options, self.net, cam_K)
        self.pans: list[np.ndarray] = []   # camera "panning": each stepped frame's camera -> first camera

    def step(self, pose3d, k67: np.ndarray | None = None, R_pan: np.ndarray | None = None) -> WorldFrame:
        """One Pose3DResult (camera space) -> WorldFrame; k67 (67, 3) the frame's raw 2D keypoints (x px, y px,
        confidence) for the focal refinement (ignored unless options.refine_focal); R_pan (3, 3) the frame's
        camera -> the first frame's camera (camera "panning", from camera_rotation.PanTracker)."""
        if R_pan is not None:
            self.pans.append(np.asarray(R_pan, np.float64))
        return self.stage.step(pose3d.poses, pose3d.betas, pose3d.root_c, pose3d.contacts, pose3d.valid, k67,
                               R_pan)

    def world_take(self, take: Take, root_c: np.ndarray) -> Take:
        """The camera-space take (frame "camera") and its per-frame root joints in the camera (T, 3) ->
        the world take (module docstring)."""
        plane = self.stage.plane if self.stage.fitted else None
        stage = WorldStage(self.rig, self.fps, replace(self.options, fixed_plane=plane, refine_focal=False), self.net,
                           self.cam_K)
        stage.set_focal(self.stage.focal_px)     # the refined focal (if any) from the first frame on
        T = take.num_frames
        betas = np.repeat(np.asarray(take.betas, np.float64)[None], T, 0)
        R_pan = None
        if self.pans:   # one per recorded frame (a Ctrl-C can leave the lists one frame apart)
            R_pan = np.stack(self.pans[:T] + self.pans[-1:] * max(0, T - len(self.pans)))
        frames = stage.run(take.poses, betas, root_c, take.contacts, take.valid, R_pan=R_pan)
        seen = np.cumsum(np.asarray(take.valid, bool)) > 0
        poses = np.zeros((T, 165), np.float32)
        trans = np.zeros((T, 3), np.float32)
        j_root = self.rig.root_joint(take.betas)
        for t, f in enumerate(frames):
            if seen[t]:
                poses[t] = f.world_poses(take.poses[t])
                trans[t] = f.root_w - j_root
        cam_R = np.stack([f.R_w2c for f in frames]) if T else np.zeros((0, 3, 3))
        cam_t = np.stack([f.t_w2c for f in frames]) if T else np.zeros((0, 3))
        if T and seen.any():   # before the first body: the first camera pose of the take
            first = int(np.argmax(seen))
            cam_R[:first], cam_t[:first] = cam_R[first], cam_t[first]
        self.last_frames = frames
        return replace(take, poses=poses, trans=trans, frame="world",
                       extra={"cam_R": cam_R.astype(np.float32), "cam_t": cam_t.astype(np.float32),
                              "poses_cam": np.asarray(take.poses, np.float32),
                              "trans_cam": np.asarray(take.trans, np.float32),
                              **({"focal_refined_px": np.float32(self.stage.focal_px)}
                                 if self.stage.focal_px is not None else {})})
