"""Known-answer tests for benchmarks/agreement.py (MediaPipe comparison maths), on tiny arrays."""
from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mocap.benchmarks import agreement as A
from mocap.models.keypoints import LEFT_HAND, NUM_K67, RIGHT_HAND


def _mp_arrays(t: int = 2) -> dict:
    """MediaPipe-like arrays: T frames, pose found, both hands found, all points visible."""
    pose = np.zeros((t, 33, 3), np.float32)
    pose[..., 0] = np.arange(33) * 2.0          # x = 2 * index px
    pose[..., 1] = 100.0 + np.arange(33) * 5.0  # y from 100 to 260 px -> box height 160
    pose[..., 2] = 0.9
    hand = np.zeros((t, 21, 2), np.float32)
    hand[..., 0] = np.linspace(0, 40, 21)       # 40 px wide
    hand[..., 1] = np.linspace(0, 20, 21)       # 20 px high -> hand box 40
    return {
        "pose_px": pose, "pose_found": np.ones(t, bool),
        "left_hand_px": hand.copy(), "left_hand_found": np.ones(t, bool),
        "right_hand_px": hand + 500.0, "right_hand_found": np.ones(t, bool),
        "times_ms": np.full(t, 40.0), "cpu_ms": np.full(t, 60.0),
        "frame_index": np.arange(t), "mediapipe_version": np.str_("0.10.21"),
        "fps": np.float64(30.0), "width": np.int64(640), "height": np.int64(480),
    }


# --------------------------------------------------------------------------- MediaPipe -> K67

def test_mediapipe_to_k67_body_map_known_values():
    a = _mp_arrays(1)
    a["pose_px"][0, 11] = (10.0, 20.0, 0.8)    # left shoulder
    a["pose_px"][0, 12] = (30.0, 40.0, 0.6)    # right shoulder
    k = A.mediapipe_to_k67(a["pose_px"], a["pose_found"], a["left_hand_px"], a["left_hand_found"],
                           a["right_hand_px"], a["right_hand_found"])
    assert k.shape == (1, NUM_K67, 3) and k.dtype == np.float32
    np.testing.assert_allclose(k[0, 1], (20.0, 30.0, 0.6))   # Neck = mean, min confidence
    np.testing.assert_allclose(k[0, 2], (30.0, 40.0, 0.6))   # RShoulder = BlazePose 12
    np.testing.assert_allclose(k[0, 5], (10.0, 20.0, 0.8))   # LShoulder = BlazePose 11
    np.testing.assert_allclose(k[0, 16], (4.0, 110.0, 0.9))  # LEye = BlazePose 2
    assert k[0, 20, 2] == 0 and k[0, 23, 2] == 0            # no source for the small toes


def test_mediapipe_to_k67_hands_and_missing():
    a = _mp_arrays(2)
    a["pose_found"][1] = False
    a["left_hand_found"][0] = False
    k = A.mediapipe_to_k67(a["pose_px"], a["pose_found"], a["left_hand_px"], a["left_hand_found"],
                           a["right_hand_px"], a["right_hand_found"])
    assert (k[1, :25, 2] == 0).all() and (k[0, [0, 1, 2], 2] > 0).all()
    assert (k[0, LEFT_HAND, 2] == 0).all() and (k[1, LEFT_HAND, 2] == 1).all()
    assert (k[:, RIGHT_HAND, 2] == 1).all()
    # the subject's left hand goes to K67 25..45, the right one (offset +500 px) to 46..66
    np.testing.assert_allclose(k[1, LEFT_HAND, :2], a["left_hand_px"][1])
    np.testing.assert_allclose(k[1, RIGHT_HAND, 0], a["left_hand_px"][1, :, 0] + 500.0)


def test_mediapipe_to_k67_rejects_bad_shapes():
    a = _mp_arrays(2)
    with pytest.raises(ValueError, match=r"pose_px must be \(T, 33, 3\)"):
        A.mediapipe_to_k67(a["pose_px"][:, :25], a["pose_found"], a["left_hand_px"],
                           a["left_hand_found"], a["right_hand_px"], a["right_hand_found"])
    with pytest.raises(ValueError, match="hand arrays"):
        A.mediapipe_to_k67(a["pose_px"], a["pose_found"], a["left_hand_px"][:1],
                           a["left_hand_found"], a["right_hand_px"], a["right_hand_found"])


# --------------------------------------------------------------------------- boxes

