"""Readers for the mocap formats of data/mocap: BVH (cgspeed MotionBuilder, Daz, 3dsMax), ASF/AMC, CMU exp-map CSV.

Every reader returns a ``Motion`` (motion.py) in metres, in the source's axes (all three are y up),
with local rotations in the column-vector, rest-relative convention of motion.py and ``fps`` set to the
TRUE frame rate. Malformed files raise a one-line ``ValueError`` naming the file and the line.
Facts about the formats are from data/mocap/SOURCES.md unless another source is named.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from .motion import Motion, axis_angle_to_matrix, euler_to_matrix

__all__ = ["CMU_UNIT_M", "bvh_variant", "known_true_fps", "read_asf_amc", "read_bvh", "read_expmap_csv"]

INCH_M = 0.0254
# CMU ASF ':units length 0.45': 1 length unit = 1/0.45 inch = 0.056444 m (SOURCES.md; the cgspeed
# MotionBuilder and 3dsMax BVH and the exp-map CSVs keep these units).
CMU_UNIT_M = INCH_M / 0.45

# cgspeed variant -> (length unit in metres, has a reference frame first). SOURCES.md table
# "The cgspeed BVH variants": MotionBuilder: CMU units, frame 1 = T-pose added by cgspeed;
# Daz: centimetres, frame 1 = rest pose; 3dsMax: CMU units, no added frame.
_BVH_VARIANTS = {"motionbuilder": (CMU_UNIT_M, True), "daz": (0.01, True), "3dsmax": (CMU_UNIT_M, False)}


def _err(path, lineno: int | None, msg: str) -> ValueError:
    where = f"{os.fspath(path)}:{lineno}" if lineno else os.fspath(path)
    return ValueError(f"{where}: {msg}")


def _read_lines(path) -> list[str]:
    """The file's lines without line endings (CRLF, LF and mixed files, as in the archives)."""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace").splitlines()


def known_true_fps(path) -> float | None:
    """The true frame rate where the file states a wrong one, else None.

    The CMU salsa trials (subjects 60 and 61) were captured at 60 fps although every cgspeed file says
    Frame Time .0083333 (SOURCES.md, "Frame rate"; papagina/Auto_Conditioned_RNN_motion
    train_data_bvh/readme.txt: "salsa framerate 60"). Matched by the ``salsa`` folder of that repository
    or a CMU trial name 60_xx / 61_xx.
    """
    p = Path(path)
    if "salsa" in (s.lower() for s in p.parts[:-1]) or re.match(r"^6[01]_\d+", p.name):
        return 60.0
    return None


def _snap_fps(fps: float) -> float:
    """1/.0083333 = 120.0012 Hz: snap to the integer rate when within 0.1 %."""
    r = round(fps)
    return float(r) if r > 0 and abs(fps - r) <= 1e-3 * r else float(fps)


def bvh_variant(joint_names: list[str]) -> str:
    """'motionbuilder', 'daz', '3dsmax' (cgspeed conversions, told apart by joint names) or 'generic'."""
    names = set(joint_names)
    if joint_names and joint_names[0] == "hip" and {"lShldr", "rShldr", "lThigh"} <= names:
        return "daz"
    if joint_names and joint_names[0] == "Hips" and {"LeftUpLeg", "LeftArm", "LHipJoint"} <= names:
        return "motionbuilder"
    if joint_names and joint_names[0] == "Hips" and {"LeftHip", "LeftKnee", "LeftCollar"} <= names:
        return "3dsmax"
    return "generic"


# ----------------------------------------------------------------------------- BVH

