"""Random virtual cameras for proxies: intrinsics, per-frame extrinsics, projection (DESIGN 6, 8).

Frames: world y up, floor y = 0, metres; camera axes as OpenCV (x right, y down, z forward);
x_c = R_w2c x_w + t_w2c, pixels u = K x_c / z_c. The principal point is the image centre.
The pinhole geometry lives in models/camera.py; `sample_camera` draws one camera track around a
person.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# The pinhole maths is shared with rendering and the app (models/camera.py); re-exported here.
from ..camera import (MIN_DEPTH_M, focal_from_fov, inside_image, intrinsics, look_at, project,  # noqa: F401
                      world_to_camera)

# The app's assumed vertical field of view when there is no camera file: a typical webcam
# (about 78 deg diagonal at 16:9, e.g. Logitech C920) gives about 43-45 deg vertical.
DEFAULT_FOV_Y_DEG = 45.0
# (width, height, probability): landscape webcam / HD / VGA, and phone portrait.
IMAGE_SIZES = ((1280, 720, 0.45), (1920, 1080, 0.2), (640, 480, 0.15), (720, 1280, 0.2))
CAMERA_MODES = ("static", "pan", "dolly", "follow")


@dataclass(frozen=True)
class CameraOptions:
    """Ranges of the random cameras (uniform unless said otherwise).

    Attributes:
        fov_y_deg: vertical field of view range, degrees.
        default_fov_prob: probability of using DEFAULT_FOV_Y_DEG exactly instead.
        body_frac: person height as a fraction of the image height at the start (sets distance).
        min_distance_m, max_distance_m: camera-to-person horizontal distance clamp.
        height_m: camera height above the floor.
        target_height_m: height of the look-at point at the person (sets pitch).
        roll_deg: camera roll (symmetric +-).
        mode_probs: probabilities of CAMERA_MODES.
        smooth_s: Gaussian smoothing (seconds) of what a moving camera follows.
        dolly_speed_mps: speed range of a dolly move.
        jitter_deg: hand-held angular jitter (smooth, std) for moving cameras.
    """
    fov_y_deg: tuple[float, float] = (40.0, 75.0)
    default_fov_prob: float = 0.25
    body_frac: tuple[float, float] = (0.35, 0.95)
    min_distance_m: float = 1.5
    max_distance_m: float = 12.0
    height_m: tuple[float, float] = (0.4, 2.4)
    target_height_m: tuple[float, float] = (0.5, 1.3)
    roll_deg: float = 6.0
    mode_probs: tuple[float, float, float, float] = (0.4, 0.25, 0.15, 0.2)
    smooth_s: float = 0.7
    dolly_speed_mps: tuple[float, float] = (0.1, 0.6)
    jitter_deg: float = 0.5

    def __post_init__(self) -> None:
        if len(self.mode_probs) != len(CAMERA_MODES) or abs(sum(self.mode_probs) - 1) > 1e-6:
            raise ValueError(f"CameraOptions.mode_probs must be {len(CAMERA_MODES)} probabilities summing to 1, "
                             f"got {self.mode_probs}")
        if not 0 < self.fov_y_deg[0] <= self.fov_y_deg[1] < 180:
            raise ValueError(f"CameraOptions.fov_y_deg must be 0 < lo <= hi < 180, got {self.fov_y_deg}")


@dataclass
class CameraTrack:
    """One camera over a sequence.

    Attributes:
        K: (3, 3) intrinsics, pixels; the same for every frame.
        R_w2c: (T, 3, 3) world -> camera rotation per frame.
        t_w2c: (T, 3) world -> camera translation per frame, metres.
        width, height: image size in pixels.
        mode: one of CAMERA_MODES.
    """
    K: np.ndarray
    R_w2c: np.ndarray
    t_w2c: np.ndarray
    width: int
    height: int
    mode: str = "static"


def _smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    return gaussian_filter1d(x, sigma_frames, axis=0, mode="nearest") if sigma_frames > 0 else x


def _smooth_noise(rng: np.random.Generator, T: int, dims: int, sigma_frames: float) -> np.ndarray:
    """(T, dims) zero-mean, unit-std noise smooth over about sigma_frames."""
    n = _smooth(rng.standard_normal((T, dims)), sigma_frames)
    return n / max(float(n.std()), 1e-9)


def sample_camera(rng: np.random.Generator, root_w: np.ndarray, fps: float, body_height_m: float = 1.7,
                  options: CameraOptions | None = None, mode: str | None = None) -> CameraTrack:
    """Draw a camera track that watches a person.

    Args:
        rng: the random generator (the only source of randomness).
        root_w: (T, 3) the person's root (pelvis) in world, metres, y up.
        fps: frames per second of the sequence.
        body_height_m: the person's height (sets the distance for a framing).
        options: ranges; CameraOptions() by default.
        mode: force a mode (one of CAMERA_MODES), else drawn from options.mode_probs.
    Returns:
        CameraTrack with per-frame extrinsics.
    Raises:
        ValueError: unknown mode.
    """
    o = options or CameraOptions()
    root_w = np.asarray(root_w, np.float64)
    T = root_w.shape[0]
    if mode is None:
        mode = CAMERA_MODES[rng.choice(len(CAMERA_MODES), p=o.mode_probs)]
    if mode not in CAMERA_MODES:
        raise ValueError(f"camera mode must be one of {CAMERA_MODES}, got {mode!r}")
    sizes = np.array([s[2] for s in IMAGE_SIZES])
    w, h, _ = IMAGE_SIZES[rng.choice(len(IMAGE_SIZES), p=sizes / sizes.sum())]
    fov = DEFAULT_FOV_Y_DEG if rng.random() < o.default_fov_prob else rng.uniform(*o.fov_y_deg)
    K = intrinsics(fov, w, h)

    frac = rng.uniform(*o.body_frac)
    dist = body_height_m / frac / (2 * np.tan(np.radians(fov) / 2))
    sigma = o.smooth_s * fps
    follow = _smooth(root_w, sigma)                             # (T, 3) what a moving camera tracks
    centre = np.median(root_w, axis=0)
    if mode == "static":
        # Stand back far enough that the person's path stays in front of the camera.
        reach = float(np.max(np.linalg.norm((root_w - centre)[:, [0, 2]], axis=1)))
        dist = max(dist, reach + o.min_distance_m)
    dist = float(np.clip(dist, o.min_distance_m, o.max_distance_m))
    yaw = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.sin(yaw), 0.0, np.cos(yaw)])       # from the person to the camera
    cam_h = rng.uniform(*o.height_m)
    tgt_h = rng.uniform(*o.target_height_m)
    roll = np.full(T, np.radians(rng.uniform(-o.roll_deg, o.roll_deg)))

    def ground(p: np.ndarray, height: float) -> np.ndarray:
        q = p.copy()
        q[..., 1] = height
        return q

    if mode == "static":
        eye = np.repeat(ground(centre + dist * direction, cam_h)[None], T, 0)
        target = np.repeat(ground(centre, tgt_h)[None], T, 0)
    elif mode == "pan":      # fixed position, rotates to keep the person in view
        start = follow[0]
        eye = np.repeat(ground(start + dist * direction, cam_h)[None], T, 0)
        target = ground(follow, tgt_h)
    elif mode == "dolly":    # moves along a straight line at constant speed, looking at the person
        speed = rng.uniform(*o.dolly_speed_mps)
        heading = rng.uniform(0, 2 * np.pi)
        step = speed / fps * np.array([np.sin(heading), 0.0, np.cos(heading)])
        eye = ground(follow[0] + dist * direction, cam_h) + np.arange(T)[:, None] * step
        target = ground(follow, tgt_h)
    else:                    # follow: keeps its offset to the (smoothed) person
        eye = ground(follow + dist * direction, cam_h)
        target = ground(follow, tgt_h)
    if mode != "static" and o.jitter_deg > 0:
        # Hand-held shake: a smooth angular wobble of the look-at point and roll.
        wob = _smooth_noise(rng, T, 3, 0.3 * fps) * np.radians(o.jitter_deg)
        d = np.linalg.norm(target - eye, axis=1, keepdims=True)
        target = target + d * np.stack([wob[:, 0], wob[:, 1], 0 * wob[:, 0]], 1)
        roll = roll + wob[:, 2]
    # A camera exactly above the target would make look_at undefined: nudge it.
    horiz = np.linalg.norm((target - eye)[:, [0, 2]], axis=1)
    eye[horiz < 1e-3, 0] += 1e-2
    R, t = look_at(eye, target, roll)
    return CameraTrack(K=K, R_w2c=R, t_w2c=t, width=int(w), height=int(h), mode=mode)
