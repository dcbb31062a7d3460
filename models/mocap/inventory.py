"""Inventory of an unpacked mocap collection: read every clip of every archive, print and save plausibility stats.

Usage: ``python -m mocap.models.mocap.inventory --root <folder with one sub-folder per archive> [--out x.json]``

An archive folder holds the files of one ``data/mocap/*.tar.xz`` and its ``MANIFEST.csv`` (columns
``path`` and ``true_fps`` or ``fps``). Clips are the manifest's rows (or, without a manifest, every
.bvh/.amc/.c3d and, next to a skeleton JSON, every .txt/.csv). The true rate comes from the manifest,
else from the readers (salsa 60 Hz, AMC ``_120`` suffix, exp-map 120 Hz).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from .motion import Motion, forward_kinematics, rest_positions
from .readers import read_asf_amc, read_bvh, read_expmap_csv
from .split import split_train_val

log = logging.getLogger("mocap.inventory")

FLOOR_TOL_M = 0.05  # "near the floor": lowest joint within 5 cm of y = 0


def read_manifest(archive_dir: Path) -> dict[str, dict]:
    """MANIFEST.csv rows keyed by their ``path`` (relative to the archive folder); {} without a manifest."""
    m = archive_dir / "MANIFEST.csv"
    if not m.is_file():
        return {}
    with open(m, newline="", encoding="utf-8") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


def _find_asf(amc: Path) -> Path:
    """The skeleton of an AMC: HDM05 ``HDM_<actor>_..._120.amc`` -> ``HDM_<actor>.asf`` in the same folder,
    else the one .asf there, else the .asf whose stem starts the AMC's name (CMU ``01.asf`` / ``01_09.amc``)."""
    asfs = sorted(amc.parent.glob("*.asf")) + sorted(amc.parent.glob("*.ASF"))
    parts = amc.stem.split("_")
    for a in asfs:
        if len(parts) >= 2 and a.stem == "_".join(parts[:2]):
            return a
    if len(asfs) == 1:
        return asfs[0]
    for a in asfs:
        if amc.stem.startswith(a.stem):
            return a
    raise ValueError(f"{amc}: no matching .asf in its folder")


