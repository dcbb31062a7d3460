"""C3D marker clips (CMU 41-marker set) -> joint centres -> a skeletal ``Motion`` the retargeter can use.

Steps (each a function below):

1. ``read_c3d_markers``: the C3D file through the PyPI ``c3d`` package (header frame rate, POINT:LABELS,
   POINT:UNITS, float or integer frames scaled by the package); the subject prefix of every label
   (``Male:LFWT``, ``male:LFHD``) is stripped, units converted to metres.
2. ``zup_to_yup``: C3D/Vicon world (Z up, right-handed) -> project world (y up, right-handed):
   ``(x, y, z) -> (x, z, -y)`` (a -90 degree rotation about x; determinant +1, so nothing is mirrored);
   the same map as ``motion._TO_WORLD['z']``.
3. ``joint_centres``: the 18 points the SMPL-X correspondence needs, from the markers (below).
4. ``joints_to_motion``: a rigid skeleton (median bone lengths) whose FK reproduces every joint's
   per-frame DIRECTION from its parent exactly (retarget.py uses bones only through their directions and
   takes the lengths from the model); the root rotation is the pelvis frame from the four waist markers,
   so ``Motion.rotations[:, 0]`` is the pelvis's orientation like every other reader's root.

Marker names: CMU Graphics Lab "Marker placement guide" (mocap.cs.cmu.edu, markerPlacementGuide.pdf),
the 41-marker set of the CMU database (a Vicon Plug-in-Gait-like set with a waist belt and wrist bars):
head band LFHD RFHD LBHD RBHD; C7, T10, CLAV (jugular notch), STRN (xiphoid), RBAC (asymmetry marker on
the right scapula); LSHO/RSHO (acromio-clavicular joint), LUPA/RUPA (upper arm), LELB/RELB (lateral
epicondyle of the humerus), LFRM/RFRM (forearm), LWRA/RWRA and LWRB/RWRB (wrist bar, thumb and little-
finger side), LFIN/RFIN; waist LFWT RFWT LBWT RBWT (front / back waist, over the ASIS / PSIS);
LTHI/RTHI (thigh), LKNE/RKNE (lateral femoral epicondyle), LSHN/RSHN (shin), LANK/RANK (lateral
malleolus), LHEE/RHEE (calcaneus), LTOE/RTOE (second metatarsal head), LMT5/RMT5 (fifth metatarsal head).

Joint centres (constants below, all documented assumptions; the subjects' own widths were not measured):

* hips: Harrington et al. 2007, "Prediction of the hip joint centre in adults, children, and patients with
  cerebral palsy based on magnetic resonance imaging", J. Biomech. 40(3):595-602, the regression on pelvis
  width PW (inter-ASIS) and depth PD (mid-ASIS to mid-PSIS), in mm from the mid-ASIS point, pelvis frame
  (x forward, y up, z lateral): x = -0.24 PD - 9.9, y = -0.30 PW - 10.9, z = +-(0.33 PW + 7.3). The
  front / back waist markers stand in for ASIS / PSIS.
* pelvis (SMPL-X root): the hip-centre midpoint raised along the pelvis up axis by 0.35 of the hip-centre
  spacing (the open SMPL-X model's rest pose: pelvis 8 cm above hips 23 cm apart).
* knees / elbows: the lateral marker moved medially along the joint's flexion axis by half the joint
  width plus the marker radius (Plug-in-Gait convention, Vicon "Plug-in Gait Reference Guide", knee /
  elbow width subject measurements); widths are typical adult values (knee 105 mm, elbow 70 mm, marker
  radius 7 mm). The flexion axis is the normal of the limb's bend plane (proximal joint, joint centre,
  distal joint; a few fixed-point iterations), faded (below ~17 degrees of bend) into the medial
  direction towards the trunk when the limb is straight and the plane undefined.
* ankles: LANK/RANK moved medially by half the ankle width (70 mm) plus the marker radius, along the
  axis perpendicular to the shank and the heel-to-toe line.
* feet (SMPL-X foot, near the ball of the foot): the mean of TOE and MT5.
* wrists: the midpoint of the two wrist-bar markers (WRA, WRB), which straddle the joint.
* shoulders (glenohumeral centre): the SHO marker moved 55 mm (40 mm offset + marker radius + pad) down
  along the thorax axis (T10/STRN midpoint -> C7/CLAV midpoint); Plug-in-Gait likewise places the
  shoulder joint centre below the acromion marker by the "shoulder offset".
* spine3 (chest): mean of T10 and STRN; neck: mean of C7 and CLAV; head: mean of the 4 head markers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .motion import Motion, axis_angle_to_matrix

__all__ = ["CMU_MARKERS", "JOINTS", "joint_centres", "joints_to_motion", "pelvis_frame", "read_c3d_markers",
           "read_c3d_motion", "strip_prefix", "zup_to_yup"]

CMU_MARKERS = ("LFHD RFHD LBHD RBHD C7 T10 CLAV STRN RBAC LSHO LUPA LELB LFRM LWRA LWRB LFIN RSHO RUPA RELB "
               "RFRM RWRA RWRB RFIN LFWT RFWT LBWT RBWT LTHI LKNE LSHN LANK LHEE LTOE LMT5 RTHI RKNE RSHN "
               "RANK RHEE RTOE RMT5").split()

KNEE_WIDTH_M = 0.105
ELBOW_WIDTH_M = 0.070
ANKLE_WIDTH_M = 0.070
MARKER_RADIUS_M = 0.007
SHOULDER_DROP_M = 0.055
PELVIS_ABOVE_HIPS = 0.35   # x hip-centre spacing

# Joint centres, parents before children, with their parent (the skeleton of ``joints_to_motion``).
JOINTS: dict[str, str | None] = {
    "pelvis": None, "left_hip": "pelvis", "right_hip": "pelvis", "spine3": "pelvis",
    "left_knee": "left_hip", "right_knee": "right_hip", "left_ankle": "left_knee", "right_ankle": "right_knee",
    "left_foot": "left_ankle", "right_foot": "right_ankle", "neck": "spine3", "head": "neck",
    "left_shoulder": "spine3", "right_shoulder": "spine3", "left_elbow": "left_shoulder",
    "right_elbow": "right_shoulder", "left_wrist": "left_elbow", "right_wrist": "right_elbow",
}
# Rest (T-pose, y up, facing +z, left at +x) directions of each bone; lengths come from the data.
_REST_DIR = {
    "left_hip": (1.0, -0.7, 0.0), "right_hip": (-1.0, -0.7, 0.0), "spine3": (0.0, 1.0, 0.0),
    "left_knee": (0.0, -1.0, 0.0), "right_knee": (0.0, -1.0, 0.0), "left_ankle": (0.0, -1.0, 0.0),
    "right_ankle": (0.0, -1.0, 0.0), "left_foot": (0.0, -0.4, 1.0), "right_foot": (0.0, -0.4, 1.0),
    "neck": (0.0, 1.0, 0.0), "head": (0.0, 1.0, 0.1), "left_shoulder": (1.0, 0.8, 0.0),
    "right_shoulder": (-1.0, 0.8, 0.0), "left_elbow": (1.0, 0.0, 0.0), "right_elbow": (-1.0, 0.0, 0.0),
    "left_wrist": (1.0, 0.0, 0.0), "right_wrist": (-1.0, 0.0, 0.0),
}

_UNIT_TO_M = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}


def strip_prefix(label: str) -> str:
    """``'Male:LFWT  '`` -> ``'LFWT'`` (subject prefix up to the last ':' and padding removed)."""
    return label.strip().rsplit(":", 1)[-1].strip()


def read_c3d_markers(path: str | Path) -> tuple[dict[str, np.ndarray], float]:
    """Marker trajectories of a C3D file.

    Returns:
        ({marker name without prefix: (T, 3) metres, source axes (Z up)}, header frame rate in Hz).
        Frames where the package flags a marker invalid (negative residual) are NaN.
    Raises:
        ValueError: not a readable C3D file.
    """
    try:
        import c3d
    except ImportError as e:  # pragma: no cover - dependency note
        raise ValueError("reading C3D needs the 'c3d' package (pip install c3d)") from e
    path = Path(path)
    with open(path, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No analog data found in file."
        try:
            r = c3d.Reader(f)
            labels = [strip_prefix(s) for s in r.point_labels]
            units = r.get("POINT:UNITS").string_value.strip().lower() if r.get("POINT:UNITS") else "mm"
            fps = float(r.header.frame_rate)
            frames = [pts[:, :4].copy() for _, pts, _ in r.read_frames()]
        except Exception as e:  # the package raises assorted errors on bad files
            raise ValueError(f"{path}: not a readable C3D file ({e})") from e
    if not frames:
        raise ValueError(f"{path}: no frames")
    if units not in _UNIT_TO_M:
        raise ValueError(f"{path}: unknown POINT:UNITS {units!r}")
    a = np.asarray(frames, dtype=np.float64)                    # (T, M, 4): x y z residual
    xyz = a[..., :3] * _UNIT_TO_M[units]
    xyz[a[..., 3] < 0] = np.nan
    return {n: xyz[:, i] for i, n in enumerate(labels)}, fps


def zup_to_yup(p: np.ndarray) -> np.ndarray:
    """Z-up right-handed points (..., 3) -> y-up right-handed: ``(x, y, z) -> (x, z, -y)``."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Component of v perpendicular to the unit vector ``axis``."""
    return v - np.sum(v * axis, -1, keepdims=True) * axis


