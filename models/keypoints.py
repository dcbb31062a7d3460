"""The K67 keypoint layout (DESIGN 4) and the maps from detector layouts into it.

K67 = OpenPose BODY_25 (indices 0-24) + the person's left hand (25-45) + right hand (46-66).
Each point is (x px, y px, confidence in [0, 1]) in the full image, origin top-left, y down.
A missing point has confidence 0 and any x, y.
"""
from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

import numpy as np

NUM_BODY = 25
NUM_HAND = 21
NUM_K67 = NUM_BODY + 2 * NUM_HAND
LEFT_HAND = slice(NUM_BODY, NUM_BODY + NUM_HAND)            # 25..45, the person's left
RIGHT_HAND = slice(NUM_BODY + NUM_HAND, NUM_K67)            # 46..66

# OpenPose BODY_25 order (DESIGN 4; OpenPose doc/02_output.md).
BODY25_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
    "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
# MediaPipe and OpenPose share the hand order (mediapipe/python/solutions/hands.py HandLandmark).
HAND_NAMES = (
    "Wrist", "ThumbCMC", "ThumbMCP", "ThumbIP", "ThumbTip",
    "IndexMCP", "IndexPIP", "IndexDIP", "IndexTip",
    "MiddleMCP", "MiddlePIP", "MiddleDIP", "MiddleTip",
    "RingMCP", "RingPIP", "RingDIP", "RingTip",
    "PinkyMCP", "PinkyPIP", "PinkyDIP", "PinkyTip",
)
Body25 = IntEnum("Body25", [(n, i) for i, n in enumerate(BODY25_NAMES)])
Hand21 = IntEnum("Hand21", [(n, i) for i, n in enumerate(HAND_NAMES)])
K67_NAMES = BODY25_NAMES + tuple("L" + n for n in HAND_NAMES) + tuple("R" + n for n in HAND_NAMES)

# Skeleton edges for drawing, as K67 index pairs.
BODY25_EDGES = (
    (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7),
    (1, 8), (8, 9), (9, 10), (10, 11), (11, 24), (11, 22), (22, 23), (8, 12), (12, 13), (13, 14),
    (14, 21), (14, 19), (19, 20),
)
HAND_EDGES = tuple((0 if j % 4 == 1 else j - 1, j) for j in range(1, NUM_HAND)) + (
    (5, 9), (9, 13), (13, 17),
)
K67_EDGES = (
    BODY25_EDGES
    + tuple((a + LEFT_HAND.start, b + LEFT_HAND.start) for a, b in HAND_EDGES)
    + tuple((a + RIGHT_HAND.start, b + RIGHT_HAND.start) for a, b in HAND_EDGES)
)

# Each BODY_25 slot as a tuple of source indices: one index = copy, two = mean (confidence =
# min of the sources), empty = no source (confidence 0).
# BlazePose 33 -> BODY_25: DESIGN 4 table; BlazePose order from reference/mediapipe-graphs.md 8.1.
BLAZEPOSE_TO_BODY25: tuple[tuple[int, ...], ...] = (
    (0,), (11, 12), (12,), (14,), (16,), (11,), (13,), (15,), (23, 24), (24,), (26,), (28,),
    (23,), (25,), (27,), (5,), (2,), (8,), (7,), (31,), (), (29,), (32,), (), (30,),
)
# COCO-WholeBody 133 (MMPose configs/_base_/datasets/coco_wholebody.py): 0-16 COCO body
# (0 nose, 1/2 L/R eye, 3/4 L/R ear, 5/6 L/R shoulder, 7/8 elbow, 9/10 wrist, 11/12 hip,
# 13/14 knee, 15/16 ankle), 17-19 left big toe/small toe/heel, 20-22 right, 23-90 face,
# 91-111 left hand, 112-132 right hand (hand order as above).
COCO_WHOLEBODY_TO_BODY25: tuple[tuple[int, ...], ...] = (
    (0,), (5, 6), (6,), (8,), (10,), (5,), (7,), (9,), (11, 12), (12,), (14,), (16,),
    (11,), (13,), (15,), (2,), (1,), (4,), (3,), (17,), (18,), (19,), (20,), (21,), (22,),
)
COCO17_TO_BODY25 = tuple(s if all(i < 17 for i in s) else () for s in COCO_WHOLEBODY_TO_BODY25)
COCO_WHOLEBODY_LEFT_HAND = slice(91, 112)
COCO_WHOLEBODY_RIGHT_HAND = slice(112, 133)


@lru_cache(maxsize=None)
def _gathers(table: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A slot table as two gather index arrays (a == b for a copy) and a mask of empty slots."""
    if any(len(src) > 2 for src in table):
        raise ValueError("a slot takes at most two sources")
    a = np.array([src[0] if src else 0 for src in table])
    b = np.array([src[-1] if src else 0 for src in table])
    return a, b, np.array([not src for src in table])


def remap(points: np.ndarray, table: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Map (..., N, 3) points (x, y, confidence) to (..., len(table), 3) float32 by a slot table.

    A slot with two sources is their mean with the minimum confidence; an empty slot has
    confidence 0 and x = y = 0. Two gathers, no Python loop: it runs on every frame.
    """
    points = np.asarray(points, dtype=np.float32)
    a, b, empty = _gathers(table)
    pa, pb = points[..., a, :], points[..., b, :]
    out = np.empty(pa.shape, np.float32)
    out[..., :2] = (pa[..., :2] + pb[..., :2]) * 0.5
    out[..., 2] = np.minimum(pa[..., 2], pb[..., 2])
    out[..., empty, :] = 0.0
    return out


def assemble_k67(
    body25: np.ndarray | None, left_hand: np.ndarray | None, right_hand: np.ndarray | None
) -> np.ndarray:
    """Stack body (25, 3) and hands (21, 3) into one (67, 3) float32 array; None = missing."""
    k67 = np.zeros((NUM_K67, 3), dtype=np.float32)
    if body25 is not None:
        k67[:NUM_BODY] = body25
    if left_hand is not None:
        k67[LEFT_HAND] = left_hand
    if right_hand is not None:
        k67[RIGHT_HAND] = right_hand
    return k67
