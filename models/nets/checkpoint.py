"""The nets' weight files: ``{"config": asdict(cfg), "state_dict": ..., "meta": {...}}`` -> eval-mode nets.

Format (written by the training commands, read here, by ``mocap-export`` and by the app): one
``torch.save`` dict per net with ``config`` the net's config dataclass as a dict (``PoseInitConfig`` /
``DescentConfig``), ``state_dict`` the module's weights and ``meta`` free-form (training command, data,
metrics). The bundled files are ``models/nets/data/pose_init.pt`` and ``models/nets/data/descent.pt``.

The descent net's state dict also holds the ``SparseBody`` buffers it was trained with (template,
shape directions, skinning weights of a few hundred vertices), so a loaded descent net poses the body
it learnt on, whatever body model the caller built it around; a body with another vertex subset (a
different mesh) does not fit and is refused.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from mocap.engines.base import EngineError
from mocap.models.nets.descent import DescentConfig, DescentNet
from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet

DATA_DIR = Path(__file__).resolve().parent / "data"
POSE_INIT_FILE = "pose_init.pt"
DESCENT_FILE = "descent.pt"


def public_path(key: str, value: str) -> str:
    """`value` unless it is an absolute (machine) path: then PROXY_DIR for `data`, runs/<name> for `out`,
    VIDEO_DIR for `videos`, else CACHE/<name>."""
    if not value or not Path(value).expanduser().is_absolute():
        return value
    name = Path(value).name
    return {"data": "PROXY_DIR", "out": f"runs/{name}", "videos": "VIDEO_DIR"}.get(key, f"CACHE/{name}")


def scrub_paths(train_config: dict) -> dict:
    """A training config (top-level keys) without machine paths, for weights that are shipped (`public_path`)."""
    return {k: public_path(k, v) if isinstance(v, str) else v for k, v in train_config.items()}


def scrub_command(argv: list[str], positional: str = "videos") -> str:
    """A command line's arguments for a committed report, without machine paths (`public_path`): a flag's
    value is keyed by the flag's name (``--data X``), a positional argument by `positional`."""
    out, key = [], positional
    for arg in argv:
        if arg.startswith("--"):
            out.append(arg)
            key = arg[2:].replace("-", "_").split("=")[0]
        else:
            out.append(public_path(key, arg))
            key = positional
    return " ".join(out)


def save_checkpoint(path: str | os.PathLike, net: torch.nn.Module, config: Any, meta: dict | None = None) -> Path:
    """Write ``net`` in the checkpoint format (atomically: temporary name, then rename); return the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}   # loadable without a GPU
    torch.save({"config": dataclasses.asdict(config), "state_dict": state, "meta": dict(meta or {})}, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict of ``path``.

    Raises:
        EngineError: missing file, not a torch file, or no ``config`` / ``state_dict`` (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"net file not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # pickle/zip/OS errors: one line, whatever torch raised
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"cannot read net file {path}: {first}") from None
    if not isinstance(ckpt, dict) or not {"config", "state_dict"} <= set(ckpt):
        raise EngineError(f"net file {path} is not a mocap net checkpoint (needs 'config' and 'state_dict')")
    return ckpt


def _config(cls, raw: Any, path: Path):
    if not isinstance(raw, dict):
        raise EngineError(f"net file {path}: 'config' must be a dict, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise EngineError(f"net file {path}: unknown {cls.__name__} field {unknown[0]!r} (written by newer code?)")
    values = dict(raw)
    for f in dataclasses.fields(cls):   # torch.save keeps tuples, JSON-like round trips make them lists
        if f.name in values and isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"net file {path}: bad {cls.__name__}: {exc}") from None


def _load_state(net: torch.nn.Module, state: Any, path: Path, optional_prefix: str | None = None) -> None:
    if not isinstance(state, dict):
        raise EngineError(f"net file {path}: 'state_dict' must be a dict")
    result = net.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not (optional_prefix and k.startswith(optional_prefix))]
    if missing or result.unexpected_keys:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {result.unexpected_keys[0]!r}"
        raise EngineError(f"net file {path} does not fit {type(net).__name__}: {what} "
                          f"({len(missing)} missing, {len(result.unexpected_keys)} unexpected keys)")


def load_pose_init(path: str | os.PathLike) -> PoseInitNet:
    """A ``PoseInitNet`` in eval mode from a checkpoint file.

    Raises:
        EngineError: unreadable file, a config or weights that do not fit the net (one line).
    """
    path = Path(path)
    ckpt = read_checkpoint(path)
    net = PoseInitNet(_config(PoseInitConfig, ckpt["config"], path))
    try:
        _load_state(net, ckpt["state_dict"], path)
    except RuntimeError as exc:   # size mismatches
        if isinstance(exc, EngineError):
            raise
        raise EngineError(f"net file {path} does not fit PoseInitNet: {str(exc).strip().splitlines()[-1].strip()}") from None
    return net.eval()


def load_descent(path: str | os.PathLike, body=None) -> DescentNet:
    """A ``DescentNet`` in eval mode from a checkpoint file.

    Args:
        body: the ``SparseBody`` to build the net around (default: from ``load_body_model()``); the
            checkpoint's body buffers, when present, replace its own (module docstring).
    Raises:
        EngineError: unreadable file, a config or weights that do not fit the net or the body (one line).
    """
    path = Path(path)
    ckpt = read_checkpoint(path)
    cfg = _config(DescentConfig, ckpt["config"], path)
    if body is None:
        from mocap.models.body.smplx_model import load_body_model
        from mocap.models.nets.body_fk import SparseBody

        body = SparseBody(load_body_model())
    net = DescentNet(body, cfg)
    try:
        _load_state(net, ckpt["state_dict"], path, optional_prefix="body.")
    except RuntimeError as exc:
        if isinstance(exc, EngineError):
            raise
        raise EngineError(f"net file {path} does not fit DescentNet (another body model's vertex subset?): "
                          f"{str(exc).strip().splitlines()[-1].strip()}") from None
    return net.eval()
