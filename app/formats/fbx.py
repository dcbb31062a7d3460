"""FBX export through Blender's own FBX exporter: write the take as .glb, import it in headless Blender, export FBX.

Blender is found as: the ``MOCAP_BLENDER`` environment variable (path to a ``blender`` binary); else
``blender`` on PATH (Debian/Ubuntu: ``apt-get install blender``; or an official download); else the
``bpy`` module in this Python (``pip install bpy``, whose release must match this Python's version).
Without any of them, ``glb2fbx`` raises one line saying so.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ENV_VAR = "MOCAP_BLENDER"
SCRIPT = Path(__file__).resolve().parent / "blender_fbx.py"
NO_BLENDER = ("FBX export needs Blender: install it (apt-get install blender, or pip install bpy for this "
              f"Python) or set {ENV_VAR}=/path/to/blender; BVH and GLB need no Blender")
TIMEOUT_S = 600
# Headless, no user preferences or add-on state, no audio; a Python error exits non-zero (Blender's
# default exit status after a failing --python script is 0).
_BLENDER_ARGS = ("-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python")


def find_blender() -> list[str] | None:
    """Command prefix that runs a Python script in Blender (append: script, "--", args), or None.

    Raises:
        ValueError: MOCAP_BLENDER names a file that does not exist.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        if not Path(env).is_file():
            raise ValueError(f"{ENV_VAR}={env} is not a file (point it at the blender binary)")
        return [env, *_BLENDER_ARGS]
    exe = shutil.which("blender")
    if exe:
        return [exe, *_BLENDER_ARGS]
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable]
    return None


def run_in_blender(script: str | os.PathLike, *args: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run `script` with `args` (after "--") in headless Blender.

    Raises:
        RuntimeError: no Blender (``NO_BLENDER``), a time-out, or the script failed (last error line).
    """
    cmd = find_blender()
    if cmd is None:
        raise RuntimeError(NO_BLENDER)
    try:
        r = subprocess.run([*cmd, str(script), "--", *map(str, args)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Blender did not finish {Path(script).name} within {timeout:.0f} s") from None
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stderr + "\n" + r.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln) and "script failed" not in ln]
        what = errors[-1] if errors else (lines[-1] if lines else f"exit status {r.returncode}")
        if "No module named 'numpy'" in what:     # a distribution's Blender on the system Python
            what += " (Blender's glTF add-on needs NumPy: apt-get install python3-numpy)"
        raise RuntimeError(f"Blender failed running {Path(script).name}: {what}")
    return r


def glb2fbx(glb_path: str | os.PathLike, fbx_path: str | os.PathLike, fps: float) -> Path:
    """Convert a .glb written by ``gltf.skeleton2glb`` to .fbx with Blender's exporter; return the FBX path.

    Raises:
        RuntimeError: no Blender, or Blender failed.
    """
    fbx_path = Path(fbx_path)
    tmp = fbx_path.with_name(fbx_path.name + ".tmp.fbx")
    try:
        run_in_blender(SCRIPT, str(glb_path), str(tmp), f"{fps:.9g}")
        if not tmp.is_file():
            raise RuntimeError(f"Blender wrote no FBX file ({tmp})")
        os.replace(tmp, fbx_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return fbx_path


def skeleton2fbx(sm, model, betas, path: str | os.PathLike, progress: bool = False) -> Path:
    """Write the take as FBX: GLB to a temporary folder, then ``glb2fbx``.

    Raises:
        RuntimeError: no Blender (checked before any work), or Blender failed.
    """
    from mocap.app.formats.gltf import skeleton2glb

    if find_blender() is None:
        raise RuntimeError(NO_BLENDER)
    with tempfile.TemporaryDirectory(prefix="mocap-fbx-") as d:
        glb = skeleton2glb(sm, model, betas, Path(d) / "take.glb", progress=progress)
        return glb2fbx(glb, path, sm.fps)
