"""The app's 3D stage: which nets to load, and `smplx.npz` (the take) for the frames processed.

The per-frame work is `mocap.models.nets.runtime.Pose3DStage`; this module builds it for a run and
records its results. The bundled nets are ``models/nets/data/{pose_init,descent}.pt``; while they are
not installed the default run is 2D only (a warning says so), while a folder named with ``--nets3d``
must hold both files.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..engines.base import EngineError
from ..models.nets.runtime import Pose3DResult, Pose3DStage, RootJoint
from .take import Take, save_take

log = logging.getLogger(__name__)

TAKE_FILE = "smplx.npz"


def default_nets_dir() -> Path:
    from ..models.nets.checkpoint import DATA_DIR

    return DATA_DIR


def net_files(nets_dir: Path) -> tuple[Path, Path]:
    from ..models.nets.checkpoint import DESCENT_FILE, POSE_INIT_FILE

    return nets_dir / POSE_INIT_FILE, nets_dir / DESCENT_FILE


def assumed_cam_K(width: int, height: int) -> np.ndarray:
    """(3, 3) intrinsics from the assumed vertical field of view (no camera file yet), principal point at
    the image centre: the cameras the proxies default to (models/proxy/cameras.py DEFAULT_FOV_Y_DEG)."""
    from ..models.camera import intrinsics
    from ..models.proxy.cameras import DEFAULT_FOV_Y_DEG

    return intrinsics(DEFAULT_FOV_Y_DEG, width, height)


def build_pose3d(nets_dir: Path | None, width: int, height: int, ort, cam_K: np.ndarray | None = None
                 ) -> Pose3DStage | None:
    """The run's 3D stage, or None when the bundled nets are not installed (default folder only).
    cam_K: the camera's intrinsics (a --camera-file); None = the assumed field of view.

    Raises:
        EngineError: a named folder lacks a net file; a net file is unreadable or does not fit.
    """
    explicit = nets_dir is not None
    pose_init_pt, descent_pt = net_files(Path(nets_dir) if explicit else default_nets_dir())
    if not explicit and not (pose_init_pt.is_file() and descent_pt.is_file()):
        log.warning("the 3D nets are not installed (%s); running 2D only, no %s", pose_init_pt.parent, TAKE_FILE)
        return None
    for p in (pose_init_pt, descent_pt):
        if not p.is_file():
            raise EngineError(f"net file not found: {p} (--nets3d needs pose_init.pt and descent.pt)")
    K = assumed_cam_K(width, height) if cam_K is None else np.asarray(cam_K, np.float64)
    return Pose3DStage.from_checkpoints(pose_init_pt, descent_pt, width, height, K, ort)


class TakeRecorder:
    """Collects per-frame 3D results; writes DIR/smplx.npz (atomically) for the frames processed."""

    def __init__(self, path: Path, fps: float, cam_K: np.ndarray, body_model):
        """body_model: the SmplxModel the take refers to (its name goes into the file, its rest root
        joint turns the nets' root position into SMPL-X ``transl``)."""
        self.path, self.fps, self.cam_K = Path(path), float(fps), np.asarray(cam_K, np.float32)
        self.model_name = body_model.model_name
        self.root_joint = RootJoint(body_model)
        self.results: list[Pose3DResult] = []
        self.world = None   # an app.world_stage.WorldRun: the take is then in the world frame
        self._cached: tuple[int, Take] | None = None

    def add(self, result: Pose3DResult) -> None:
        self.results.append(result)

    def take(self) -> Take:
        """The take so far. One shape for the take: the mean betas of the valid frames (zeros if none);
        each frame's ``transl`` puts the root joint where the nets put it for those betas."""
        r = self.results
        valid = np.array([x.valid for x in r], bool)
        poses = np.stack([x.poses for x in r]) if r else np.zeros((0, 165), np.float32)
        root = np.stack([x.root_c for x in r]).astype(np.float64) if r else np.zeros((0, 3))
        betas = np.stack([x.betas for x in r])[valid].mean(0) if valid.any() else np.zeros(10)
        contacts = np.stack([x.contacts for x in r]) if r else np.zeros((0, 4), np.float32)
        trans = root - self.root_joint(betas)
        trans[~valid & ~valid.cumsum().astype(bool)] = 0.0   # before the first body: zeros, as the poses
        take = Take(poses=poses, trans=trans.astype(np.float32), betas=betas.astype(np.float32), fps=self.fps,
                    cam_K=self.cam_K, contacts=contacts, valid=valid, model=self.model_name, frame="camera")
        if self.world is None:
            return take
        if self._cached is None or self._cached[0] != len(r):   # the world pass runs once per length
            self._cached = (len(r), self.world.world_take(take, root))
        return self._cached[1]

    def write(self) -> Path:
        return save_take(self.path, self.take())
