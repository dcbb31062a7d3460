"""What every output format agrees on: target joint names, axis conventions, and take -> skeleton motion.

Sources of the facts here (restated, not copied):

* SMPL-X joint order, names and parents: ``mocap.models.body.smplx_layout`` (which cites its sources).
* VRM humanoid bone names: VRM 0.x specification, "humanoid" bone list,
  https://github.com/vrm-c/vrm-specification/blob/master/specification/0.0/README.md ; they are Unity's
  ``HumanBodyBones`` enum names, https://docs.unity3d.com/ScriptReference/HumanBodyBones.html , which is
  what the VMC protocol's ``/VMC/Ext/Bone/Pos`` carries (https://protocol.vmc.info/english ,
  "Performer -> Marionette").
* Unity's axes: left-handed, +Y up, +Z forward, +X right (Unity manual, "Coordinate systems").
  UniVRM turns glTF's right-handed axes into Unity's by negating one horizontal axis; we negate X
  (see ``UNITY_FROM_YUP``).
* glTF 2.0 axes: right-handed, +Y up, metres, the front of an asset faces +Z (glTF 2.0 specification
  section 3.4 "Coordinate System and Units", https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html).
* SMPL-X model frame: metres, +Y up, the body faces +Z, the subject's left at +X (``lbs`` module
  docstring). So SMPL-X's model frame IS glTF's frame and a y-up BVH frame: no axis change there.
* The take's frame (``app/take.py``): ``frame == "world"`` is DESIGN 8's world (y up, right-handed,
  metres); ``frame == "camera"`` is OpenCV camera axes (x right, y down, z forward). Exports are
  always y up: a camera-frame take is turned 180 degrees about X (``YUP_FROM_CAMERA``).

Rest pose = T-pose: every output treats the SMPL-X zero pose as the skeleton's rest / T-pose. The open
default model's zero pose is an exact T-pose (arms along +-X, legs along -Y, fingers along the arm);
the official SMPL-X zero pose has its arms a few degrees below horizontal, and a receiver that
expects an exact T-pose (VMC) then shows that small difference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from mocap.app.take import Take
from mocap.models.body.smplx_layout import JOINT_NAMES, NUM_JOINTS, PARENTS
from mocap.models.body.smplx_model import SmplxModel
from scipy.spatial.transform import Rotation

FACE_JOINTS = ("jaw", "left_eye_smplhf", "right_eye_smplhf")

# SMPL-X joint -> VRM humanoid bone (= Unity HumanBodyBones) name. Every one of the 55 joints has one.
# Legs: SMPL-X hip/knee/ankle/foot are the upper leg, lower leg, foot and toes bones. Spine: spine1,
# spine2, spine3 -> Spine, Chest, UpperChest (UpperChest is optional in VRM: a receiver whose avatar
# lacks it drops that rotation). Arms: collar -> Shoulder, shoulder -> UpperArm, elbow -> LowerArm,
# wrist -> Hand. Fingers: SMPL-X (MANO) 1/2/3 -> Proximal/Intermediate/Distal; the thumb's 1/2/3 are
# its CMC/MCP/IP joints, which Unity calls ThumbProximal/Intermediate/Distal; SMPL-X "pinky" is
# Unity's "Little".
_VRM_BODY = {
    "pelvis": "Hips", "left_hip": "LeftUpperLeg", "right_hip": "RightUpperLeg", "spine1": "Spine",
    "left_knee": "LeftLowerLeg", "right_knee": "RightLowerLeg", "spine2": "Chest",
    "left_ankle": "LeftFoot", "right_ankle": "RightFoot", "spine3": "UpperChest",
    "left_foot": "LeftToes", "right_foot": "RightToes", "neck": "Neck",
    "left_collar": "LeftShoulder", "right_collar": "RightShoulder", "head": "Head",
    "left_shoulder": "LeftUpperArm", "right_shoulder": "RightUpperArm",
    "left_elbow": "LeftLowerArm", "right_elbow": "RightLowerArm",
    "left_wrist": "LeftHand", "right_wrist": "RightHand",
    "jaw": "Jaw", "left_eye_smplhf": "LeftEye", "right_eye_smplhf": "RightEye",
}
_VRM_FINGER = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring", "pinky": "Little"}
_VRM_PHALANX = {"1": "Proximal", "2": "Intermediate", "3": "Distal"}


def _vrm_name(smplx_name: str) -> str:
    if smplx_name in _VRM_BODY:
        return _VRM_BODY[smplx_name]
    side, rest = smplx_name.split("_", 1)                     # "left", "index1"
    return side.capitalize() + _VRM_FINGER[rest[:-1]] + _VRM_PHALANX[rest[-1]]


SMPLX_TO_VRM: dict[str, str] = {name: _vrm_name(name) for name in JOINT_NAMES}

# Axis changes (3x3, acting on column vectors).
# Camera (OpenCV, y down, z forward) -> y-up: a half turn about X.
YUP_FROM_CAMERA = np.diag([1.0, -1.0, -1.0])
# Right-handed y-up (SMPL-X / glTF) -> Unity (left-handed y-up): mirror X. A rotation R becomes
# S R S (S = this matrix); for a quaternion (w, x, y, z) that is (w, x, -y, -z).
UNITY_FROM_YUP = np.diag([-1.0, 1.0, 1.0])

# BVH: one rotation channel order for every joint, intrinsic (the first listed channel is the outermost
# rotation: R = Rz @ Rx @ Ry), angles in degrees (the BVH convention that Blender's importer and
# our reader ``mocap.models.mocap.readers.read_bvh`` follow).
BVH_ROTATION_ORDER = "ZXY"
BVH_UNITS = {"m": 1.0, "cm": 100.0}


@dataclass
class SkeletonMotion:
    """A take as a skeleton animation in a y-up, right-handed, metre frame (the model / glTF frame).

    Attributes:
        names: J SMPL-X joint names (all 55, or 52 without jaw and eyes), parents before children.
        joint_ids: (J,) index of each joint in the SMPL-X 55.
        parents: (J,) parent index into this list, -1 for the root (pelvis, index 0).
        rest_joints: (J, 3) rest (T-pose) joint positions for the take's betas, metres, model frame.
        local_rotmats: (T, J, 3, 3) rotation of each joint relative to its parent (column vectors,
            rest-frame axes); joint 0 holds the global root orientation.
        root_pos: (T, 3) world position of the pelvis joint, metres.
        fps: frames per second.
    """

    names: tuple[str, ...]
    joint_ids: np.ndarray
    parents: np.ndarray
    rest_joints: np.ndarray
    local_rotmats: np.ndarray
    root_pos: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.local_rotmats.shape[0])

    @property
    def offsets(self) -> np.ndarray:
        """(J, 3) rest offset of each joint from its parent; row 0 is the rest pelvis position."""
        off = self.rest_joints.copy()
        off[1:] -= self.rest_joints[self.parents[1:]]
        return off

    def global_positions(self) -> np.ndarray:
        """(T, J, 3) world joint positions by forward kinematics, metres."""
        T, J = self.local_rotmats.shape[:2]
        off = self.offsets
        glob = np.empty((T, J, 3, 3))
        pos = np.empty((T, J, 3))
        glob[:, 0], pos[:, 0] = self.local_rotmats[:, 0], self.root_pos
        for j in range(1, J):
            p = self.parents[j]
            glob[:, j] = glob[:, p] @ self.local_rotmats[:, j]
            pos[:, j] = pos[:, p] + glob[:, p] @ off[j]
        return pos


def _rest_output(model: SmplxModel, betas: np.ndarray):
    """The model's zero-pose forward for `betas` (10,) (missing betas 0, extra ones dropped)."""
    nb = model.options.num_betas
    b = np.zeros((1, nb), np.float64)
    n = min(nb, len(betas))
    b[0, :n] = np.asarray(betas, np.float64)[:n]
    with torch.no_grad():
        return model(betas=torch.as_tensor(b, dtype=model.v_template.dtype))


