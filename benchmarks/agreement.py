"""Agreement between our K67 keypoints and MediaPipe Holistic's, detection coverage, and per-frame time.

The maths are pure NumPy functions on arrays (shapes in each docstring); the two loaders at the end
read the files written by `benchmarks/mediapipe_holistic.py` (MediaPipe's side) and by
`mocap-live --headless --out DIR` (ours: DIR/keypoints.npz, DIR/timings.json).

Definitions (DESIGN 11, "keypoint agreement with MediaPipe Holistic as a fraction of the body/hand
box"), MediaPipe being the reference:

* Body: over frames where both found a body, the image distance between our and MediaPipe's point
  for every BODY_25 slot that is valid on both sides: MediaPipe's confidence (its visibility; for Neck
  and MidHip the smaller of the two sources') > BODY_VISIBILITY_MIN, and ours > 0 (we output the
  point at all). Slots 20 LSmallToe and 23 RSmallToe have no BlazePose source and are never
  counted. Points are selected by the reference's visibility only, so that our side cannot improve its
  score by lowering its own confidence on hard points. Each distance is divided by MediaPipe's body
  box height in that frame: max(y) - min(y) over its 33 pose landmarks with visibility >
  BODY_VISIBILITY_MIN (the visible body: head to thighs when the legs are out of view).
* Hands, per side: over frames where both found that hand, the distance for all 21 points divided
  by MediaPipe's hand box size: the larger side of the bounding box of its 21 points.
* The pooled (frame, point) errors are reported as median and 90th percentile, in percent of the box.
  Percentiles use NumPy's default linear interpolation.
* Coverage: the fraction of frames in which a side found a body / left hand / right hand. Ours found
  a part when any of its K67 points has confidence > 0 (DESIGN 4: missing points have confidence 0).
* Time: median and p90 of per-frame milliseconds over the steady state, i.e. after dropping the
  first STEADY_STATE_SKIP frames (XNNPACK / ONNX Runtime set-up, first detection, allocator warm-up;
  MediaPipe's first frame costs about 6x a later one). Ours is the front end's per-frame total
  ("frontend_total" in timings.json), MediaPipe's the wall time of `Holistic.process()`.
"""
from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.app.timing import summarize as summarize_times
from mocap.models.keypoints import (
    BLAZEPOSE_TO_BODY25,
    BODY25_NAMES,
    LEFT_HAND,
    NUM_BODY,
    NUM_HAND,
    NUM_K67,
    RIGHT_HAND,
    remap,
)

logger = logging.getLogger(__name__)

BODY_VISIBILITY_MIN = 0.5   # MediaPipe's own visibility threshold for drawing (drawing_utils.py
                            # _VISIBILITY_THRESHOLD = 0.5), used here for "the point is visible"
STEADY_STATE_SKIP = 10      # frames dropped from the start before timing statistics
OUR_TIME_KEY = "frontend_total"
NO_SOURCE_SLOTS = tuple(i for i, src in enumerate(BLAZEPOSE_TO_BODY25) if not src)  # (20, 23)
NUM_POSE = 33


# --------------------------------------------------------------------------- MediaPipe -> K67

