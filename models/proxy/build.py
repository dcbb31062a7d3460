"""Build the proxy dataset from retargeted clips: `python -m mocap.models.proxy.build` (DESIGN 6).

Writes `<out>/proxy_<split>.npz` per split (train, val; split by whole clips as the retargeted
clips say) plus `<out>/proxy_info.json`. Deterministic for a seed: clips are visited in sorted
order and every sequence draws from its own seed derived from (seed, clip index, k).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mocap.models.proxy.cameras import CameraOptions, project, sample_camera, world_to_camera
from mocap.models.proxy.generate import (CONTACT_NAMES, GeneratorOptions, HandSampler, PointsFn,
                                         default_hand_sampler, default_points_fn, generate_sequence,
                                         load_clip)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
SPLITS = ("train", "val")
# Per-frame arrays (concatenated over sequences; `seq_start` (S + 1,) delimits them).
FRAME_KEYS = ("global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "transl", "joints_w",
              "k67_w", "contacts", "R_w2c", "t_w2c", "k67_px", "visible")
# Per-sequence arrays.
SEQ_KEYS = ("seq_start", "betas", "j_root", "stature", "fps", "K", "image_wh", "camera_mode", "clip", "archive")


def sequence_seed(seed: int, clip_index: int, k: int) -> int:
    """The seed of sequence k of the clip at `clip_index` (sorted order) for a dataset seed."""
    return int(np.random.SeedSequence([seed, clip_index, k]).generate_state(1)[0])


def find_clips(retargeted: Path) -> list[Path]:
    """Sorted `<archive>/<clip>.npz` files under `retargeted` (any depth)."""
    return sorted(p for p in Path(retargeted).rglob("*.npz") if p.is_file())


def build(retargeted: str | os.PathLike, out: str | os.PathLike, seed: int = 0, sequences_per_clip: int = 2,
          model=None, hand_sampler: HandSampler | None = None, points_fn: PointsFn | None = None,
          generator_options: GeneratorOptions | None = None, camera_options: CameraOptions | None = None,
          progress: bool = True) -> dict[str, Path]:
    """Generate every proxy sequence and write one `.npz` per split.

    Args:
        retargeted: folder of retargeted clips (`<archive>/<clip>.npz`).
        out: output folder (created).
        seed: dataset seed.
        sequences_per_clip: proxy sequences (shape, hands, stored camera) per clip.
        model: SmplxModel; load_body_model() if None.
        hand_sampler: (seed, T, fps, side) -> (T, 15, 3); default_hand_sampler() if None.
        points_fn: SmplxOutput -> (B, 67, 3) K67 3D points; default_points_fn(model) if None (the
            detector-consistent points where a regressor exists for the model's mesh).
    Returns:
        split -> written path (splits without clips are not written).
    Raises:
        FileNotFoundError: no clip under `retargeted`.
        ValueError: sequences_per_clip < 1, or a clip without a known split.
    """
    if sequences_per_clip < 1:
        raise ValueError(f"sequences_per_clip must be >= 1, got {sequences_per_clip}")
    clips = find_clips(Path(retargeted))
    if not clips:
        raise FileNotFoundError(f"no retargeted clip (*.npz) under {retargeted}")
    if model is None:
        from mocap.models.body import smplx_model
        model = smplx_model.load_body_model()
    hand_sampler = hand_sampler or default_hand_sampler(model)
    points_fn = points_fn or default_points_fn(model)
    parts: dict[str, dict[str, list]] = {s: {k: [] for k in FRAME_KEYS + SEQ_KEYS} for s in SPLITS}
    start = time.perf_counter()
    frames = 0
    bar = tqdm(total=len(clips) * sequences_per_clip, unit="seq", disable=not progress, desc="proxies")
    for ci, path in enumerate(clips):
        clip = load_clip(path)
        split = clip["split"] or "train"
        if split not in SPLITS:
            raise ValueError(f"{path}: split must be one of {SPLITS}, got {split!r}")
        if not clip["archive"]:
            clip["archive"] = path.parent.name
        for k in range(sequences_per_clip):
            s_seed = sequence_seed(seed, ci, k)
            seq = generate_sequence(model, clip, s_seed, hand_sampler, points_fn, generator_options)
            cam = sample_camera(np.random.default_rng([s_seed, 1]), seq.joints_w[:, 0], seq.fps,
                                seq.stature, camera_options)
            # Project what is stored (float32 values), so stored 3D and 2D agree to float precision.
            f32 = [np.asarray(a, np.float32).astype(np.float64) for a in (seq.k67_w, cam.R_w2c, cam.t_w2c, cam.K)]
            uv, front = project(world_to_camera(*f32[:3]), f32[3])
            p = parts[split]
            T = seq.global_orient.shape[0]
            for key, val, dt in (("global_orient", seq.global_orient, np.float32),
                                 ("body_pose", seq.body_pose, np.float32),
                                 ("left_hand_pose", seq.left_hand_pose, np.float32),
                                 ("right_hand_pose", seq.right_hand_pose, np.float32),
                                 ("transl", seq.transl, np.float32), ("joints_w", seq.joints_w, np.float32),
                                 ("k67_w", seq.k67_w, np.float32), ("contacts", seq.contacts, bool),
                                 ("R_w2c", cam.R_w2c, np.float32), ("t_w2c", cam.t_w2c, np.float32),
                                 ("k67_px", uv, np.float32), ("visible", front, bool)):
                p[key].append(np.asarray(val).astype(dt))
            p["seq_start"].append(T)
            p["betas"].append(seq.betas.astype(np.float32))
            p["j_root"].append(seq.j_root.astype(np.float32))
            p["stature"].append(np.float32(seq.stature))
            p["fps"].append(np.float32(seq.fps))
            p["K"].append(cam.K.astype(np.float32))
            p["image_wh"].append(np.array([cam.width, cam.height], np.int32))
            p["camera_mode"].append(cam.mode)
            p["clip"].append(seq.meta["clip"])
            p["archive"].append(clip["archive"])
            frames += T
            bar.update(1)
    bar.close()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, p in parts.items():
        if not p["seq_start"]:
            continue
        arrays = {k: np.concatenate(p[k]) for k in FRAME_KEYS}
        arrays["seq_start"] = np.concatenate([[0], np.cumsum(p["seq_start"])]).astype(np.int64)
        for k in SEQ_KEYS[1:]:
            arrays[k] = np.stack(p[k]) if k not in ("camera_mode", "clip", "archive") else np.array(p[k], dtype=str)
        arrays["format_version"] = np.array(FORMAT_VERSION)
        arrays["contact_names"] = np.array(CONTACT_NAMES)
        path = out / f"proxy_{split}.npz"
        # Atomic: write a temp file next to the target, then rename.
        fd, tmp = tempfile.mkstemp(dir=out, suffix=".npz.tmp")
        os.close(fd)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)                       # mkstemp makes it private
        os.replace(tmp, path)
        written[split] = path
    seconds = time.perf_counter() - start
    info = {"format_version": FORMAT_VERSION, "seed": seed, "sequences_per_clip": sequences_per_clip,
            "clips": len(clips), "frames": frames, "seconds": round(seconds, 1),
            "model": getattr(model, "model_name", "?"),
            "splits": {s: int(len(parts[s]["seq_start"])) for s in SPLITS}}
    (out / "proxy_info.json").write_text(json.dumps(info, indent=1))
    log.info("proxies: %d clips, %d sequences, %d frames in %.1f s -> %s", len(clips),
             len(clips) * sequences_per_clip, frames, seconds, out)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mocap.models.proxy.build", description=__doc__.splitlines()[0])
    ap.add_argument("--retargeted", required=True, type=Path, help="folder of retargeted clips <archive>/<clip>.npz")
    ap.add_argument("--out", required=True, type=Path, help="output folder for proxy_<split>.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sequences-per-clip", type=int, default=2)
    ap.add_argument("--smplx-model", default=None, help="SMPL-X .npz (default: MOCAP_SMPLX_MODEL or the open model)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch
    from mocap.models.body import smplx_model
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = smplx_model.load_body_model(args.smplx_model)
        written = build(args.retargeted, args.out, args.seed, args.sequences_per_clip, model=model,
                        progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        log.error("error: %s", exc)
        return 2
    for split, path in written.items():
        log.info("%s: %s", split, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
