"""The live window: `mocap-live --show` on a virtual X display (skipped without Xvfb)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                reason="needs Xvfb for a virtual display (Debian package xvfb)")


@pytest.fixture
def display():
    num = 90 + os.getpid() % 9
    server = subprocess.Popen(["Xvfb", f":{num}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    if server.poll() is not None:
        pytest.skip("Xvfb did not start")
    yield f":{num}"
    server.terminate()
    server.wait(timeout=10)


def test_window_run_writes_the_same_outputs(run, tmp_path, demo_video, display):
    env = {**os.environ, "DISPLAY": display}
    proc = run("app.cli", "--video", demo_video, "--show", "--max-frames", 20, "--out", tmp_path / "o",
               "--no-progress", env=env)
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "o" / "keypoints.npz") as z:
        assert z["k67"].shape == (20, 67, 3)