def read_bvh(path, *, fps: float | None = None, units_m: float | None = None,
             keep_reference_frame: bool = False) -> Motion:
    """Read a BVH file.

    Rotation channels are Euler angles in degrees, applied in the listed order to the moving frame
    (``R = R_c0 @ R_c1 @ R_c2``), per joint: cgspeed MotionBuilder ZYX everywhere, Daz ZYX root / ZXY
    others, 3dsMax ZYX with ZXY on the arm chain; all are read from each joint's CHANNELS line.
    End Sites become joints named ``<parent>_End`` with ``end_sites`` True and identity rotation.

    Args:
        path: the .bvh file.
        fps: the true rate; None takes ``known_true_fps(path)`` (salsa: 60) or else the Frame Time line.
        units_m: metres per file length unit; None takes the cgspeed variant's (Daz cm: 0.01;
            MotionBuilder/3dsMax CMU units: 0.0254/0.45). Required for other BVH files.
        keep_reference_frame: the MotionBuilder (T-pose) and Daz (rest pose) conversions put one
            reference frame first. False drops it and keeps it in ``meta['reference_rotations']``
            (J, 3, 3) and ``meta['reference_root_m']``; True keeps it as frame 0.
            ``meta['reference_frame']`` says which: 'dropped', 'kept', or 'none' (3dsMax, generic).

    Returns:
        Motion (metres, y up as in the file), ``meta`` with 'variant', 'fps_in_file', 'frames_in_file'.

    Raises:
        ValueError: malformed file ('<path>:<line>: <what>'), or a non-cgspeed file without units_m.
    """
    lines = _read_lines(path)
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    end_site: list[bool] = []
    chans: list[list[str]] = []
    stack: list[int] = []
    pending: int | None = None
    motion_line = None
    seen_header = False
    for lineno, line in enumerate(lines, 1):
        tok = line.split()
        if not tok:
            continue
        kw = tok[0]
        if not seen_header:
            if kw != "HIERARCHY":
                raise _err(path, lineno, f"expected HIERARCHY, found {line.strip()[:40]!r}")
            seen_header = True
            continue
        if kw in ("ROOT", "JOINT") or (kw == "End" and len(tok) > 1 and tok[1] == "Site"):
            if pending is not None:
                raise _err(path, lineno, "joint declared before '{' of the previous one")
            if kw == "ROOT" and (stack or names):
                raise _err(path, lineno, "a second ROOT (only one skeleton per file is supported)")
            if kw != "ROOT" and not stack:
                raise _err(path, lineno, f"{kw} outside any joint")
            if kw == "End":
                name = names[stack[-1]] + "_End"
            elif len(tok) < 2:
                raise _err(path, lineno, f"{kw} without a name")
            else:
                name = " ".join(tok[1:])
            pending = len(names)
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            end_site.append(kw == "End")
            chans.append([])
        elif kw == "{":
            if pending is None:
                raise _err(path, lineno, "'{' without a joint")
            stack.append(pending)
            pending = None
        elif kw == "}":
            if not stack:
                raise _err(path, lineno, "unbalanced '}'")
            stack.pop()
        elif kw == "OFFSET":
            if not stack or len(tok) != 4:
                raise _err(path, lineno, "OFFSET needs 3 numbers inside a joint")
            try:
                offsets[stack[-1]] = [float(v) for v in tok[1:]]
            except ValueError:
                raise _err(path, lineno, f"OFFSET is not numeric: {line.strip()!r}") from None
        elif kw == "CHANNELS":
            if not stack or end_site[stack[-1]]:
                raise _err(path, lineno, "CHANNELS outside a joint (or in an End Site)")
            try:
                n = int(tok[1])
            except (IndexError, ValueError):
                raise _err(path, lineno, "CHANNELS needs a count") from None
            c = tok[2:]
            if len(c) != n:
                raise _err(path, lineno, f"CHANNELS says {n} but lists {len(c)}")
            ok = {"Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation"}
            if any(x not in ok for x in c) or len(set(c)) != len(c):
                raise _err(path, lineno, f"unknown or repeated channel in {' '.join(c)}")
            if stack[-1] != 0 and any(x.endswith("position") for x in c):
                raise _err(path, lineno, "position channels on a non-root joint are not supported")
            chans[stack[-1]] = c
        elif kw == "MOTION":
            if stack or pending is not None:
                raise _err(path, lineno, "MOTION before the hierarchy was closed")
            motion_line = lineno
            break
        else:
            raise _err(path, lineno, f"unexpected {kw!r} in HIERARCHY")
    if not seen_header:
        raise _err(path, None, "empty file (no HIERARCHY)")
    if motion_line is None:
        raise _err(path, len(lines), "no MOTION section")
    if not names:
        raise _err(path, motion_line, "no joints before MOTION")

    # MOTION: 'Frames: n', 'Frame Time: dt' (tabs or spaces), then one row per frame.
    rest = [(i, lines[i - 1]) for i in range(motion_line + 1, len(lines) + 1) if lines[i - 1].strip()]
    if len(rest) < 2:
        raise _err(path, motion_line, "MOTION without Frames and Frame Time lines")
    (ln_f, l_f), (ln_t, l_t) = rest[0], rest[1]
    m_f = re.match(r"^\s*Frames:\s*(\d+)\s*$", l_f)
    if not m_f:
        raise _err(path, ln_f, f"expected 'Frames: <n>', found {l_f.strip()[:40]!r}")
    m_t = re.match(r"^\s*Frame Time:\s*([-+0-9.eE]+)\s*$", l_t)
    try:
        dt = float(m_t.group(1)) if m_t else -1.0
    except ValueError:
        dt = -1.0
    if not dt > 0:
        raise _err(path, ln_t, f"expected 'Frame Time: <seconds > 0>', found {l_t.strip()[:40]!r}")
    n_frames = int(m_f.group(1))
    rows = rest[2:]
    if len(rows) != n_frames:
        where = rows[-1][0] if rows else ln_t
        raise _err(path, where, f"Frames says {n_frames} but {len(rows)} data rows follow")
    n_ch = sum(len(c) for c in chans)
    split = [r.split() for _, r in rows]
    for (ln, _), s in zip(rows, split):
        if len(s) != n_ch:
            raise _err(path, ln, f"{len(s)} values, the hierarchy declares {n_ch} channels")
    try:
        data = np.array(split, dtype=np.float64).reshape(n_frames, n_ch)
    except ValueError:
        for (ln, r), s in zip(rows, split):
            try:
                [float(v) for v in s]
            except ValueError:
                raise _err(path, ln, f"non-numeric value in {r.strip()[:40]!r}") from None
        raise
    if not np.all(np.isfinite(data)):
        bad = int(np.argwhere(~np.isfinite(data))[0, 0])
        raise _err(path, rows[bad][0], "non-finite value (nan/inf)")

    variant = bvh_variant(names)
    if units_m is None:
        if variant == "generic":
            raise _err(path, None, "not a cgspeed BVH (unknown joint names): pass units_m (metres per unit)")
        units_m = _BVH_VARIANTS[variant][0]
    has_ref = variant != "generic" and _BVH_VARIANTS[variant][1]

    j = len(names)
    rot = np.broadcast_to(np.eye(3), (n_frames, j, 3, 3)).copy()
    root = np.tile(np.asarray(offsets[0]), (n_frames, 1))  # the root OFFSET is folded into the translation
    col = 0
    for k, c in enumerate(chans):
        block = data[:, col:col + len(c)]
        col += len(c)
        r_idx = [i for i, x in enumerate(c) if x.endswith("rotation")]
        for i, x in enumerate(c):
            if x.endswith("position"):
                root[:, "XYZ".index(x[0])] += block[:, i]
        if r_idx:
            order = "".join(c[i][0] for i in r_idx)
            rot[:, k] = euler_to_matrix(np.deg2rad(block[:, r_idx]), order, intrinsic=True)
    offs = np.asarray(offsets) * units_m
    offs[0] = 0.0
    root = root * units_m

    fps_in_file = _snap_fps(1.0 / dt)
    true_fps = fps if fps is not None else (known_true_fps(path) or fps_in_file)
    meta = {"format": "bvh", "variant": variant, "fps_in_file": fps_in_file, "frames_in_file": n_frames,
            "units_m": units_m, "channel_orders": {names[k]: "".join(x[0] for x in c if x.endswith("rotation"))
                                                   for k, c in enumerate(chans) if c}}
    rot, root, meta = _handle_reference(path, rot, root, meta, has_ref, keep_reference_frame)
    return Motion(joint_names=names, parents=np.asarray(parents), offsets_m=offs, rotations=rot,
                  root_translation_m=root, fps=float(true_fps), source=os.fspath(path), up_axis="y",
                  end_sites=np.asarray(end_site), meta=meta)


