"""`mocap-convert` and `export_take`: files written from a saved take; one-line errors with exit status 2."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from formats_synth import synthetic_take
from mocap.app.convert import FORMATS, export_take, main
from mocap.app.take import save_take
from mocap.models.body.smplx_layout import JOINT_NAMES
from mocap.models.mocap.motion import forward_kinematics
from mocap.models.mocap.readers import read_bvh


@pytest.fixture
def take_file(tmp_path):
    d = tmp_path / "my take"                               # a path with a space on purpose
    d.mkdir()
    return save_take(d / "smplx.npz", synthetic_take(T=8, seed=2))


def run_cli(*args) -> subprocess.CompletedProcess:
    """Like a user: the module that backs the console script, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "mocap.app.convert", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_writes_bvh_next_to_the_take(take_file):
    r = run_cli(take_file, "--to", "bvh")
    assert r.returncode == 0, r.stderr
    out = take_file.with_suffix(".bvh")
    assert r.stdout.strip() == str(out)
    motion = read_bvh(out, units_m=1.0)
    assert motion.num_frames == 8 and set(JOINT_NAMES) <= set(motion.joint_names)


def test_main_writes_glb_with_options(take_file, tmp_path):
    out = tmp_path / "x.glb"
    assert main([str(take_file), "--to", "GLB", "--out", str(out), "--no-face", "--quiet"]) == 0
    assert out.read_bytes()[:4] == b"glTF"
    assert main([str(take_file), "--to", "gltf", "--quiet"]) == 0                  # alias, binary form
    assert take_file.with_suffix(".glb").read_bytes()[:4] == b"glTF"


def test_fps_resamples_and_units(take_file, tmp_path):
    out = tmp_path / "r.bvh"
    assert main([str(take_file), "--to", "bvh", "--out", str(out), "--fps", "60", "--units", "cm"]) == 0
    m = read_bvh(out, units_m=0.01)
    assert m.num_frames == 15 and m.fps == pytest.approx(60.0)             # 8 frames at 30 -> 15 at 60
    src = read_bvh(export_take(synthetic_take(T=8, seed=2), "bvh", tmp_path / "s.bvh"), units_m=1.0)
    # Frames at the original times match exactly (every other frame).
    a, b = forward_kinematics(m)[::2], forward_kinematics(src)
    assert np.abs(a - b).max() < 1e-4


@pytest.mark.parametrize("content,match", [
    (None, "not found"),
    (b"not a zip", "cannot read"),
])
def test_missing_or_unreadable_take(tmp_path, capsys, content, match):
    path = tmp_path / "t.npz"
    if content is not None:
        path.write_bytes(content)
    assert main([str(path), "--to", "bvh"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and err.startswith("mocap-convert: error:")


@pytest.mark.parametrize("break_it,match", [
    (lambda d: d.pop("poses"), "no 'poses' key"),
    (lambda d: d.update(poses=d["poses"][:, :63]), "'poses' must be"),
    (lambda d: d["trans"].__setitem__((3, 1), np.nan), "NaN"),
])
def test_malformed_take(tmp_path, capsys, take_file, break_it, match):
    with np.load(take_file) as z:
        d = {k: z[k] for k in z.files}
    break_it(d)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **d)
    assert main([str(bad), "--to", "glb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err


def test_unknown_format_is_one_line(take_file, capsys):
    assert main([str(take_file), "--to", "obj"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown format 'obj'" in err and all(f in err for f in FORMATS)
    with pytest.raises(ValueError, match="unknown export format"):
        export_take(synthetic_take(T=2), "usd", take_file.with_suffix(".usd"))


@pytest.mark.parametrize("where", ["missing folder", "folder"])
def test_unwritable_path(take_file, tmp_path, capsys, where):
    out = tmp_path / "nope" / "x.bvh" if where == "missing folder" else tmp_path
    assert main([str(take_file), "--to", "bvh", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder(take_file, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main([str(take_file), "--to", "bvh", "--out", str(ro / "x.bvh")]) == 2
        assert "permission denied" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_bad_fps_and_units(take_file, capsys):
    assert main([str(take_file), "--to", "bvh", "--fps", "0"]) == 2
    assert "--fps" in capsys.readouterr().err
    assert main([str(take_file), "--to", "bvh", "--units", "inch"]) == 2
    assert "units" in capsys.readouterr().err


def test_take_from_a_user_model_needs_model_path(tmp_path, capsys, monkeypatch):
    take = synthetic_take(T=3)
    take.model = "SMPLX_NEUTRAL.npz"
    path = save_take(tmp_path / "smplx.npz", take)
    monkeypatch.delenv("MOCAP_SMPLX_MODEL", raising=False)
    assert main([str(path), "--to", "bvh"]) == 2
    assert "--model PATH" in capsys.readouterr().err
    assert main([str(path), "--to", "bvh", "--model", "open"]) == 0         # explicit choice works
    assert main([str(path), "--to", "bvh", "--model", str(tmp_path / "none.npz")]) == 2
    assert "not found" in capsys.readouterr().err


def test_fbx_without_blender_says_how_to_get_it(take_file, capsys, monkeypatch):
    from mocap.app.formats import fbx
    monkeypatch.setattr(fbx, "find_blender", lambda: None)
    assert main([str(take_file), "--to", "fbx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs Blender" in err and "apt-get install blender" in err
