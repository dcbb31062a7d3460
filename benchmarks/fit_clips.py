"""How well the 3D stage's body sits on real people: per clip, the 2D reprojection error of the fitted
K67 against the detected keypoints, plus overlay frames (issue 4, "Done when").

    python -m mocap.benchmarks.fit_clips VIDEO_OR_DIR [...] --out benchmarks/reports/nets_clips

Each clip runs through the real app (``mocap-live --headless --save-video``). From its ``smplx.npz``
the SMPL-X parameters are posed with the body model the take names, the detector-consistent K67
points (``DetectorPoints``) projected with the take's ``cam_K`` and compared, per frame with a body,
with the raw detected K67 where the 3D stage counted them as observed (``runtime.observed_mask``).
Reported per clip: mean and median pixel error over those points, the same as a percentage of the
body-box size, for the body (BODY_25) and the hands; a few overlay frames are saved as PNG.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from mocap.app.take import load_take
from mocap.models.nets.checkpoint import scrub_command
from mocap.models.body.detector_points import DetectorPoints
from mocap.models.body.smplx_layout import POSE_SLOTS
from mocap.models.body.smplx_model import load_body_model
from mocap.models.camera import project
from mocap.models.keypoints import NUM_BODY
from mocap.models.nets.runtime import observed_mask
from mocap.models.proxy.corrupt import BOX_MARGIN

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def fitted_k67(take, model, points: DetectorPoints, batch: int = 256) -> np.ndarray:
    """(T, 67, 3) camera-space detector-consistent K67 of the take's bodies, metres (a world-frame take's
    camera-space copy, ``poses_cam`` / ``trans_cam``)."""
    if take.frame == "world":
        poses, trans = take.extra["poses_cam"], take.extra["trans_cam"]
    else:
        poses, trans = take.poses, take.trans
    out = []
    for s in range(0, take.num_frames, batch):
        kw = {name: torch.as_tensor(poses[s:s + batch, 3 * first:3 * (first + n)], dtype=torch.float32)
              for name, first, n in POSE_SLOTS}
        T = len(kw["global_orient"])
        with torch.no_grad():
            o = model(**kw, betas=torch.as_tensor(take.betas, dtype=torch.float32)[None].expand(T, -1),
                      transl=torch.as_tensor(trans[s:s + batch], dtype=torch.float32))
            out.append(points(o).numpy())
    return np.concatenate(out) if out else np.zeros((0, 67, 3))


def reprojection(run_dir: Path) -> dict:
    """Per-clip reprojection statistics of one app output folder."""
    take = load_take(run_dir / "smplx.npz")
    with np.load(run_dir / "keypoints.npz") as z:
        raw, w, h = z["k67_raw"], int(z["width"]), int(z["height"])
    model = load_body_model()
    uv, front = project(fitted_k67(take, model, DetectorPoints.load(model)), np.asarray(take.cam_K, np.float64))
    errs = {"body": [], "hands": []}
    rel = {"body": [], "hands": []}
    for t in np.flatnonzero(take.valid):
        m = observed_mask(raw[t], w, h) & front[t]
        if m[:NUM_BODY].sum() < 4:
            continue
        obs = raw[t, :, :2]
        box = BOX_MARGIN * (obs[m].max(0) - obs[m].min(0)).max()
        d = np.linalg.norm(uv[t] - obs, axis=-1)
        for part, sl in (("body", slice(0, NUM_BODY)), ("hands", slice(NUM_BODY, None))):
            sel = m[sl]
            errs[part] += d[sl][sel].tolist()
            rel[part] += (100 * d[sl][sel] / box).tolist()
    res = {"frames": int(take.num_frames), "frames_with_body": int(np.sum(take.valid))}
    for part in ("body", "hands"):
        e = np.asarray(errs[part])
        res[part] = {"points": int(e.size), "mean_px": float(e.mean()) if e.size else None,
                     "median_px": float(np.median(e)) if e.size else None,
                     "mean_pct_box": float(np.mean(rel[part])) if e.size else None}
    return res


def save_frames(run_dir: Path, valid: np.ndarray, out: Path, stem: str, count: int, width: int = 640) -> list[str]:
    """`count` evenly spread overlay frames (with a body) as PNG, `width` px wide."""
    cap = cv2.VideoCapture(str(run_dir / "overlay.mp4"))
    idx = np.flatnonzero(valid)
    want = set(idx[np.linspace(len(idx) // 8, len(idx) - 1, count).astype(int)].tolist()) if len(idx) else set()
    names, i = [], 0
    while want:
        ok, frame = cap.read()
        if not ok:
            break
        if i in want:
            want.discard(i)
            scale = width / frame.shape[1]
            small = cv2.resize(frame, (width, int(round(frame.shape[0] * scale))), interpolation=cv2.INTER_AREA)
            name = f"{stem}_{i:04d}.png"
            cv2.imwrite(str(out / name), small)
            names.append(name)
        i += 1
    cap.release()
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Reprojection of the 3D stage's fit on real clips, with overlay frames.")
    p.add_argument("inputs", nargs="+", help="video files or folders of videos")
    p.add_argument("--out", default="benchmarks/reports/nets_clips")
    p.add_argument("--runs", default=None, help="where the app writes its outputs (default OUT/runs, not committed)")
    p.add_argument("--frames", type=int, default=3, help="overlay PNGs per clip")
    p.add_argument("--max-frames", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="reuse a clip's earlier app run in RUNS when it is there")
    p.add_argument("--nets3d", help="folder with pose_init.pt and descent.pt (default: the bundled weights)")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(a.runs) if a.runs else out / "runs"
    videos = sorted(v for i in map(Path, a.inputs) for v in (i.iterdir() if i.is_dir() else [i])
                    if v.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        print(f"error: no videos in {' '.join(a.inputs)}", file=sys.stderr)
        return 2
    results = {}
    for v in videos:
        run_dir = runs / v.stem
        cmd = [sys.executable, "-m", "mocap.app.cli", "--video", str(v), "--out", str(run_dir), "--headless",
               "--save-video"] + (["--max-frames", str(a.max_frames)] if a.max_frames else []) \
            + (["--nets3d", a.nets3d] if a.nets3d else [])
        reuse = a.reuse and (run_dir / "smplx.npz").is_file() and (run_dir / "timings.json").is_file()
        print("reusing" if reuse else "running", " ".join(cmd[2:]))
        r = None if reuse else subprocess.run(cmd, capture_output=True, text=True)
        if r is not None and r.returncode != 0:
            print(f"error: the app failed on {v.name}: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1
        res = reprojection(run_dir)
        res["png"] = save_frames(run_dir, load_take(run_dir / "smplx.npz").valid, out, v.stem, a.frames)
        timings = json.loads((run_dir / "timings.json").read_text())
        res["fps"] = timings.get("fps")
        results[v.name] = res
        print(v.name, json.dumps({k: res[k] for k in ("body", "hands", "fps")}))
    (out / "fit_clips.json").write_text(json.dumps(results, indent=1))
    lines = ["# The fitted body on real clips: 2D reprojection of the fitted K67 vs the detected keypoints", "",
             "Command: `python -m mocap.benchmarks.fit_clips " + scrub_command(sys.argv[1:] if argv is None else argv) + "`",
             "", "Points counted: those the 3D stage observed (confidence > 0.5, inside the image) in frames with a body. "
             "% box = error / body-box size (the square box of the observed points, as the nets see it).", "",
             "| clip | frames (with body) | body mean px | body median px | body % box | hands mean px | "
             "hands median px | hands % box | fps |", "|---|---|---|---|---|---|---|---|---|"]
    f = lambda x: "-" if x is None else f"{x:.1f}"   # noqa: E731
    for name, r in results.items():
        b, hd = r["body"], r["hands"]
        lines.append(f"| {name} | {r['frames']} ({r['frames_with_body']}) | {f(b['mean_px'])} | {f(b['median_px'])} | "
                     f"{f(b['mean_pct_box'])} | {f(hd['mean_px'])} | {f(hd['median_px'])} | {f(hd['mean_pct_box'])} | "
                     f"{f(r['fps'])} |")
    lines += ["", "Overlay frames (mesh of the fitted body drawn by the app):", ""]
    lines += [f"![{n}]({n})" for r in results.values() for n in r["png"]]
    (out / "fit_clips.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'fit_clips.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