def test_body_box_height_uses_visible_points_only():
    pose = np.zeros((3, 33, 3))
    pose[0, :3, 1] = (100, 300, 200)
    pose[0, :3, 2] = 0.9
    pose[0, 3] = (0, 1000, 0.4)                 # not visible: must not stretch the box
    pose[1, :2] = ((0, 50, 0.9), (0, 50, 0.9))  # zero height -> undefined
    pose[2, :3, 1] = (100, 300, 200)
    pose[2, :3, 2] = 0.9
    h = A.body_box_height(pose, np.array([True, True, False]))
    assert h[0] == 200.0
    assert math.isnan(h[1]) and math.isnan(h[2])  # degenerate; not found


def test_hand_box_size_is_larger_side():
    hand = np.zeros((2, 21, 2))
    hand[:, :, 0] = np.linspace(10, 40, 21)     # 30 wide
    hand[:, :, 1] = np.linspace(5, 55, 21)      # 50 high
    s = A.hand_box_size(hand, np.array([True, False]))
    assert s[0] == 50.0 and math.isnan(s[1])


# --------------------------------------------------------------------------- errors

def _run(a: dict) -> A.MediaPipeRun:
    return A.mediapipe_run_from_arrays(a)


def test_body_error_known_answer_and_selection():
    a = _mp_arrays(3)
    a["pose_px"][:, 13, 2] = 0.4                # BlazePose 13 = LElbow (slot 6): not visible on MP
    mp = _run(a)
    ours = mp.k67.copy()
    ours[:, :25, 0] += 3.0
    ours[:, :25, 1] += 4.0                      # 5 px off everywhere; MP box height = 160 px
    ours[:, 3, 2] = 0.0                         # RElbow missing on our side
    ours[2, :25, 2] = 0.0                       # frame 2: we found no body
    err = A.body_error_matrix(ours, mp.k67, mp.body_found, mp.body_box_px)
    assert err.shape == (3, 25)
    counted = np.isfinite(err)
    # 25 slots - 2 without source (20, 23) - LElbow (MP invisible) - RElbow (ours 0) = 21 per frame
    assert counted[:2].sum(axis=1).tolist() == [21, 21] and not counted[2].any()
    assert not counted[:, [3, 6, 20, 23]].any()
    np.testing.assert_allclose(err[counted], 5.0 / 160.0)
    s = A.error_stats(err)
    assert s["n"] == 42
    assert s["median_pct"] == pytest.approx(3.125) and s["p90_pct"] == pytest.approx(3.125)


def test_body_error_ignores_our_confidence_level():
    """A low but non-zero confidence on our side still counts: selection is by MediaPipe only."""
    mp = _run(_mp_arrays(1))
    ours = mp.k67.copy()
    ours[:, :25, 2] = np.where(ours[:, :25, 2] > 0, 0.01, 0.0)
    ours[0, 0, :2] += (0.0, 16.0)               # Nose 16 px = 10 % of the 160 px box
    err = A.body_error_matrix(ours, mp.k67, mp.body_found, mp.body_box_px)
    assert err[0, 0] == pytest.approx(0.10)
    assert np.isfinite(err).sum() == 23


def test_hand_error_known_answer_and_swapped_hands_fail():
    a = _mp_arrays(2)
    a["right_hand_found"][1] = False
    mp = _run(a)
    ours = mp.k67.copy()
    ours[:, LEFT_HAND, 0] += 2.0                # 2 px on a 40 px hand box = 5 %
    left = A.hand_error_matrix(ours, mp.k67, LEFT_HAND, mp.left_box_px)
    np.testing.assert_allclose(left, 0.05)
    right = A.hand_error_matrix(ours, mp.k67, RIGHT_HAND, mp.right_box_px)
    assert np.isfinite(right[0]).all() and np.isnan(right[1]).all()
    np.testing.assert_allclose(right[0], 0.0)
    swapped = mp.k67.copy()
    swapped[:, LEFT_HAND], swapped[:, RIGHT_HAND] = mp.k67[:, RIGHT_HAND], mp.k67[:, LEFT_HAND]
    assert A.error_stats(A.hand_error_matrix(swapped, mp.k67, LEFT_HAND,
                                             mp.left_box_px))["median_pct"] > 1000


