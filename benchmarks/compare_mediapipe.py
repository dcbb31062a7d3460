"""Side-by-side run of MediaPipe's own legacy Holistic and our front end on the same videos.

    python -m mocap.benchmarks.compare_mediapipe --videos A.mp4 B.mp4 \\
        --mediapipe-python .venv-mediapipe/bin/python --out benchmarks/reports/mediapipe_comparison

For each video, one after the other (never concurrently: the timings would fight for the cores),
it runs `benchmarks/mediapipe_holistic.py` under the MediaPipe interpreter, then
`mocap-live --video V --headless --out TMP`, and computes the numbers in `agreement.py`. It writes
OUT/report.md, OUT/report.json and OUT/report.png. `--mediapipe-only` runs only MediaPipe's side
and writes OUT/mediapipe_only.md / .json. See benchmarks/README.md for what each number means.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from mocap.benchmarks import agreement

logger = logging.getLogger(__name__)

MEDIAPIPE_SCRIPT = Path(__file__).with_name("mediapipe_holistic.py")
# MediaPipe's C++ side logs through glog/absl; keep warnings and errors only.
_MP_ENV = {"GLOG_minloglevel": "1", "TF_CPP_MIN_LOG_LEVEL": "1"}


# --------------------------------------------------------------------------- checks

def check_mediapipe_python(python: str) -> str:
    """Return MediaPipe's version as seen by `python`.

    Raises:
        ValueError: `python` does not exist or cannot import mediapipe.
    """
    path = shutil.which(python) or python
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        raise ValueError(
            f"--mediapipe-python {python!r} is not an executable file; create the environment with "
            "`python -m venv .venv-mediapipe && .venv-mediapipe/bin/pip install mediapipe==0.10.21`")
    proc = subprocess.run([path, "-c", "import mediapipe, cv2, numpy; print(mediapipe.__version__)"],
                          capture_output=True, text=True, env={**os.environ, **_MP_ENV})
    if proc.returncode != 0:
        raise ValueError(f"{path} cannot import mediapipe/cv2/numpy ({_last_line(proc.stderr)}); "
                         "install them with `pip install mediapipe==0.10.21` in that environment")
    return proc.stdout.strip().splitlines()[-1]


def check_video(path: str) -> None:
    """Raises ValueError unless OpenCV can read a first frame of `path`."""
    import cv2

    if not Path(path).is_file():
        raise ValueError(f"video not found: {path}")
    cap = cv2.VideoCapture(path)
    try:
        ok = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"video unreadable by OpenCV: {path}")


def _last_line(text: str) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


# --------------------------------------------------------------------------- the two runs

def run_mediapipe(python: str, video: str, out_npz: Path, max_frames: int | None = None) -> Path:
    """Run mediapipe_holistic.py on `video` under `python`; returns the npz path.

    The frames are decoded here, with our OpenCV, and streamed to the script as raw BGR: OpenCV
    builds decode the same H.264 file slightly differently (up to 12 grey levels on some clips),
    and the comparison should see both front ends on identical pixels.

    Raises:
        RuntimeError: the subprocess failed (its last stderr line is in the message).
    """
    import cv2

    cap = cv2.VideoCapture(video)
    ok, first = cap.read()
    if not ok:
        raise RuntimeError(f"cannot read a frame from {video}")
    h, w = first.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 30.0)
    cmd = [python, str(MEDIAPIPE_SCRIPT), video, str(out_npz), "--stdin-frames", f"{w}x{h}x{fps}"]
    if max_frames is not None:
        cmd += ["--max-frames", str(max_frames)]
    logger.debug("running %s", cmd)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **_MP_ENV})
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    try:
        frame, n = first, 0
        while ok and (max_frames is None or n < max_frames):
            proc.stdin.write(frame.tobytes())
            n += 1
            ok, frame = cap.read()
    except BrokenPipeError:
        pass  # the script stopped early; its exit status and stderr say why
    finally:
        cap.release()
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    rc = proc.wait()
    reader.join(timeout=10)
    if rc != 0 or not out_npz.is_file():
        stderr = b"".join(err).decode(errors="replace")
        raise RuntimeError(f"MediaPipe run failed on {video}: {_last_line(stderr)}")
    return out_npz


def our_command() -> list[str]:
    """How to start our app with the current interpreter: its `mocap-live` script if installed."""
    script = Path(sys.executable).with_name("mocap-live")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mocap.app.cli"]


def run_ours(video: str, out_dir: Path, threads: int | None = None,
             max_frames: int | None = None, overlap: bool = False) -> Path:
    """Run `mocap-live --video V --headless --out DIR [--threads N] [--max-frames N]`; returns DIR.

    Without `overlap` our front end runs each frame start to end in one thread (`--no-overlap`),
    as MediaPipe's `process()` does, so the per-frame times are like for like.

    Raises:
        RuntimeError: the subprocess failed or wrote no keypoints.npz / timings.json.
    """
    cmd = our_command() + ["--video", video, "--headless", "--out", str(out_dir)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    if max_frames is not None:
        cmd += ["--max-frames", str(max_frames)]
    if not overlap:
        cmd += ["--no-overlap"]
    logger.debug("running %s", cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"our run failed on {video} ({' '.join(cmd[:3])} ...): "
                           f"{_last_line(proc.stderr)}")
    for name in ("keypoints.npz", "timings.json"):
        if not (out_dir / name).is_file():
            raise RuntimeError(f"our run on {video} wrote no {out_dir / name}")
    return out_dir


# --------------------------------------------------------------------------- machine

def machine_info(mediapipe_version: str | None) -> dict:
    """CPU model, core counts, OS and library versions of this machine."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:  # Linux: the "model name" line names the CPU
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu or platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": version("onnxruntime") or version("onnxruntime-gpu"),
        "numpy": version("numpy"),
        "mediapipe": mediapipe_version,
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- report