def _find_skeleton_json(archive_dir: Path) -> Path | None:
    for p in sorted(archive_dir.rglob("*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(d, dict) and "joint_names" in d and "parents" in d:
            return p
    return None


def read_clip(path: Path, archive_dir: Path, true_fps: float | None) -> Motion | None:
    """Read one clip with the reader its extension asks for (C3D: CMU 41-marker set, c3d_markers.py);
    None for formats without a reader."""
    ext = path.suffix.lower()
    if ext == ".bvh":
        return read_bvh(path, fps=true_fps)
    if ext == ".amc":
        return read_asf_amc(_find_asf(path), path, fps=true_fps)
    if ext in (".txt", ".csv"):
        sk = _find_skeleton_json(archive_dir)
        if sk is None:
            raise ValueError(f"{path}: no skeleton JSON in {archive_dir}")
        return read_expmap_csv(path, sk, **({"fps": true_fps} if true_fps else {}))
    if ext == ".c3d":
        from .c3d_markers import read_c3d_motion
        return read_c3d_motion(path, fps=true_fps)
    return None


def clip_stats(m: Motion) -> dict:
    """Plausibility numbers of one clip (metres, seconds, the source's y-up frame with its floor at y = 0)."""
    pos = forward_kinematics(m)  # (T, J, 3)
    rest = rest_positions(m)
    low = pos[:, :, 1].min(axis=1)
    speed = np.linalg.norm(np.diff(m.root_translation_m, axis=0), axis=1) * m.fps if m.num_frames > 1 else np.zeros(1)
    return {
        "frames": m.num_frames, "fps": m.fps, "seconds": m.duration_s,
        "rest_height_m": float(np.ptp(rest[:, 1])),
        "root_height_median_m": float(np.median(m.root_translation_m[:, 1])),
        "root_speed_mean_mps": float(speed.mean()),
        "root_speed_max_mps": float(speed.max()),
        "floor_fraction": float(np.mean(np.abs(low) < FLOOR_TOL_M)),
        "lowest_joint_p5_m": float(np.percentile(low, 5)),
        "reference_frame": m.meta.get("reference_frame"),
        "variant": m.meta.get("variant"),
    }


def _clip_paths(archive_dir: Path, manifest: dict[str, dict]) -> list[str]:
    if manifest:
        return sorted(manifest)
    exts = {".bvh", ".amc", ".c3d"}
    if _find_skeleton_json(archive_dir) is not None:
        exts |= {".txt", ".csv"}
    return sorted(str(p.relative_to(archive_dir)) for p in archive_dir.rglob("*")
                  if p.is_file() and p.suffix.lower() in exts and p.name != "MANIFEST.csv")


def archive_clips(archive_dir: Path) -> list[tuple[str, dict, float | None]]:
    """Every clip of one unpacked archive: (path relative to it, its MANIFEST.csv row or {}, true fps
    from the manifest or None). Used by the inventory and the retargeting CLI alike."""
    manifest = read_manifest(archive_dir)
    out = []
    for rel in _clip_paths(archive_dir, manifest):
        row = manifest.get(rel, {})
        fps_txt = row.get("true_fps") or row.get("fps")
        out.append((rel, row, float(fps_txt) if fps_txt else None))
    return out


def run_inventory(root: Path) -> dict:
    """Read every clip under ``root``/<archive>/ and return the summary (per archive and per clip)."""
    archives = sorted(p for p in root.iterdir() if p.is_dir())
    if not archives:
        raise ValueError(f"{root}: no archive folders")
    summary: dict = {"root": str(root), "archives": {}}
    all_clips, groups = [], {}
    for adir in archives:
        clips, failures, skipped = {}, {}, {}
        for rel, row, true_fps in archive_clips(adir):
            try:
                m = read_clip(adir / rel, adir, true_fps)
                if m is None:
                    skipped[rel] = f"no reader for {Path(rel).suffix} (marker data, no skeleton)"
                    continue
                clips[rel] = clip_stats(m)
                clips[rel]["manifest_frames"] = int(row["frames"]) if row.get("frames") else (
                    int(row["rows"]) if row.get("rows") else None)
                all_clips.append((adir.name, rel))
                if row.get("cmu_trial"):
                    groups[(adir.name, rel)] = "cmu_" + row["cmu_trial"]
            except (ValueError, OSError) as e:
                failures[rel] = str(e)
        st = list(clips.values())
        agg = {
            "clips": len(clips), "failures": len(failures), "skipped": len(skipped),
            "frames": int(sum(c["frames"] for c in st)),
            "fps": sorted({c["fps"] for c in st}),
            "minutes": float(sum(c["seconds"] for c in st) / 60.0),
        }
        if st:
            for k in ("rest_height_m", "root_height_median_m", "root_speed_mean_mps", "floor_fraction", "lowest_joint_p5_m"):
                v = np.array([c[k] for c in st])
                agg[k] = {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}
        summary["archives"][adir.name] = {"summary": agg, "clips": clips, "failed": failures, "skipped_files": skipped}
    train, val = split_train_val(all_clips, val_fraction=0.1, seed=0, groups=groups)
    summary["split"] = {"seed": 0, "val_fraction": 0.1, "train": len(train), "val": len(val),
                        "val_clips": [f"{a}/{c}" for a, c in val]}
    return summary


def _print(summary: dict) -> None:
    hdr = (f"{'archive':24s} {'clips':>5s} {'fail':>4s} {'skip':>4s} {'frames':>7s} {'fps':>10s} {'min':>6s} "
           f"{'height m':>15s} {'root v m/s':>15s} {'floor frac':>15s} {'low p5 m':>8s}")
    print(hdr)
    for name, a in summary["archives"].items():
        s = a["summary"]
        fps = "/".join(f"{f:g}" for f in s["fps"])
        def rng(k, fmt="{:.2f}", s=s):
            if k not in s:
                return "-"
            return (fmt.format(s[k]["median"]) + " [" + fmt.format(s[k]["min"]) + "-" + fmt.format(s[k]["max"]) + "]")
        low = f"{s['lowest_joint_p5_m']['median']:.3f}" if "lowest_joint_p5_m" in s else "-"
        print(f"{name:24s} {s['clips']:5d} {s['failures']:4d} {s['skipped']:4d} {s['frames']:7d} {fps:>10s} "
              f"{s['minutes']:6.2f} {rng('rest_height_m'):>15s} {rng('root_speed_mean_mps'):>15s} "
              f"{rng('floor_fraction'):>15s} {low:>8s}")
        for rel, e in a["failed"].items():
            print(f"    FAILED {rel}: {e}")
        for rel, e in a["skipped_files"].items():
            print(f"    skipped {rel}: {e}")
    sp = summary["split"]
    print(f"split (seed {sp['seed']}, by whole clip, stratified by archive): train {sp['train']}, val {sp['val']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="folder with one unpacked archive per sub-folder")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON summary here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.root.is_dir():
        ap.error(f"--root {args.root} is not a folder")
    t0 = time.perf_counter()
    summary = run_inventory(args.root)
    summary["seconds_to_read"] = time.perf_counter() - t0
    _print(summary)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.replace(args.out)
        log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
