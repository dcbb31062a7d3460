"""Shared fixtures: the bundled demo clip and a runner for the console commands."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
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


def _synthetic_clip(rng: np.random.Generator, T: int, split: str, fps: float = 30.0) -> dict:
    """A smooth random-pose walk along +x at about 1 m/s, in the retargeted-clip layout."""
    t = np.arange(T) / fps
    body = 0.15 * np.sin(2 * np.pi * 1.0 * t[:, None, None] + rng.uniform(0, 6, (1, 21, 3)))
    go = np.stack([0.05 * np.sin(t), 0.3 * t, np.zeros(T)], 1)
    transl = np.stack([t, 0.9 + 0.02 * np.sin(4 * np.pi * t), 0.2 * t], 1)
    return dict(global_orient=go, body_pose=body, transl=transl, betas=rng.normal(0, 0.5, 10),
                fps=np.array(fps), source=np.array("synthetic"), archive=np.array("synth"),
                split=np.array(split), fit_error_mm=np.zeros(T))


@pytest.fixture(scope="session")
def proxy_dataset(tmp_path_factory) -> Path:
    """A tiny proxy dataset (3 synthetic clips, 2 sequences each) built with the real build code;
    `<root>/out` holds proxy_train.npz and proxy_val.npz."""
    from mocap.models.body.smplx_model import load_body_model
    from mocap.models.proxy import build as proxy_build
    from mocap.models.proxy.generate import simple_hand_sampler

    root = tmp_path_factory.mktemp("proxy data")          # a path with a space on purpose
    rng = np.random.default_rng(7)
    (root / "clips" / "synth").mkdir(parents=True)
    for name, T, split in (("walk_a", 90, "train"), ("walk_b", 60, "train"), ("walk_c", 50, "val")):
        np.savez(root / "clips" / "synth" / f"{name}.npz", **_synthetic_clip(rng, T, split))
    written = proxy_build.build(root / "clips", root / "out", seed=3, sequences_per_clip=2, model=load_body_model(),
                                hand_sampler=simple_hand_sampler, progress=False)
    assert set(written) == {"train", "val"}
    return root


def interrupt_after(args: list, total: int, frames: int = 8, env: dict | None = None,
                    timeout: float = 180) -> tuple[int, str]:
    """Run `mocap-live ARGS`, press Ctrl-C (SIGINT) once the progress bar shows `frames` of `total`
    frames done, and return (exit status, stderr)."""
    import re
    import signal
    import threading
    import time

    # SIGINT back to its default in the child, as in a terminal: a shell starts background jobs (`cmd &`)
    # with SIGINT ignored, the child inherits that, and Python then installs no KeyboardInterrupt handler.
    proc = subprocess.Popen([sys.executable, "-m", "mocap.app.cli", *map(str, args)], stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: list[str] = []

    def read():
        while ch := proc.stderr.read(1):
            seen.append(ch)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [int(m) for m in re.findall(rf"(\d+)/{total}", "".join(seen))]
        if done and max(done) >= frames:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    reader.join(timeout=5)
    return code, "".join(seen)


@pytest.fixture(scope="module")
def nets_dir(tmp_path_factory) -> Path:
    """A folder with random-weight 3D nets (pose_init.pt, descent.pt) of the real architecture; a space
    in its path on purpose."""
    from mocap.models.body.smplx_model import load_body_model
    from mocap.models.nets.body_fk import SparseBody
    from nets3d_synth import write_random_nets

    folder = tmp_path_factory.mktemp("nets 3d")
    write_random_nets(folder, SparseBody(load_body_model()))
    return folder


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    """The environment for app runs in subprocesses: a private engine cache per test module (the nets
    are exported to ONNX once per module, the user's cache is neither read nor filled), one OpenMP thread."""
    import os

    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("xdg")), "OMP_NUM_THREADS": "1"}
