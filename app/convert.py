"""`mocap-convert`: a recorded take (``smplx.npz``) to BVH, GLB or FBX; ``export_take`` for the live app.

Usage::

    mocap-convert take/smplx.npz --to bvh|glb|fbx [--out PATH] [--fps N] [--model open|PATH]
                  [--units m|cm] [--no-face] [--quiet]

Functions the live app calls (``mocap-live --export bvh,glb`` at the end of a take; ``--vmc`` per frame):

* ``export_take(take, fmt, path, *, model=None, fps=None, units="m", include_face=True,
  progress=False) -> Path``: write `take` (``mocap.app.take.Take``) as fmt in {"bvh", "glb", "fbx"}
  to `path`; `model` is a loaded ``SmplxModel``, "open", a model file path, or None (the take's own
  model: "open", else the file named by ``MOCAP_SMPLX_MODEL``). Raises ``ValueError`` (misuse: unknown
  format, bad fps/units, no model for the take), ``RuntimeError`` (no Blender for FBX, Blender failed),
  ``OSError`` (cannot write).
* ``mocap.app.formats.vmc.VmcSender(host, port, *, betas=None, model=None, frame="world")`` with
  ``send(frame_index, poses_row (165,), trans (3,)) -> bool`` and ``close()``; ``parse_host_port``
  turns the ``--vmc [HOST:PORT]`` value into (host, port).

File conventions (axes, units, names) are in each writer's module docstring and docs/outputs.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mocap.app.take import Take, TakeError, load_take

FORMATS = ("bvh", "glb", "fbx")
ALIASES = {"gltf": "glb"}     # we write the binary form only
PROGRESS_MIN_FRAMES = 300     # show a progress bar from 10 s of 30 fps motion on
log = logging.getLogger(__name__)


def resolve_model(take: Take, model=None):
    """The SmplxModel to export `take` with.

    Args:
        take: the take (its ``model`` says which model it was recorded with).
        model: a SmplxModel, "open", a path to an SMPL-X .npz (or folder), or None: "open" for an
            open-model take, else ``MOCAP_SMPLX_MODEL``.
    Raises:
        ValueError: the take was recorded with a user's SMPL-X file and none was given; a bad model file.
        FileNotFoundError: the named model file does not exist.
    """
    from mocap.models.body.smplx_model import (
        ENV_VAR,
        SmplxModel,
        load_body_model,
        resolve_model_path,
    )

    if isinstance(model, SmplxModel):
        return model
    if model is None or model == "open":
        if model is None and take.model != "open":
            if not os.environ.get(ENV_VAR):
                raise ValueError(f"the take was recorded with the body model '{take.model}': pass "
                                 f"--model PATH (or set {ENV_VAR}) to export it with that model's mesh")
            return load_body_model()
        from mocap.models.body.smplx_model import DEFAULT_MODEL_PATH
        return load_body_model(DEFAULT_MODEL_PATH)
    path, name = resolve_model_path(model)
    if take.model not in ("open", name):
        log.warning("take recorded with model %s, exporting with %s", take.model, name)
    return load_body_model(path)


def export_take(take: Take, fmt: str, path: str | os.PathLike, *, model=None, fps: float | None = None,
                units: str = "m", include_face: bool = True, progress: bool = False) -> Path:
    """Write `take` as BVH, GLB or FBX and return the written path (see the module docstring).

    Args:
        take: the recorded take.
        fmt: "bvh", "glb" or "fbx".
        path: output file.
        model: body model (``resolve_model``).
        fps: output frame rate (resampled: slerp rotations, linear root); None keeps the take's.
        units: BVH lengths, "m" or "cm" (GLB and FBX are in metres).
        include_face: write jaw and eye joints.
        progress: tqdm progress bars.
    Raises:
        ValueError: unknown format, fps <= 0, bad units, no model for the take.
        RuntimeError: FBX without Blender, or Blender failed.
        OSError: the file cannot be written.
    """
    from mocap.app.formats.skeleton import BVH_UNITS, resample_motion, skeleton_motion

    fmt = fmt.lower().lstrip(".")
    fmt = ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fps is not None and not (fps > 0):
        raise ValueError(f"--fps must be a positive number, got {fps}")
    if units not in BVH_UNITS:
        raise ValueError(f"units must be one of {', '.join(BVH_UNITS)}, got {units!r}")
    if fmt == "fbx":
        from mocap.app.formats.fbx import NO_BLENDER, find_blender
        if find_blender() is None:
            raise RuntimeError(NO_BLENDER)
    body = resolve_model(take, model)
    sm = skeleton_motion(take, body, include_face=include_face)
    if fps is not None:
        sm = resample_motion(sm, float(fps))
    if fmt == "bvh":
        from mocap.app.formats.bvh import skeleton2bvh
        return skeleton2bvh(sm, path, units=units, progress=progress)
    if fmt == "glb":
        from mocap.app.formats.gltf import skeleton2glb
        return skeleton2glb(sm, body, take.betas, path, progress=progress)
    from mocap.app.formats.fbx import skeleton2fbx
    return skeleton2fbx(sm, body, take.betas, path, progress=progress)


def check_writable(path: Path) -> None:
    """Raise OSError (one line) unless `path` can be created or overwritten."""
    folder = path.parent
    if path.is_dir():
        raise OSError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise OSError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OSError(f"cannot write {path}: permission denied")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mocap-convert", description="Convert a recorded take (smplx.npz) to "
                                "BVH, glTF binary (.glb) or FBX (FBX needs Blender).")
    p.add_argument("take", help="the take file, e.g. out/take/smplx.npz")
    p.add_argument("--to", required=True, metavar="FORMAT", help="bvh, glb (or gltf) or fbx")
    p.add_argument("--out", metavar="PATH", help="output file (default: the take's path with the format's suffix)")
    p.add_argument("--fps", type=float, metavar="N", help="output frame rate (default: the take's)")
    p.add_argument("--model", metavar="open|PATH", help="body model: 'open' or an SMPL-X .npz "
                   "(default: the model the take was recorded with)")
    p.add_argument("--units", default="m", metavar="m|cm", help="BVH length unit (default m)")
    p.add_argument("--no-face", action="store_true", help="leave out the jaw and eye joints")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0 ok, 2 for any error, said in one line)."""
    logging.basicConfig(level=logging.WARNING, format="mocap-convert: %(message)s")
    args = build_parser().parse_args(argv)
    fmt = args.to.lower().lstrip(".")
    fmt = ALIASES.get(fmt, fmt)

    def fail(msg: str) -> int:
        sys.stderr.write(f"mocap-convert: error: {msg}\n")
        return 2

    if fmt not in FORMATS:
        return fail(f"unknown format {args.to!r}: choose one of {', '.join(FORMATS)}")
    take_path = Path(args.take)
    out = Path(args.out) if args.out else take_path.with_suffix("." + fmt)
    try:
        check_writable(out)
        take = load_take(take_path)
        written = export_take(take, fmt, out, model=args.model, fps=args.fps, units=args.units,
                              include_face=not args.no_face,
                              progress=not args.quiet and take.num_frames >= PROGRESS_MIN_FRAMES)
    except (TakeError, ValueError, RuntimeError, OSError) as exc:
        return fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    sys.stdout.write(f"{written}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