def mediapipe_to_k67(
    pose_px: np.ndarray,
    pose_found: np.ndarray,
    left_hand_px: np.ndarray,
    left_found: np.ndarray,
    right_hand_px: np.ndarray,
    right_found: np.ndarray,
) -> np.ndarray:
    """MediaPipe Holistic landmarks in pixels -> K67 (DESIGN 4).

    Args:
        pose_px: (T, 33, 3) BlazePose x px, y px, visibility.
        pose_found: (T,) bool, MediaPipe returned pose landmarks.
        left_hand_px, right_hand_px: (T, 21, 2) x px, y px; left = the subject's left.
        left_found, right_found: (T,) bool.

    Returns:
        (T, 67, 3) float32: body confidence = visibility (min of the sources for Neck/MidHip, 0 for
        slots without a source and for frames without a pose); hand confidence 1 when found, else 0.

    Raises:
        ValueError: shapes disagree.
    """
    pose_px = np.asarray(pose_px, dtype=np.float32)
    if pose_px.ndim != 3 or pose_px.shape[1:] != (NUM_POSE, 3):
        raise ValueError(f"pose_px must be (T, 33, 3), got {pose_px.shape}")
    t = pose_px.shape[0]
    flags = [np.asarray(f, dtype=bool) for f in (pose_found, left_found, right_found)]
    hands = [np.asarray(h, dtype=np.float32) for h in (left_hand_px, right_hand_px)]
    for f in flags:
        if f.shape != (t,):
            raise ValueError(f"found flags must be ({t},), got {f.shape}")
    for h in hands:
        if h.shape != (t, NUM_HAND, 2):
            raise ValueError(f"hand arrays must be ({t}, 21, 2), got {h.shape}")

    k67 = np.zeros((t, NUM_K67, 3), dtype=np.float32)
    k67[:, :NUM_BODY] = remap(pose_px, BLAZEPOSE_TO_BODY25)
    k67[~flags[0], :NUM_BODY, 2] = 0.0
    for sl, h, f in ((LEFT_HAND, hands[0], flags[1]), (RIGHT_HAND, hands[1], flags[2])):
        k67[:, sl, :2] = h
        k67[:, sl, 2] = f[:, None].astype(np.float32)
    return k67


def body_box_height(pose_px: np.ndarray, pose_found: np.ndarray,
                    visibility_min: float = BODY_VISIBILITY_MIN) -> np.ndarray:
    """Height in px of the box around MediaPipe's visible pose landmarks, per frame.

    Args:
        pose_px: (T, 33, 3) x px, y px, visibility.
        pose_found: (T,) bool.

    Returns:
        (T,) float64 max(y) - min(y) over the landmarks with visibility > visibility_min; NaN when
        no pose was found, fewer than two landmarks are visible, or the height is 0.
    """
    pose_px = np.asarray(pose_px, dtype=np.float64)
    visible = (pose_px[..., 2] > visibility_min) & np.asarray(pose_found, dtype=bool)[:, None]
    y = pose_px[..., 1]
    y_max = np.where(visible, y, -np.inf).max(axis=1)
    y_min = np.where(visible, y, np.inf).min(axis=1)
    height = y_max - y_min
    ok = (visible.sum(axis=1) >= 2) & (height > 0)
    return np.where(ok, height, np.nan)