def test_error_stats_percentiles_and_empty():
    e = np.array([[0.01, np.nan], [0.02, 0.03], [0.04, np.nan]])
    s = A.error_stats(e)                        # 1,2,3,4 % -> median 2.5, p90 3.7 (linear)
    assert s["n"] == 4
    assert s["median_pct"] == pytest.approx(2.5) and s["p90_pct"] == pytest.approx(3.7)
    empty = A.error_stats(np.full((2, 3), np.nan))
    assert empty["n"] == 0 and math.isnan(empty["median_pct"])


def test_coverage_and_align():
    assert A.coverage(np.array([True, False, True, True])) == 0.75
    i_ours, i_mp = A.align_frames(np.array([0, 2, 3]), np.array([0, 1, 2, 3]))
    assert i_ours.tolist() == [0, 1, 2] and i_mp.tolist() == [0, 2, 3]


# --------------------------------------------------------------------------- time

def test_time_stats_drops_warmup():
    ms = np.array([500.0, 90.0] + list(range(1, 11)))
    s = A.time_stats(ms, skip=2)                # 1..10 -> median 5.5, p90 9.1
    assert s == {"median_ms": 5.5, "p90_ms": pytest.approx(9.1), "n": 10}
    assert A.time_stats(ms, skip=0)["median_ms"] == 6.5   # 1..10, 90, 500
    assert A.time_stats(ms, skip=50)["n"] == 0
    with pytest.raises(ValueError, match="skip must be >= 0"):
        A.time_stats(ms, skip=-1)


def test_cores_busy_and_ratio():
    assert A.cores_busy(np.array([1000.0, 10, 10]), np.array([0.0, 15, 15]), skip=1) == 1.5
    assert A.ratio(20.0, 40.0) == 0.5
    assert math.isnan(A.ratio(20.0, 0.0)) and math.isnan(A.ratio(math.nan, 1.0))


# --------------------------------------------------------------------------- one video, pooled

def test_compare_video_and_summarize_known_answer():
    t = 12
    a = _mp_arrays(t)
    a["times_ms"] = np.array([300.0] + [40.0] * (t - 1))
    a["cpu_ms"] = np.array([300.0] + [60.0] * (t - 1))
    a["left_hand_found"][6:] = False            # MP: left hand in half of the frames
    mp = _run(a)
    ours = mp.k67.copy()
    ours[:, RIGHT_HAND, 2] = 0.0                # ours: never a right hand
    ours[:, :25, 1] += 8.0                      # 8 px on 160 px = 5 %
    ours_ms = np.array([900.0] + [20.0] * (t - 1))
    # our run processed every frame but the last
    c = A.compare_video(ours[:-1], np.arange(t - 1), ours_ms[:-1], mp, skip=1)
    s = A.summarize([c])
    assert s["frames"] == {"ours": 11, "mediapipe": 12, "common": 11}
    assert s["body"]["median_pct"] == pytest.approx(5.0) and s["body"]["n"] == 11 * 23
    assert s["left_hand"]["median_pct"] == 0.0 and s["left_hand"]["n"] == 6 * 21
    assert s["right_hand"]["n"] == 0
    assert s["coverage"]["ours"] == {"body": 1.0, "left_hand": 6 / 11, "right_hand": 0.0}
    assert s["coverage"]["mediapipe"] == {"body": 1.0, "left_hand": 6 / 11, "right_hand": 1.0}
    assert s["time"]["ours"]["median_ms"] == 20.0 and s["time"]["mediapipe"]["median_ms"] == 40.0
    assert s["time"]["ours"]["n"] == 10 and s["time"]["mediapipe"]["n"] == 10  # common frames - 1
    assert s["ratio_median"] == 0.5 and s["mediapipe_cores"] == pytest.approx(1.5)
    assert s["body_per_keypoint_median_pct"]["Nose"] == pytest.approx(5.0)
    assert s["body_per_keypoint_median_pct"]["LSmallToe"] is None
    # pooled over two videos: every frame counts once
    pooled = A.summarize([c, c])
    assert pooled["body"]["n"] == 2 * 11 * 23 and pooled["frames"]["common"] == 22
    json.dumps(pooled)                          # JSON-ready


def test_compare_video_without_common_frames_raises():
    mp = _run(_mp_arrays(2))
    with pytest.raises(ValueError, match="share no frame index"):
        A.compare_video(mp.k67, np.array([7, 8]), np.zeros(2), mp)


def test_summarize_mediapipe():
    a = _mp_arrays(4)
    a["pose_found"][0] = False
    s = A.summarize_mediapipe([_run(a)], skip=1)
    assert s["frames"] == 4 and s["coverage"]["body"] == 0.75
    assert s["time"] == {"median_ms": 40.0, "p90_ms": 40.0, "n": 3}
    assert s["mediapipe_cores"] == 1.5


