"""`smplx.npz`: one recorded take of SMPL-X parameters (AMASS-like layout; issue 4 item 5, issue 5 item 7).

Keys (T frames; float32 unless said):

* ``poses`` (T, 165): axis-angle, radians, SMPL-X joint order (``smplx_layout.POSE_SLOTS``): root (3),
  body 21 x 3, jaw, left eye, right eye (3 each), left hand 15 x 3, right hand 15 x 3. The root is the
  root orientation in the frame that ``trans`` lives in.
* ``trans`` (T, 3): SMPL-X ``transl`` in metres (the model's rest root joint moves to J_root + trans).
* ``betas`` (10,), ``gender`` (str, "neutral"), ``mocap_frame_rate`` (float), ``model`` ("open" for the
  bundled mesh, else the SMPL-X file name the take was recorded with).
* ``cam_K`` (3, 3) pixel intrinsics; ``contacts`` (T, 4) foot-contact probabilities in
  ``CONTACT_NAMES`` order; ``valid`` (T,) bool, False where no body was found (poses then hold the last
  valid frame's values or zeros before the first).
* Optional (world stage, issue 5): ``frame`` ("camera" or "world"); ``cam_R`` (T, 3, 3), ``cam_t`` (T, 3)
  world -> camera (x_cam = R x_world + t, OpenCV axes); ``poses_cam`` (T, 165), ``trans_cam`` (T, 3) the
  camera-space result when ``poses``/``trans`` are in world space.

Every frame of ``poses`` and ``trans`` must be finite; the reader says which key is wrong in one line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NUM_POSE_VALUES = 165
NUM_BETAS = 10
from mocap.models.proxy.generate import CONTACT_NAMES   # ("LHeel", "LBigToe", "RHeel", "RBigToe")
OPTIONAL_KEYS = ("cam_R", "cam_t", "poses_cam", "trans_cam")


class TakeError(ValueError):
    """A take file that cannot be read or is malformed (one-line message)."""


@dataclass
class Take:
    """One take. Shapes as in the module docstring."""

    poses: np.ndarray
    trans: np.ndarray
    betas: np.ndarray
    fps: float
    cam_K: np.ndarray = field(default_factory=lambda: np.eye(3, dtype=np.float32))
    contacts: np.ndarray | None = None
    valid: np.ndarray | None = None
    model: str = "open"
    gender: str = "neutral"
    frame: str = "camera"
    extra: dict[str, np.ndarray] = field(default_factory=dict)   # OPTIONAL_KEYS present

    def __post_init__(self) -> None:
        T = self.num_frames
        if self.contacts is None:
            self.contacts = np.zeros((T, len(CONTACT_NAMES)), np.float32)
        if self.valid is None:
            self.valid = np.ones(T, bool)
        validate(self)

    @property
    def num_frames(self) -> int:
        return int(np.shape(self.poses)[0])

    def pose_slot(self, first_joint: int, count: int) -> np.ndarray:
        """(T, count, 3) axis-angle of joints first_joint .. first_joint + count - 1."""
        return self.poses[:, 3 * first_joint:3 * (first_joint + count)].reshape(-1, count, 3)


def _check(name: str, arr: np.ndarray, shape: tuple) -> None:
    a = np.asarray(arr)
    if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
        want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise TakeError(f"take key '{name}' must be {want}, got {tuple(a.shape)}")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise TakeError(f"take key '{name}' holds NaN or infinite values")


def validate(take: Take) -> None:
    """Raise TakeError (one line) unless every array has its documented shape and is finite."""
    T = take.num_frames
    _check("poses", take.poses, (None, NUM_POSE_VALUES))
    _check("trans", take.trans, (T, 3))
    _check("betas", take.betas, (NUM_BETAS,))
    _check("cam_K", take.cam_K, (3, 3))
    _check("contacts", take.contacts, (T, len(CONTACT_NAMES)))
    _check("valid", take.valid, (T,))
    if not (np.isfinite(take.fps) and take.fps > 0):
        raise TakeError(f"take key 'mocap_frame_rate' must be a positive number, got {take.fps}")
    if take.frame not in ("camera", "world"):
        raise TakeError(f"take key 'frame' must be 'camera' or 'world', got {take.frame!r}")
    shapes = {"cam_R": (T, 3, 3), "cam_t": (T, 3), "poses_cam": (T, NUM_POSE_VALUES), "trans_cam": (T, 3)}
    for k, v in take.extra.items():
        if k not in shapes:
            raise TakeError(f"unknown take key '{k}'")
        _check(k, v, shapes[k])


def save_take(path: str | os.PathLike, take: Take) -> Path:
    """Write `take` atomically (temporary name, then rename) and return the path."""
    validate(take)
    path = Path(path)
    arrays = dict(poses=np.asarray(take.poses, np.float32), trans=np.asarray(take.trans, np.float32),
                  betas=np.asarray(take.betas, np.float32), gender=np.array(take.gender),
                  mocap_frame_rate=np.array(float(take.fps)), cam_K=np.asarray(take.cam_K, np.float32),
                  contacts=np.asarray(take.contacts, np.float32), valid=np.asarray(take.valid, bool),
                  model=np.array(take.model), frame=np.array(take.frame),
                  **{k: np.asarray(v, np.float32) for k, v in take.extra.items()})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_take(path: str | os.PathLike) -> Take:
    """Read and validate a take.

    Raises:
        TakeError: missing/unreadable file, not an npz, a key missing or malformed (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise TakeError(f"take file {path} not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except Exception as exc:   # zipfile/pickle/OS errors: one line, whatever numpy raised
        raise TakeError(f"cannot read take file {path}: {exc}") from None
    for key in ("poses", "trans", "betas", "mocap_frame_rate"):
        if key not in d:
            raise TakeError(f"take file {path} has no '{key}' key (not a smplx.npz take)")
    T = d["poses"].shape[0] if d["poses"].ndim else 0
    try:
        return Take(poses=d["poses"], trans=d["trans"], betas=d["betas"], fps=float(d["mocap_frame_rate"]),
                    cam_K=d.get("cam_K", np.eye(3, dtype=np.float32)), contacts=d.get("contacts"),
                    valid=d.get("valid"), model=str(d.get("model", "open")),
                    gender=str(d.get("gender", "neutral")), frame=str(d.get("frame", "camera")),
                    extra={k: d[k] for k in OPTIONAL_KEYS if k in d})
    except TakeError as exc:
        raise TakeError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise TakeError(f"{path}: malformed take ({T} frames): {exc}") from None
