"""The live world stage (issue 5 items 3, 5, 7): camera-space SMPL-X per frame -> world-space body.

World frame (docs/world.md): y up, ground y = 0, metres; cameras map world to camera as
x_cam = R_w2c x_W + t_w2c (OpenCV axes).

Per valid frame, from the 3D stage's camera-space result (poses, betas, root joint root_c, contacts):

1. Forward kinematics of the 22 body joints and the four contact points (heels, big toes) in the camera
   (`BodyRig`, NumPy, ~0.1 ms).
2. Gravity and the ground: the contact points of the feet with contact probability > 0.5 are
   accumulated in camera coordinates and a ground plane is refitted every `refit_every` frames
   (`calib.ground.fit_ground_plane`, with the body's mean up axis as the hint). Before the first fit the
   plane is the body's mean up axis through this frame's lowest foot point.
3. Camera situation (`WorldOptions.camera`), i.e. what is used when:
   * "static": the camera pose comes from the ground plane (`camera_pose_from_ground`: camera above the
     world origin, its heading along +z) and the root maps straight to the world
     (`transform.camera_to_world`): absolute, drift-free. With a trajectory head and `fusion_gain` < 1
     the horizontal root is a complementary filter: the head's per-frame displacement (dead reckoning)
     corrected towards the camera's absolute position by `fusion_gain` per frame (default 1 = camera only:
     on held-out proxies fusion did not help once the feet are pinned; benchmarks/reports/world).
   * "moving": the camera's motion is unknown, so the horizontal trajectory and heading are the
     trajectory head's (dead reckoning, state carried across frames), the root height and tilt are the
     camera evidence (the body in the gravity-aligned camera frame, height above the fitted plane),
     and the camera pose follows from the body: R_w2c = R_root_c R_root_w^T, t_w2c = root_c - R_w2c root_w.
     The world starts as the first frame's gravity-aligned camera frame.
4. Feet (`feet.FootPinner`; static camera only for the horizontal part): contact points stay put while in contact, the contact soles' mean height sits on
   the ground and no foot point is below it, by shifting the whole body.

Frames without a body (valid False) repeat the last world frame; the moving mode restarts its
trajectory head from the last position and heading when the body is found again.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from mocap.calib.ground import GroundPlane, MIN_POINTS, camera_pose_from_ground, fit_ground_plane
from mocap.models.world.feet import (LEG_CONTACTS, LEGS, FootPinner, LegPinner, PinOptions, reach_shift,
                                     two_bone_ik)
from mocap.models.world.transform import camera_to_world, yaw_matrix
from mocap.models.mocap.motion import axis_angle_to_matrix

CAMERA_MODES = ("static", "moving", "panning")
FIXED_CAMERA_MODES = ("static", "panning")   # modes whose camera stays in one place (the ground gives its pose)
NUM_BODY = 22
MIN_CAMERA_HEIGHT_M = 0.05    # a fitted ground plane must be at least this far below the camera
FIT_POINTS = 300             # at most about this many of the kept points go into one fit
# SMPL-X joints the contact points (CONTACT_NAMES order: LHeel, LBigToe, RHeel, RBigToe) are attached to.
CONTACT_PARENTS = (7, 10, 8, 11)
# SMPL-X joints the 25 BODY_25 keypoints (K67 0..24, models/keypoints) ride on, for the focal refinement:
# head (15) for the face points, the nearest joint of the limb for the others; small toes on the feet.
BODY25_PARENTS = (15, 12, 17, 19, 21, 16, 18, 20, 0, 2, 5, 8, 1, 4, 7, 15, 15, 15, 15, 10, 10, 7, 11, 11, 8)
# ... and the joint whose rotation carries the offset: the segment above for hips, knees and ankles (the skin
# there follows the thigh / shin more than the joint's own child segment; measured on the proxies' posed bodies,
# median error of the rigid points 0.3-2.3 cm against the detector-consistent points)
BODY25_ROT = (15, 12, 17, 19, 21, 16, 18, 20, 0, 0, 2, 5, 0, 1, 4, 15, 15, 15, 15, 10, 10, 7, 11, 11, 8)


def rotmat_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """(3, 3) -> (3,) axis-angle."""
    return cv2.Rodrigues(np.ascontiguousarray(R, np.float64))[0][:, 0]


class BodyRig:
    """The 22 SMPL-X body joints and the four contact points by forward kinematics, NumPy.

    Contact points ride rigidly on their joints (heels on the ankles, big toes on the toe joints) with
    the rest-pose offsets of the zero-shape body (their betas dependence, a few mm, is left out).
    """

    def __init__(self, parents, j_template: np.ndarray, j_dirs: np.ndarray, contact_offsets: np.ndarray,
                 contact_heights: np.ndarray | None = None, body_offsets: np.ndarray | None = None):
        """parents: (>=22,) SMPL-X parents; j_template (>=22, 3); j_dirs (>=22, 3, nb); contact_offsets (4, 3);
        contact_heights (4,): the points' height above the sole at rest (a flat foot on the floor has its
        heel and toe points this high; the ground plane is put that much below the contact points)."""
        self.contact_heights = np.zeros(4) if contact_heights is None else np.asarray(contact_heights, np.float64)
        self.parents = np.asarray(parents)[:NUM_BODY]
        self.j_template = np.asarray(j_template, np.float64)[:NUM_BODY]
        self.j_dirs = np.asarray(j_dirs, np.float64)[:NUM_BODY]
        self.contact_offsets = np.asarray(contact_offsets, np.float64)
        # (25, 3) rest offsets of the BODY_25 points from their BODY25_PARENTS joints (None: not known)
        self.body_offsets = None if body_offsets is None else np.asarray(body_offsets, np.float64)

    @classmethod
    def from_model(cls, model) -> "BodyRig":
        """From a SmplxModel: its joint regressor, and the contact points (K67 heels and big toes of the
        detector-consistent points, `proxy.generate.default_points_fn`) at rest."""
        import torch

        from mocap.models.proxy.generate import CONTACT_K67, default_points_fn

        J = model.J_regressor.detach().cpu().double().numpy()
        v = model.v_template.detach().cpu().double().numpy()
        sd = model.shapedirs[:, :, :10].detach().cpu().double().numpy()
        j_template, j_dirs = J @ v, np.einsum("jv,vdk->jdk", J, sd)
        with torch.no_grad():
            out = model(betas=torch.zeros(1, 10, dtype=model.v_template.dtype))
            k67 = default_points_fn(model)(out)[0].double().cpu().numpy()
        rest_joints = out.joints[0].double().cpu().numpy()
        offsets = k67[list(CONTACT_K67)] - rest_joints[list(CONTACT_PARENTS)]
        sole = float(out.vertices[0, :, 1].min())
        heights = k67[list(CONTACT_K67), 1] - sole
        body = k67[:25] - rest_joints[list(BODY25_PARENTS)]
        return cls(np.asarray(model.parents), j_template, j_dirs, offsets, heights, body)

    def body_points(self, joints: np.ndarray, G: np.ndarray) -> np.ndarray:
        """(25, 3) BODY_25 points riding rigidly on their joints: joints (22, 3) and global rotations
        (22, 3, 3) from `forward_full` (same frame). Raises ValueError without body offsets."""
        if self.body_offsets is None:
            raise ValueError("BodyRig: no body point offsets (build it with BodyRig.from_model)")
        return joints[list(BODY25_PARENTS)] + np.einsum("nij,nj->ni", G[list(BODY25_ROT)], self.body_offsets)

    def root_joint(self, betas: np.ndarray) -> np.ndarray:
        """(3,) rest-pose root joint for betas, model frame."""
        return self.j_template[0] + self.j_dirs[0] @ np.asarray(betas, np.float64)

    def forward(self, poses: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """poses (>=66,) axis-angle, betas (nb,) -> (joints (22, 3), contact points (4, 3), local rotations
        (22, 3, 3)) in the model frame with the root joint at the origin (add the root position)."""
        J, pts, R, _ = self.forward_full(poses, betas)
        return J, pts, R

    def forward_full(self, poses: np.ndarray, betas: np.ndarray):
        """As `forward`, plus the global rotations (22, 3, 3)."""
        R = axis_angle_to_matrix(np.asarray(poses, np.float64)[:3 * NUM_BODY].reshape(NUM_BODY, 3))
        j = self.j_template + self.j_dirs @ np.asarray(betas, np.float64)
        GR = np.empty((NUM_BODY, 3, 3))
        Gt = np.empty((NUM_BODY, 3))
        GR[0], Gt[0] = R[0], 0.0
        for i in range(1, NUM_BODY):
            p = self.parents[i]
            GR[i] = GR[p] @ R[i]
            Gt[i] = Gt[p] + GR[p] @ (j[i] - j[p])
        pts = Gt[list(CONTACT_PARENTS)] + np.einsum("nij,nj->ni", GR[list(CONTACT_PARENTS)], self.contact_offsets)
        return Gt, pts, R, GR


@dataclass(frozen=True)
class WorldOptions:
    """World stage settings (module docstring).

    Attributes:
        camera: "static", "moving", or "panning" (a camera turning in place: `step`'s R_pan, from
            camera_rotation.PanTracker, turns each frame's camera-space body into the first frame's camera,
            where the static logic runs; the per-frame camera pose is then the static one turned back).
        refit_every: frames between ground-plane refits (while points keep coming).
        max_points: contact points kept for the fit (the most recent).
        fusion_gain: static camera: weight of the camera's absolute horizontal root per frame against the
            trajectory head's dead reckoning (1 = camera only, the default; used only with a trajectory head).
            On held-out proxies with the trained nets 0.3 lowered the root error before foot pinning a
            little (27.4 -> 26.8 cm) but raised it after (35.7 -> 40.4 cm): benchmarks/reports/world.
        pin: run the foot pinner (whole-body shift).
        leg_ik: with pin, also pin the ankles of feet in contact by two-bone leg IK (changes hip, knee and
            ankle rotations of the world take; the camera-space take keeps the nets' pose).
        pin_options: its settings.
        fixed_plane: use this ground plane (camera coordinates) and never refit (e.g. a second pass).
        cut_jump_m: a root jump larger than this between two frames is a cut (another person, a lost
            body): the foot pinning and the trajectory head start afresh.
        refine_focal: refine the camera's focal length from the body over the first `refine_frames` frames
            with a body (`calib.focal.refine_focal`; needs the stage's cam_K and each frame's 2D keypoints),
            then scale the nets' root depth by f_refined / f_assumed and turn the body by the change of its
            viewing ray. Off by default: on held-out proxies with the shipped nets it picks the true focal
            only to +-18 % (interquartile) per sequence, no better than a typical assumption; with exact 3D
            it is within 3 % (benchmarks/reports/world).
        refine_frames: frames with a body used for the refinement (90 = 3 s at 30 fps).
    """
    camera: str = "static"
    refit_every: int = 30
    max_points: int = 900
    fusion_gain: float = 1.0
    pin: bool = True
    pin_options: PinOptions = PinOptions()
    leg_ik: bool = True
    fixed_plane: GroundPlane | None = None
    cut_jump_m: float = 1.0
    refine_focal: bool = False
    refine_frames: int = 90

    def __post_init__(self) -> None:
        if self.camera not in CAMERA_MODES:
            raise ValueError(f"world camera must be one of {CAMERA_MODES}, got {self.camera!r}")
        if not 0 < self.fusion_gain <= 1 or self.refit_every < 1 or self.max_points < MIN_POINTS:
            raise ValueError(f"WorldOptions: need 0 < fusion_gain <= 1, refit_every >= 1, max_points >= "
                             f"{MIN_POINTS}; got {self}")


@dataclass
class WorldFrame:
    """One frame in the world (y up, ground y = 0, metres).

    valid: a body this frame (else the last frame's values). R_root_w (3, 3), root_w (3,): root joint;
    joints_w (22, 3); contacts_w (4, 3) heels and big toes; pinned (4,) bool; offset (3,) the foot
    correction applied; raw_root_w (3,) the root before the correction; R_w2c (3, 3), t_w2c (3,);
    source: "camera", "fused" or "trajectory" (what fixed the horizontal root).
    """
    valid: bool
    R_root_w: np.ndarray
    root_w: np.ndarray
    joints_w: np.ndarray
    contacts_w: np.ndarray
    pinned: np.ndarray
    offset: np.ndarray
    raw_root_w: np.ndarray
    R_w2c: np.ndarray
    t_w2c: np.ndarray
    source: str
    timings_ms: dict = field(default_factory=dict)
    pose_edits: dict = field(default_factory=dict)   # joint -> (3,) axis-angle set by the leg IK

    def world_poses(self, poses_c: np.ndarray) -> np.ndarray:
        """(165,) SMPL-X poses with the root orientation in the world (and the leg IK's joints)."""
        out = np.array(poses_c, np.float32, copy=True)
        out[:3] = rotmat_to_axis_angle(self.R_root_w)
        for j, aa in self.pose_edits.items():
            out[3 * j:3 * j + 3] = aa
        return out

    @property
    def camera_centre_w(self) -> np.ndarray:
        return -self.R_w2c.T @ self.t_w2c


def _rest_frame() -> WorldFrame:
    z3 = np.zeros(3)
    R = np.diag([-1.0, -1.0, 1.0])       # a camera at the origin looking along world +z (x left, y up)
    return WorldFrame(False, np.eye(3), z3.copy(), np.zeros((NUM_BODY, 3)), np.zeros((4, 3)), np.zeros(4, bool),
                      z3.copy(), z3.copy(), R, z3.copy(), "none")


class WorldStage:
    """Camera-space SMPL-X per frame -> WorldFrame (module docstring). One object per stream and thread."""

    def __init__(self, rig: BodyRig, fps: float, options: WorldOptions = WorldOptions(), trajectory_net=None,
                 cam_K: np.ndarray | None = None):
        """trajectory_net: a models.world.trajectory.TrajectoryNet (needed for camera="moving"; optional
        for "static", where it is used only when fusion_gain < 1). cam_K: (3, 3) the intrinsics the 3D
        stage ran with (needed for `WorldOptions.refine_focal`).

        Raises:
            ValueError: camera="moving" without a trajectory net, or a non-positive fps.
        """
        if not fps > 0:
            raise ValueError(f"WorldStage: fps must be positive, got {fps}")
        if options.camera == "moving" and trajectory_net is None:
            raise ValueError("the moving-camera world stage needs the trajectory head")
        self.rig, self.fps, self.options = rig, float(fps), options
        self.net = trajectory_net
        self.cam_K = None if cam_K is None else np.asarray(cam_K, np.float64)
        self.focal_px: float | None = None          # the refined focal length once known (pixels)
        self.focal_estimate = None                  # its calib.focal.FocalEstimate
        self._focal_data: list = []
        self.reset()

    def set_focal(self, f_px: float | None) -> None:
        """Use this focal length (pixels) instead of cam_K's from now on (None: cam_K's)."""
        self.focal_px = None if f_px is None else float(f_px)

    def _focal_correction(self, root_c: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The root at the refined focal (same pixel, depth x f / f0) and the rotation of the body's
        viewing ray (None when no refined focal)."""
        if self.focal_px is None or self.cam_K is None:
            return root_c, None
        from mocap.calib.focal import ray_rotation

        f0 = self.cam_K[0, 0]
        ray0 = root_c / root_c[2]
        ray = np.array([ray0[0] * f0 / self.focal_px, ray0[1] * f0 / self.focal_px, 1.0])
        return ray * root_c[2] * self.focal_px / f0, ray_rotation(ray0, ray)

    def _collect_focal(self, joints_m, G, root_c, k67) -> None:
        """Keep this frame's body points and keypoints; refine the focal once there are enough."""
        from mocap.calib.focal import refine_focal

        o = self.options
        k67 = np.asarray(k67, np.float64)
        self._focal_data.append((self.rig.body_points(joints_m, G), k67[:25, :2], k67[:25, 2], root_c))
        if len(self._focal_data) < o.refine_frames:
            return
        X, uv, w, rc = (np.array(a) for a in zip(*self._focal_data))
        self._focal_data = []
        K = self.cam_K
        try:
            est = refine_focal(X, uv, w, K[:2, 2], 2 * K[1, 2], f_assumed=K[0, 0], root_c=rc)
        except ValueError:
            return
        self.focal_estimate = est
        if est.well_posed:
            self.set_focal(est.f_px)
            if o.fixed_plane is None:     # the contact points so far were at the old depth scale
                self.points.clear()
                self.fitted = False

    def reset(self) -> None:
        from mocap.models.world.trajectory import TrajectoryTracker

        o = self.options
        self.points: deque = deque(maxlen=o.max_points)
        self.up_sum = np.zeros(3)
        self.plane: GroundPlane | None = o.fixed_plane
        self.fitted = o.fixed_plane is not None
        self.since_fit = 0
        # moving camera: the horizontal path is the trajectory head's; holding the whole body on its contact
        # points would fight it (measured on the panning clip: the runner's net run 2.5 -> 1.9 m, path 2.9
        # -> 8.8 m): only the legs are pinned there
        pin_options = o.pin_options if o.camera in FIXED_CAMERA_MODES else replace(o.pin_options, horizontal=False)
        self.pinner = FootPinner(self.fps, pin_options)
        self.legs = LegPinner(self.fps)
        self.tracker = TrajectoryTracker(self.net) if self.net is not None else None
        self.last: WorldFrame = _rest_frame()
        self._camera = (self.last.R_w2c, self.last.t_w2c)
        self.lost = True
        self.fused_xz: np.ndarray | None = None
        self.frames = 0
        self.cuts = 0
        self._prev_root_c = np.zeros(3)

    # ------------------------------------------------------------------ ground
    def _cut(self) -> None:
        self.lost = True
        self.fused_xz = None
        self.pinner.reset()
        self.legs.reset()
        self.cuts += 1

    def _ground(self, feet_c: np.ndarray, contacts: np.ndarray, up_c: np.ndarray) -> GroundPlane:
        o = self.options
        self.up_sum += up_c
        hint = self.up_sum / np.linalg.norm(self.up_sum)
        if o.fixed_plane is not None:
            return o.fixed_plane
        contacts = np.asarray(contacts)
        on = contacts > 0.5
        soles = feet_c - self.rig.contact_heights[:, None] * hint           # down to the sole
        low = int(np.argmin(soles @ hint))
        if not on[low] and contacts[low] > o.pin_options.weak_prob:
            on[low] = True   # the lowest sole is on the ground most of the time (RANSAC drops the rest)
        for p in soles[on]:
            self.points.append(p)
        self.since_fit += 1
        if len(self.points) >= MIN_POINTS and (not self.fitted or self.since_fit >= o.refit_every):
            self.since_fit = 0
            try:
                pts = np.asarray(self.points)
                pts = pts[::max(1, len(pts) // FIT_POINTS)]    # bounded fit cost (RANSAC is O(points))
                plane = fit_ground_plane(pts, up_hint_c=hint)
                if plane.d > MIN_CAMERA_HEIGHT_M:   # else the points are nonsense: keep what we had
                    self.plane, self.fitted = plane, True
            except ValueError:
                pass
        if not self.fitted:   # provisional: the body's up axis through the lowest foot point
            d = max(-float((feet_c @ hint - self.rig.contact_heights).min()), MIN_CAMERA_HEIGHT_M)
            self.plane = GroundPlane(normal_c=hint, d=d, inliers=np.zeros(0, bool), rms_m=0.0, constrained="point")
        return self.plane

    # ------------------------------------------------------------------ per frame
    def step(self, poses: np.ndarray, betas: np.ndarray, root_c: np.ndarray, contacts: np.ndarray,
             valid: bool = True, k67: np.ndarray | None = None, R_pan: np.ndarray | None = None) -> WorldFrame:
        """One frame of the 3D stage (camera space): poses (165,), betas (10,), root_c (3,) root joint in
        the camera, contacts (4,) probabilities, valid; k67 (67, 3) the frame's 2D keypoints (x px, y px,
        confidence), used only by the focal refinement; R_pan (3, 3) this frame's camera -> the first
        frame's camera (camera "panning"; None = identity)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        if not valid:
            self.lost = True
            self.fused_xz = None
            if R_pan is not None:   # the camera keeps turning while the body is lost
                R0, t0_c = self._camera
                return replace(self.last, valid=False, R_w2c=R_pan.T @ R0, t_w2c=R_pan.T @ t0_c,
                               timings_ms=self._timings(t0, c0))
            return replace(self.last, valid=False, timings_ms=self._timings(t0, c0))
        root_c = np.asarray(root_c, np.float64)
        joints_m, feet_m, _, G_c = self.rig.forward_full(poses, betas)
        if (self.options.refine_focal and self.focal_estimate is None and k67 is not None
                and self.cam_K is not None and self.rig.body_offsets is not None):
            self._collect_focal(joints_m, G_c, root_c, k67)
        root_c, R_ray = self._focal_correction(root_c)
        if R_pan is not None:       # panning: everything in the first frame's camera from here on
            root_c = R_pan @ root_c
        if self.frames > 0 and np.linalg.norm(root_c - self._prev_root_c) > self.options.cut_jump_m:
            self._cut()   # another person, or the nets lost the body: no pinning across the jump
        self._prev_root_c = root_c
        if R_ray is not None:       # the body seen on the refined focal's ray
            joints_m, feet_m, G_c = joints_m @ R_ray.T, feet_m @ R_ray.T, R_ray @ G_c
        if R_pan is not None:
            joints_m, feet_m, G_c = joints_m @ R_pan.T, feet_m @ R_pan.T, R_pan @ G_c
        R_root_c = G_c[0]
        joints_c, feet_c = joints_m + root_c, feet_m + root_c
        plane = self._ground(feet_c, contacts, R_root_c[:, 1])
        pose = camera_pose_from_ground(plane) if plane.d > 0 else None
        if pose is None:   # the fitted plane passes above the camera (bad evidence): keep the last camera
            R_g2c, t_g2c = self._camera
        else:
            R_g2c, t_g2c = pose.R_w2c, pose.t_w2c
        self._camera = (R_g2c, t_g2c)   # (the first frame's camera when panning)
        j_root = self.rig.root_joint(betas)
        if self.options.camera in FIXED_CAMERA_MODES:
            frame = self._static(R_root_c, root_c, joints_c, feet_c, j_root, R_g2c, t_g2c)
        else:
            frame = self._moving(R_root_c, root_c, joints_c, feet_c, R_g2c, t_g2c)
        if self.options.pin:
            soles = frame.contacts_w - np.outer(self.rig.contact_heights, [0.0, 1.0, 0.0])
            off, pinned = self.pinner.step(soles, contacts)
            frame.offset, frame.pinned = off, pinned
            frame.root_w = frame.root_w + off
            frame.joints_w = frame.joints_w + off
            frame.contacts_w = frame.contacts_w + off
            if self.options.leg_ik:
                self._leg_ik(frame, G_c, R_root_c)
            if self.options.camera == "moving":   # the camera follows the body
                frame.t_w2c = root_c - frame.R_w2c @ frame.root_w
        if R_pan is not None:       # this frame's camera: the first frame's, turned by R_pan^T
            frame.R_w2c, frame.t_w2c = R_pan.T @ frame.R_w2c, R_pan.T @ frame.t_w2c
        self.lost = False
        self.frames += 1
        frame.timings_ms = self._timings(t0, c0)
        self.last = frame
        return frame

    @staticmethod
    def _timings(t0: float, c0: float) -> dict:
        """"world": wall ms of this step; "world_cpu": this thread's CPU ms in it (without waits for the GIL
        or a core, which the app's other threads and processes hold)."""
        return {"world": (time.perf_counter() - t0) * 1e3, "world_cpu": (time.thread_time() - c0) * 1e3}

    def _leg_ik(self, frame: WorldFrame, G_c: np.ndarray, R_root_c: np.ndarray) -> None:
        """Pin the ankles of the feet in contact (feet.LegPinner, two-bone IK), in place.

        A target out of the leg's reach (the whole-body shift is a compromise between both feet, and the
        nets' root moves on while a foot is held) would leave the ankle short of it and the foot would drag;
        with the horizontal pinning on, the body is first moved horizontally just enough for the legs to
        reach (`feet.reach_shift`).
        """
        side_contact = [bool(frame.pinned[list(c)].any()) for c in LEG_CONTACTS]
        targets = self.legs.targets(frame.joints_w, side_contact)
        if all(t is None for t in targets):
            return
        G = (frame.R_root_w @ R_root_c.T) @ G_c          # global rotations in the world
        if self.pinner.options.horizontal:
            J = frame.joints_w
            legs = [(leg, t) for leg, t in zip(LEGS, targets) if t is not None]
            shift = reach_shift(np.array([J[h] for (h, _, _), _ in legs]), np.array([t for _, t in legs]),
                                np.array([np.linalg.norm(J[k] - J[h]) + np.linalg.norm(J[a] - J[k])
                                          for (h, k, a), _ in legs]))
            if shift.any():
                frame.joints_w = frame.joints_w + shift
                frame.contacts_w = frame.contacts_w + shift
                frame.root_w = frame.root_w + shift
                frame.offset = frame.offset + shift
        for side, target in enumerate(targets):
            hip, knee, ankle = LEGS[side]
            J = frame.joints_w
            if target is None or np.linalg.norm(target - J[ankle]) < 1e-4:
                continue
            Rs, Rk = two_bone_ik(J[hip], J[knee], J[ankle], target, G[knee][:, 0])
            G_hip, G_knee = Rs @ G[hip], Rk @ G[knee]
            new_knee = J[hip] + Rs @ (J[knee] - J[hip])
            new_ankle = new_knee + G_knee @ (G[knee].T @ (J[ankle] - J[knee]))
            delta = new_ankle - J[ankle]
            J[knee], J[ankle] = new_knee, new_ankle
            J[ankle + 3] = J[ankle + 3] + delta                 # the toe joint (10, 11) rides on the ankle
            frame.contacts_w[list(LEG_CONTACTS[side])] += delta
            frame.pose_edits[hip] = rotmat_to_axis_angle(G[0].T @ G_hip)
            frame.pose_edits[knee] = rotmat_to_axis_angle(G_hip.T @ G_knee)
            frame.pose_edits[ankle] = rotmat_to_axis_angle(G_knee.T @ G[ankle])

    def _static(self, R_root_c, root_c, joints_c, feet_c, j_root, R_w2c, t_w2c) -> WorldFrame:
        R_root_w, transl_w = camera_to_world(R_root_c, root_c - j_root, j_root, R_w2c, t_w2c)
        root_w = transl_w + j_root
        to_w = lambda x: (x - t_w2c) @ R_w2c          # noqa: E731  x_w = R^T (x_c - t)
        joints_w, feet_w = to_w(joints_c), to_w(feet_c)
        source = "camera"
        from mocap.models.world.trajectory import heading_angle

        if self.tracker is not None and self.options.fusion_gain < 1:
            psi, _, _ = self.tracker.step(joints_w, R_root_w)
            if self.fused_xz is None or self.lost:
                self.fused_xz = root_w[[0, 2]].copy()
            else:
                step = yaw_matrix(self._prev_heading) @ np.array([psi[0], 0.0, psi[1]])
                pred = self.fused_xz + step[[0, 2]]
                self.fused_xz = pred + self.options.fusion_gain * (root_w[[0, 2]] - pred)
                source = "fused"
            self._prev_heading = float(heading_angle(R_root_w))
            shift = np.array([self.fused_xz[0] - root_w[0], 0.0, self.fused_xz[1] - root_w[2]])
            root_w, joints_w, feet_w = root_w + shift, joints_w + shift, feet_w + shift
        return WorldFrame(True, R_root_w, root_w, joints_w, feet_w, np.zeros(4, bool), np.zeros(3), root_w.copy(),
                          np.asarray(R_w2c, np.float64), np.asarray(t_w2c, np.float64), source)

    def _moving(self, R_root_c, root_c, joints_c, feet_c, R_g2c, t_g2c) -> WorldFrame:
        from mocap.models.world.trajectory import heading_angle

        # G: gravity-aligned frame of this frame's camera (y up, heading along its optical axis, ground y = 0)
        R_root_g = R_g2c.T @ R_root_c
        to_g = lambda x: (x - t_g2c) @ R_g2c          # noqa: E731
        joints_g, feet_g = to_g(joints_c), to_g(feet_c)
        root_g = joints_g[0]
        if self.lost:   # (re)start dead reckoning from the last position and heading (world = G on frame 0)
            if self.frames == 0:
                self.tracker.start_xz, self.tracker.start_heading = root_g[[0, 2]], float(heading_angle(R_root_g))
            else:
                self.tracker.start_xz = self.last.raw_root_w[[0, 2]].copy()
                self.tracker.start_heading = float(heading_angle(self.last.R_root_w))
            self.tracker.reset()
        _, root_t, _ = self.tracker.step(joints_g, R_root_g)
        h_w, h_g = self.tracker.heading, float(heading_angle(R_root_g))
        R_yaw = yaw_matrix(h_w - h_g)                   # G -> world, about the vertical
        R_root_w = R_yaw @ R_root_g
        root_w = np.array([root_t[0], root_g[1], root_t[2]])   # height: the camera evidence
        joints_w = (joints_g - root_g) @ R_yaw.T + root_w
        feet_w = (feet_g - root_g) @ R_yaw.T + root_w
        R_w2c = R_root_c @ R_root_w.T
        t_w2c = root_c - R_w2c @ root_w
        return WorldFrame(True, R_root_w, root_w, joints_w, feet_w, np.zeros(4, bool), np.zeros(3), root_w.copy(),
                          R_w2c, t_w2c, "trajectory")

    def run(self, poses, betas, root_c, contacts, valid, k67=None, R_pan=None) -> list[WorldFrame]:
        """A whole sequence (T, ...) through step, frame by frame (the take's second pass); k67 (T, 67, 3) or
        None; R_pan (T, 3, 3) or None."""
        return [self.step(poses[t], betas[t], root_c[t], contacts[t], bool(valid[t]), None if k67 is None else k67[t],
                          None if R_pan is None else R_pan[t])
                for t in range(len(poses))]


class OrtTrajectoryNet:
    """The trajectory head's one-frame ONNX step (export/trajectory.py) behind the interface
    `TrajectoryTracker` uses (config, initial_state, eval, call on (1, 1, 126) features and a state).
    ONNX Runtime runs a step in ~0.04 ms against ~0.3-1 ms for PyTorch on this CPU."""

    def __init__(self, onnx_path, config, ort=None):
        from mocap.engines.onnxruntime import OrtConfig, OrtEngine

        self.config = config
        self.engine = OrtEngine(onnx_path, ort or OrtConfig())

    @classmethod
    def from_checkpoint(cls, checkpoint=None, cache=None, ort=None) -> "OrtTrajectoryNet":
        """Export (cached by content) and load; checkpoint None = the shipped weights.

        Raises:
            EngineError: missing or unreadable checkpoint, or an export that disagrees with PyTorch.
        """
        from mocap.export.trajectory import trajectory_onnx
        from mocap.models.world.trajectory import DEFAULT_WEIGHTS, load_trajectory_net

        checkpoint = DEFAULT_WEIGHTS if checkpoint is None else checkpoint
        if cache is None:
            from mocap.export.cli import default_cache_dir

            cache = default_cache_dir()
        path, _ = trajectory_onnx(checkpoint, cache)
        return cls(path, load_trajectory_net(checkpoint).config, ort)

    def eval(self) -> "OrtTrajectoryNet":
        return self

    def initial_state(self, batch: int = 1):
        import torch

        return torch.zeros(self.config.layers, batch, self.config.hidden)

    def __call__(self, feats, state):
        import torch

        out = self.engine.run({"features": np.ascontiguousarray(feats[:, 0].numpy(), np.float32),
                               "state": np.ascontiguousarray(state.numpy(), np.float32)})
        return torch.from_numpy(out["psi"])[:, None], torch.from_numpy(out["state_out"])
