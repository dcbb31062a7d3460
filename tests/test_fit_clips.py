"""The real-clip fit report (benchmarks/fit_clips.py) on the demo clip with random-weight nets."""
from __future__ import annotations

import json

import cv2

from mocap.benchmarks import fit_clips


def test_fit_clips_writes_its_report(tmp_path, demo_video, nets_dir, env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])   # the app runs with this test module's engine cache
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "report"
    assert fit_clips.main([str(demo_video), "--out", str(out), "--max-frames", "20", "--nets3d", str(nets_dir),
                           "--frames", "2"]) == 0
    res = json.loads((out / "fit_clips.json").read_text())[demo_video.name]
    assert res["frames"] == 20 and res["body"]["points"] > 0 and res["body"]["mean_px"] > 0
    assert len(res["png"]) == 2
    frame = cv2.imread(str(out / res["png"][0]))
    assert frame is not None and frame.shape[1] == 640
    md = (out / "fit_clips.md").read_text()
    assert f"| {demo_video.name} |" in md and str(tmp_path) not in md


def test_fit_clips_without_videos_fails_in_one_line(tmp_path, capsys):
    assert fit_clips.main([str(tmp_path), "--out", str(tmp_path / "report")]) == 2
    assert capsys.readouterr().err.startswith("error: no videos in")
