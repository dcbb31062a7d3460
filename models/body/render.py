"""Offline mesh rendering for figures and tests (pyrender over EGL): bodies, hands, contact sheets.

Cameras follow the project's convention (DESIGN 8, OpenCV): x right, y down, z forward, world
points map to the camera by x_c = R_w2c x_w + t_w2c, pixels by K. This is the quality path
(about 80 ms a frame on a CPU); the live app will draw with a dynamic vertex buffer instead.
Needs `pip install pyrender` and, headless, EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri).
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..camera import intrinsics, look_at  # noqa: F401  (re-exported: figures build cameras with them)
from ..camera import project as project_camera

SKIN_RGB = (0.80, 0.64, 0.55)
# OpenCV camera axes -> OpenGL camera axes (y up, looking down -z).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0])


def project(points_w: np.ndarray, K: np.ndarray, R_w2c: np.ndarray, t_w2c: np.ndarray) -> np.ndarray:
    """(..., 3) world points -> (..., 2) pixels (x right, y down) through one camera."""
    uv, _ = project_camera(points_w @ R_w2c.T + t_w2c, K)
    return uv


class MeshRenderer:
    """An offscreen renderer of one triangle mesh at a time; a context manager."""

    def __init__(self, width: int, height: int):
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        try:
            import pyrender
        except ImportError as exc:  # optional: figures only
            raise RuntimeError("rendering needs pyrender (pip install pyrender) and EGL") from exc
        self._pyrender = pyrender
        self.width, self.height = width, height
        self._renderer = pyrender.OffscreenRenderer(width, height)

    def render(self, vertices: np.ndarray, faces: np.ndarray, K: np.ndarray, R_w2c: np.ndarray,
               t_w2c: np.ndarray, color: Sequence[float] = SKIN_RGB,
               background: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
        """(H, W, 3) uint8 RGB image of the mesh (vertices (V, 3) world m, faces (F, 3))."""
        import trimesh

        pr = self._pyrender
        mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces), process=False)
        material = pr.MetallicRoughnessMaterial(baseColorFactor=(*color, 1.0), metallicFactor=0.0,
                                                roughnessFactor=0.8)
        scene = pr.Scene(bg_color=(*background, 1.0), ambient_light=(0.35, 0.35, 0.35))
        scene.add(pr.Mesh.from_trimesh(mesh, material=material, smooth=True))
        cam = pr.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2], K[1, 2], znear=0.05, zfar=100.0)
        pose = np.eye(4)
        pose[:3, :3] = R_w2c.T @ _CV_TO_GL  # camera-to-world rotation in OpenGL axes
        pose[:3, 3] = -R_w2c.T @ t_w2c     # camera centre in world
        scene.add(cam, pose=pose)
        scene.add(pr.DirectionalLight(intensity=3.0), pose=pose)
        color_img, _ = self._renderer.render(scene)
        return np.ascontiguousarray(color_img[..., :3])

    def close(self) -> None:
        self._renderer.delete()

    def __enter__(self) -> "MeshRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def contact_sheet(images: Sequence[np.ndarray], cols: int, pad: int = 4, background: int = 255) -> np.ndarray:
    """Tile equally sized (H, W, 3) uint8 images row by row into one image."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), background, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y:y + h, x:x + w] = img
    return sheet