def pelvis_frame(mk: dict[str, np.ndarray]) -> np.ndarray:
    """(T, 3, 3) pelvis rotation, columns (left, up, forward) in the y-up world (SMPL-X rest = identity).

    left = left-minus-right waist markers; forward = front-minus-back waist midpoints, made perpendicular.
    """
    left = _unit((mk["LFWT"] + mk["LBWT"]) - (mk["RFWT"] + mk["RBWT"]))
    fwd = (mk["LFWT"] + mk["RFWT"]) - (mk["LBWT"] + mk["RBWT"])
    up = _unit(np.cross(fwd, left))                                 # forward x left = up (z x x = y)
    fwd = np.cross(left, up)
    return np.stack([left, up, fwd], axis=-1)


def _hinge_centre(prox: np.ndarray, marker: np.ndarray, dist: np.ndarray, towards: np.ndarray,
                  lateral_sign: float, offset: float, iters: int = 3) -> np.ndarray:
    """Joint centre medial of a lateral marker on a hinge (knee, elbow).

    The flexion axis is n = unit(upper x lower) of the bend plane through the proximal joint, the joint
    CENTRE and the distal joint; the lateral side is ``lateral_sign * n`` (left knee +1, right knee -1,
    left elbow -1, right elbow +1, anatomical position). The centre is unknown, so this iterates from the
    straight-limb guess (medial = from the marker towards ``towards``, a trunk point, perpendicular to the
    upper bone); using the marker itself in the plane would read its lateral offset as a sideways bend.
    Below ~17 degrees of bend the plane is undefined and the straight-limb direction is faded in.
    """
    u0 = _unit(marker - prox)
    medial_straight = _unit(_perp(towards - marker, u0))
    centre = marker + offset * medial_straight
    for _ in range(iters):
        u = _unit(centre - prox)
        n = np.cross(u, _unit(dist - centre))
        s = np.linalg.norm(n, axis=-1, keepdims=True)
        medial_bent = -lateral_sign * n / np.maximum(s, 1e-12)
        w = np.clip((s - 0.1) / 0.2, 0.0, 1.0)
        centre = marker + offset * _unit(w * medial_bent + (1.0 - w) * medial_straight)
    return centre


