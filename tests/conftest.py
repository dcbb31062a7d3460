"""Shared fixtures: the bundled demo clip and a runner for the console commands."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mocap.app.pipeline import DEFAULT_VIDEO


@pytest.fixture(scope="session")
def demo_video() -> Path:
    assert DEFAULT_VIDEO.is_file(), "the demo clip ships with the package (app/data/demo.mp4)"
    return DEFAULT_VIDEO


def run_command(module: str, *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run `python -m mocap.<module>` like a user runs the console script."""
    return subprocess.run([sys.executable, "-m", f"mocap.{module}", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture
def run():
    return run_command
