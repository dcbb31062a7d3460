"""Checkerboard intrinsics: synthetic boards rendered through a known camera with OpenCV; camera files."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.calib.camera_file import CameraFile, CameraFileError, load_camera_file, save_camera_file
from mocap.calib.intrinsics import Board, CalibrationError, calibrate, main, read_views

W, H = 640, 480
K_TRUE = np.array([[800.0, 0, 316.0], [0, 800.0, 244.0], [0, 0, 1]])
BOARD = Board(9, 6, 0.025)
FOCAL_TOL = 0.01          # 1% of the focal length


def board_texture(board: Board, px: int = 40, margin: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(grey texture, A (3, 3) texture pixel -> board plane metres) of a board with a white margin."""
    nx, ny = board.cols + 1, board.rows + 1
    tex = np.full((ny * px + 2 * margin, nx * px + 2 * margin), 255, np.uint8)
    for j in range(ny):
        for i in range(nx):
            if (i + j) % 2 == 0:
                tex[margin + j * px: margin + (j + 1) * px, margin + i * px: margin + (i + 1) * px] = 0
    s = board.square_m / px
    o = margin + px                                   # the first inner corner, texture pixels
    A = np.array([[s, 0, -o * s], [0, s, -o * s], [0, 0, 1]])
    return tex, A


def render_view(rng: np.random.Generator, K: np.ndarray = K_TRUE) -> np.ndarray:
    """The board at 0.45-0.7 m, tilted up to 35 degrees, somewhere in the image; grey uint8 (H, W)."""
    tex, A = board_texture(BOARD)
    R = Rotation.from_rotvec(rng.uniform(-0.6, 0.6, 3) * np.array([1, 1, 0.3])).as_matrix()
    centre = np.array([BOARD.cols, BOARD.rows, 0]) * BOARD.square_m / 2
    depth = rng.uniform(0.45, 0.7)
    shift = rng.uniform(-0.06, 0.06, 2)
    t = np.array([shift[0], shift[1], depth]) - R @ centre
    Hm = K @ np.column_stack([R[:, 0], R[:, 1], t]) @ A
    img = cv2.warpPerspective(tex, Hm, (W, H), flags=cv2.INTER_AREA, borderValue=160)
    return cv2.GaussianBlur(img, (3, 3), 0.7)


def views(n: int, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(f"v{i}", render_view(rng)) for i in range(n)]


def test_recovers_the_focal_length():
    cam = calibrate(views(10), BOARD)
    assert cam.views >= 8
    assert cam.K[0, 0] == pytest.approx(K_TRUE[0, 0], rel=FOCAL_TOL)
    assert cam.K[1, 1] == pytest.approx(K_TRUE[1, 1], rel=FOCAL_TOL)
    assert abs(cam.K[0, 2] - K_TRUE[0, 2]) < 8 and abs(cam.K[1, 2] - K_TRUE[1, 2]) < 8
    assert cam.rms_px < 0.5
    assert (cam.width, cam.height) == (W, H)


def test_no_board_and_too_few_views():
    blank = [(f"b{i}", np.full((H, W), 128, np.uint8)) for i in range(4)]
    with pytest.raises(CalibrationError, match="no 9x6 board found in any of 4 views"):
        calibrate(blank, BOARD)
    with pytest.raises(CalibrationError, match="too few views: the board was found in 2 of 6"):
        calibrate(views(2) + blank, BOARD)
    with pytest.raises(CalibrationError, match="no 8x6 board found"):     # wrong --board
        calibrate(views(3), Board(8, 6, 0.025))
    with pytest.raises(CalibrationError, match="COLSxROWS"):
        Board.parse("nine by six", 0.025)


def test_cli_on_an_image_folder_and_a_video(tmp_path):
    folder = tmp_path / "board shots"
    folder.mkdir()
    for name, img in views(8, seed=3):
        cv2.imwrite(str(folder / f"{name}.png"), img)
    out = tmp_path / "cam.json"
    assert main(["--board", "9x6", "--square", "0.025", str(folder), "--out", str(out)]) == 0
    cam = load_camera_file(out)
    assert cam.K[0, 0] == pytest.approx(800.0, rel=FOCAL_TOL)
    assert json.loads(out.read_text())["format"] == "mocap-camera"
    video = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for _, img in views(8, seed=4):
        writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    writer.release()
    cam_v = calibrate(read_views(video), BOARD)
    assert cam_v.K[1, 1] == pytest.approx(800.0, rel=0.02)
    with pytest.raises(SystemExit, match="not found"):
        main([str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "x.json")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no images"):
        main([str(empty), "--out", str(tmp_path / "x.json")])


def test_camera_file_round_trip_and_scaling(tmp_path):
    cam = CameraFile(K=K_TRUE, width=W, height=H, dist=[0.1, -0.02, 0, 0, 0], rms_px=0.2, views=9, source="t")
    back = load_camera_file(save_camera_file(tmp_path / "c.json", cam))
    np.testing.assert_allclose(back.K, K_TRUE)
    np.testing.assert_allclose(back.dist, cam.dist)
    assert back.fov_y_deg == pytest.approx(np.degrees(2 * np.arctan(240 / 800)))
    big = back.scaled_to(1280, 960)
    assert big.K[0, 0] == pytest.approx(1600) and big.K[1, 2] == pytest.approx(488)
    with pytest.raises(CameraFileError, match="different aspect ratio"):
        back.scaled_to(1280, 720)


@pytest.mark.parametrize("doc, match", [
    ("not json", "is not JSON"),
    (json.dumps({"K": 1}), "is not a camera file"),
    (json.dumps({"format": "mocap-camera", "version": 7}), "has version 7"),
    (json.dumps({"format": "mocap-camera", "version": 1, "width": 640, "height": 480}), "lacks K"),
    (json.dumps({"format": "mocap-camera", "version": 1, "width": 640, "height": 480,
                 "K": [[-800, 0, 320], [0, 800, 240], [0, 0, 1]]}), "focal lengths must be positive"),
    (json.dumps({"format": "mocap-camera", "version": 1, "width": 640, "height": 480,
                 "K": [[800, 0, 900], [0, 800, 240], [0, 0, 1]]}), "principal point"),
    (json.dumps({"format": "mocap-camera", "version": 1, "width": 640, "height": 480,
                 "K": [[800, 0, 320], [0, 800, 240], [0, 0, 1]], "dist": [1, 2, 3]}), "dist must be"),
])
def test_bad_camera_files(tmp_path, doc, match):
    p = tmp_path / "bad.json"
    p.write_text(doc)
    with pytest.raises(CameraFileError, match=match):
        load_camera_file(p)


def test_missing_camera_file(tmp_path):
    with pytest.raises(CameraFileError, match="not found"):
        load_camera_file(tmp_path / "nope.json")