def joint_centres(mk: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Joint centres (the names of ``JOINTS``) from CMU markers in the y-up world, metres.

    Args:
        mk: {marker: (T, 3)} (or (3,)-shaped arrays broadcast as one frame), y up, metres.
    Returns:
        {joint: (T, 3)}; see the module docstring for every rule and constant.
    """
    mk = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in mk.items()}
    missing = [m for m in CMU_MARKERS if m not in mk and m != "RBAC"]
    if missing:
        raise ValueError(f"C3D: CMU markers missing: {missing}")
    rot = pelvis_frame(mk)
    left, up, fwd = rot[..., 0], rot[..., 1], rot[..., 2]
    asis = 0.5 * (mk["LFWT"] + mk["RFWT"])
    psis = 0.5 * (mk["LBWT"] + mk["RBWT"])
    pw = np.linalg.norm(mk["LFWT"] - mk["RFWT"], axis=-1, keepdims=True) * 1000.0   # mm
    pd = np.linalg.norm(asis - psis, axis=-1, keepdims=True) * 1000.0
    x, y, z = -0.24 * pd - 9.9, -0.30 * pw - 10.9, 0.33 * pw + 7.3                  # Harrington 2007, mm
    j: dict[str, np.ndarray] = {}
    j["left_hip"] = asis + (x * fwd + y * up + z * left) / 1000.0
    j["right_hip"] = asis + (x * fwd + y * up - z * left) / 1000.0
    spacing = np.linalg.norm(j["left_hip"] - j["right_hip"], axis=-1, keepdims=True)
    j["pelvis"] = 0.5 * (j["left_hip"] + j["right_hip"]) + PELVIS_ABOVE_HIPS * spacing * up
    j["spine3"] = 0.5 * (mk["T10"] + mk["STRN"])
    j["neck"] = 0.5 * (mk["C7"] + mk["CLAV"])
    j["head"] = 0.25 * (mk["LFHD"] + mk["RFHD"] + mk["LBHD"] + mk["RBHD"])
    thorax_up = _unit(j["neck"] - j["spine3"])
    for s, side_sign in (("L", 1.0), ("R", -1.0)):
        side = "left" if s == "L" else "right"
        ank = mk[s + "ANK"]
        shank_up = _unit(mk[s + "KNE"] - ank)
        foot_fwd = mk[s + "TOE"] - mk[s + "HEE"]
        foot_left = _unit(np.cross(shank_up, foot_fwd))                  # up x forward = left
        j[f"{side}_ankle"] = ank - side_sign * (0.5 * ANKLE_WIDTH_M + MARKER_RADIUS_M) * foot_left
        j[f"{side}_knee"] = _hinge_centre(j[f"{side}_hip"], mk[s + "KNE"], j[f"{side}_ankle"], j["pelvis"],
                                          side_sign, 0.5 * KNEE_WIDTH_M + MARKER_RADIUS_M)
        j[f"{side}_foot"] = 0.5 * (mk[s + "TOE"] + mk[s + "MT5"])
        j[f"{side}_shoulder"] = mk[s + "SHO"] - SHOULDER_DROP_M * thorax_up
        j[f"{side}_wrist"] = 0.5 * (mk[s + "WRA"] + mk[s + "WRB"])
        j[f"{side}_elbow"] = _hinge_centre(j[f"{side}_shoulder"], mk[s + "ELB"], j[f"{side}_wrist"],
                                           j["spine3"], -side_sign, 0.5 * ELBOW_WIDTH_M + MARKER_RADIUS_M)
    return {n: j[n] for n in JOINTS}


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) minimal rotations turning direction a (3,) onto directions b (T, 3)."""
    a = _unit(np.broadcast_to(a, b.shape))
    b = _unit(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(a * b, -1)
    ang = np.arctan2(s, c)
    # antiparallel: any axis perpendicular to a
    alt = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    axis = np.where((s < 1e-9)[:, None], alt, axis)
    return axis_angle_to_matrix(_unit(axis) * ang[:, None])


def joints_to_motion(joints: dict[str, np.ndarray], root_rot: np.ndarray, fps: float, source: str = "",
                     meta: dict | None = None) -> Motion:
    """A y-up ``Motion`` whose FK puts every joint on its parent's per-frame bone direction.

    The skeleton is ``JOINTS`` plus one zero-length ``<joint>_dir`` joint before each non-root joint that
    carries the bone's swing, so joints with several children (pelvis, spine3) still hit all of them.
    Bone lengths are the per-clip medians (``rest`` is a T-pose facing +z); the root is the pelvis with
    rotation ``root_rot`` (T, 3, 3).
    """
    names, parents, offsets = ["pelvis"], [-1], [np.zeros(3)]
    t = root_rot.shape[0]
    glob = {"pelvis": root_rot}
    rots = [root_rot]
    for name, par in JOINTS.items():
        if par is None:
            continue
        d = joints[name] - joints[par]
        length = float(np.nanmedian(np.linalg.norm(d, axis=-1)))
        rest_dir = _unit(np.asarray(_REST_DIR[name], dtype=np.float64))
        g = _swing(rest_dir, d)                                          # global rotation of the bone
        pi = names.index(par)
        names += [name + "_dir", name]
        parents += [pi, len(names) - 2]
        offsets += [np.zeros(3), length * rest_dir]
        rots += [np.swapaxes(glob[par], -1, -2) @ g, np.broadcast_to(np.eye(3), (t, 3, 3))]
        glob[name] = g
    return Motion(joint_names=names, parents=np.array(parents), offsets_m=np.array(offsets),
                  rotations=np.stack(rots, axis=1), root_translation_m=joints["pelvis"], fps=fps,
                  source=source, up_axis="y", meta=dict(meta or {}))


def _fill_gaps(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN frames of (T, 3) (edges held); all-NaN -> ValueError."""
    ok = np.all(np.isfinite(x), -1)
    if ok.all():
        return x
    if not ok.any():
        raise ValueError("a marker has no valid frame")
    t = np.arange(len(x))
    return np.stack([np.interp(t, t[ok], x[ok, k]) for k in range(3)], -1)


def read_c3d_motion(path: str | Path, fps: float | None = None) -> Motion:
    """Read a CMU 41-marker C3D clip as a y-up skeletal ``Motion`` (variant ``'c3d_markers'``).

    Args:
        path: .c3d file; fps: true frame rate (default: the header's).
    """
    raw, fps_file = read_c3d_markers(path)
    mk = {k: zup_to_yup(_fill_gaps(v)) for k, v in raw.items()}
    joints = joint_centres(mk)
    meta = {"variant": "c3d_markers", "fps_in_file": fps_file, "markers": sorted(raw),
            "reference_frame": None}
    return joints_to_motion(joints, pelvis_frame(mk), float(fps or fps_file), source=str(path), meta=meta)
