"""Human-to-world transform (DESIGN 8, after seed 000 section 1.1): pure numpy functions.

Frames and names:

* world W: y up, ground plane y = 0, metres, right-handed.
* camera: OpenCV axes (x right, y down, z forward); a world point maps to the camera as
  x_cam = R_w2c x_W + t_w2c.
* human space H_t (per frame t): a gravity-aligned, y-up frame with its origin on the ground,
  related to the world by a yaw R_front_t and a ground offset t_xz(t):
      x_H = R_front (x_W - t_xz),      x_W = R_front^T x_H + t_xz      (t_xz = (x, 0, z)).
  Per frame the producer (the nets plus the camera evidence) gives the camera in H,
  x_cam = R_h2c x_H + t_h2c (DESIGN's R_H, T_H), the root orientation R_root_H (model -> H, DESIGN's
  theta_H(root)) and the SMPL-X `transl` in H, t_H. SMPL-X rotates the body about the rest-pose root
  joint J_root and then adds transl, so the root joint sits at J_root + t_H.
* origin bookkeeping (DESIGN 8): t_xz(0) = 0 (H_0's origin is the world origin) and
  t_xz(t+1) = t_xz(t) + [R_front^T t_H(t)]_xz: the origin of H_{t+1} is the ground point below where
  the body's transl was carried in frame t. A producer must use the same rule to express t_H.

R_front: the yaw about +y whose transpose turns the camera's forward axis (in H) into the world's
y-z plane, facing +z: the world's heading is the camera's. DESIGN 8 recomputes it every frame
("per_frame"), which keeps the world fixed only while the camera does not turn about the vertical
(static, or translating / following at a constant offset) but lets H's yaw change arbitrarily per
frame (e.g. a person-centred H). Computing it once on the first frame ("first") keeps the world
fixed for a panning camera as well, provided H's yaw is fixed across frames. Tests check both.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRONT_MODES = ("first", "per_frame")


def yaw_matrix(angle: np.ndarray | float) -> np.ndarray:
    """(...) radians -> (..., 3, 3) rotation about +y (maps +z to (sin a, 0, cos a))."""
    a = np.asarray(angle, np.float64)
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def ground(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> copy with y = 0 (the x-z part of a vector or point)."""
    out = np.array(v, np.float64, copy=True)
    out[..., 1] = 0.0
    return out


def r_front(R_h2c: np.ndarray) -> np.ndarray:
    """R_front for a camera pose in human space.

    Args:
        R_h2c: (..., 3, 3) human space -> camera rotation (DESIGN's R_H).
    Returns:
        (..., 3, 3) yaw R_front such that R_front^T f_H = (0, f_y, |f_xz|), where f_H = R_h2c^T e_z
        (the camera's forward axis in H, the third row of R_h2c).
    Raises:
        ValueError: the camera looks straight up or down (its forward axis has no heading).
    """
    f = np.asarray(R_h2c, np.float64)[..., 2, :]
    if np.any(np.hypot(f[..., 0], f[..., 2]) < 1e-9):
        raise ValueError("r_front: the camera looks straight up or down, its heading is undefined")
    return yaw_matrix(np.arctan2(f[..., 0], f[..., 2]))


