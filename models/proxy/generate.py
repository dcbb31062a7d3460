"""Proxy sequences in world space: a retargeted clip posed with a random shape and hands (DESIGN 6).

Everything here is world space (y up, floor y = 0, metres) except `to_camera_params`, which maps
SMPL-X parameters into a camera (OpenCV axes). Cameras and corruption are applied later, when
windows are drawn (`dataset.py`), from the stored world-space points.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from mocap.models.keypoints import K67_NAMES

log = logging.getLogger(__name__)

NUM_BETAS = 10
# Foot points whose contact state is a target, as K67 indices (order of the `contacts` arrays).
CONTACT_NAMES = ("LHeel", "LBigToe", "RHeel", "RBigToe")
CONTACT_K67 = tuple(K67_NAMES.index(n) for n in CONTACT_NAMES)

HandSampler = Callable[[int, int, float, str], np.ndarray]     # (seed, T, fps, side) -> (T, 15, 3)
PointsFn = Callable[[object], torch.Tensor]                    # SmplxOutput -> (B, 67, 3)


@dataclass(frozen=True)
class GeneratorOptions:
    """Random ranges of a proxy sequence and the contact thresholds.

    Attributes:
        betas_std: std of the normal draw of each of the 10 betas.
        betas_clip: |beta| limit.
        keep_clip_betas_prob: probability of keeping the clip's own betas.
        contact_height_m: a foot point below this height (above the floor) may be in contact.
        contact_speed_mps: ... and moving slower than this.
        batch: frames per body-model forward call.
    """
    betas_std: float = 1.0
    betas_clip: float = 2.5
    keep_clip_betas_prob: float = 0.1
    contact_height_m: float = 0.06
    contact_speed_mps: float = 0.25
    batch: int = 512


@dataclass
class ProxySequence:
    """One proxy sequence in world space (T frames).

    Attributes:
        global_orient: (T, 3) root axis-angle, world.
        body_pose: (T, 21, 3), left_hand_pose / right_hand_pose: (T, 15, 3) axis-angle, local.
        transl: (T, 3) SMPL-X transl in world, metres (the model origin, not the root joint).
        betas: (10,) shape.
        j_root: (3,) rest-pose root joint (pelvis) for these betas, model frame, metres.
        joints_w: (T, 55, 3) SMPL-X joints in world, metres.
        k67_w: (T, 67, 3) K67 3D points in world, metres (what `points_fn` returned).
        contacts: (T, 4) bool, CONTACT_NAMES order.
        fps: frames per second.
        meta: clip name, archive, split, source.
    """
    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray
    j_root: np.ndarray
    stature: float
    joints_w: np.ndarray
    k67_w: np.ndarray
    contacts: np.ndarray
    fps: float
    meta: dict = field(default_factory=dict)


def load_clip(path: str | Path) -> dict:
    """Read one retargeted clip `.npz` (keys global_orient, body_pose, transl, betas, fps, ...).

    Raises:
        ValueError: a key is missing or has a wrong shape.
    """
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    for key, tail in (("global_orient", (3,)), ("body_pose", (21, 3)), ("transl", (3,))):
        if key not in d:
            raise ValueError(f"{path}: key '{key}' missing, not a retargeted clip")
        if d[key].shape[1:] != tail:
            raise ValueError(f"{path}: '{key}' must be (T, {', '.join(map(str, tail))}), got {d[key].shape}")
    T = d["global_orient"].shape[0]
    if d["body_pose"].shape[0] != T or d["transl"].shape[0] != T:
        raise ValueError(f"{path}: global_orient, body_pose and transl differ in length")
    out = {k: d[k].astype(np.float64) for k in ("global_orient", "body_pose", "transl")}
    out["betas"] = d["betas"].astype(np.float64).reshape(-1)[:NUM_BETAS] if "betas" in d else np.zeros(NUM_BETAS)
    out["fps"] = float(d["fps"]) if "fps" in d else 30.0
    for key in ("source", "archive", "split"):
        out[key] = str(d[key]) if key in d else ""
    out["clip"] = Path(path).stem
    return out


def simple_hand_sampler(seed: int, num_frames: int, fps: float, side: str) -> np.ndarray:
    """A stand-in hand prior: a random relaxed-to-closed curl that drifts smoothly in time.

    Finger flexion is about each joint's local z axis on the open model (positive for the left hand,
    negative for the right, as SMPL-X's mirrored hands); the thumb bends less. Returns (T, 15, 3).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    rng = np.random.default_rng(seed)
    T = num_frames
    curl = gaussian_filter1d(rng.standard_normal((T, 5)), 0.6 * fps, axis=0, mode="nearest")
    curl = curl / max(float(curl.std()), 1e-9)
    base = rng.uniform(0.1, 0.9)
    flex = np.clip(base + 0.25 * curl, 0.0, 1.4)                            # (T, 5) radians per joint
    pose = np.zeros((T, 15, 3))
    sign = 1.0 if side == "left" else -1.0
    # SMPL-X hand joint order: index 0-2, middle 3-5, pinky 6-8, ring 9-11, thumb 12-14.
    for finger, joints in enumerate(((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))):
        for j in joints:
            pose[:, j, 2] = sign * flex[:, finger]
    pose[:, 12:15, 2] = sign * 0.4 * flex[:, 4:5]
    return pose


