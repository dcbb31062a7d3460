"""Offline rendering: the camera convention is the project's (OpenCV), checked on a real render."""
import numpy as np
import pytest

from mocap.models.body.render import contact_sheet, intrinsics, look_at, project


def test_look_at_and_project_known_answer():
    R, t = look_at(eye=(0, 1, -3), target=(0, 1, 0))
    np.testing.assert_allclose(R @ np.array([0, 0, 1.0]), [0, 0, 1], atol=1e-12)  # looking along +z
    assert np.isclose(np.linalg.det(R), 1.0)  # a rotation, not a reflection
    K = intrinsics(60, 640, 480)
    # the target projects to the image centre; a point above it (world +y) to a smaller row (y down)
    np.testing.assert_allclose(project(np.array([0, 1, 0.0]), K, R, t), [320, 240], atol=1e-9)
    assert project(np.array([0, 1.5, 0.0]), K, R, t)[1] < 240
    # seen from z = -3 looking along +z (y up), world +x is on the camera's left: image x < centre
    assert project(np.array([0.5, 1, 0.0]), K, R, t)[0] < 320


def test_render_puts_the_mesh_where_project_says():
    pytest.importorskip("pyrender")
    from mocap.models.body.render import MeshRenderer

    # a small square facing the camera, centred 0.3 m right (world -x seen from z=-3 is image right)
    v = np.array([[-0.35, 0.9, 0], [-0.25, 0.9, 0], [-0.25, 1.1, 0], [-0.35, 1.1, 0]], np.float64)
    f = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 1], [0, 3, 2]])
    K = intrinsics(40, 320, 240)
    R, t = look_at(eye=(0, 1, -3), target=(0, 1, 0))
    try:
        with MeshRenderer(320, 240) as r:
            img = r.render(v, f, K, R, t)
    except Exception as exc:  # no EGL on this machine
        pytest.skip(f"offscreen rendering unavailable: {type(exc).__name__}: {exc}")
    dark = np.argwhere(img.mean(axis=2) < 240)
    assert len(dark) > 50
    centre_px = dark.mean(axis=0)[::-1]  # (x, y)
    np.testing.assert_allclose(centre_px, project(v.mean(axis=0), K, R, t), atol=2.0)


def test_contact_sheet_layout():
    imgs = [np.full((10, 20, 3), i * 40, np.uint8) for i in range(5)]
    sheet = contact_sheet(imgs, cols=3, pad=2)
    assert sheet.shape == (2 * 12 + 2, 3 * 22 + 2, 3)
    assert sheet[2 + 12 + 5, 2 + 22 + 5, 0] == 4 * 40  # image 4 is row 1, column 1
