"""The camera used when there is no camera file: an assumed field of view (issue 5 item 4b).

The default is the one the proxies were trained with, `models/proxy/cameras.DEFAULT_FOV_Y_DEG`
(45 degrees VERTICAL; one value, defined there, so training and the app cannot disagree): a typical
webcam (about 78 degrees diagonal at 16:9, e.g. a Logitech C920). Square pixels, principal point at
the image centre, no distortion. For comparison, CLIFF's assumption f = sqrt(W^2 + H^2) is a 53.1 degree
diagonal field of view (reference/smplx-and-nets.md section 6): narrower, phone-camera-like.

What a wrong assumption does: the focal length scales the person's depth (a body of known size at
twice the focal length looks twice as far away), so absolute distances and speeds along the optical
axis scale with f_true / f_assumed; the pose itself changes little. Calibrate (mocap.calib.intrinsics)
when metric distances matter.
"""
from __future__ import annotations

import math

import numpy as np

from mocap.calib.camera_file import CameraFile
from mocap.models.proxy.cameras import DEFAULT_FOV_Y_DEG

ASSUMED_FOV_Y_DEG = DEFAULT_FOV_Y_DEG


def assumed_camera(width: int, height: int, fov_y_deg: float = ASSUMED_FOV_Y_DEG) -> CameraFile:
    """The assumed pinhole camera for a width x height image.

    Raises:
        ValueError: fov_y_deg outside (0, 180) or a non-positive image size.
    """
    if not 0 < fov_y_deg < 180:
        raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_y_deg}")
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]])
    return CameraFile(K=K, width=width, height=height, dist=np.zeros(5), rms_px=None, views=0,
                      source=f"assumed {fov_y_deg:g} deg vertical field of view")


def camera_for_video(width: int, height: int, camera_file: CameraFile | None = None) -> CameraFile:
    """The camera file scaled to the video's size when given, else the assumed camera.

    Raises:
        CameraFileError: the camera file's aspect ratio differs from the video's.
    """
    if camera_file is None:
        return assumed_camera(width, height)
    if (camera_file.width, camera_file.height) == (width, height):
        return camera_file
    return camera_file.scaled_to(width, height)