def default_hand_sampler(model=None) -> HandSampler:
    """The project's hand prior when installed (`mocap.models.body.hand_prior`), else simple_hand_sampler.

    Args:
        model: the SmplxModel whose skeleton the prior's joint axes come from (None: the default model).
    """
    if importlib.util.find_spec("mocap.models.body.hand_prior") is None:
        log.info("mocap.models.body.hand_prior not installed: using the simple hand sampler")
        return simple_hand_sampler
    from mocap.models.body.hand_prior import HandPrior

    def sample(seed: int, num_frames: int, fps: float, side: str) -> np.ndarray:
        prior = HandPrior(model=model, seed=seed)
        return np.asarray(prior.sample_sequence(num_frames, fps, side), np.float64)
    return sample


def model_points_fn(output) -> torch.Tensor:
    """The model's own K67 points (B, 67, 3)."""
    return output.k67


def default_points_fn(model) -> PointsFn:
    """Detector-consistent K67 points for this model's mesh (DESIGN 4): the vertex regressor fitted
    on our front end's detections of renders (`mocap.models.body.detector_points`), or the model's
    own K67 points when no regressor fits this mesh (e.g. an official SMPL-X file)."""
    from mocap.models.body.detector_points import DetectorPoints

    try:
        return DetectorPoints.load(model)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("no detector-consistent keypoints for this body model (%s): using its own K67 points", exc)
        return model_points_fn


def foot_contacts(points_w: np.ndarray, fps: float, height_m: float = 0.06,
                  speed_mps: float = 0.25) -> np.ndarray:
    """Contact state of foot points from height and velocity.

    Args:
        points_w: (T, P, 3) foot points in world (y up, floor y = 0), metres.
        fps: frame rate.
        height_m: a point in contact is below this height ...
        speed_mps: ... and slower than this (central differences, one-sided at the ends).
    Returns:
        (T, P) bool.
    """
    if points_w.shape[0] < 2:
        return points_w[..., 1] < height_m
    vel = np.gradient(points_w, axis=0) * fps
    speed = np.linalg.norm(vel, axis=-1)
    return (points_w[..., 1] < height_m) & (speed < speed_mps)


def rest_root(model, betas: np.ndarray) -> tuple[np.ndarray, float]:
    """The rest-pose root joint (pelvis) (3,) for `betas`, model frame, and the stature (metres)."""
    dt = model.v_template.dtype
    with torch.no_grad():
        out = model(betas=torch.as_tensor(np.asarray(betas)[None], dtype=dt))
    y = out.vertices[0, :, 1]
    return out.joints[0, 0].double().cpu().numpy(), float(y.max() - y.min())