# --------------------------------------------------------------------------- loaders

def test_loaders_round_trip(tmp_path):
    folder = tmp_path / "a folder with spaces"
    folder.mkdir()
    a = _mp_arrays(3)
    np.savez(folder / "mp.npz", **a)
    mp = A.load_mediapipe(folder / "mp.npz")
    assert mp.meta["mediapipe_version"] == "0.10.21" and mp.meta["width"] == 640
    assert mp.k67.shape == (3, NUM_K67, 3)

    np.savez(folder / "keypoints.npz", k67=mp.k67, frame_index=np.arange(3), fps=30.0,
             width=640, height=480)
    timings = {"frames": [{"frontend_total": 31.0}, {"pose_landmark": 3.0},
                          {"frontend_total": 29.0}],
               "summary": {"device": "cpu", "backend": "onnxruntime", "threads": 2}}
    (folder / "timings.json").write_text(json.dumps(timings))
    ours = A.load_ours(folder)
    np.testing.assert_array_equal(ours.frame_ms, [31.0, np.nan, 29.0])
    assert ours.info["backend"] == "onnxruntime" and ours.meta["height"] == 480
    timings = {"frames": [{"frontend_total": 30.0}], "summary": {"frontend_total": {"median": 30}},
               "device": "AMD EPYC", "threads": 2}  # the run's description at the top level
    (folder / "timings.json").write_text(json.dumps(timings))
    ours = A.load_ours(folder)
    assert ours.info == {"device": "AMD EPYC", "threads": 2}


def test_frame_ms_from_timings_misuse():
    with pytest.raises(ValueError, match="no 'frames' list"):
        A.frame_ms_from_timings({"summary": {}})
    with pytest.raises(ValueError, match=r"no frame in timings.json has 'frontend_total'.*pose"):
        A.frame_ms_from_timings({"frames": [{"pose": 1.0}]})


def test_mediapipe_run_missing_key():
    a = _mp_arrays(1)
    del a["left_hand_found"]
    with pytest.raises(ValueError, match="left_hand_found"):
        A.mediapipe_run_from_arrays(a)


# --------------------------------------------------------------------------- the runner's guards

def test_mediapipe_script_imports_no_mocap():
    """mediapipe_holistic.py runs under MediaPipe's interpreter, where mocap is not installed."""
    from mocap.benchmarks import compare_mediapipe as C

    tree = ast.parse(Path(C.MEDIAPIPE_SCRIPT).read_text())
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    assert roots <= {"__future__", "argparse", "logging", "os", "sys", "tempfile", "time", "cv2",
                     "numpy", "mediapipe"}, roots


def test_compare_cli_one_line_errors(tmp_path, capsys):
    from mocap.benchmarks import compare_mediapipe as C

    fake_video = tmp_path / "not a video.mp4"
    fake_video.write_text("text")
    rc = C.main(["--videos", str(fake_video), "--mediapipe-python", str(tmp_path / "no python"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and err.startswith("error: --mediapipe-python")
    with pytest.raises(ValueError, match="video unreadable by OpenCV"):
        C.check_video(str(fake_video))
    with pytest.raises(ValueError, match="video not found"):
        C.check_video(str(tmp_path / "missing.mp4"))


def test_distinct_hands_counts_a_shared_hand_once():
    from mocap.benchmarks.agreement import distinct_hands

    k = np.zeros((3, 67, 3), np.float32)
    hand = np.stack(np.meshgrid(np.linspace(0, 20, 7), np.linspace(0, 30, 3)), -1).reshape(21, 2)
    k[:, 7, :2] = (100, 100)   # LWrist
    k[:, 4, :2] = (300, 100)   # RWrist
    # frame 0: both sides on one hand next to the right wrist -> only the right counts
    k[0, 25:46, :2] = k[0, 46:67, :2] = hand + (295, 95)
    # frame 1: two separate hands -> both count
    k[1, 25:46, :2] = hand + (95, 95)
    k[1, 46:67, :2] = hand + (295, 95)
    # frame 2: only the left hand
    k[2, 25:46, :2] = hand + (95, 95)
    k[0, 25:, 2] = k[1, 25:, 2] = 1
    k[2, 25:46, 2] = 1
    np.testing.assert_array_equal(distinct_hands(k), [[False, True], [True, True], [True, False]])
