"""`mocap-bench`: run the pipeline on a video and write a per-module latency report.

The pipeline runs several times in one invocation, side by side: by default `overlap` (the default
live pipeline: the body nets of frame t+1 run beside the hand nets of frame t, the 3D nets of
frame t-1 beside both) and `sequential` (one frame at a time through the front end and 3D, the
lowest per-frame latency). A mode takes options after `+`: `+render` also draws, headless, the
overlay (frame letterboxed to `--render WxH`, keypoints, crop boxes, posed mesh) and the 3D world
view at that size, as the live window shows them; `+encode` also writes both to mp4 (as
`--save-video --save-world-video` do); `+paced` reads the file at its frame rate like a camera
(newest frame wins), so the capture-to-result latency is the live one. The report (markdown +
JSON + a bar chart PNG) gives per-module median/p90 ms over the steady-state frames, end-to-end fps
and latency, the machine, back end, provider and thread count, next to the seed's per-module
budget (benchmarks/budget.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..app.cli import add_engine_args, add_source_args, live_config_from_args, parse_size, run_cli
from .budget import BUDGET

# Modules in pipeline order; anything else that was timed follows.
MODULE_ORDER = ("capture", "pose_detector", "pose_landmark", "hand_recrop", "palm_detector",
                "hand_landmark", "body_stage", "hand_stage", "frontend_total", "pose_init", "descent", "stage3d",
                "world", "world_cpu", "draw_world", "draw", "draw_mesh", "encode", "encode_world")
MODES = {"overlap": True, "sequential": False}   # the pipeline layouts a mode starts with
MODE_OPTIONS = ("render", "encode", "paced")      # what may follow after "+"
DEFAULT_MODES = "overlap,sequential"
RENDER_MODES = "overlap,overlap+render,sequential"   # the default with --render
DEFAULT_RENDER_SIZE = (640, 480)


@dataclass(frozen=True)
class Mode:
    """One benchmark run: the pipeline layout and what else it does (module docstring)."""

    name: str
    overlap: bool
    render: bool = False
    encode: bool = False
    paced: bool = False


def parse_mode(name: str) -> Mode:
    """"overlap+render" -> Mode(overlap=True, render=True). +encode implies +render.

    Raises:
        ValueError: an unknown layout or option (one line).
    """
    base, *opts = [part.strip() for part in name.strip().split("+")]
    if base not in MODES:
        raise ValueError(f"unknown mode {name.strip()!r}; a mode is one of {', '.join(MODES)}, "
                         f"optionally followed by +{', +'.join(MODE_OPTIONS)}")
    bad = [o for o in opts if o not in MODE_OPTIONS]
    if bad:
        raise ValueError(f"unknown mode option {bad[0]!r} in {name.strip()!r}; choose from {', '.join(MODE_OPTIONS)}")
    encode = "encode" in opts
    return Mode("+".join([base, *opts]), MODES[base], render="render" in opts or encode, encode=encode,
                paced="paced" in opts)


def parse_modes(spec: str) -> list[Mode]:
    """A comma-separated list of modes, each once, in the given order.

    Raises:
        ValueError: an empty list, an unknown mode, or one named twice.
    """
    modes = [parse_mode(m) for m in spec.split(",") if m.strip()]
    if not modes:
        raise ValueError(f"unknown mode {spec!r}; choose from {', '.join(MODES)}")
    names = [m.name for m in modes]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ValueError(f"mode {dup!r} named twice")
    return modes


def versions() -> dict[str, str]:
    import cv2
    import numpy
    import onnxruntime

    return {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
            "numpy": numpy.__version__, "opencv": cv2.__version__}


def load_average() -> float:
    """The 1-minute load average (the machine's other work during a run); NaN where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def ordered_modules(summaries: Sequence[dict]) -> list[str]:
    seen = {m for s in summaries for m in s}
    return [m for m in MODULE_ORDER if m in seen] + sorted(seen - set(MODULE_ORDER))


def _cell(summary: dict, module: str | None) -> str:
    got = summary.get(module) if module else None
    return f"{got['median']:.2f} / {got['p90']:.2f}" if got else "-"


def render_markdown(report: dict) -> str:
    runs = report["runs"]
    names = list(runs)
    first = runs[names[0]]
    lines = [
        f"# mocap-bench: {Path(first['source']).name}",
        "",
        f"- machine: {first['device']} ({first['cores']} cores); back end {first['backend']} "
        f"({first['provider']}), {first['threads']} thread(s) per net",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        f"- frames processed per run: {', '.join(str(r['frames_processed']) for r in runs.values())}, the first "
        f"{first['warmup_frames_excluded']} excluded from the statistics; all runs in one invocation, one after the other",
        "- machine load (1-minute load average before / after each run): "
        + ", ".join(f"{n} {r['load'][0]:.2f} / {r['load'][1]:.2f}" for n, r in runs.items() if "load" in r),
    ]
    if "gpu" in report:
        lines.append("- GPU: " + ", ".join(f"{k} {v}" for k, v in report["gpu"].items()))
    for label, why in report.get("skipped_backends", {}).items():
        lines.append(f"- back end {label} not run: {why}")
    lines += [
        "",
        "| run | back end (what runs) | end-to-end fps | front end per frame, ms median / p90 "
        "| capture-to-result ms median / p90 | capture-to-drawn ms median / p90 | frames dropped |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in runs.items():
        lat, drawn = r["latency_ms"], r.get("latency_drawn_ms")
        lines.append(f"| {name} | {r['backend']} ({r['provider']}) | {r['fps']:.1f} | {_cell(r['summary'], 'frontend_total')} | "
                     f"{lat['median']:.1f} / {lat['p90']:.1f} | "
                     + (f"{drawn['median']:.1f} / {drawn['p90']:.1f}" if drawn else "-")
                     + f" | {r.get('frames_dropped', 0)} |")
    sizes = sorted({"x".join(map(str, r["view_size"])) for r in runs.values() if r.get("render") and r.get("view_size")})
    lines += [
        "",
        "`overlap` is the default pipeline (body of frame t+1 beside the hands of frame t, the 3D stage of",
        "frame t-1 beside both, each in its own thread); `sequential` (`--no-overlap`) runs each frame",
        "through front end and 3D in one thread. Every run has the 3D nets and the world stage on.",
        f"`+render`: the output thread also draws, headless, the overlay at {', '.join(sizes) or '-'} (the frame",
        "letterboxed, crop boxes, K67 skeleton, posed mesh) and the 3D world view at that size, as the live",
        "window shows them (no window, no encoding); `+encode` also writes both as mp4 (`--save-video",
        "--save-world-video`). Runs without either draw nothing. `+paced` reads the file at its frame rate",
        "like a camera (newest frame wins; late frames are dropped and counted), so its fps is capped at the",
        "clip's and its latency is the live one. Unpaced, the reader runs ahead of the nets, so",
        "capture-to-result latency includes the frames waiting in the queues. Capture-to-result ends when the",
        "3D and world results are ready; capture-to-drawn when the overlay is drawn.",
        "",
        "## Per module (ms per frame where the module ran: median / p90)",
        "",
        "| module | " + " | ".join(names) + " | frames |",
        "|---|" + "---:|" * len(names) + "---:|",
    ]
    for m in ordered_modules([r["summary"] for r in runs.values()]):
        count = max(r["summary"].get(m, {}).get("count", 0) for r in runs.values())
        lines.append(f"| {m} | " + " | ".join(_cell(r["summary"], m) for r in runs.values()) + f" | {count} |")
    lines += [
        "",
        "`frontend_total` = `body_stage` + `hand_stage`: the whole 2D front end for one frame (detector",
        "when tracking is lost, body landmarks, hand re-crop, palm fallback, hand landmarks, all pre- and",
        "post-processing). In the overlapped run each stage shares the two cores with the other, so its",
        "own time is longer while more frames per second come out. `stage3d` is the 3D stage per frame",
        "(window normalisation, `pose_init` and `descent` nets, rotation conversion); it runs in its own",
        "thread after the hands in the overlapped run. `draw_mesh` (part of `draw`) paints the posed mesh.",
        "",
        "## Against the seed's budget (seed 000 Table 1: RTX 4060 laptop GPU, TensorRT)",
        "",
        "The budget is a GPU number; a CPU time beside it is for orientation only. Times from the sequential",
        "run(s), one column per back end.",
        "",
        "| seed module | seed input | budget ms | our module | our input | ours median / p90 |",
        "|---|---|---:|---|---|---:|",
    ]
    refs = budget_runs(runs)
    if len(refs) > 1:  # one column per back end
        lines[-2] = lines[-2].replace("| ours median / p90 |", "| " + " | ".join(refs) + " |")
        lines[-1] = "|---|---|---:|---|---|" + "---:|" * len(refs)
    for row in BUDGET:
        lines.append(f"| {row.module} | {row.seed_input} | {row.budget_ms:g} | {row.ours or '-'} | "
                     f"{row.our_input} | " + " | ".join(_cell(runs[n]["summary"], row.ours) for n in refs) + " |")
    return "\n".join(lines) + "\n"


def budget_runs(runs: dict) -> list[str]:
    """The runs the budget table reads: every sequential run (one per back end), else the first run."""
    seq = [n for n in runs if n == "sequential" or n.startswith("sequential [")]
    return seq or [next(iter(runs))]


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = report["runs"]
    mods = ordered_modules([r["summary"] for r in runs.values()])
    budget = {r.ours: r.budget_ms for r in BUDGET if r.ours}
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(mods) + 1.8))
    y = np.arange(len(mods))
    h = 0.8 / len(runs)
    for k, (name, r) in enumerate(runs.items()):
        med = np.array([r["summary"].get(m, {}).get("median", np.nan) for m in mods])
        p90 = np.array([r["summary"].get(m, {}).get("p90", np.nan) for m in mods])
        yy = y + (k - (len(runs) - 1) / 2) * h
        ax.barh(yy, med, height=h, label=f"{name}: {r['fps']:.1f} fps")
        ax.errorbar(med, yy, xerr=[np.zeros_like(med), p90 - med], fmt="none", ecolor="black", capsize=2)
    bx = [budget.get(m, np.nan) for m in mods]
    ax.plot(bx, y, "r|", markersize=16, mew=2, label="seed GPU budget")
    ax.set_yticks(y, mods)
    ax.invert_yaxis()
    ax.set_xlabel("ms per frame (bar: median, whisker: p90)")
    first = next(iter(runs.values()))
    ax.set_title(f"{Path(first['source']).name}: {first['provider']}, {first['threads']} thread(s) per net\n"
                 f"{first['device']}, {first['cores']} cores", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def mode_config(args: argparse.Namespace, mode: Mode, out: Path, **backend):
    """The LiveConfig of one benchmark run (headless; files into `out`); `backend`: LiveConfig fields that
    select the back end (benchmarks/backends.py live_overrides), else the command line's."""
    size = (args.render or DEFAULT_RENDER_SIZE) if mode.render else None
    return live_config_from_args(args, out=out, headless=True, overlap=mode.overlap, render=mode.render,
                                 view_size=size, save_video=mode.encode,
                                 save_world_video=mode.encode and not args.no_3d, realtime=mode.paced, **backend)


def planned_runs(args: argparse.Namespace, modes: Sequence[Mode]) -> tuple[list[tuple[str, Mode, dict]], dict]:
    """[(run name, mode, back-end fields)] and {back end: why skipped}. On the CPU one run per mode with the
    command line's back end; with --device cuda every mode once per back end this machine has (best first)."""
    if args.device == "cpu":
        return [(m.name, m, {}) for m in modes], {}
    from .backends import available_backends, live_overrides

    have, missing = available_backends()
    return [(f"{m.name} [{label}]", m, live_overrides(label)) for label in have for m in modes], missing


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-bench", description=__doc__.splitlines()[0])
    add_source_args(p)
    add_engine_args(p)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cpu: the command line's back end (default); cuda: every back end this machine has "
                        "(TensorRT fp16/fp32, ONNX Runtime CUDA, CPU), each mode once per back end")
    p.add_argument("--modes", default=None,
                   help=f"pipeline runs to compare, comma-separated: {' or '.join(MODES)}, each optionally with "
                        f"+{', +'.join(MODE_OPTIONS)} (default: {DEFAULT_MODES}; with --render: {RENDER_MODES})")
    p.add_argument("--render", type=parse_size, metavar="WxH", default=None,
                   help=f"size of the overlay and world view drawn in +render modes (default "
                        f"{DEFAULT_RENDER_SIZE[0]}x{DEFAULT_RENDER_SIZE[1]}); given, the default modes add overlap+render")
    p.add_argument("--report", type=Path, default=Path("bench"), metavar="DIR",
                   help="folder for report.md, report.json, report.png (default: bench)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    def body() -> int:
        from ..app.pipeline import run_live
        from ..app.record import prepare_out_dir

        modes = parse_modes(args.modes or (RENDER_MODES if args.render else DEFAULT_MODES))
        runs, skipped = planned_runs(args, modes)
        report_dir = prepare_out_dir(args.report)
        report = {"versions": versions(), "runs": {}, "skipped_backends": skipped}
        if args.device == "cuda":
            from .device_info import backend_versions, cuda_info

            report["gpu"] = {**cuda_info(), **backend_versions()}
        for name, mode, backend in runs:
            with tempfile.TemporaryDirectory(prefix="mocap-bench-") as tmp:
                load = [load_average()]
                run_live(mode_config(args, mode, Path(tmp), **backend))
                load.append(load_average())
                run = json.loads((Path(tmp) / "timings.json").read_text())
                run["load"] = load
                run["source"] = Path(run["source"]).name  # reports are shared: no machine paths
                report["runs"][name] = run
        (report_dir / "report.json").write_text(json.dumps(report, indent=1))
        (report_dir / "report.md").write_text(render_markdown(report))
        plot(report, report_dir / "report.png")
        print(render_markdown(report))
        print(f"mocap-bench: wrote {report_dir}/report.md, report.json, report.png")
        return 0

    return run_cli("mocap-bench", body)


if __name__ == "__main__":
    sys.exit(main())
