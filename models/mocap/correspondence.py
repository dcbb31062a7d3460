"""Joint correspondences from each mocap skeleton to the 22 SMPL-X body joints (data, with the reasons).

A table maps an SMPL-X body joint name (``smplx_layout.JOINT_NAMES[:22]``) to the source joint whose
POSITION means the same point. Joints with no counterpart are left out (the IK leaves them to its
priors). Retargeting uses these positions only through bone DIRECTIONS (retarget.py scales every bone to
the model's length), so a source joint that sits a few centimetres higher or lower on the same bone
line (e.g. along the spine) is still a good match; what matters is that it lies on the same segment.

Source skeletons (joint names and rest positions as read by readers.py; SOURCES.md describes them):

* cgspeed MotionBuilder BVH and the CMU exp-map CSVs (their skeleton JSON has the same 38 names):
  Hips root, LeftUpLeg = hip joint, LeftLeg = knee, LeftFoot = ankle, LeftToeBase = ball of the foot;
  LowerBack at the root, Spine ~0.12 m above it (45 % of the way to the shoulders, like SMPL-X spine3),
  Spine1 = Neck = base of the neck (~3 cm below shoulder height), Neck1 upper neck, Head (~10 cm below
  Head_End, the top of the head); LeftShoulder starts at the spine midline (a clavicle bone from the
  midline, unlike SMPL-X's collar joint which sits beside the sternum) -> left out; LeftArm = shoulder
  (glenohumeral), LeftForeArm = elbow, LeftHand = wrist.
* cgspeed 3dsMax BVH: LeftHip/LeftKnee/LeftAnkle/LeftToe; Chest ~37 % up the trunk, Chest2 =
  lowerneck at the thorax top; Neck at shoulder height, Head; LeftShoulder = shoulder joint,
  LeftElbow, LeftWrist; LeftCollar starts at the midline -> left out.
* cgspeed Daz BVH (one fixed Daz figure): hip root at hip-joint height, lThigh = hip joint, lShin =
  knee, lFoot = ankle, lFoot_End = toe end (12 cm ahead of and 4 cm below the ankle; the SMPL-X foot
  joint is 13 cm ahead and 5 cm below, so it stands in for the ball of the foot); abdomen ~42 % up the
  trunk (spine3), neck 5 cm above shoulder height, head; lShldr = shoulder, lForeArm = elbow, lHand =
  wrist; lCollar starts near the midline -> left out. lButtock (a soft-tissue bone) -> left out.
* Acclaim ASF (HDM05; CMU ASF has the same names): a joint's position is the END of its parent bone,
  so lfemur = hip joint, ltibia = knee, lfoot = ankle, ltoes = ball of the foot; upperback ~32 % up the
  trunk (spine3), lowerneck = neck base at shoulder height, head; lhumerus = shoulder, lradius =
  elbow, lwrist = wrist; lclavicle starts at the midline -> left out.

* CMU C3D marker clips (c3d_markers.py): no skeleton; joint centres are computed from the 41 markers
  under the SMPL-X names themselves (pelvis, hips from the Harrington 2007 regression, knees/elbows
  medial of the lateral epicondyle markers, ankles medial of the malleolus markers, feet at the
  TOE/MT5 midpoint, wrists at the wrist-bar midpoint, shoulders below the acromion markers, spine3 =
  T10/STRN midpoint, neck = C7/CLAV midpoint, head = head-band centre), so the table is the identity
  on 18 joints.

SMPL-X spine1 and spine2 (4 and 11 cm above the pelvis in the open model) have no reliable counterpart
in any source (the sources have one or two trunk joints), so only spine3 is matched and the IK spreads
the trunk bend over spine1..3 through its pose prior.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["CORRESPONDENCES", "correspondence_for"]

_LIMBS_MB = {
    "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg", "right_knee": "RightLeg",
    "left_ankle": "LeftFoot", "right_ankle": "RightFoot",
    "left_foot": "LeftToeBase", "right_foot": "RightToeBase",
    "left_shoulder": "LeftArm", "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm", "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand", "right_wrist": "RightHand",
}

CORRESPONDENCES: dict[str, dict[str, str]] = {
    # cgspeed MotionBuilder BVH; the exp-map CSV skeleton uses the same names.
    "motionbuilder": {"pelvis": "Hips", "spine3": "Spine", "neck": "Neck", "head": "Head", **_LIMBS_MB},
    "3dsmax": {
        "pelvis": "Hips", "spine3": "Chest", "neck": "Neck", "head": "Head",
        "left_hip": "LeftHip", "right_hip": "RightHip",
        "left_knee": "LeftKnee", "right_knee": "RightKnee",
        "left_ankle": "LeftAnkle", "right_ankle": "RightAnkle",
        "left_foot": "LeftToe", "right_foot": "RightToe",
        "left_shoulder": "LeftShoulder", "right_shoulder": "RightShoulder",
        "left_elbow": "LeftElbow", "right_elbow": "RightElbow",
        "left_wrist": "LeftWrist", "right_wrist": "RightWrist",
    },
    "daz": {
        "pelvis": "hip", "spine3": "abdomen", "neck": "neck", "head": "head",
        "left_hip": "lThigh", "right_hip": "rThigh",
        "left_knee": "lShin", "right_knee": "rShin",
        "left_ankle": "lFoot", "right_ankle": "rFoot",
        "left_foot": "lFoot_End", "right_foot": "rFoot_End",
        "left_shoulder": "lShldr", "right_shoulder": "rShldr",
        "left_elbow": "lForeArm", "right_elbow": "rForeArm",
        "left_wrist": "lHand", "right_wrist": "rHand",
    },
    "acclaim": {
        "pelvis": "root", "spine3": "upperback", "neck": "lowerneck", "head": "head",
        "left_hip": "lfemur", "right_hip": "rfemur",
        "left_knee": "ltibia", "right_knee": "rtibia",
        "left_ankle": "lfoot", "right_ankle": "rfoot",
        "left_foot": "ltoes", "right_foot": "rtoes",
        "left_shoulder": "lhumerus", "right_shoulder": "rhumerus",
        "left_elbow": "lradius", "right_elbow": "rradius",
        "left_wrist": "lwrist", "right_wrist": "rwrist",
    },
    # CMU 41-marker C3D clips: joint centres named like the SMPL-X joints (c3d_markers.JOINTS).
    "c3d markers": {n: n for n in (
        "pelvis", "spine3", "neck", "head", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
        "right_ankle", "left_foot", "right_foot", "left_shoulder", "right_shoulder", "left_elbow",
        "right_elbow", "left_wrist", "right_wrist")},
}


def correspondence_for(joint_names: Sequence[str], variant: str | None = None) -> tuple[str, dict[str, str]]:
    """The table for a skeleton: by ``variant`` (Motion.meta['variant']) if it names one, else the first
    table whose every source joint is in ``joint_names``.

    Returns:
        (table name, {smplx joint name: source joint name}).

    Raises:
        ValueError: no table fits the skeleton.
    """
    names = set(joint_names)
    alias = {"cmu_expmap": "motionbuilder", "c3d_markers": "c3d markers"}
    key = alias.get(variant or "", variant)
    if key in CORRESPONDENCES and set(CORRESPONDENCES[key].values()) <= names:
        return key, CORRESPONDENCES[key]
    for k, table in CORRESPONDENCES.items():
        if set(table.values()) <= names:
            return k, table
    raise ValueError(f"no joint correspondence fits a skeleton with joints {sorted(names)[:8]}...; "
                     f"add a table to models/mocap/correspondence.py")