def _handle_reference(path, rot, root, meta, has_ref: bool, keep: bool):
    if not has_ref:
        meta["reference_frame"] = "none"
        return rot, root, meta
    if keep:
        meta["reference_frame"] = "kept"
        return rot, root, meta
    if rot.shape[0] < 2:
        raise _err(path, None, "only the reference frame, no motion frames")
    meta["reference_frame"] = "dropped"
    meta["reference_rotations"] = rot[0].copy()
    meta["reference_root_m"] = root[0].copy()
    return rot[1:], root[1:], meta


# ----------------------------------------------------------------------------- ASF/AMC

def _parse_asf(path):
    lines = _read_lines(path)
    units = {"length": 1.0, "angle": "deg"}
    root = {"order": None, "axis": "XYZ", "position": [0.0] * 3, "orientation": [0.0] * 3}
    bones: dict[str, dict] = {}
    children: dict[str, list[str]] = {}
    section = None
    bone: dict | None = None
    bone_line = 0
    for lineno, line in enumerate(lines, 1):
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        if tok[0].startswith(":"):
            section = tok[0][1:]
            if section in ("name", "version"):
                section = None
            continue
        try:
            if section == "units":
                if tok[0] == "length":
                    units["length"] = float(tok[1])
                elif tok[0] == "angle":
                    units["angle"] = tok[1].lower()
            elif section == "root":
                if tok[0] == "order":
                    root["order"] = [t.upper() for t in tok[1:]]
                elif tok[0] == "axis":
                    root["axis"] = tok[1].upper()
                elif tok[0] in ("position", "orientation"):
                    root[tok[0]] = [float(v) for v in tok[1:4]]
            elif section == "bonedata":
                if tok[0] == "begin":
                    bone, bone_line = {"dof": [], "axis": [0.0, 0.0, 0.0], "axis_order": "XYZ"}, lineno
                elif tok[0] == "end":
                    if bone is None or "name" not in bone or "direction" not in bone or "length" not in bone:
                        raise _err(path, bone_line, "bone without name, direction or length")
                    bones[bone["name"]] = bone
                    bone = None
                elif bone is None:
                    raise _err(path, lineno, f"{tok[0]!r} outside begin/end")
                elif tok[0] == "name":
                    bone["name"] = tok[1]
                elif tok[0] == "direction":
                    bone["direction"] = [float(v) for v in tok[1:4]]
                elif tok[0] == "length":
                    bone["length"] = float(tok[1])
                elif tok[0] == "axis":
                    bone["axis"] = [float(v) for v in tok[1:4]]
                    bone["axis_order"] = tok[4].upper()
                elif tok[0] == "dof":
                    bone["dof"] = [t.lower() for t in tok[1:]]
            elif section == "hierarchy":
                if tok[0] in ("begin", "end"):
                    continue
                children.setdefault(tok[0], []).extend(tok[1:])
        except (IndexError, ValueError):
            raise _err(path, lineno, f"cannot read {line.strip()[:50]!r}") from None
    if not bones:
        raise _err(path, None, "no :bonedata")
    if "root" not in children:
        raise _err(path, None, "no :hierarchy starting at root")
    for b in bones.values():
        bad = [d for d in b["dof"] if d not in ("rx", "ry", "rz")]
        if bad:
            raise _err(path, None, f"bone {b['name']}: dof {bad} not supported (rotations only)")
        if len(b["axis"]) != 3 or sorted(b["axis_order"]) != ["X", "Y", "Z"]:
            raise _err(path, None, f"bone {b['name']}: bad axis line")
    if root["order"] is None:
        root["order"] = ["TX", "TY", "TZ", "RX", "RY", "RZ"]
    return units, root, bones, children