def axis_angle_to_rot6d(axis_angle: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 6) 6D rotation: the first two COLUMNS of R (Zhou et al. CVPR
    2019), column after column: [R00 R10 R20 R01 R11 R21] (GLAMR's order; reference section 3)."""
    R = Rotation.from_rotvec(axis_angle.reshape(-1, 3)).as_matrix()
    return np.concatenate([R[:, :, 0], R[:, :, 1]], -1).reshape(axis_angle.shape[:-1] + (6,))


def rot6d_to_rotmat(rot6d: np.ndarray) -> np.ndarray:
    """(..., 6) in the axis_angle_to_rot6d convention -> (..., 3, 3), Gram-Schmidt on the columns."""
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    b2 = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 = b2 / np.linalg.norm(b2, axis=-1, keepdims=True)
    return np.stack([b1, b2, np.cross(b1, b2)], -1)


def run_model(model, points_fn: PointsFn, global_orient: np.ndarray, body_pose: np.ndarray,
              left_hand_pose: np.ndarray, right_hand_pose: np.ndarray, betas: np.ndarray,
              transl: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Batched forward over T frames -> (joints (T, 55, 3), k67 (T, 67, 3)) in metres, float64."""
    T = global_orient.shape[0]
    dt = model.v_template.dtype
    joints, k67 = [], []
    with torch.no_grad():
        for s in range(0, T, batch):
            e = min(T, s + batch)
            def arg(x):
                return torch.as_tensor(np.ascontiguousarray(x[s:e]), dtype=dt)
            out = model(global_orient=arg(global_orient), body_pose=arg(body_pose),
                        left_hand_pose=arg(left_hand_pose), right_hand_pose=arg(right_hand_pose),
                        betas=torch.as_tensor(np.repeat(betas[None], e - s, 0), dtype=dt), transl=arg(transl))
            joints.append(out.joints.double().cpu().numpy())
            k67.append(points_fn(out).double().cpu().numpy())
    return np.concatenate(joints), np.concatenate(k67)


def generate_sequence(model, clip: dict, seed: int, hand_sampler: HandSampler | None = None,
                      points_fn: PointsFn = model_points_fn,
                      options: GeneratorOptions | None = None) -> ProxySequence:
    """Pose a retargeted clip with a random shape and random hands; world-space outputs.

    A new shape changes the leg length, so the clip's root translation is scaled by the ratio of
    rest root heights (new / clip betas) and the body is then put back on the floor (the 5th
    percentile over frames of the lowest foot point is set to y = 0).

    Args:
        model: SmplxModel.
        clip: from `load_clip`.
        seed: the sequence's seed (shape, hands).
        hand_sampler: (seed, T, fps, side) -> (T, 15, 3); default_hand_sampler() if None.
        points_fn: SmplxOutput -> (B, 67, 3) K67 3D points.
        options: ranges and thresholds.
    """
    o = options or GeneratorOptions()
    hand_sampler = hand_sampler or default_hand_sampler(model)
    rng = np.random.default_rng(seed)
    T, fps = clip["global_orient"].shape[0], clip["fps"]
    if rng.random() < o.keep_clip_betas_prob:
        betas = clip["betas"].copy()
    else:
        betas = np.clip(rng.normal(0, o.betas_std, NUM_BETAS), -o.betas_clip, o.betas_clip)
    j_root, stature = rest_root(model, betas)
    j_root_clip, _ = rest_root(model, clip["betas"])
    scale = j_root[1] / j_root_clip[1] if j_root_clip[1] > 0.1 else 1.0
    # Scale the root path (root joint = transl + j_root for the clip's betas) about the floor.
    root_clip = clip["transl"] + j_root_clip
    transl = scale * root_clip - j_root
    left = hand_sampler(int(rng.integers(2**31)), T, fps, "left")
    right = hand_sampler(int(rng.integers(2**31)), T, fps, "right")
    joints, k67 = run_model(model, points_fn, clip["global_orient"], clip["body_pose"], left, right,
                            betas, transl, o.batch)
    feet = k67[:, list(CONTACT_K67)]
    lift = -float(np.percentile(feet[..., 1].min(axis=1), 5))
    transl[:, 1] += lift
    joints[..., 1] += lift
    k67[..., 1] += lift
    contacts = foot_contacts(k67[:, list(CONTACT_K67)], fps, o.contact_height_m, o.contact_speed_mps)
    meta = {k: clip.get(k, "") for k in ("clip", "archive", "split", "source")}
    return ProxySequence(global_orient=clip["global_orient"].copy(), body_pose=clip["body_pose"].copy(),
                         left_hand_pose=left, right_hand_pose=right, transl=transl, betas=betas,
                         j_root=j_root, stature=stature, joints_w=joints, k67_w=k67, contacts=contacts,
                         fps=fps, meta=meta)


def to_camera_params(global_orient_w: np.ndarray, transl_w: np.ndarray, j_root: np.ndarray,
                     R_w2c: np.ndarray, t_w2c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SMPL-X root parameters from world to camera space.

    SMPL-X rotates the body about the rest root joint J_root (not the model origin) and then adds
    `transl`, so the root joint sits at J_root + transl. In the camera: R_c = R_w2c R_w, and the root
    joint at R_w2c (J_root + transl_w) + t_w2c = J_root + transl_c.

    Args:
        global_orient_w: (..., 3) root axis-angle in world.
        transl_w: (..., 3) SMPL-X transl in world, metres.
        j_root: (3,) rest-pose root joint for the sequence's betas.
        R_w2c: (..., 3, 3), t_w2c: (..., 3) world -> camera.
    Returns:
        (global_orient_c (..., 3) axis-angle, transl_c (..., 3) SMPL-X transl in camera,
         root_c (..., 3) the root joint (pelvis) in camera), metres.
    """
    shape = global_orient_w.shape[:-1]
    R_w = Rotation.from_rotvec(global_orient_w.reshape(-1, 3)).as_matrix()
    R_c = np.einsum("nij,njk->nik", np.broadcast_to(R_w2c, shape + (3, 3)).reshape(-1, 3, 3), R_w)
    go_c = Rotation.from_matrix(R_c).as_rotvec().reshape(shape + (3,))
    root_c = np.einsum("...ij,...j->...i", R_w2c, transl_w + j_root) + t_w2c
    return go_c, root_c - j_root, root_c
