"""The real-clip fit report (benchmarks/fit_clips.py) on the demo clip with random-weight nets."""
from __future__ import annotations

import json

import cv2

from mocap.benchmarks import fit_clips


def test_fit_clips_reports_the_take_it_measures(tmp_path, demo_video, nets_dir, env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "report"
    assert fit_clips.main([str(demo_video), "--out", str(out), "--max-frames", "20", "--nets3d", str(nets_dir),
                           "--frames", "2", "--live-take"]) == 0
    res = json.loads((out / "fit_clips.json").read_text())[demo_video.name]
    assert res["take"] == "live" and res["frames"] == 20 and res["body"]["points"] > 0
    assert res["body"]["mean_px"] > 0 and len(res["png"]) == 2
    frame = cv2.imread(str(out / res["png"][0]))
    assert frame is not None and frame.shape[1] == 640
    md = (out / "fit_clips.md").read_text()
    assert "| live |" in md and "--live-take" in md and str(tmp_path) not in md