def read_asf_amc(asf_path, amc_path, *, fps: float | None = None, units_m: float | None = None) -> Motion:
    """Read an Acclaim skeleton (.asf) and motion (.amc), e.g. HDM05 or CMU.

    Acclaim semantics (as in the CMU/Acclaim viewers): each bone has a rest direction and length in
    world axes and an ``axis a b c ORDER`` line giving its local frame ``C`` (Euler angles, first letter
    applied first: 'XYZ' -> ``C = Rz Ry Rx``). A frame's dof values (in the ``dof`` order, the same
    composition rule) give ``M``; the bone's rotation relative to its parent, in world-aligned axes, is
    ``C M C^T``. The root uses ``:root axis``/``orientation`` for C and its ``order`` line for the six
    AMC values (HDM05: ``order TX TY TZ RX RY RZ``, ``axis XYZ``).

    Joints of the returned Motion are 'root', then each bone at its START (the parent bone's tip) in
    depth-first order, then for each leaf bone a tip joint '<bone>_end' (end_sites True). Offsets are
    ``direction * length`` of the parent bone; bones hanging off the root start at the root.

    Units: the ASF ``:units length L`` means 1 unit = 1/L inch (CMU and HDM05: L = 0.45, 0.056444 m;
    SOURCES.md); ``angle deg|rad`` and the AMC ``:DEGREES``/``:RADIANS`` header set the angle unit.

    Args:
        asf_path, amc_path: the two files.
        fps: true rate; None reads HDM05's ``_<fps>.amc`` file-name suffix, else 120 (CMU and HDM05
            capture at 120 Hz; SOURCES.md).
        units_m: metres per length unit, overriding the ASF ``:units``.

    Returns:
        Motion in metres, y up (HDM05/CMU), ``meta['reference_frame'] = 'none'``.

    Raises:
        ValueError: malformed ASF or AMC ('<path>:<line>: <what>').
    """
    units, root, bones, children = _parse_asf(asf_path)
    if units_m is None:
        if not units["length"] > 0:
            raise _err(asf_path, None, f":units length must be > 0, got {units['length']}")
        units_m = INCH_M / units["length"]
    asf_deg = units["angle"].startswith("deg")

    # Depth-first joint order from the hierarchy.
    names, parents, bone_of = ["root"], [-1], [None]
    end_names: list[tuple[str, int]] = []
    todo = [(c, 0) for c in reversed(children["root"])]
    while todo:
        b, p = todo.pop()
        if b not in bones:
            raise _err(asf_path, None, f":hierarchy names bone {b!r} missing from :bonedata")
        if b in names:
            raise _err(asf_path, None, f"bone {b!r} appears twice in :hierarchy")
        names.append(b)
        parents.append(p)
        bone_of.append(b)
        idx = len(names) - 1
        kids = children.get(b, [])
        todo.extend((c, idx) for c in reversed(kids))
        if not kids:
            end_names.append((b, idx))
    # End sites after all bones (parents still precede children).
    for b, idx in end_names:
        names.append(b + "_end")
        parents.append(idx)
        bone_of.append(None)
    j = len(names)
    offsets = np.zeros((j, 3))
    for k in range(1, j):
        pb = bone_of[parents[k]]
        if pb is not None:
            bd = bones[pb]
            offsets[k] = np.asarray(bd["direction"]) * bd["length"] * units_m
    end_sites = np.array([k > 0 and bone_of[k] is None for k in range(j)])

    # AMC.
    lines = _read_lines(amc_path)
    amc_deg = asf_deg
    frames: list[dict[str, tuple[int, list[str]]]] = []
    for lineno, line in enumerate(lines, 1):
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        if tok[0].startswith(":"):
            if tok[0].upper() == ":DEGREES":
                amc_deg = True
            elif tok[0].upper() == ":RADIANS":
                amc_deg = False
            continue
        if len(tok) == 1 and tok[0].isdigit():
            if int(tok[0]) != len(frames) + 1:
                raise _err(amc_path, lineno, f"frame {tok[0]} follows frame {len(frames)} (frames must count from 1)")
            frames.append({})
            continue
        if not frames:
            raise _err(amc_path, lineno, f"data before the first frame number: {line.strip()[:40]!r}")
        frames[-1][tok[0]] = (lineno, tok[1:])
    if not frames:
        raise _err(amc_path, None, "no frames")

    want = {"root": len(root["order"])}
    want.update({b: len(bones[b]["dof"]) for b in names[1:] if b in bones and bones[b]["dof"]})
    t = len(frames)
    vals = {b: np.empty((t, n)) for b, n in want.items()}
    for f, fr in enumerate(frames):
        for b, n in want.items():
            if b not in fr:
                raise _err(amc_path, None, f"frame {f + 1} has no line for {b!r}")
            ln, v = fr[b]
            if len(v) != n:
                raise _err(amc_path, ln, f"{b} has {len(v)} values, the ASF declares {n}")
            try:
                vals[b][f] = [float(x) for x in v]
            except ValueError:
                raise _err(amc_path, ln, f"non-numeric value in {b} line") from None
        unknown = set(fr) - set(want) - set(bones)
        if unknown:
            first = min(unknown, key=lambda b: fr[b][0])
            raise _err(amc_path, fr[first][0], f"unknown bone {first!r}")
    if not all(np.all(np.isfinite(v)) for v in vals.values()):
        raise _err(amc_path, None, "non-finite value (nan/inf)")

    to_rad = (np.pi / 180.0) if amc_deg else 1.0
    asf_rad = (np.pi / 180.0) if asf_deg else 1.0
    rot = np.broadcast_to(np.eye(3), (t, j, 3, 3)).copy()
    # Root: translation and rotation channels named by ':root order'.
    ro = root["order"]
    trans = np.zeros((t, 3))
    r_cols, r_axes = [], ""
    for i, ch in enumerate(ro):
        if ch in ("TX", "TY", "TZ"):
            trans[:, "XYZ".index(ch[1])] = vals["root"][:, i]
        elif ch in ("RX", "RY", "RZ"):
            r_cols.append(i)
            r_axes += ch[1]
        else:
            raise _err(asf_path, None, f":root order has unknown channel {ch!r}")
    c_root = euler_to_matrix(np.asarray(root["orientation"]) * asf_rad, root["axis"], intrinsic=False)
    if r_cols:
        m = euler_to_matrix(vals["root"][:, r_cols] * to_rad, r_axes, intrinsic=False)
        rot[:, 0] = c_root @ m @ c_root.T
    for k in range(1, j):
        b = bone_of[k]
        if b is None or not bones[b]["dof"]:
            continue
        bd = bones[b]
        c = euler_to_matrix(np.asarray(bd["axis"]) * asf_rad, bd["axis_order"], intrinsic=False)
        m = euler_to_matrix(vals[b] * to_rad, "".join(d[1].upper() for d in bd["dof"]), intrinsic=False)
        rot[:, k] = c @ m @ c.T
    if fps is None:
        mf = re.search(r"_(\d+)\.amc$", os.fspath(amc_path), flags=re.IGNORECASE)
        fps = float(mf.group(1)) if mf and 0 < int(mf.group(1)) <= 1000 else 120.0
    meta = {"format": "asf/amc", "variant": "acclaim", "asf": os.fspath(asf_path), "units_m": units_m,
            "fps_in_file": None, "frames_in_file": t, "reference_frame": "none"}
    return Motion(joint_names=names, parents=np.asarray(parents), offsets_m=offsets, rotations=rot,
                  root_translation_m=trans * units_m, fps=float(fps), source=os.fspath(amc_path),
                  up_axis="y", end_sites=end_sites, meta=meta)