def rest_joints_for(model: SmplxModel, betas: np.ndarray) -> np.ndarray:
    """(55, 3) rest (zero-pose) joints of `model` shaped by `betas` (10,), metres, model frame."""
    return _rest_output(model, betas).joints[0].double().cpu().numpy()


def rest_floor_y(model: SmplxModel, betas: np.ndarray) -> float:
    """Height of the soles (lowest vertex) of `model`'s rest pose for `betas`, metres, model frame."""
    return float(_rest_output(model, betas).vertices[0, :, 1].min())


def select_joints(include_face: bool) -> tuple[np.ndarray, np.ndarray]:
    """(J,) SMPL-X joint ids kept and (J,) their parents re-indexed; jaw/eyes dropped unless include_face."""
    keep = [j for j, n in enumerate(JOINT_NAMES) if include_face or n not in FACE_JOINTS]
    where = {j: i for i, j in enumerate(keep)}
    parents = np.array([-1 if PARENTS[j] < 0 else where[PARENTS[j]] for j in keep], np.int64)
    return np.array(keep, np.int64), parents


def skeleton_motion(take: Take, model: SmplxModel, include_face: bool = True) -> SkeletonMotion:
    """The take's SMPL-X parameters as a y-up skeleton animation.

    The pelvis is at ``J_pelvis_rest + trans`` (SMPL-X's root pivots about the rest pelvis); a
    camera-frame take is turned into y-up by ``YUP_FROM_CAMERA`` (root orientation and position).

    Args:
        take: the take (poses (T, 165) axis-angle, trans (T, 3) metres, betas (10,)).
        model: the body model the take was recorded with (rest joints come from it).
        include_face: keep jaw and eye joints.
    Returns:
        SkeletonMotion in metres, y up.
    """
    ids, parents = select_joints(include_face)
    rest55 = rest_joints_for(model, take.betas)                             # (55, 3)
    T = take.num_frames
    aa = np.asarray(take.poses, np.float64).reshape(T, NUM_JOINTS, 3)[:, ids]  # (T, J, 3)
    rot = Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(T, len(ids), 3, 3)
    root_pos = rest55[0] + np.asarray(take.trans, np.float64)               # (T, 3)
    if take.frame == "camera":
        rot[:, 0] = YUP_FROM_CAMERA @ rot[:, 0]
        root_pos = root_pos @ YUP_FROM_CAMERA.T
    return SkeletonMotion(names=tuple(JOINT_NAMES[j] for j in ids), joint_ids=ids, parents=parents,
                          rest_joints=rest55[ids], local_rotmats=rot, root_pos=root_pos, fps=float(take.fps))


