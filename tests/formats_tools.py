"""External checkers for the output-format tests: the Khronos glTF validator (npm) and Blender."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

VALIDATOR_PACKAGE = "gltf-validator@2.0.0-dev.3.10"   # Khronos glTF-Validator compiled to JS (npm)
VALIDATOR_CACHE = Path(os.environ.get("MOCAP_NODE_CACHE", Path.home() / ".cache" / "mocap" / "node"))
_JS = """
const v = require('gltf-validator'); const fs = require('fs');
v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[1])), {maxIssues: 50}).then(r => {
  process.stdout.write(JSON.stringify(r.issues));
}).catch(e => { process.stderr.write(String(e)); process.exit(1); });
"""


def validator_dir() -> tuple[Path | None, str]:
    """node_modules folder holding gltf-validator, installing it once with npm if needed; or (None, why)."""
    if not shutil.which("node"):
        return None, "node is not installed (the Khronos glTF validator runs on Node)"
    modules = VALIDATOR_CACHE / "node_modules"
    if (modules / "gltf-validator").is_dir():
        return modules, ""
    if not shutil.which("npm"):
        return None, "npm is not installed, cannot install gltf-validator"
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(VALIDATOR_CACHE),
                            VALIDATOR_PACKAGE], capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return None, "npm install gltf-validator timed out (no registry?)"
    if r.returncode != 0 or not (modules / "gltf-validator").is_dir():
        return None, f"npm install {VALIDATOR_PACKAGE} failed: {r.stderr.strip().splitlines()[-1:]}"
    return modules, ""


def validate_gltf(path: Path, modules: Path) -> dict:
    """The validator's issues report (numErrors, numWarnings, messages, ...) for a .glb."""
    r = subprocess.run(["node", "-e", _JS, str(path)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "NODE_PATH": str(modules)})
    if r.returncode != 0:
        raise RuntimeError(f"gltf-validator failed: {r.stderr.strip()[:300]}")
    return json.loads(r.stdout)


def blender_command() -> tuple[list[str] | None, str]:
    """Command that runs a Python script inside Blender (the `blender` binary, or `bpy` in this Python)."""
    from mocap.app.formats.fbx import find_blender

    cmd = find_blender()
    if cmd is None:
        return None, "Blender is not installed (apt-get install blender, or pip install bpy)"
    return cmd, ""