# ----------------------------------------------------------------------------- exp-map CSV

def read_expmap_csv(csv_path, skeleton_json, *, fps: float = 120.0, units_m: float = CMU_UNIT_M,
                    keep_reference_frame: bool = False) -> Motion:
    """Read a CMU exponential-map CSV (chaneyddtt/Convolutional-Sequence-to-Sequence... data/cmu_mocap).

    Layout (SOURCES.md): no header, 3 + 3 J columns; 0-2 root translation (cgspeed MotionBuilder BVH
    units, y up), then per joint an exponential map (axis * angle, radians), joint 0 the root.
    ``skeleton_json`` gives ``joint_names``, ``parents``, ``offsets_as_listed`` (same units) and
    optionally ``is_end_site``.

    Rotation convention: the source's forward kinematics (``fkl`` in src/forward_kinematics_cmu.py)
    multiplies ROW vectors, ``xyz_i = offset_i @ G_p + xyz_p`` with ``G_i = expmap2rotmat(r_i) @ G_p``.
    In this package's column convention that is ``G_i = G_p @ R_i`` with ``R_i = expmap2rotmat(r_i)^T
    = Rodrigues(-r_i)``; the T-pose row's +0.3665 rad about z on LeftUpLeg is the BVH's -21 degrees.

    Args:
        csv_path: the .txt/.csv file.
        skeleton_json: the skeleton description (skeleton_cmu_expmap.json in the archive).
        fps: true rate; rows are at 120 fps, not resampled (SOURCES.md).
        units_m: metres per unit (CMU: 0.0254/0.45).
        keep_reference_frame: row 1 is the cgspeed T-pose; False drops it (kept in ``meta``).

    Raises:
        ValueError: malformed skeleton or CSV ('<path>:<line>: <what>').
    """
    try:
        with open(skeleton_json, "rb") as f:
            sk = json.loads(f.read().decode("utf-8"))
        names = [str(n) for n in sk["joint_names"]]
        parents = np.asarray(sk["parents"], dtype=np.int64)
        offsets = np.asarray(sk.get("offsets_as_listed", sk.get("offsets")), dtype=np.float64)
        end_sites = np.asarray(sk.get("is_end_site", [False] * len(names)), dtype=bool)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise _err(skeleton_json, None, f"not a skeleton JSON with joint_names/parents/offsets_as_listed ({e})") from None
    j = len(names)
    if parents.shape != (j,) or offsets.shape != (j, 3) or end_sites.shape != (j,):
        raise _err(skeleton_json, None, f"{j} joint names but parents {parents.shape}, offsets {offsets.shape}")
    n_col = 3 + 3 * j
    rows = []
    for lineno, line in enumerate(_read_lines(csv_path), 1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != n_col:
            raise _err(csv_path, lineno, f"{len(parts)} columns, expected {n_col} (3 + 3 x {j} joints)")
        try:
            rows.append([float(x) for x in parts])
        except ValueError:
            raise _err(csv_path, lineno, "non-numeric value") from None
    if not rows:
        raise _err(csv_path, None, "no rows")
    data = np.asarray(rows)
    if not np.all(np.isfinite(data)):
        raise _err(csv_path, int(np.argwhere(~np.isfinite(data))[0, 0]) + 1, "non-finite value (nan/inf)")
    t = data.shape[0]
    rot = axis_angle_to_matrix(-data[:, 3:].reshape(t, j, 3))
    rot[:, end_sites] = np.eye(3)
    root = (data[:, :3] + offsets[0]) * units_m
    offs = offsets * units_m
    offs[0] = 0.0
    meta = {"format": "expmap_csv", "variant": "cmu_expmap", "fps_in_file": None, "frames_in_file": t,
            "units_m": units_m, "skeleton_json": os.fspath(skeleton_json)}
    rot, root, meta = _handle_reference(csv_path, rot, root, meta, True, keep_reference_frame)
    return Motion(joint_names=names, parents=parents, offsets_m=offs, rotations=rot, root_translation_m=root,
                  fps=float(fps), source=os.fspath(csv_path), up_axis="y", end_sites=end_sites, meta=meta)