def hand_box_size(hand_px: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Larger side in px of the bounding box of a hand's 21 points, per frame.

    Args:
        hand_px: (T, 21, 2+) x px, y px[, ...].
        found: (T,) bool.

    Returns:
        (T,) float64; NaN where the hand was not found or the box is degenerate.
    """
    xy = np.asarray(hand_px, dtype=np.float64)[..., :2]
    size = (xy.max(axis=1) - xy.min(axis=1)).max(axis=1)
    return np.where(np.asarray(found, dtype=bool) & (size > 0), size, np.nan)


# --------------------------------------------------------------------------- errors

def found_body(k67: np.ndarray) -> np.ndarray:
    """(T, 67, 3) -> (T,) bool: any body point has confidence > 0."""
    return (np.asarray(k67)[:, :NUM_BODY, 2] > 0).any(axis=1)


def found_hand(k67: np.ndarray, hand: slice) -> np.ndarray:
    """(T, 67, 3) -> (T,) bool: any point of `hand` (LEFT_HAND or RIGHT_HAND) has confidence > 0."""
    return (np.asarray(k67)[:, hand, 2] > 0).any(axis=1)


DUPLICATE_IOU = 0.5  # two hands whose point boxes overlap more than this are one physical hand


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (T, 4) x1, y1, x2, y2 boxes, row by row."""
    lo, hi = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
    inter = np.clip(hi - lo, 0, None).prod(axis=1)
    area = lambda r: np.clip(r[:, 2:] - r[:, :2], 0, None).prod(axis=1)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def distinct_hands(k67: np.ndarray, iou: float = DUPLICATE_IOU) -> np.ndarray:
    """(T, 67, 3) -> (T, 2) bool [left, right]: hands found, a duplicate counted once.

    MediaPipe Holistic often puts both sides on the same physical hand. Where both hands are
    found and the boxes of their 21 points overlap by more than `iou`, only the side whose hand
    wrist is nearer to its own body wrist (K67 7 LWrist / 4 RWrist) counts.
    """
    k = np.asarray(k67, np.float64)
    found = np.stack([found_hand(k, LEFT_HAND), found_hand(k, RIGHT_HAND)], axis=1)
    hands = [k[:, LEFT_HAND, :2], k[:, RIGHT_HAND, :2]]
    boxes = [np.concatenate([h.min(axis=1), h.max(axis=1)], axis=1) for h in hands]
    dup = found.all(axis=1) & (_box_iou(*boxes) > iou)
    d_left = np.linalg.norm(hands[0][:, 0] - k[:, 7, :2], axis=1)
    d_right = np.linalg.norm(hands[1][:, 0] - k[:, 4, :2], axis=1)
    out = found.copy()
    out[dup & (d_left > d_right), 0] = False
    out[dup & (d_left <= d_right), 1] = False
    return out


def _check_pair(ours: np.ndarray, ref: np.ndarray) -> None:
    if ours.shape != ref.shape or ours.ndim != 3 or ours.shape[1:] != (NUM_K67, 3):
        raise ValueError(f"ours and MediaPipe's K67 must both be (T, 67, 3), got {ours.shape} and "
                         f"{ref.shape}")


def body_error_matrix(ours_k67: np.ndarray, mp_k67: np.ndarray, mp_body_found: np.ndarray,
                      mp_box_height: np.ndarray,
                      visibility_min: float = BODY_VISIBILITY_MIN) -> np.ndarray:
    """Body point distances as a fraction of MediaPipe's body box height.

    Args:
        ours_k67, mp_k67: (T, 67, 3), frames already aligned.
        mp_body_found: (T,) bool.
        mp_box_height: (T,) px (body_box_height), NaN where undefined.

    Returns:
        (T, 25) float64 distance / box height; NaN where the pair is not counted (see module doc).
    """
    ours, ref = np.asarray(ours_k67, np.float64), np.asarray(mp_k67, np.float64)
    _check_pair(ours, ref)
    box = np.asarray(mp_box_height, dtype=np.float64)
    frames = np.asarray(mp_body_found, bool) & found_body(ours) & np.isfinite(box) & (box > 0)
    valid = ((ref[:, :NUM_BODY, 2] > visibility_min) & (ours[:, :NUM_BODY, 2] > 0)
             & frames[:, None])
    valid[:, list(NO_SOURCE_SLOTS)] = False
    dist = np.linalg.norm(ours[:, :NUM_BODY, :2] - ref[:, :NUM_BODY, :2], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, dist / box[:, None], np.nan)


def hand_error_matrix(ours_k67: np.ndarray, mp_k67: np.ndarray, hand: slice,
                      mp_box_size: np.ndarray) -> np.ndarray:
    """One hand's point distances as a fraction of MediaPipe's hand box size.

    Args:
        ours_k67, mp_k67: (T, 67, 3), frames already aligned.
        hand: LEFT_HAND or RIGHT_HAND.
        mp_box_size: (T,) px (hand_box_size), NaN where MediaPipe has no such hand.

    Returns:
        (T, 21) float64; NaN rows for frames where either side lacks the hand.
    """
    ours, ref = np.asarray(ours_k67, np.float64), np.asarray(mp_k67, np.float64)
    _check_pair(ours, ref)
    box = np.asarray(mp_box_size, dtype=np.float64)
    frames = found_hand(ours, hand) & found_hand(ref, hand) & np.isfinite(box) & (box > 0)
    valid = frames[:, None] & (ours[:, hand, 2] > 0)
    dist = np.linalg.norm(ours[:, hand, :2] - ref[:, hand, :2], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, dist / box[:, None], np.nan)


def error_stats(errors: np.ndarray) -> dict:
    """Pooled finite errors (fractions) -> {"median_pct", "p90_pct", "n"}; NaN stats when n = 0."""
    e = np.asarray(errors, dtype=np.float64).ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        return {"median_pct": math.nan, "p90_pct": math.nan, "n": 0}
    return {"median_pct": float(np.median(e) * 100), "p90_pct": float(np.percentile(e, 90) * 100),
            "n": int(e.size)}


def coverage(found: np.ndarray) -> float:
    """(T,) bool -> fraction of frames that are True (NaN for T = 0)."""
    f = np.asarray(found, dtype=bool)
    return float(f.mean()) if f.size else math.nan


# --------------------------------------------------------------------------- time

def time_stats(ms: np.ndarray, skip: int = STEADY_STATE_SKIP) -> dict:
    """Per-frame times -> {"median_ms", "p90_ms", "n"} over frames skip.. (NaN values dropped).

    Raises:
        ValueError: skip < 0.
    """
    if skip < 0:
        raise ValueError(f"skip must be >= 0, got {skip}")
    t = np.asarray(ms, dtype=np.float64).ravel()[skip:]
    t = t[np.isfinite(t)]
    if t.size == 0:
        logger.warning("no per-frame time left after skipping %d frames", skip)
    s = summarize_times(t)  # the same statistics as every other timing report
    return {"median_ms": s["median"], "p90_ms": s["p90"], "n": s["count"]}


def cores_busy(wall_ms: np.ndarray, cpu_ms: np.ndarray, skip: int = STEADY_STATE_SKIP) -> float:
    """Mean number of cores kept busy over the steady state: sum(cpu) / sum(wall)."""
    w = np.asarray(wall_ms, np.float64)[skip:]
    c = np.asarray(cpu_ms, np.float64)[skip:]
    return float(c.sum() / w.sum()) if w.size and w.sum() > 0 else math.nan


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is NaN or b is 0."""
    return a / b if b and math.isfinite(a) and math.isfinite(b) else math.nan


# --------------------------------------------------------------------------- one video

@dataclass(frozen=True)
class MediaPipeRun:
    """MediaPipe's results for one video (from mediapipe_holistic.py), already mapped to K67."""

    k67: np.ndarray              # (T, 67, 3)
    body_found: np.ndarray       # (T,) bool
    left_found: np.ndarray       # (T,) bool
    right_found: np.ndarray      # (T,) bool
    body_box_px: np.ndarray      # (T,) body box height, NaN where undefined
    left_box_px: np.ndarray      # (T,) hand box size
    right_box_px: np.ndarray     # (T,)
    frame_index: np.ndarray      # (T,) int
    times_ms: np.ndarray         # (T,) wall ms per process() call
    cpu_ms: np.ndarray           # (T,) process CPU ms per call
    meta: dict = field(default_factory=dict)  # mediapipe_version, fps, width, height, init_ms...


def mediapipe_run_from_arrays(arrays: Mapping[str, np.ndarray]) -> MediaPipeRun:
    """Arrays as written by mediapipe_holistic.py (an np.load result or a dict) -> MediaPipeRun.

    Raises:
        ValueError: a key is missing.
    """
    need = ("pose_px", "pose_found", "left_hand_px", "left_hand_found", "right_hand_px",
            "right_hand_found", "times_ms")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise ValueError(f"MediaPipe results lack {missing}; write them with mediapipe_holistic.py")
    pose, pf = np.asarray(arrays["pose_px"]), np.asarray(arrays["pose_found"], bool)
    lh, lf = np.asarray(arrays["left_hand_px"]), np.asarray(arrays["left_hand_found"], bool)
    rh, rf = np.asarray(arrays["right_hand_px"]), np.asarray(arrays["right_hand_found"], bool)
    times = np.asarray(arrays["times_ms"], np.float64)
    t = len(times)
    meta = {}
    for k in ("mediapipe_version", "fps", "width", "height", "init_ms", "video", "model_complexity"):
        if k in arrays:
            v = np.asarray(arrays[k]).item()
            meta[k] = v if isinstance(v, str) else float(v)
    return MediaPipeRun(
        k67=mediapipe_to_k67(pose, pf, lh, lf, rh, rf),
        body_found=pf, left_found=lf, right_found=rf,
        body_box_px=body_box_height(pose, pf), left_box_px=hand_box_size(lh, lf),
        right_box_px=hand_box_size(rh, rf),
        frame_index=np.asarray(arrays.get("frame_index", np.arange(t)), np.int64),
        times_ms=times,
        cpu_ms=np.asarray(arrays.get("cpu_ms", np.full(t, np.nan)), np.float64),
        meta=meta,
    )


def align_frames(ours_index: np.ndarray, mp_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each side for the frames both processed, in frame order.

    Args:
        ours_index, mp_index: (T1,), (T2,) video frame indices (unique).

    Returns:
        (rows into ours, rows into MediaPipe's), equal length.
    """
    _, i_ours, i_mp = np.intersect1d(np.asarray(ours_index), np.asarray(mp_index),
                                     assume_unique=True, return_indices=True)
    return i_ours, i_mp


@dataclass(frozen=True)
class VideoComparison:
    """Per-frame errors and times of one video, frames aligned; `summarize` turns it into numbers."""

    body_err: np.ndarray      # (T, 25) fraction of the body box, NaN where not counted
    left_err: np.ndarray      # (T, 21) fraction of the hand box
    right_err: np.ndarray     # (T, 21)
    found_ours: np.ndarray    # (T, 3) bool: body, left hand, right hand
    found_mp: np.ndarray      # (T, 3) bool
    distinct_ours: np.ndarray  # (T, 2) bool: left, right hand with duplicates counted once
    distinct_mp: np.ndarray    # (T, 2) bool
    ours_ms: np.ndarray       # (N1,) our steady-state front-end ms per frame
    mp_ms: np.ndarray         # (N2,) MediaPipe's steady-state ms per frame
    mp_cpu_ms: np.ndarray     # (N2,) MediaPipe's CPU ms over the same frames
    frames_ours: int
    frames_mp: int


def compare_video(ours_k67: np.ndarray, ours_frame_index: np.ndarray, ours_ms: np.ndarray,
                  mp: MediaPipeRun, skip: int = STEADY_STATE_SKIP) -> VideoComparison:
    """Align one video's two runs by frame index and compute per-frame errors and times.

    Args:
        ours_k67: (T1, 67, 3) our keypoints.
        ours_frame_index: (T1,) video frame index of each row.
        ours_ms: (T1',) our per-frame front-end ms, in processing order.
        mp: MediaPipe's run on the same video.
        skip: frames dropped from the start of each side's times (steady state). Times are
            taken over the common frames only (ours too when it has one time per keypoint row),
            so that both sides are timed on the same frames.

    Raises:
        ValueError: no common frame, or skip < 0.
    """
    if skip < 0:
        raise ValueError(f"skip must be >= 0, got {skip}")
    ours_k67 = np.asarray(ours_k67, np.float32)
    i_ours, i_mp = align_frames(ours_frame_index, mp.frame_index)
    if len(i_ours) == 0:
        raise ValueError("our run and MediaPipe's share no frame index; were they run on the "
                         "same video?")
    ours, ref = ours_k67[i_ours], mp.k67[i_mp]
    ours_ms = np.asarray(ours_ms, np.float64)
    if len(ours_ms) == len(ours_k67):  # one time per keypoint row: time the same frames as MP
        ours_ms = ours_ms[i_ours]
    ours_ms = ours_ms[skip:]
    mp_ms, mp_cpu_ms = mp.times_ms[i_mp][skip:], mp.cpu_ms[i_mp][skip:]
    return VideoComparison(
        body_err=body_error_matrix(ours, ref, mp.body_found[i_mp], mp.body_box_px[i_mp]),
        left_err=hand_error_matrix(ours, ref, LEFT_HAND, mp.left_box_px[i_mp]),
        right_err=hand_error_matrix(ours, ref, RIGHT_HAND, mp.right_box_px[i_mp]),
        found_ours=np.stack([found_body(ours), found_hand(ours, LEFT_HAND),
                             found_hand(ours, RIGHT_HAND)], axis=1),
        found_mp=np.stack([mp.body_found[i_mp], mp.left_found[i_mp], mp.right_found[i_mp]],
                          axis=1),
        distinct_ours=distinct_hands(ours), distinct_mp=distinct_hands(ref),
        ours_ms=ours_ms[np.isfinite(ours_ms)],
        mp_ms=mp_ms, mp_cpu_ms=mp_cpu_ms,
        frames_ours=len(ours_k67), frames_mp=len(mp.k67),
    )


_PARTS = ("body", "left_hand", "right_hand")


def summarize(comparisons: list[VideoComparison]) -> dict:
    """Numbers for one video ([c]) or pooled over several (every frame and point counts once).

    Returns:
        JSON-ready dict: frames {ours, mediapipe, common}; body / left_hand / right_hand
        {median_pct, p90_pct, n}; body_per_keypoint_median_pct {BODY_25 name: % or None};
        coverage {ours, mediapipe} x {body, left_hand, right_hand}; time {ours, mediapipe}
        {median_ms, p90_ms, n}; ratio_median and ratio_p90 (ours / MediaPipe); mediapipe_cores.

    Raises:
        ValueError: empty list.
    """
    if not comparisons:
        raise ValueError("summarize needs at least one VideoComparison")
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in comparisons])

    body = cat("body_err")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column's median is NaN
        per_kp = np.nanmedian(body, axis=0) * 100 if len(body) else np.full(NUM_BODY, np.nan)
    found_ours, found_mp = cat("found_ours"), cat("found_mp")
    dist_ours, dist_mp = cat("distinct_ours"), cat("distinct_mp")
    t_ours, t_mp = time_stats(cat("ours_ms"), 0), time_stats(cat("mp_ms"), 0)
    return {
        "frames": {"ours": sum(c.frames_ours for c in comparisons),
                   "mediapipe": sum(c.frames_mp for c in comparisons),
                   "common": int(len(body))},
        "body": error_stats(body),
        "left_hand": error_stats(cat("left_err")),
        "right_hand": error_stats(cat("right_err")),
        "body_per_keypoint_median_pct": {
            BODY25_NAMES[j]: (float(per_kp[j]) if np.isfinite(per_kp[j]) else None)
            for j in range(NUM_BODY)},
        "coverage": {
            "ours": {p: coverage(found_ours[:, i]) for i, p in enumerate(_PARTS)},
            "mediapipe": {p: coverage(found_mp[:, i]) for i, p in enumerate(_PARTS)},
            # a hand that both sides were put on counts once (see distinct_hands)
            "ours_distinct": {p: coverage(dist_ours[:, i]) for i, p in enumerate(_PARTS[1:])},
            "mediapipe_distinct": {p: coverage(dist_mp[:, i]) for i, p in enumerate(_PARTS[1:])},
        },
        "time": {"ours": t_ours, "mediapipe": t_mp},
        "ratio_median": ratio(t_ours["median_ms"], t_mp["median_ms"]),
        "ratio_p90": ratio(t_ours["p90_ms"], t_mp["p90_ms"]),
        "mediapipe_cores": cores_busy(cat("mp_ms"), cat("mp_cpu_ms"), 0),
    }


def summarize_mediapipe(runs: list[MediaPipeRun], skip: int = STEADY_STATE_SKIP) -> dict:
    """MediaPipe's own numbers for one or several runs (pooled): frames, time, cores, coverage."""
    if not runs:
        raise ValueError("summarize_mediapipe needs at least one MediaPipeRun")
    wall = np.concatenate([r.times_ms[skip:] for r in runs])
    cpu = np.concatenate([r.cpu_ms[skip:] for r in runs])
    found = {p: np.concatenate([getattr(r, f) for r in runs])
             for p, f in zip(_PARTS, ("body_found", "left_found", "right_found"))}
    return {
        "frames": int(sum(len(r.k67) for r in runs)),
        "time": time_stats(wall, 0),
        "mediapipe_cores": cores_busy(wall, cpu, 0),
        "coverage": {p: coverage(f) for p, f in found.items()},
    }


# --------------------------------------------------------------------------- loaders

def load_mediapipe(path: str | Path) -> MediaPipeRun:
    """Read an npz written by mediapipe_holistic.py.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a key is missing.
    """
    with np.load(Path(path), allow_pickle=False) as npz:
        return mediapipe_run_from_arrays({k: npz[k] for k in npz.files})


def frame_ms_from_timings(timings: Mapping, key: str = OUR_TIME_KEY) -> np.ndarray:
    """Our per-frame ms for `key` from a timings.json dict; NaN for frames without it.

    Raises:
        ValueError: no "frames" list, or no frame has `key`.
    """
    frames = timings.get("frames")
    if not isinstance(frames, list):
        raise ValueError("timings.json has no 'frames' list of per-frame dicts")
    ms = np.array([float(f[key]) if isinstance(f, Mapping) and f.get(key) is not None
                   else np.nan for f in frames], dtype=np.float64)
    if frames and not np.isfinite(ms).any():
        seen = sorted({k for f in frames if isinstance(f, Mapping) for k in f})
        raise ValueError(f"no frame in timings.json has {key!r}; keys seen: {seen}")
    return ms


@dataclass(frozen=True)
class OurRun:
    """Our app's outputs for one video (mocap-live --headless --out DIR)."""

    k67: np.ndarray          # (T, 67, 3)
    frame_index: np.ndarray  # (T,)
    frame_ms: np.ndarray     # (T',) front-end ms per frame
    summary: dict            # timings.json "summary" (per-module statistics)
    info: dict               # timings.json's scalar fields: device, backend, provider, threads...
    meta: dict               # fps, width, height


def load_ours(out_dir: str | Path, key: str = OUR_TIME_KEY) -> OurRun:
    """Read DIR/keypoints.npz and DIR/timings.json written by `mocap-live --headless --out DIR`.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a key is missing or k67 has the wrong shape.
    """
    out_dir = Path(out_dir)
    with np.load(out_dir / "keypoints.npz", allow_pickle=False) as npz:
        if "k67" not in npz.files:
            raise ValueError(f"{out_dir / 'keypoints.npz'} has no 'k67' (keys: {npz.files})")
        k67 = np.asarray(npz["k67"], np.float32)
        if k67.ndim != 3 or k67.shape[1:] != (NUM_K67, 3):
            raise ValueError(f"k67 must be (T, 67, 3), got {k67.shape}")
        index = (np.asarray(npz["frame_index"], np.int64) if "frame_index" in npz.files
                 else np.arange(len(k67), dtype=np.int64))
        meta = {k: float(np.asarray(npz[k]).item()) for k in ("fps", "width", "height")
                if k in npz.files}
    timings = json.loads((out_dir / "timings.json").read_text())
    summary = dict(timings.get("summary", {}))
    # The run's description (device, back end, threads) may sit at the top level or in "summary".
    info = {k: v for src in (summary, timings) for k, v in src.items()
            if isinstance(v, (str, int, float, bool)) or v is None}
    return OurRun(k67=k67, frame_index=index, frame_ms=frame_ms_from_timings(timings, key),
                  summary=summary, info=info, meta=meta)
