"""BVH writer: the SMPL-X skeleton (pelvis root with world translation, body, optional jaw/eyes, 30 finger joints).

File conventions (docs/outputs.md repeats them for users):

* y up, right-handed, the body faces +Z in its rest pose (the SMPL-X model frame); lengths in metres
  or centimetres (``units``).
* Joint names are the SMPL-X names (``pelvis``, ``left_hip``, ..., ``right_thumb3``); the hierarchy is
  SMPL-X's kinematic tree; OFFSETs are the rest (T-pose) joint offsets of the take's body shape (betas)
  from the body model's joint regressor.
* The root ``pelvis`` has OFFSET 0 0 0 and six channels ``Xposition Yposition Zposition Zrotation
  Xrotation Yrotation``: the position channels are the pelvis's absolute world position, so readers
  that add the root OFFSET and readers that take the channels as absolute agree. Every other joint
  has ``Zrotation Xrotation Yrotation`` (``skeleton.BVH_ROTATION_ORDER``), intrinsic, degrees: the
  local rotation relative to the parent is ``R = Rz @ Rx @ Ry`` (column vectors), identity = T-pose.
* Leaf joints (toes, finger tips' last joints, head or jaw/eyes) end in an End Site half as long as
  their own bone, pointing the same way.
* ``Frame Time`` is 1 / the take's frame rate (or the ``fps`` asked for, after resampling).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from mocap.app.formats.skeleton import BVH_ROTATION_ORDER, BVH_UNITS, SkeletonMotion
from scipy.spatial.transform import Rotation
from tqdm import tqdm

_CHUNK = 300   # frames formatted per progress-bar step
_FMT = "%.6f"


def _hierarchy(sm: SkeletonMotion, scale: float) -> tuple[str, list[int]]:
    """The HIERARCHY section text for `sm` (lengths multiplied by `scale`) and the joints in file order.

    BVH lists joints depth first and the MOTION rows follow that order, which is not SMPL-X's index
    order (left_hip, left_knee, ... come before right_hip); the second value says which joint each
    block of three rotation channels belongs to.
    """
    off = sm.offsets * scale
    off[0] = 0.0
    children: dict[int, list[int]] = {j: [] for j in range(len(sm.names))}
    for j in range(1, len(sm.names)):
        children[int(sm.parents[j])].append(j)
    rot_channels = " ".join(f"{a}rotation" for a in BVH_ROTATION_ORDER)
    lines = ["HIERARCHY"]
    order: list[int] = []

    def emit(j: int, depth: int) -> None:
        order.append(j)
        pad = "\t" * depth
        kw = "ROOT" if j == 0 else "JOINT"
        lines.append(f"{pad}{kw} {sm.names[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {off[j, 0]:.6f} {off[j, 1]:.6f} {off[j, 2]:.6f}")
        if j == 0:
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition {rot_channels}")
        else:
            lines.append(f"{pad}\tCHANNELS 3 {rot_channels}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            end = 0.5 * off[j] if j else np.array([0.0, 0.1 * scale, 0.0])
            lines.append(f"{pad}\tEnd Site")
            lines.append(pad + "\t{")
            lines.append(f"{pad}\t\tOFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}")
            lines.append(pad + "\t}")
        lines.append(pad + "}")

    emit(0, 0)
    return "\n".join(lines) + "\n", order


def euler_channels(local_rotmats: np.ndarray) -> np.ndarray:
    """(T, J, 3, 3) local rotations -> (T, J, 3) BVH angles in degrees, ``BVH_ROTATION_ORDER`` intrinsic."""
    T, J = local_rotmats.shape[:2]
    # scipy: upper-case axes = intrinsic rotations, R = R_a0 @ R_a1 @ R_a2, the BVH reading.
    eul = Rotation.from_matrix(local_rotmats.reshape(-1, 3, 3)).as_euler(BVH_ROTATION_ORDER, degrees=True)
    return eul.reshape(T, J, 3)


def skeleton2bvh(sm: SkeletonMotion, path: str | os.PathLike, units: str = "m",
                 progress: bool = False) -> Path:
    """Write `sm` as a BVH file (module docstring for the conventions) and return its path.

    Args:
        sm: the skeleton motion (metres, y up).
        path: the .bvh file to write (written to a temporary name, then renamed).
        units: "m" or "cm" for OFFSETs and root positions.
        progress: show a tqdm bar over the frames.
    Raises:
        ValueError: unknown units.
        OSError: the file cannot be written.
    """
    if units not in BVH_UNITS:
        raise ValueError(f"BVH units must be one of {sorted(BVH_UNITS)}, got {units!r}")
    scale = BVH_UNITS[units]
    path = Path(path)
    T = sm.num_frames
    header, order = _hierarchy(sm, scale)
    eul = euler_channels(sm.local_rotmats)[:, order]                      # (T, J, 3) degrees, file order
    data = np.concatenate([sm.root_pos * scale, eul.reshape(T, -1)], 1)   # (T, 3 + 3 J)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", newline="\n") as f:
            f.write(header)
            f.write(f"MOTION\nFrames: {T}\nFrame Time: {1.0 / sm.fps:.8f}\n")
            with tqdm(total=T, unit="frame", desc="BVH", disable=not progress, leave=False) as bar:
                for a in range(0, T, _CHUNK):
                    buf = io.StringIO()
                    np.savetxt(buf, data[a:a + _CHUNK], fmt=_FMT, delimiter=" ")
                    f.write(buf.getvalue())
                    bar.update(min(_CHUNK, T - a))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
