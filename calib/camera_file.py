"""The camera file (`--camera-file`): a small JSON with pinhole intrinsics and lens distortion.

Format (version 1)::

    {"format": "mocap-camera", "version": 1, "width": 1280, "height": 720,
     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "dist": [k1, k2, p1, p2, k3],
     "rms_px": 0.21, "views": 24, "source": "checkerboard 9x6, 25 mm"}

K is in pixels for an image of width x height; dist is OpenCV's distortion vector (0, 4, 5, 8, 12 or
14 numbers). rms_px, views and source are informational.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "mocap-camera"
VERSION = 1
DIST_LENGTHS = (0, 4, 5, 8, 12, 14)


class CameraFileError(ValueError):
    """A camera file that cannot be read or is malformed (one-line message)."""


@dataclass
class CameraFile:
    """Intrinsics of one camera at one image size.

    Attributes:
        K: (3, 3) pixels. dist: (D,) OpenCV distortion. width, height: pixels.
        rms_px: calibration reprojection RMS (pixels; None when assumed). views: images used.
        source: how it was obtained.
    """
    K: np.ndarray
    width: int
    height: int
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    rms_px: float | None = None
    views: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        self.K = np.asarray(self.K, np.float64)
        self.dist = np.asarray(self.dist, np.float64).reshape(-1)
        validate(self)

    @property
    def focal_px(self) -> tuple[float, float]:
        return float(self.K[0, 0]), float(self.K[1, 1])

    @property
    def fov_y_deg(self) -> float:
        return math.degrees(2 * math.atan(0.5 * self.height / self.K[1, 1]))

    def scaled_to(self, width: int, height: int) -> "CameraFile":
        """The same camera at another resolution of the same aspect ratio (K scaled).

        Raises:
            CameraFileError: the aspect ratio differs by more than 1% (a crop, not a scale).
        """
        sx, sy = width / self.width, height / self.height
        if abs(sx / sy - 1) > 0.01:
            raise CameraFileError(f"camera file is for {self.width}x{self.height}, the video is {width}x{height}: "
                                  "different aspect ratio, calibrate at this resolution")
        K = self.K.copy()
        K[0] *= sx
        K[1] *= sy
        return CameraFile(K=K, width=width, height=height, dist=self.dist.copy(), rms_px=self.rms_px,
                          views=self.views, source=self.source + f" (scaled from {self.width}x{self.height})")


def validate(cam: CameraFile) -> None:
    """Raise CameraFileError (one line) unless the intrinsics are usable."""
    if cam.K.shape != (3, 3) or not np.all(np.isfinite(cam.K)):
        raise CameraFileError(f"camera K must be a finite 3x3 matrix, got shape {cam.K.shape}")
    if int(cam.width) <= 0 or int(cam.height) <= 0:
        raise CameraFileError(f"camera width and height must be positive, got {cam.width}x{cam.height}")
    fx, fy = cam.K[0, 0], cam.K[1, 1]
    if fx <= 0 or fy <= 0:
        raise CameraFileError(f"camera focal lengths must be positive, got fx={fx:g}, fy={fy:g}")
    cx, cy = cam.K[0, 2], cam.K[1, 2]
    if not (0 <= cx <= cam.width and 0 <= cy <= cam.height):
        raise CameraFileError(f"camera principal point ({cx:g}, {cy:g}) lies outside the {cam.width}x{cam.height} image")
    if not np.allclose(cam.K[2], [0, 0, 1]) or cam.K[1, 0] != 0:
        raise CameraFileError(f"camera K's last row must be [0, 0, 1] and K[1,0] 0, got {cam.K.tolist()}")
    if cam.dist.size not in DIST_LENGTHS or not np.all(np.isfinite(cam.dist)):
        raise CameraFileError(f"camera dist must be {DIST_LENGTHS} finite numbers, got {cam.dist.size}")


def save_camera_file(path: str | os.PathLike, cam: CameraFile) -> Path:
    """Write atomically (temp file, then rename); returns the path."""
    validate(cam)
    path = Path(path)
    doc = {"format": FORMAT, "version": VERSION, "width": int(cam.width), "height": int(cam.height),
           "K": cam.K.tolist(), "dist": cam.dist.tolist(), "rms_px": cam.rms_px, "views": int(cam.views),
           "source": cam.source}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def load_camera_file(path: str | os.PathLike) -> CameraFile:
    """Read and validate a camera file.

    Raises:
        CameraFileError: missing, not JSON, not a camera file, or unusable intrinsics (one line, naming the file).
    """
    path = Path(path)
    if not path.is_file():
        raise CameraFileError(f"camera file {path} not found (make one with python -m mocap.calib.intrinsics)")
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CameraFileError(f"camera file {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CameraFileError(f"{path} is not a camera file (expected \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise CameraFileError(f"camera file {path} has version {doc.get('version')!r}, this program reads {VERSION}")
    missing = [k for k in ("width", "height", "K") if k not in doc]
    if missing:
        raise CameraFileError(f"camera file {path} lacks {', '.join(missing)}")
    try:
        return CameraFile(K=np.asarray(doc["K"], np.float64), width=int(doc["width"]), height=int(doc["height"]),
                          dist=np.asarray(doc.get("dist", []), np.float64), rms_px=doc.get("rms_px"),
                          views=int(doc.get("views", 0)), source=str(doc.get("source", "")))
    except CameraFileError as exc:
        raise CameraFileError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise CameraFileError(f"camera file {path} has a malformed value: {exc}") from None