def resample_motion(sm: SkeletonMotion, fps: float) -> SkeletonMotion:
    """The same motion at `fps` (slerp rotations, linear root; ``mocap.models.mocap.motion.resample``)."""
    from mocap.models.mocap.motion import Motion, resample

    if abs(fps - sm.fps) < 1e-9:
        return sm
    off = sm.offsets
    off[0] = 0.0
    m = Motion(joint_names=list(sm.names), parents=sm.parents, offsets_m=off, rotations=sm.local_rotmats,
               root_translation_m=sm.root_pos, fps=sm.fps)
    r = resample(m, fps)
    return SkeletonMotion(names=sm.names, joint_ids=sm.joint_ids, parents=sm.parents, rest_joints=sm.rest_joints,
                          local_rotmats=r.rotations, root_pos=r.root_translation_m, fps=float(fps))


def continuous_quats_xyzw(rotmats: np.ndarray) -> np.ndarray:
    """(T, J, 3, 3) -> (T, J, 4) unit quaternions (x, y, z, w), sign-continuous over time.

    q and -q are the same rotation; flipping signs so consecutive frames have a positive dot product
    keeps glTF's slerp (and any interpolating player) on the short arc.
    """
    T, J = rotmats.shape[:2]
    q = Rotation.from_matrix(rotmats.reshape(-1, 3, 3)).as_quat().reshape(T, J, 4)
    if T > 1:
        # s_t = sign(q_t . q_{t-1}) of the raw quaternions; frame t needs the product s_1 ... s_t.
        s = np.where(np.sum(q[1:] * q[:-1], -1) < 0, -1.0, 1.0)          # (T - 1, J)
        q[1:] *= np.cumprod(s, axis=0)[..., None]
    return q
