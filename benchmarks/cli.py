"""`mocap-bench`: run the pipeline on a video and write a per-module latency report.

The report (markdown + JSON + a bar chart PNG) gives per-module median/p90 ms over the
steady-state frames, end-to-end fps and capture-to-result latency, the machine, back end,
provider and thread count, next to the seed's per-module budget (benchmarks/budget.py).
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
                "hand_landmark", "frontend_total", "stage_infer", "draw", "encode")


def versions() -> dict[str, str]:
    import cv2
    import numpy
    import onnxruntime

    return {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
            "numpy": numpy.__version__, "opencv": cv2.__version__}


def ordered_modules(summary: dict) -> list[str]:
    known = [m for m in MODULE_ORDER if m in summary]
    return known + sorted(m for m in summary if m not in MODULE_ORDER)


def render_markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        f"# mocap-bench: {Path(report['source']).name}",
        "",
        f"- machine: {report['device']} ({report['cores']} cores); back end {report['backend']} "
        f"({report['provider']}), {report['threads']} thread(s) per net",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        f"- frames: {report['frames_processed']} (first {report['warmup_frames_excluded']} excluded from "
        f"the statistics); end-to-end throughput **{report['fps']:.1f} fps**; capture-to-result latency "
        f"{report['latency_ms']['median']:.1f} ms median / {report['latency_ms']['p90']:.1f} ms p90",
        "",
        "## Per module (ms per frame where the module ran)",
        "",
        "| module | median | p90 | frames |",
        "|---|---:|---:|---:|",
    ]
    for m in ordered_modules(s):
        lines.append(f"| {m} | {s[m]['median']:.2f} | {s[m]['p90']:.2f} | {s[m]['count']} |")
    lines += [
        "",
        "`frontend_total` is the whole 2D front end for one frame (detector when tracking is lost, body",
        "landmarks, hand re-crop, palm fallback, hand landmarks, all pre- and post-processing).",
        "",
        "## Against the seed's budget (seed 000 Table 1: RTX 4060 laptop GPU, TensorRT)",
        "",
        "The budget is a GPU number; a CPU time beside it is for orientation only.",
        "",
        "| seed module | seed input | budget ms | our module | our input | ours median | ours p90 |",
        "|---|---|---:|---|---|---:|---:|",
    ]
    for row in BUDGET:
        got = s.get(row.ours) if row.ours else None
        med = f"{got['median']:.2f}" if got else "-"
        p90 = f"{got['p90']:.2f}" if got else "-"
        lines.append(f"| {row.module} | {row.seed_input} | {row.budget_ms:g} | {row.ours or '-'} | "
                     f"{row.our_input} | {med} | {p90} |")
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["summary"]
    mods = ordered_modules(s)
    med = [s[m]["median"] for m in mods]
    p90 = [s[m]["p90"] for m in mods]
    budget = {r.ours: r.budget_ms for r in BUDGET if r.ours}
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(mods) + 1.5))
    y = range(len(mods))
    ax.barh(y, med, color="#4c78a8", label="median")
    ax.errorbar(med, y, xerr=[[0] * len(mods), [b - a for a, b in zip(med, p90)]], fmt="none",
                ecolor="black", capsize=3, label="p90")
    for i, m in enumerate(mods):
        if m in budget:
            ax.plot([budget[m]], [i], "r|", markersize=18, mew=2,
                    label="seed GPU budget" if i == mods.index(next(k for k in mods if k in budget)) else None)
    ax.set_yticks(list(y), mods)
    ax.invert_yaxis()
    ax.set_xlabel("ms per frame")
    ax.set_title(f"{Path(report['source']).name}: {report['fps']:.1f} fps, {report['provider']}, "
                 f"{report['threads']} thread(s)\n{report['device']}", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mocap-bench", description=__doc__.splitlines()[0])
    add_source_args(p)
    add_engine_args(p)
    p.add_argument("--device", choices=("cpu",), default="cpu", help="device to benchmark (GPU: later)")
    p.add_argument("--report", type=Path, default=Path("bench"), metavar="DIR",
                   help="folder for report.md, report.json, report.png (default: bench)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    def body() -> int:
        from ..app.pipeline import run_live
        from ..app.record import prepare_out_dir

        report_dir = prepare_out_dir(args.report)
        with tempfile.TemporaryDirectory(prefix="mocap-bench-") as tmp:
            cfg = live_config_from_args(args, out=Path(tmp), headless=True, save_video=False)
            run_live(cfg)
            report = json.loads((Path(tmp) / "timings.json").read_text())
        report["versions"] = versions()
        frames = report.pop("frames")
        (report_dir / "report.json").write_text(json.dumps({**report, "frames": frames}, indent=1))
        (report_dir / "report.md").write_text(render_markdown(report))
        plot(report, report_dir / "report.png")
        print(render_markdown(report))
        print(f"mocap-bench: wrote {report_dir}/report.md, report.json, report.png")
        return 0

    return run_cli("mocap-bench", body)


if __name__ == "__main__":
    sys.exit(main())
