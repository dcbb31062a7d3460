"""Camera intrinsics from a checkerboard video or image folder (OpenCV), written as a camera file.

    python -m mocap.calib.intrinsics --board 9x6 --square 0.025 INPUT --out cam.json

INPUT is a video file or a folder of images (png, jpg, jpeg, bmp, tif). --board counts the board's
INNER corners (a 10 x 7 squares board has 9 x 6). Move the board (or the camera) between views:
tilted views at several depths and across the whole image constrain the focal length; a board that
stays parallel to the image does not.
"""
from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from mocap.calib.camera_file import CameraFile, save_camera_file

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MIN_VIEWS = 5


class CalibrationError(ValueError):
    """Calibration input that cannot give intrinsics (one-line message with the fix)."""


@dataclass(frozen=True)
class Board:
    """A checkerboard: inner corners cols x rows, square side in metres."""
    cols: int
    rows: int
    square_m: float

    def __post_init__(self) -> None:
        if self.cols < 2 or self.rows < 2 or self.square_m <= 0:
            raise CalibrationError(f"board needs at least 2x2 inner corners and a positive square size, got "
                                   f"{self.cols}x{self.rows}, {self.square_m} m")

    @classmethod
    def parse(cls, spec: str, square_m: float) -> "Board":
        """'9x6' (inner corners) -> Board. Raises CalibrationError on another form."""
        try:
            cols, rows = (int(v) for v in spec.lower().split("x"))
        except ValueError:
            raise CalibrationError(f"--board must be COLSxROWS inner corners such as 9x6, got {spec!r}") from None
        return cls(cols, rows, square_m)

    def object_points(self) -> np.ndarray:
        """(cols*rows, 3) corner positions on the board plane z = 0, metres, OpenCV's row-major order."""
        g = np.mgrid[0:self.cols, 0:self.rows].T.reshape(-1, 2)
        return np.concatenate([g * self.square_m, np.zeros((len(g), 1))], 1).astype(np.float32)


def find_corners(gray: np.ndarray, board: Board) -> np.ndarray | None:
    """(cols*rows, 1, 2) sub-pixel corners of the board in a grey image, or None if not found."""
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCorners(gray, (board.cols, board.rows), flags=flags)
    if not ok:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3)
    return cv2.cornerSubPix(gray, corners, (11, 11), (-1, -1), crit)


def read_views(source: str | os.PathLike, max_views: int = 60) -> Iterator[tuple[str, np.ndarray]]:
    """(name, grey image) from an image folder (sorted) or up to max_views evenly spaced video frames.

    Raises:
        CalibrationError: the input does not exist, holds no images, or the video cannot be opened.
    """
    p = Path(source)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CalibrationError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {p}")
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if img is None:
                log.warning("cannot read image %s, skipped", f)
                continue
            yield f.name, img
        return
    if not p.is_file():
        raise CalibrationError(f"calibration input {p} not found (a video file or a folder of images)")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise CalibrationError(f"cannot open {p} as a video")
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        step = max(1, n // max_views) if n > 0 else 1
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % step == 0:
                yield f"frame {i}", cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            i += 1
    finally:
        cap.release()


def calibrate(views: Iterable[tuple[str, np.ndarray]], board: Board, min_views: int = MIN_VIEWS,
              source: str = "") -> CameraFile:
    """Intrinsics from the views where the board is found (cv2.calibrateCamera; k3 fixed at 0).

    Raises:
        CalibrationError: no board found in any view, fewer than min_views views with the board,
            or images of different sizes.
    """
    obj, img_pts, size, seen, used = [], [], None, 0, []
    for name, gray in views:
        seen += 1
        if size is None:
            size = gray.shape[::-1]
        elif gray.shape[::-1] != size:
            raise CalibrationError(f"{name} is {gray.shape[1]}x{gray.shape[0]}, earlier views {size[0]}x{size[1]}: "
                                   "use images of one size")
        c = find_corners(gray, board)
        if c is not None:
            obj.append(board.object_points())
            img_pts.append(c)
            used.append(name)
    where = f" in {source}" if source else ""
    if not img_pts:
        raise CalibrationError(f"no {board.cols}x{board.rows} board found in any of {seen} views{where}: check --board "
                               "(INNER corners, e.g. 9x6 for 10x7 squares), lighting and focus")
    if len(img_pts) < min_views:
        raise CalibrationError(f"too few views: the board was found in {len(img_pts)} of {seen}{where}, need at "
                               f"least {min_views}; record more views with the board tilted at several depths")
    # k3 is poorly constrained by a few views and overfits; the radial k1, k2 and tangential terms stay.
    rms, K, dist, _, _ = cv2.calibrateCamera(obj, img_pts, size, None, None, flags=cv2.CALIB_FIX_K3)
    log.info("calibrated from %d of %d views: rms %.3f px", len(img_pts), seen, rms)
    return CameraFile(K=K, width=int(size[0]), height=int(size[1]), dist=dist.reshape(-1)[:5], rms_px=float(rms),
                      views=len(img_pts),
                      source=f"checkerboard {board.cols}x{board.rows}, {board.square_m * 1000:g} mm{where}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Camera intrinsics from a checkerboard video or image folder.")
    ap.add_argument("input", help="a video file or a folder of images")
    ap.add_argument("--board", default="9x6", help="inner corners COLSxROWS (default 9x6)")
    ap.add_argument("--square", type=float, default=0.025, help="square side in metres (default 0.025)")
    ap.add_argument("--out", required=True, help="camera file to write (JSON)")
    ap.add_argument("--max-views", type=int, default=60, help="video frames to try, evenly spaced")
    ap.add_argument("--min-views", type=int, default=MIN_VIEWS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        board = Board.parse(args.board, args.square)
        cam = calibrate(read_views(args.input, args.max_views), board, args.min_views, source=str(args.input))
    except CalibrationError as exc:
        raise SystemExit(f"error: {exc}")
    path = save_camera_file(args.out, cam)
    fx, fy = cam.focal_px
    print(f"{path}: {cam.width}x{cam.height}, fx {fx:.1f} fy {fy:.1f} px, principal point "
          f"({cam.K[0, 2]:.1f}, {cam.K[1, 2]:.1f}), vertical FoV {cam.fov_y_deg:.1f} deg, rms {cam.rms_px:.3f} px, "
          f"{cam.views} views")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
