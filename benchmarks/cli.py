"""`mocap-bench`: run the pipeline on a video and write a per-module latency report.

The pipeline runs twice in one invocation, side by side: `overlap` (the default live pipeline:
the body nets of frame t+1 run beside the hand nets of frame t) and `sequential` (one frame at a
time through the front end, the lowest per-frame latency). The report (markdown + JSON + a bar
chart PNG) gives per-module median/p90 ms over the steady-state frames, end-to-end fps and
capture-to-result latency, the machine, back end, provider and thread count, next to the seed's
per-module budget (benchmarks/budget.py).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from ..app.cli import add_engine_args, add_source_args, live_config_from_args, run_cli
from .budget import BUDGET

# Modules in pipeline order; anything else that was timed follows.
MODULE_ORDER = ("capture", "pose_detector", "pose_landmark", "hand_recrop", "palm_detector",
                "hand_landmark", "body_stage", "hand_stage", "frontend_total", "pose_init", "descent", "stage3d",
                "draw", "draw_mesh", "encode")
MODES = {"overlap": True, "sequential": False}


def versions() -> dict[str, str]:
    import cv2
    import numpy
    import onnxruntime

    return {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
            "numpy": numpy.__version__, "opencv": cv2.__version__}


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
        f"- frames: {first['frames_processed']} per run, the first {first['warmup_frames_excluded']} "
        "excluded from the statistics; both runs in one invocation, one after the other",
        "",
        "| run | end-to-end fps | front end per frame, ms median / p90 | capture-to-result ms median / p90 |",
        "|---|---:|---:|---:|",
    ]
    for name, r in runs.items():
        lat = r["latency_ms"]
        lines.append(f"| {name} | {r['fps']:.1f} | {_cell(r['summary'], 'frontend_total')} | "
                     f"{lat['median']:.1f} / {lat['p90']:.1f} |")
    lines += [
        "",
        "`overlap` is the default pipeline (body of frame t+1 beside the hands of frame t, on two",
        "threads); `sequential` (`--no-overlap`) runs each frame start to end in one thread. For a video",
        "file the reader runs ahead of the nets, so capture-to-result latency includes the frames",
        "waiting in the queues; with a live camera the newest frame wins and that wait is gone.",
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
        "The budget is a GPU number; a CPU time beside it is for orientation only (sequential run).",
        "",
        "| seed module | seed input | budget ms | our module | our input | ours median / p90 |",
        "|---|---|---:|---|---|---:|",
    ]
    ref = runs.get("sequential", first)["summary"]
    for row in BUDGET:
        lines.append(f"| {row.module} | {row.seed_input} | {row.budget_ms:g} | {row.ours or '-'} | "
                     f"{row.our_input} | {_cell(ref, row.ours)} |")
    return "\n".join(lines) + "\n"


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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-bench", description=__doc__.splitlines()[0])
    add_source_args(p)
    add_engine_args(p)
    p.add_argument("--device", choices=("cpu",), default="cpu", help="device to benchmark (GPU: later)")
    p.add_argument("--modes", default="overlap,sequential",
                   help="pipeline runs to compare, comma-separated from: " + ", ".join(MODES))
    p.add_argument("--report", type=Path, default=Path("bench"), metavar="DIR",
                   help="folder for report.md, report.json, report.png (default: bench)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    def body() -> int:
        from ..app.pipeline import run_live
        from ..app.record import prepare_out_dir

        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise ValueError(f"unknown mode {bad[0] if bad else args.modes!r}; choose from {', '.join(MODES)}")
        report_dir = prepare_out_dir(args.report)
        report = {"versions": versions(), "runs": {}}
        for mode in modes:
            with tempfile.TemporaryDirectory(prefix="mocap-bench-") as tmp:
                cfg = live_config_from_args(args, out=Path(tmp), headless=True, save_video=False,
                                            overlap=MODES[mode])
                run_live(cfg)
                run = json.loads((Path(tmp) / "timings.json").read_text())
                run["source"] = Path(run["source"]).name  # reports are shared: no machine paths
                report["runs"][mode] = run
        (report_dir / "report.json").write_text(json.dumps(report, indent=1))
        (report_dir / "report.md").write_text(render_markdown(report))
        plot(report, report_dir / "report.png")
        print(render_markdown(report))
        print(f"mocap-bench: wrote {report_dir}/report.md, report.json, report.png")
        return 0

    return run_cli("mocap-bench", body)


if __name__ == "__main__":
    sys.exit(main())
