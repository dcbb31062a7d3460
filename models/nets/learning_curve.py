"""Plot the pose-initialisation net's held-out losses per epoch across a warm start.

    python -m mocap.models.nets.learning_curve models/nets/data/pose_init.pt \
        --out benchmarks/reports/nets/continued_training.png

Reads one exported checkpoint (``train_init --export``); when it was warm-started (``--init-from``),
its meta holds the earlier run's history under ``warm_start`` (and that run's own ``warm_start``, if
any), and every run of the chain is drawn on one time axis (training minutes, each after the one it
continued). The held-out terms are shown unweighted:
all 55 joints and the 22 body joints as mean L1 per joint (|dx| + |dy| + |dz|, mm, root-relative),
the hands' K67 relative to their wrists (mm), the rotation term (squared Frobenius per joint) and the
foot-contact binary cross-entropy (ln 2 = 0.693 is a coin toss).
Also prints the numbers as a Markdown table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

# term name -> (label, divide by the loss weight and scale to the shown unit)
TERMS = {"joints": ("55 joints L1 (mm)", 1000.0), "body": ("22 body joints L1 (mm)", 1000.0),
         "hands": ("hand K67 vs wrist L1 (mm)", 1000.0), "rot": ("rotations (Frobenius^2)", 1.0),
         "contacts": ("foot contacts (BCE)", 1.0)}


def runs_of(meta: dict) -> list[tuple[str, list[dict], dict]]:
    """(name, history, loss weights) of every run in the warm-start chain, oldest first: "first run",
    "continued", "continued 2", ... (a single run without a warm start is "run")."""
    chain = []
    while meta:
        chain.append(meta)
        meta = meta.get("warm_start")
    chain.reverse()
    names = ["run"] if len(chain) == 1 else ["first run", "continued"] + [f"continued {i}" for i in range(2, len(chain))]
    return [(name, m["history"], m["train_config"]["losses"]) for name, m in zip(names, chain)]


def curve_rows(meta: dict) -> list[dict]:
    """One row per epoch: run name, epoch in that run, cumulative minutes, unweighted held-out terms."""
    rows, offset = [], 0.0
    for name, history, weights in runs_of(meta):
        for h in history:
            row = {"run": name, "epoch": h["epoch"] + 1, "minutes": offset + h["minutes"]}
            for term, (_, scale) in TERMS.items():
                if term in h["val"] and weights.get(term):
                    row[term] = h["val"][term] / weights[term] * scale
            rows.append(row)
        offset = rows[-1]["minutes"] if rows else offset
    return rows


def plot(rows: list[dict], out: Path) -> None:
    """Write the PNG: one panel per held-out term, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [t for t in TERMS if any(t in r for r in rows)]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.0), dpi=100)
    colours = {run: f"C{i}" for i, run in enumerate(dict.fromkeys(r["run"] for r in rows))}   # same run, same colour
    for ax, term in zip(axes, shown):
        for run, colour in colours.items():
            pts = [(r["minutes"], r[term]) for r in rows if r["run"] == run and term in r]
            if pts:
                ax.plot(*zip(*pts), marker=".", color=colour, label=run)
        ax.set_title(TERMS[term][0], fontsize=9)
        ax.set_xlabel("training minutes", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("pose_init held-out losses per epoch", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    shown = [t for t in TERMS if any(t in r for r in rows)]
    lines = ["| run | epoch | minutes | " + " | ".join(TERMS[t][0] for t in shown) + " |",
             "|---|---|---|" + "---|" * len(shown)]
    for r in rows:
        vals = " | ".join(f"{r[t]:.3f}" if t in ("rot", "contacts") else f"{r[t]:.1f}" if t in r else "" for t in shown)
        lines.append(f"| {r['run']} | {r['epoch']} | {r['minutes']:.1f} | {vals} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Plot pose_init's held-out losses per epoch across a warm start.")
    p.add_argument("checkpoint", help="exported pose_init weights (train_init --export)")
    p.add_argument("--out", default="benchmarks/reports/nets/continued_training.png")
    a = p.parse_args(argv)
    meta = torch.load(a.checkpoint, map_location="cpu", weights_only=True)["meta"]
    rows = curve_rows(meta)
    plot(rows, Path(a.out))
    print(table(rows))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
