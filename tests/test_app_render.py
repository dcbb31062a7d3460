"""Rendering at a view size (--view-size, mocap-bench --render), the letterbox, paced capture and the bench modes."""
import argparse
import json
import queue
import threading
import time

import cv2
import numpy as np
import pytest

from mocap.app.capture import END, CaptureThread, Frame
from mocap.app.cli import parse_size
from mocap.app.draw import Letterbox
from mocap.benchmarks.cli import parse_mode, parse_modes


def test_parse_size():
    assert parse_size("640x480") == (640, 480) and parse_size("320X240") == (320, 240)
    for bad in ("640", "axb", "8x8", "640x480x3"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)


def test_bench_modes_parse():
    m = parse_mode("overlap+render")
    assert (m.overlap, m.render, m.encode, m.paced) == (True, True, False, False)
    m = parse_mode("sequential+encode+paced")
    assert (m.overlap, m.render, m.encode, m.paced) == (False, True, True, True)   # encode implies render
    assert [m.name for m in parse_modes("overlap, overlap+render ,sequential")] == [
        "overlap", "overlap+render", "sequential"]
    for bad, msg in (("turbo", "unknown mode 'turbo'"), ("overlap+fast", "unknown mode option 'fast'"),
                     ("overlap,overlap", "named twice"), (",", "unknown mode")):
        with pytest.raises(ValueError, match=msg):
            parse_modes(bad)


def test_letterbox_maps_points_and_camera_like_the_resized_picture():
    lb = Letterbox.fit((960, 540), (640, 480))
    assert lb.size == (640, 480) and lb.inner == (640, 360) and lb.offset == (0, 60) and lb.frame == (960, 540)
    assert not lb.identity and Letterbox.fit((640, 480), (640, 480)).identity
    frame = np.zeros((540, 960, 3), np.uint8)
    cv2.circle(frame, (300, 200), 30, (255, 255, 255), -1)
    img = lb.image(frame)
    assert img.shape == (480, 640, 3) and img[:60].max() == 0 and img[420:].max() == 0
    ys, xs = np.nonzero(img[..., 0] > 127)
    np.testing.assert_allclose([xs.mean(), ys.mean()], lb.points(np.array([300.0, 200.0])), atol=0.5)
    K = np.array([[700.0, 0, 480], [0, 700.0, 270], [0, 0, 1]])
    X = np.array([0.3, -0.2, 3.0])
    px, pv = (K @ X)[:2] / X[2], (lb.camera(K) @ X)[:2] / X[2]
    np.testing.assert_allclose(pv, lb.points(px), atol=1e-9)
    tall = Letterbox.fit((540, 960), (640, 480))      # a portrait frame: bars left and right
    assert tall.inner == (270, 480) and tall.offset == (185, 0) and tall.image(frame.transpose(1, 0, 2)).shape == (480, 640, 3)


class _FakeSource:
    """A file-like source of `n` tiny frames at `fps` that decodes instantly."""

    is_live = False

    def __init__(self, n: int, fps: float):
        self.n, self.fps, self.i = n, fps, 0

    def read(self):
        if self.i >= self.n:
            return None
        self.i += 1
        return Frame(self.i - 1, (self.i - 1) / self.fps, time.perf_counter(), np.zeros((2, 2, 3), np.uint8))


def _drain(q: queue.Queue, delay: float = 0.0) -> list:
    got = []
    while (item := q.get(timeout=5)) is not END:
        got.append(item)
        time.sleep(delay)
    return got


def test_paced_capture_delivers_at_the_frame_rate():
    q = queue.Queue(maxsize=1)
    cap = CaptureThread(_FakeSource(12, 100.0), q, threading.Event(), paced=True)
    cap.start()
    frames = _drain(q)
    cap.join(5)
    assert [f.index for f in frames] == list(range(12)) and cap.dropped == 0
    t = np.array([f.captured_at for f in frames])
    # never early: frame i is not delivered before its due time (a late frame makes the next interval shorter,
    # so the intervals themselves jitter with the machine's load), and the median interval is the period
    assert np.all(t - t[0] >= 0.01 * np.arange(len(t)) - 1e-3)
    assert abs(np.median(np.diff(t)) - 0.01) < 0.003
    assert (frames[-1].captured_at - frames[0].captured_at) == pytest.approx(0.11, abs=0.02)


def test_paced_capture_drops_what_a_slow_reader_misses():
    q = queue.Queue(maxsize=1)
    cap = CaptureThread(_FakeSource(20, 200.0), q, threading.Event(), paced=True)
    cap.start()
    frames = _drain(q, delay=0.02)            # a stage 4x slower than the frames come
    cap.join(5)
    assert cap.dropped > 5 and len(frames) + cap.dropped == 20 and frames[-1].index == 19


def test_unpaced_file_capture_drops_nothing():
    q = queue.Queue(maxsize=1)
    cap = CaptureThread(_FakeSource(10, 1.0), q, threading.Event())   # 1 fps: pacing would take 10 s
    t = time.perf_counter()
    cap.start()
    frames = _drain(q, delay=0.005)
    cap.join(5)
    assert len(frames) == 10 and cap.dropped == 0 and time.perf_counter() - t < 2


def test_render_mode_draws_both_views_at_the_view_size(tmp_path, demo_video):
    """--view-size: overlay.mp4 and world.mp4 at that size; the bench's headless render draws the same."""
    from mocap.app.pipeline import LiveConfig, run_live

    out = tmp_path / "run"
    rec = run_live(LiveConfig(video=demo_video, out=out, headless=True, max_frames=14, progress=False,
                              save_video=True, save_world_video=True, view_size=(320, 240)))
    assert len(rec.frame_index) == 14
    for name in ("overlay.mp4", "world.mp4"):
        cap = cv2.VideoCapture(str(out / name))
        ok, img = cap.read()
        assert ok and img.shape == (240, 320, 3), name
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 14
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    for _ in range(13):
        ok, img = cap.read()
    assert img[:25, 240:].max() < 40 and img[-25:].max() < 40 and img[100:140].std() > 10   # black bars (status line top left)
    timings = json.loads((out / "timings.json").read_text())
    assert {"draw", "draw_mesh", "draw_world", "encode", "encode_world"} <= set(timings["summary"])
    assert timings["view_size"] == [320, 240] and timings["render"] and timings["encode"]
    assert timings["latency_drawn_ms"]["count"] == 4


def test_bench_render_mode(run, tmp_path, demo_video):
    rep = tmp_path / "rep"
    proc = run("benchmarks.cli", "--video", demo_video, "--max-frames", 12, "--report", rep, "--no-progress",
               "--render", "320x240", "--modes", "overlap+render")
    assert proc.returncode == 0, proc.stderr
    r = json.loads((rep / "report.json").read_text())["runs"]["overlap+render"]
    assert r["render"] and not r["encode"] and r["view_size"] == [320, 240] and len(r["load"]) == 2
    assert {"draw", "draw_mesh", "draw_world"} <= set(r["summary"]) and "encode" not in r["summary"]
    md = (rep / "report.md").read_text()
    assert "| overlap+render |" in md and "320x240" in md and "capture-to-drawn" in md


def test_set_blas_threads_keeps_results():
    from mocap.app.pipeline import set_blas_threads

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1622, 55)), rng.normal(size=(55, 12))
    before = a @ b
    n = set_blas_threads(1)
    assert n >= 0
    np.testing.assert_array_equal(a @ b, before)
