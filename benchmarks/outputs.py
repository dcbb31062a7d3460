"""Output-format timings (issue 8): export of a 60 s / 30 fps take to BVH, GLB (and FBX with Blender), VMC send cost.

Run: ``python -m mocap.benchmarks.outputs [--out benchmarks/reports/outputs] [--seconds 60] [--fps 30]``.
Writes ``outputs.md`` and ``outputs.json``. The take is synthetic (small random SMPL-X poses, a walking
root); what is timed is ``export_take`` with the body model already loaded (as in the live app at the
end of a take), best and median of a few runs, and ``VmcSender.send`` per frame: a paced stream at
the take's rate to a python-osc server on loopback (every bundle counted on arrival) and a burst
over all frames. Goals: BVH < 2 s, GLB < 5 s, VMC send median and p90 < 0.5 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mocap.app.convert import export_take
from mocap.app.formats.fbx import find_blender
from mocap.app.formats.vmc import VmcSender
from mocap.app.record import cpu_name
from mocap.app.take import Take
from mocap.models.body.smplx_model import load_body_model

GOALS_S = {"bvh": 2.0, "glb": 5.0}
VMC_GOAL_MS = 0.5
DEFAULT_OUT = Path(__file__).resolve().parent / "reports" / "outputs"


def synthetic_take(seconds: float, fps: float, seed: int = 0) -> Take:
    """A take of small random poses (0.25 rad std) on a smooth random walk, root walking along x."""
    T = int(round(seconds * fps))
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.02, (T, 55, 3))
    poses = np.cumsum(steps, 0)
    poses = 0.25 * poses / (poses.std(0, keepdims=True) + 1e-9)
    poses[:, 0] = np.cumsum(rng.normal(0, 0.01, (T, 3)), 0) * [0.2, 1.0, 0.2]
    trans = np.stack([np.linspace(0, 5, T), np.full(T, 0.9), np.zeros(T)], 1)
    return Take(poses=poses.reshape(T, 165).astype(np.float32), trans=trans.astype(np.float32),
                betas=rng.normal(0, 1, 10).astype(np.float32), fps=fps, frame="world")




def time_exports(take: Take, model, repeats: int) -> dict:
    out = {}
    with tempfile.TemporaryDirectory(prefix="mocap-bench-") as d:
        fmts = ["bvh", "glb"] + (["fbx"] if find_blender() is not None else [])
        for fmt in fmts:
            times = []
            for _ in range(1 if fmt == "fbx" else repeats):
                t0 = time.perf_counter()
                path = export_take(take, fmt, Path(d) / f"take.{fmt}", model=model)
                times.append(time.perf_counter() - t0)
            out[fmt] = {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times),
                        "bytes": path.stat().st_size, "goal_s": GOALS_S.get(fmt)}
    return out


def _receiver(queue, expected: int, timeout_s: float) -> None:
    """Child process: a python-osc UDP server on loopback counting /VMC/Ext/T (one per bundle)."""
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import BlockingOSCUDPServer

    count = [0]
    disp = Dispatcher()
    disp.map("/VMC/Ext/T", lambda addr, t: count.__setitem__(0, count[0] + 1))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), disp)
    server.timeout = 0.5
    queue.put(server.server_address[1])
    deadline = time.time() + timeout_s
    while count[0] < expected and time.time() < deadline:
        server.handle_request()
    server.server_close()
    queue.put(count[0])


def time_vmc(take: Take, model, paced_frames: int) -> dict:
    """Per-frame send cost; the receiver runs in its own process (as a game engine would), so it does
    not compete with the sender for the interpreter lock."""
    import multiprocessing as mp

    n_paced = min(paced_frames, take.num_frames)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_receiver, args=(queue, n_paced, n_paced / take.fps + 30.0), daemon=True)
    child.start()
    port = queue.get(timeout=60)
    paced, burst = [], []
    with VmcSender("127.0.0.1", port, betas=take.betas, model=model) as vmc:
        period = 1.0 / take.fps
        start = time.perf_counter()
        for i in range(n_paced):
            target = start + i * period
            while time.perf_counter() < target:
                time.sleep(max(0.0, min(0.002, target - time.perf_counter())))
            t0 = time.perf_counter()
            vmc.send(i, take.poses[i], take.trans[i])
            paced.append(time.perf_counter() - t0)
        n_received = queue.get(timeout=60)
        child.join(timeout=10)
        for i in range(take.num_frames):          # burst: the cost alone, receiver gone
            t0 = time.perf_counter()
            vmc.send(i, take.poses[i], take.trans[i])
            burst.append(time.perf_counter() - t0)
        size = len(vmc.encode(take.poses[0], take.trans[0]))

    def stats(x):
        ms = np.asarray(x) * 1e3
        return {"frames": len(ms), "median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
                "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max())}

    return {"paced": {**stats(paced), "received": n_received, "fps": take.fps}, "burst": stats(burst),
            "bundle_bytes": size, "goal_ms": VMC_GOAL_MS}


def write_report(res: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "outputs.json").write_text(json.dumps(res, indent=2) + "\n")
    m, e, v = res["machine"], res["export"], res["vmc"]
    lines = [
        "# Output formats: export and VMC timings (issue 8)", "",
        f"Written by `python -m mocap.benchmarks.outputs`. Take: synthetic, {res['take']['seconds']:.0f} s at "
        f"{res['take']['fps']:.0f} fps ({res['take']['frames']} frames, all 55 SMPL-X joints), model `open` loaded "
        "beforehand; `export_take` timed end to end (pose conversion, file writing).", "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared with other jobs while measured), Python {m['python']}, "
        f"torch threads {m['torch_threads']}, {m['date']}.", "",
        "| format | best s | median s | runs | file MB | goal s | meets |", "|---|---|---|---|---|---|---|"]
    for fmt, r in e.items():
        goal = r["goal_s"]
        ok = "yes" if goal is None or r["median_s"] < goal else "NO"
        lines.append(f"| {fmt} | {r['best_s']:.3f} | {r['median_s']:.3f} | {r['runs']} | {r['bytes'] / 1e6:.2f} | "
                     f"{goal if goal else '-'} | {ok if goal else '(no goal; Blender start included)'} |")
    if "fbx" not in e:
        lines.append("| fbx | - | - | 0 | - | - | not measured: no Blender |")
    p, b = v["paced"], v["burst"]
    lines += ["", f"VMC (`VmcSender.send`, one {v['bundle_bytes']}-byte OSC bundle per frame, 58 messages):", "",
              "| run | frames | median ms | p90 ms | p99 ms | max ms | received |", "|---|---|---|---|---|---|---|",
              f"| paced at {p['fps']:.0f} fps to a python-osc server (own process) on loopback | {p['frames']} | {p['median_ms']:.3f} | "
              f"{p['p90_ms']:.3f} | {p['p99_ms']:.3f} | {p['max_ms']:.3f} | {p['received']} / {p['frames']} |",
              f"| burst, no receiver | {b['frames']} | {b['median_ms']:.3f} | {b['p90_ms']:.3f} | {b['p99_ms']:.3f} | "
              f"{b['max_ms']:.3f} | - |", "",
              "Paced: each send follows about 33 ms of idling, so it runs with cold caches on this shared "
              "machine (split measured once by hand at 06:15 UTC: encoding about 0.25 ms, `sendto` with the "
              "kernel's loopback delivery to the live receiver about 0.07 ms). Burst: back-to-back sends, "
              "warm, to a port nobody listens on (the sender's own cost). Load average while measured: "
              f"{m.get('load', '?')}.", "",
              f"Goal: median and p90 < {v['goal_ms']} ms per frame: "
              f"{'met' if max(p['median_ms'], p['p90_ms'], b['median_ms'], b['p90_ms']) < v['goal_ms'] else 'NOT met'}."]
    (out / "outputs.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mocap.benchmarks.outputs", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paced-frames", type=int, default=300, help="frames streamed at the take's rate")
    args = ap.parse_args(argv)
    import torch

    model = load_body_model()
    take = synthetic_take(args.seconds, args.fps)
    res = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "torch_threads": torch.get_num_threads(),
                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                       "load": " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"},
           "take": {"seconds": args.seconds, "fps": args.fps, "frames": take.num_frames},
           "export": time_exports(take, model, args.repeats),
           "vmc": time_vmc(take, model, args.paced_frames)}
    write_report(res, args.out)
    print((args.out / "outputs.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