def camera_in_world(R_h2c: np.ndarray, t_h2c: np.ndarray, R_front: np.ndarray, t_xz: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Camera extrinsics in world (DESIGN 8): R_W = R_H R_front, T_W = -R_W (R_front^T c_H + t_xz).

    c_H = -R_H^T T_H is the camera centre in H; R_front^T c_H + t_xz is the centre in world.

    Args:
        R_h2c: (..., 3, 3), t_h2c: (..., 3) human space -> camera.
        R_front: (..., 3, 3) the yaw of this frame.
        t_xz: (..., 3) the accumulated ground offset (y = 0), metres.
    Returns:
        (R_w2c (..., 3, 3), t_w2c (..., 3)) world -> camera.
    """
    R_w2c = R_h2c @ R_front
    c_h = -np.einsum("...ji,...j->...i", R_h2c, t_h2c)
    c_w = np.einsum("...ji,...j->...i", R_front, c_h) + t_xz
    return R_w2c, -np.einsum("...ij,...j->...i", R_w2c, c_w)


def root_orient_in_world(R_root_h: np.ndarray, R_front: np.ndarray) -> np.ndarray:
    """theta_W(root) = R_front^T theta_H(root): (..., 3, 3) model -> world."""
    return np.swapaxes(R_front, -1, -2) @ R_root_h


def root_transl_in_world(t_h: np.ndarray, j_root: np.ndarray, R_front: np.ndarray, t_xz: np.ndarray) -> np.ndarray:
    """t_W = R_front^T (t_H + J_root) - J_root + t_xz: SMPL-X transl in world (..., 3), metres.

    The root joint J_root + t_H is the point that moves rigidly with H; the model origin is not
    (SMPL-X rotates about J_root), hence the compensation.

    Args:
        t_h: (..., 3) SMPL-X transl in H.
        j_root: (3,) rest-pose root joint for the current betas, model frame.
        R_front: (..., 3, 3); t_xz: (..., 3) with y = 0.
    """
    return np.einsum("...ji,...j->...i", R_front, t_h + j_root) - j_root + t_xz


def accumulate_t_xz(t_xz: np.ndarray, t_h: np.ndarray, R_front: np.ndarray) -> np.ndarray:
    """t_xz(t+1) = t_xz(t) + [R_front^T t_H]_xz: (..., 3), y = 0."""
    return t_xz + ground(np.einsum("...ji,...j->...i", R_front, t_h))


@dataclass
class WorldSequence:
    """A sequence in world space (T frames).

    Attributes:
        R_root_w: (T, 3, 3) root orientation, model -> world.
        transl_w: (T, 3) SMPL-X transl in world, metres.
        root_w: (T, 3) root joint (J_root + transl_w) in world, metres.
        R_w2c: (T, 3, 3), t_w2c: (T, 3) world -> camera.
        R_front: (T, 3, 3) the yaw used per frame.
        t_xz: (T, 3) the ground offset used per frame (y = 0).
    """
    R_root_w: np.ndarray
    transl_w: np.ndarray
    root_w: np.ndarray
    R_w2c: np.ndarray
    t_w2c: np.ndarray
    R_front: np.ndarray
    t_xz: np.ndarray


class HumanToWorld:
    """The transform run one frame at a time (live), keeping R_front and t_xz between frames.

    Owned by one thread; `reset()` starts a new world (t_xz = 0, R_front recomputed).
    """

    def __init__(self, front: str = "first"):
        """Raises: ValueError: front is not one of FRONT_MODES."""
        if front not in FRONT_MODES:
            raise ValueError(f"front must be one of {FRONT_MODES}, got {front!r}")
        self.front = front
        self.reset()

    def reset(self) -> None:
        self.t_xz = np.zeros(3)
        self.R_front: np.ndarray | None = None

    def step(self, R_h2c: np.ndarray, t_h2c: np.ndarray, R_root_h: np.ndarray, t_h: np.ndarray,
             j_root: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One frame (shapes as the module functions, unbatched).

        Returns:
            (R_root_w (3, 3), transl_w (3,), R_w2c (3, 3), t_w2c (3,)).
        """
        if self.R_front is None or self.front == "per_frame":
            self.R_front = r_front(R_h2c)
        Rf, txz = self.R_front, self.t_xz
        R_w2c, t_w2c = camera_in_world(R_h2c, t_h2c, Rf, txz)
        out = (root_orient_in_world(R_root_h, Rf), root_transl_in_world(t_h, j_root, Rf, txz), R_w2c, t_w2c)
        self.t_xz = accumulate_t_xz(txz, t_h, Rf)
        return out


def human_to_world(R_h2c: np.ndarray, t_h2c: np.ndarray, R_root_h: np.ndarray, t_h: np.ndarray,
                   j_root: np.ndarray, front: str = "first") -> WorldSequence:
    """The transform over a whole sequence (same results as HumanToWorld.step frame by frame).

    Args:
        R_h2c: (T, 3, 3), t_h2c: (T, 3) camera in H per frame.
        R_root_h: (T, 3, 3) root orientation in H; t_h: (T, 3) SMPL-X transl in H, metres.
        j_root: (3,) rest-pose root joint for the sequence's betas.
        front: "first" (R_front from frame 0, kept) or "per_frame" (DESIGN 8 as written).
    Raises:
        ValueError: unknown front mode, or a camera looking straight up or down.
    """
    if front not in FRONT_MODES:
        raise ValueError(f"front must be one of {FRONT_MODES}, got {front!r}")
    T = R_h2c.shape[0]
    Rf = r_front(R_h2c) if front == "per_frame" else np.repeat(r_front(R_h2c[0])[None], T, 0)
    # t_xz(t) = sum_{s<t} [R_front_s^T t_H(s)]_xz
    steps = ground(np.einsum("tji,tj->ti", Rf, t_h))
    t_xz = np.concatenate([np.zeros((1, 3)), np.cumsum(steps, 0)[:-1]])
    R_w2c, t_w2c = camera_in_world(R_h2c, t_h2c, Rf, t_xz)
    transl_w = root_transl_in_world(t_h, j_root, Rf, t_xz)
    return WorldSequence(R_root_w=root_orient_in_world(R_root_h, Rf), transl_w=transl_w, root_w=transl_w + j_root,
                         R_w2c=R_w2c, t_w2c=t_w2c, R_front=Rf, t_xz=t_xz)


def world_to_human(R_root_w: np.ndarray, transl_w: np.ndarray, R_w2c: np.ndarray, t_w2c: np.ndarray,
                   j_root: np.ndarray, yaw_h: np.ndarray, origin0: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Express a world sequence in human spaces H_t (what a producer hands to `human_to_world`).

    H_t has axes A_t = yaw_matrix(yaw_h[t]) (x_H = A_t (x_W - o_t)) and origin o_t on the ground, with
    o_0 = ground(origin0) and o_{t+1} = o_t + [A_t^T t_H(t)]_xz (the module's bookkeeping rule).

    Args:
        R_root_w: (T, 3, 3), transl_w: (T, 3) body in world; R_w2c, t_w2c: (T, ...) camera.
        j_root: (3,) rest root joint. yaw_h: (T,) radians. origin0: (3,) world point.
    Returns:
        (R_h2c (T, 3, 3), t_h2c (T, 3), R_root_h (T, 3, 3), t_h (T, 3)).
    """
    T = R_root_w.shape[0]
    A = yaw_matrix(np.asarray(yaw_h, np.float64))
    o = ground(origin0)
    t_h = np.zeros((T, 3))
    t_h2c = np.zeros((T, 3))
    for t in range(T):
        t_h[t] = A[t] @ (transl_w[t] + j_root - o) - j_root
        t_h2c[t] = t_w2c[t] + R_w2c[t] @ o               # x_cam = R_w2c (A^T x_H + o) + t_w2c
        o = o + ground(A[t].T @ t_h[t])
    R_h2c = R_w2c @ np.swapaxes(A, -1, -2)
    return R_h2c, t_h2c, A @ R_root_w, t_h


def camera_to_world(R_root_c: np.ndarray, transl_c: np.ndarray, j_root: np.ndarray, R_w2c: np.ndarray,
                    t_w2c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-X root parameters from camera to world for a known camera (e.g. a static camera whose pose
    comes from calib.ground.camera_pose_from_ground): the inverse of proxy.generate.to_camera_params.

    The root joint moves rigidly: root_w = R_w2c^T (J_root + transl_c - t_w2c); transl_w = root_w - J_root.

    Args:
        R_root_c: (..., 3, 3) root orientation in the camera; transl_c: (..., 3) SMPL-X transl in the camera.
        j_root: (3,) rest root joint for the betas. R_w2c: (..., 3, 3), t_w2c: (..., 3).
    Returns:
        (R_root_w (..., 3, 3), transl_w (..., 3)).
    """
    R_c2w = np.swapaxes(R_w2c, -1, -2)
    root_w = np.einsum("...ij,...j->...i", R_c2w, transl_c + j_root - t_w2c)
    return R_c2w @ R_root_c, root_w - j_root