def _f(x: float | None, fmt: str = "{:.1f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else fmt.format(x)


def _pct(x: float) -> str:
    return _f(x * 100 if x is not None and math.isfinite(x) else math.nan, "{:.0f}%")


def _setup(setup) -> str:
    """Our run's description ({"backend": ..., "threads": ...}, or a list of them) as text."""
    if isinstance(setup, list):
        return "; ".join(_setup(s) for s in setup)
    return ", ".join(f"{k} {v}" for k, v in (setup or {}).items()) or "not reported"


def markdown_report(report: dict) -> str:
    """The comparison as markdown: one row per video plus an "all" row."""
    m, rows = report["machine"], report["videos"] + [dict(report["overall"], video="all")]
    out = [
        "# Our front end vs MediaPipe Holistic " + str(m.get("mediapipe")),
        "",
        f"Machine: {m['cpu']}, {m['usable_cores']} usable cores; onnxruntime {m['onnxruntime']}, "
        f"mediapipe {m['mediapipe']}, Python {m['python']}; ours: {_setup(report.get('ours_setup'))}; "
        f"{m['date']}.",
        f"Times are per-frame ms over the steady state (first {report['skip_frames']} frames of each "
        "video dropped); ratio = ours / MediaPipe (< 1 means we are faster). Agreement = distance to "
        "MediaPipe's point in % of its body box height (body) or hand box size (hands).",
        "",
        "| video | body med % | body p90 % | L hand med % | R hand med % | body cov ours/MP "
        "| L hand cov ours/MP | R hand cov ours/MP | ours ms med/p90 | MP ms med/p90 | ratio med "
        "| MP cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cov = r["coverage"]
        out.append(" | ".join([
            f"| {r['video']}", _f(r["body"]["median_pct"]), _f(r["body"]["p90_pct"]),
            _f(r["left_hand"]["median_pct"]), _f(r["right_hand"]["median_pct"]),
            *(f"{_pct(cov['ours'][p])} / {_pct(cov['mediapipe'][p])}"
              for p in ("body", "left_hand", "right_hand")),
            f"{_f(r['time']['ours']['median_ms'])} / {_f(r['time']['ours']['p90_ms'])}",
            f"{_f(r['time']['mediapipe']['median_ms'])} / {_f(r['time']['mediapipe']['p90_ms'])}",
            _f(r["ratio_median"], "{:.2f}"), _f(r["mediapipe_cores"], "{:.2f}") + " |"]))
    out += [
        "",
        "Hands, counting a hand once where both sides were put on it (MediaPipe does this often; our "
        "front end keeps the side whose body wrist is nearer), frames with a hand ours / MediaPipe:",
        "",
        "| video | L hand distinct ours/MP | R hand distinct ours/MP | frames both found L / R hand "
        "| ours end-to-end fps |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cov = r["coverage"]
        out.append(" | ".join([
            f"| {r['video']}",
            *(f"{_pct(cov['ours_distinct'][p])} / {_pct(cov['mediapipe_distinct'][p])}"
              for p in ("left_hand", "right_hand")),
            f"{r['left_hand']['n'] // 21} / {r['right_hand']['n'] // 21}",
            _f(r.get("ours_fps")) + " |"]))
    if not report.get("mediapipe_timed_in_this_run", True):
        out += ["", "Note: MediaPipe's results were reused from a cache, so its times were not "
                "measured in this run; compare times only from a fresh run."]
    return "\n".join(out) + "\n"


def markdown_mediapipe_only(report: dict) -> str:
    """MediaPipe's own baseline as markdown."""
    m = report["machine"]
    out = [
        f"# MediaPipe Holistic {m.get('mediapipe')} baseline (defaults: model_complexity=1, "
        "smooth_landmarks=True)",
        "",
        f"Machine: {m['cpu']}, {m['usable_cores']} usable cores, Python {m['python']}; {m['date']}. "
        f"Per-frame ms of `Holistic.process()` after dropping the first {report['skip_frames']} "
        "frames; cores = CPU time / wall time; coverage = fraction of all frames with that part.",
        "",
        "| video | frames | ms median | ms p90 | cores | body | left hand | right hand |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["videos"] + [dict(report["overall"], video="all")]:
        c = r["coverage"]
        out.append(f"| {r['video']} | {r['frames']} | {_f(r['time']['median_ms'])} | "
                   f"{_f(r['time']['p90_ms'])} | {_f(r['mediapipe_cores'], '{:.2f}')} | "
                   f"{_pct(c['body'])} | {_pct(c['left_hand'])} | {_pct(c['right_hand'])} |")
    return "\n".join(out) + "\n"


# Issue targets: body within 1.5 % of the body box height, hands within 3 % of the hand box.
AGREEMENT_TARGET_PCT = {"body": 1.5, "hand": 3.0}


def plot_report(report: dict, path: Path) -> Path:
    """Bar charts per video: per-frame ms (median, p90 as a whisker) and agreement medians."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vids = report["videos"]
    names = [Path(v["video"]).stem[:40] for v in vids]
    x = np.arange(len(vids))
    fig, (ax_t, ax_a) = plt.subplots(1, 2, figsize=(max(8, 2.2 * len(vids)), 4.5))
    w = 0.38
    for k, (side, label) in enumerate((("ours", "ours"), ("mediapipe", "MediaPipe Holistic"))):
        med = np.array([v["time"][side]["median_ms"] for v in vids], float)
        p90 = np.array([v["time"][side]["p90_ms"] for v in vids], float)
        ax_t.bar(x + (k - 0.5) * w, med, w, yerr=[np.zeros_like(med), np.maximum(p90 - med, 0)],
                 capsize=3, label=label)
    ax_t.set_ylabel("ms per frame (median, whisker = p90)")
    ax_t.set_title("Per-frame time")
    w = 0.27
    for k, (part, label, points) in enumerate((("body", "body", None), ("left_hand", "left hand", 21),
                                               ("right_hand", "right hand", 21))):
        med = np.array([v[part]["median_pct"] if v[part]["median_pct"] is not None else np.nan for v in vids])
        bars = ax_a.bar(x + (k - 1) * w, med, w, label=label)
        for bar, v in zip(bars, vids):  # a hand median over a handful of frames says little
            frames = v[part]["n"] // points if points else None
            if frames is not None and 0 < frames < 10:
                ax_a.annotate(f"{frames} fr", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=7)
    for target, label in ((AGREEMENT_TARGET_PCT["body"], "body target"),
                          (AGREEMENT_TARGET_PCT["hand"], "hand target")):
        ax_a.axhline(target, ls="--", lw=1, color="grey")
        ax_a.text(len(vids) - 0.5, target, label, fontsize=7, va="bottom", ha="right", color="grey")
    ax_a.set_ylabel("median distance, % of MediaPipe's box")
    ax_a.set_title("Agreement with MediaPipe")
    for ax in (ax_t, ax_a):
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _write(path: Path, text: str) -> Path:
    """Write text atomically (temp file in the same folder, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _json_safe(obj):
    """NaN -> None so that the JSON is strict."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mocap.benchmarks.compare_mediapipe",
        description="Compare our front end with MediaPipe Holistic 0.10.21 on the same videos, "
                    "in one run (see benchmarks/README.md).")
    p.add_argument("--videos", nargs="+", required=True, help="video files")
    p.add_argument("--mediapipe-python", required=True,
                   help="python of an environment with mediapipe==0.10.21")
    p.add_argument("--out", required=True, type=Path, help="report folder")
    p.add_argument("--threads", type=int, default=None,
                   help="passed to mocap-live as --threads (MediaPipe's thread use is not settable)")
    p.add_argument("--overlap", action="store_true",
                   help="time our default overlapped pipeline (body of frame t+1 beside the hands of "
                        "frame t) instead of one frame at a time")
    p.add_argument("--mediapipe-only", action="store_true",
                   help="only run MediaPipe and save its results (baseline numbers, cache)")
    p.add_argument("--mediapipe-cache", type=Path, default=None,
                   help="folder for MediaPipe's per-video npz (default: OUT/mediapipe_npz with "
                        "--mediapipe-only, else a temporary folder)")
    p.add_argument("--reuse-mediapipe", action="store_true",
                   help="use a cached npz instead of running MediaPipe again (agreement only: "
                        "times are then not from this run)")
    p.add_argument("--keep-ours", type=Path, default=None,
                   help="folder to keep our per-video outputs in (default: temporary)")
    p.add_argument("--skip", type=int, default=agreement.STEADY_STATE_SKIP,
                   help="frames dropped from the start of each video for time statistics")
    p.add_argument("--max-frames", type=int, default=None,
                   help="both sides stop after N frames (quick checks)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.skip < 0:
            raise ValueError(f"--skip must be >= 0, got {args.skip}")
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        if args.max_frames is not None and args.max_frames < 1:
            raise ValueError(f"--max-frames must be >= 1, got {args.max_frames}")
        mp_version = check_mediapipe_python(args.mediapipe_python)
        for v in args.videos:
            check_video(v)
        return _run(args, mp_version)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, mp_version: str) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    stems = [Path(v).stem for v in args.videos]
    if len(set(stems)) != len(stems):
        raise ValueError(f"video names must be distinct (results are keyed by name): {stems}")
    with tempfile.TemporaryDirectory(prefix="mp_compare_") as tmp:
        tmp = Path(tmp)
        cache = args.mediapipe_cache or (args.out / "mediapipe_npz" if args.mediapipe_only
                                         else tmp / "mediapipe")
        cache.mkdir(parents=True, exist_ok=True)
        timed_here = True
        per_video, mp_runs, comparisons, setups = [], [], [], []
        n = len(args.videos)
        for i, video in enumerate(args.videos, 1):
            name = Path(video).name
            npz = cache / (Path(video).stem + ".npz")
            if args.reuse_mediapipe and npz.is_file():
                print(f"[{i}/{n}] {name}: MediaPipe results reused from {npz}", flush=True)
                timed_here = False
            else:
                print(f"[{i}/{n}] {name}: running MediaPipe Holistic ...", flush=True)
                run_mediapipe(args.mediapipe_python, video, npz, args.max_frames)
            mp = agreement.load_mediapipe(npz)
            mp_runs.append(mp)
            s_mp = agreement.summarize_mediapipe([mp], args.skip)
            print(f"[{i}/{n}] {name}: MediaPipe {s_mp['frames']} frames, "
                  f"{_f(s_mp['time']['median_ms'])} / {_f(s_mp['time']['p90_ms'])} ms median/p90, "
                  f"body {_pct(s_mp['coverage']['body'])}", flush=True)
            if args.mediapipe_only:
                per_video.append(dict(s_mp, video=name, init_ms=mp.meta.get("init_ms")))
                continue

            ours_dir = (args.keep_ours or tmp / "ours") / Path(video).stem
            ours_dir.mkdir(parents=True, exist_ok=True)
            print(f"[{i}/{n}] {name}: running ours ...", flush=True)
            ours = agreement.load_ours(run_ours(video, ours_dir, args.threads,
                                                args.max_frames, args.overlap))
            comp = agreement.compare_video(ours.k67, ours.frame_index, ours.frame_ms, mp, args.skip)
            comparisons.append(comp)
            setup = {k: ours.info[k] for k in ("device", "backend", "provider", "threads")
                     if k in ours.info}
            setup["overlap"] = args.overlap
            setups.append(setup)
            s = agreement.summarize([comp])
            per_video.append(dict(s, video=name, ours_setup=setup, ours_fps=ours.info.get("fps")))
            print(f"[{i}/{n}] {name}: ours {_f(s['time']['ours']['median_ms'])} ms vs MediaPipe "
                  f"{_f(s['time']['mediapipe']['median_ms'])} ms (ratio "
                  f"{_f(s['ratio_median'], '{:.2f}')}); median agreement body "
                  f"{_f(s['body']['median_pct'], '{:.1f}%')}, left hand "
                  f"{_f(s['left_hand']['median_pct'], '{:.1f}%')}, right hand "
                  f"{_f(s['right_hand']['median_pct'], '{:.1f}%')}", flush=True)

    report = {"machine": machine_info(mp_version), "skip_frames": args.skip, "videos": per_video}
    if args.mediapipe_only:
        report["overall"] = agreement.summarize_mediapipe(mp_runs, args.skip)
        md, stem = markdown_mediapipe_only(report), "mediapipe_only"
    else:
        report["overall"] = agreement.summarize(comparisons)
        report["ours_setup"] = setups[0] if len({json.dumps(s) for s in setups}) == 1 else setups
        report["mediapipe_timed_in_this_run"] = timed_here
        md, stem = markdown_report(report), "report"
        plot_report(report, args.out / f"{stem}.png")
    _write(args.out / f"{stem}.json", json.dumps(_json_safe(report), indent=2) + "\n")
    _write(args.out / f"{stem}.md", md)
    print(md)
    print(f"wrote {args.out / stem}.md / .json" + ("" if args.mediapipe_only else " / .png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
