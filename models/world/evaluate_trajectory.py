"""Evaluate the trajectory head on the held-out proxy split, GLAMR style (DESIGN 11).

The net runs causally over each whole validation sequence (state carried from its first frame);
each window is integrated from the true root position and heading at its first frame (windows
aligned at the window start), with the true body pose. Metrics per window, then averaged:

* G-MPJPE (mm): the 22 SMPL-X body joints in world;
* root error (m): mean root-joint position error over the window; drift (m): at its last frame;
* heading error (deg): mean absolute heading difference;
* accel error (m/s^2): mean norm of the difference of joint accelerations (second differences);
* height error (mm): mean absolute root-height error;
* speed ratio: predicted / true mean horizontal root speed over the window (path length sampled every
  0.5 s, so step jitter does not count), over the windows where the true speed is at least 0.5 m/s
  (others: NaN, left out of the means).

Baselines, given the same window start: constant velocity (the root's mean horizontal velocity
over the `history` frames before the window, constant heading, height and tilt from the window's
first frame) and standing still (zero velocity).

    python -m mocap.models.world.evaluate_trajectory --data ~/.cache/mocap/proxy \
        --weights models/world/data/trajectory_gru.pt --out benchmarks/reports/trajectory
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mocap.models.nets.checkpoint import public_path
from mocap.models.world.train_trajectory import prepare_split, split_file
from mocap.models.world.trajectory import (DEFAULT_WEIGHTS, heading_angle, load_trajectory_net, wrap_angle,
                                           world_from_egocentric)

log = logging.getLogger(__name__)
CAMERA_BASELINE = "camera root (3D nets, known extrinsics)"
CAMERA_ALIGNED = "camera root, aligned at the window start"
HEAD_ON_NETS = "trajectory head on the 3D nets' poses"
METRICS = ("g_mpjpe_mm", "root_err_m", "drift_m", "heading_err_deg", "accel_err_mps2", "height_err_mm",
           "speed_ratio")
MOVING_MPS = 0.5              # windows whose true mean horizontal speed is below this have no speed ratio


def path_speed(root: np.ndarray, fps: float, every_s: float = 0.5) -> float:
    """Mean horizontal speed (m/s) of a root trajectory (T, 3) (world, y up): the x-z path length through
    every `every_s` seconds' frame (and the last), over the duration."""
    step = max(1, int(round(every_s * fps)))
    idx = np.unique(np.r_[np.arange(0, len(root), step), len(root) - 1])
    if len(idx) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(root[idx][:, [0, 2]], axis=0), axis=-1).sum() * fps / (len(root) - 1))


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else platform.processor() or the machine type."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nets_on_proxies(data: str | Path, nets_dir: str | Path, cache: str | Path | None = None, split: str = "val"
                    ) -> dict[str, np.ndarray]:
    """The shipped 3D nets (pose_init + descent, ONNX Runtime, 1 thread) on every proxy frame's 2D keypoints
    of one split (held-out 'val' by default): what the live 3D stage would hand the world stage (camera space).

    Inputs per frame: the proxy's `k67_px` (pixels of its camera `K`, `image_wh`), visible points with
    confidence 0.9, the others missing; the stage restarts at each sequence.

    Args:
        data: folder with proxy_<split>.npz. nets_dir: folder with pose_init.pt and descent.pt.
        cache: an npz file to reuse (written when missing; keyed by nothing: delete it when the nets change).
        split: 'val' or 'train' (the trajectory head's training input, `train_trajectory --nets-train`).
    Returns:
        dict (N = all frames of the split): poses (N, 165) axis-angle (root = camera-space orientation),
        root_c (N, 3) root joint in the camera (metres, OpenCV axes), betas (N, 10), contacts (N, 4),
        valid (N,) bool.
    """
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    from mocap.models.nets.checkpoint import DESCENT_FILE, POSE_INIT_FILE
    from mocap.models.nets.runtime import Pose3DStage

    with np.load(split_file(data, split)) as z:
        px, vis, starts = z["k67_px"], z["visible"], z["seq_start"]
        Ks, whs = z["K"].astype(np.float64), z["image_wh"]
    N = px.shape[0]
    out = {"poses": np.zeros((N, 165), np.float32), "root_c": np.zeros((N, 3), np.float32),
           "betas": np.zeros((N, 10), np.float32), "contacts": np.zeros((N, 4), np.float32),
           "valid": np.zeros(N, bool)}
    stage, key = None, None
    for k, (s, e) in enumerate(zip(starts[:-1], starts[1:])):
        if key is None or (tuple(whs[k]), Ks[k].tobytes()) != key:
            key = (tuple(whs[k]), Ks[k].tobytes())
            stage = Pose3DStage.from_checkpoints(Path(nets_dir) / POSE_INIT_FILE, Path(nets_dir) / DESCENT_FILE,
                                                 int(whs[k][0]), int(whs[k][1]), Ks[k])
        stage.reset()
        for i in range(s, e):
            k67 = np.concatenate([px[i], np.where(vis[i], 0.9, 0.0)[:, None]], 1).astype(np.float32)
            r = stage(k67)
            out["poses"][i], out["root_c"][i], out["betas"][i] = r.poses, r.root_c, r.betas
            out["contacts"][i], out["valid"][i] = r.contacts, r.valid
        log.info("nets on proxy sequence %d/%d", k + 1, len(starts) - 1)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, **out)
    return out


def window_metrics(J_gt: np.ndarray, root_pred: np.ndarray, R_pred: np.ndarray, R_gt: np.ndarray,
                   fps: float) -> dict[str, float]:
    """Metrics of one window.

    Args:
        J_gt: (W, 22, 3) true joints in world; root_pred (W, 3), R_pred (W, 3, 3) the predicted root
            joint and orientation; R_gt: (W, 3, 3) the true orientation.
    Returns:
        dict with METRICS (speed_ratio NaN when the true speed is below MOVING_MPS).
    """
    root_gt = J_gt[:, 0]
    local = np.einsum("tji,tnj->tni", R_gt, J_gt - root_gt[:, None])          # body in the root frame
    J_pred = root_pred[:, None] + np.einsum("tij,tnj->tni", R_pred, local)
    err = np.linalg.norm(J_pred - J_gt, axis=-1)
    root_err = np.linalg.norm(root_pred - root_gt, axis=-1)
    dh = wrap_angle(heading_angle(R_pred) - heading_angle(R_gt))
    acc = lambda x: (x[2:] - 2 * x[1:-1] + x[:-2]) * fps ** 2                 # noqa: E731
    return {"g_mpjpe_mm": 1000 * float(err.mean()), "root_err_m": float(root_err.mean()),
            "drift_m": float(root_err[-1]), "heading_err_deg": float(np.degrees(np.abs(dh)).mean()),
            "accel_err_mps2": float(np.linalg.norm(acc(J_pred) - acc(J_gt), axis=-1).mean()),
            "height_err_mm": 1000 * float(np.abs(root_pred[:, 1] - root_gt[:, 1]).mean()),
            "speed_ratio": path_speed(root_pred, fps) / v_gt if (v_gt := path_speed(root_gt, fps)) >= MOVING_MPS
            else float("nan")}


def constant_velocity(root_gt: np.ndarray, R_gt: np.ndarray, t0: int, W: int, history: int, still: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Baseline window [t0, t0 + W): (root (W, 3), R (W, 3, 3)) extrapolated from frames <= t0."""
    v = np.zeros(3) if still else (root_gt[t0] - root_gt[t0 - history]) / history
    v[1] = 0.0
    root = root_gt[t0] + np.arange(W)[:, None] * v
    return root, np.repeat(R_gt[t0][None], W, 0)


def camera_root_world(nets: dict[str, np.ndarray], R_w2c: np.ndarray, t_w2c: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The static-camera baseline: the nets' camera-space root mapped through known extrinsics.

    x_W = R_w2c^T (x_c - t_w2c); a frame without a body (valid False) holds the last valid frame's values
    (the first valid frame's before it).

    Args:
        nets: `nets_on_proxies` output for one sequence (T frames): root_c (T, 3) camera, metres; poses
            (T, 165), the first three the root orientation in the camera; valid (T,).
        R_w2c, t_w2c: (T, 3, 3), (T, 3) world -> camera (the proxy's true camera).
    Returns:
        (root_w (T, 3), R_root_w (T, 3, 3)) in world (y up, metres).
    """
    from mocap.models.mocap.motion import axis_angle_to_matrix

    valid = np.asarray(nets["valid"], bool)
    idx = np.arange(len(valid))
    if valid.any():
        last = np.maximum.accumulate(np.where(valid, idx, -1))
        idx = np.where(last < 0, int(np.argmax(valid)), last)
    root_c = np.asarray(nets["root_c"], np.float64)[idx]
    R_c = axis_angle_to_matrix(np.asarray(nets["poses"], np.float64)[idx, :3])
    R, t = np.asarray(R_w2c, np.float64), np.asarray(t_w2c, np.float64)
    root_w = np.einsum("tji,tj->ti", R, root_c - t)
    return root_w, np.einsum("tji,tjk->tik", R, R_c)


def nets_body(nets: dict[str, np.ndarray], R_w2c: np.ndarray, rig=None) -> tuple[np.ndarray, np.ndarray]:
    """The 3D nets' body of one sequence in a gravity-aligned frame (the world's axes, root at the origin).

    The nets' camera-space body (forward kinematics of poses and betas, `stage.BodyRig`) is turned into
    the world's orientation with the known camera rotation; its position is not used (the trajectory
    head's features are heading- and root-relative). Frames without a body hold the last valid one.

    Args:
        nets: one sequence of `nets_on_proxies` (T frames). R_w2c: (T, 3, 3) world -> camera rotations.
        rig: a BodyRig (None: built from the bundled body model).
    Returns:
        (joints (T, 22, 3) metres, root at the origin, world axes (y up); R_root (T, 3, 3) model -> world).
    """
    if rig is None:
        from mocap.models.body.smplx_model import load_body_model
        from mocap.models.world.stage import BodyRig

        rig = BodyRig.from_model(load_body_model())
    valid = np.asarray(nets["valid"], bool)
    idx = np.arange(len(valid))
    if valid.any():
        last = np.maximum.accumulate(np.where(valid, idx, -1))
        idx = np.where(last < 0, int(np.argmax(valid)), last)
    T = len(idx)
    J = np.zeros((T, 22, 3))
    Rr = np.zeros((T, 3, 3))
    for i, j in enumerate(idx):
        Jm, _, Rl = rig.forward(nets["poses"][j], nets["betas"][j])
        Rc = np.asarray(R_w2c[i], np.float64)
        J[i], Rr[i] = Jm @ Rc, Rc.T @ Rl[0]
    return J, Rr


def nets_features(nets: dict[str, np.ndarray], R_w2c: np.ndarray, fps: float, rig=None) -> np.ndarray:
    """The trajectory head's input features from the 3D nets' body of one sequence (instead of the truth).

    Args:
        nets: one sequence of `nets_on_proxies` (T frames). R_w2c: (T, 3, 3). fps: frame rate.
        rig: a BodyRig (None: built from the bundled body model).
    Returns:
        (T, 126) float32 features (`trajectory.features` of `nets_body`).
    """
    from mocap.models.world.trajectory import features

    J, Rr = nets_body(nets, R_w2c, rig)
    return features(J, Rr, fps)


def _on_nets(head: str) -> str:
    """Row label of a head fed the 3D nets' poses (HEAD_ON_NETS for the main weights)."""
    return HEAD_ON_NETS if head == "trajectory head (GRU)" else f"{head}, on the 3D nets' poses"


def _summary(rows: list[dict[str, float]], reduce) -> dict[str, float]:
    """`reduce` (np.mean or np.median) of each metric over windows, NaNs left out (NaN when all are)."""
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in rows], np.float64)
        v = v[np.isfinite(v)]
        out[m] = float(reduce(v)) if v.size else float("nan")
    return out


def evaluate(weights: str | Path, data: str | Path, window_s: float = 10.0, stride_s: float = 5.0,
             history: int = 15, threads: int = 1, extra: dict[str, str | Path] | None = None,
             nets: dict[str, np.ndarray] | None = None) -> dict:
    """Run the evaluation; returns {'windows', 'sequences', 'methods': {name: {metric: mean}}, ...}.

    `extra` maps a label to other weights evaluated on the same windows (ablations). `nets`
    (`nets_on_proxies`) adds every head fed the nets' poses (`nets_features`) and the static-camera baseline (`camera_root_world`, the proxy's true extrinsics
    of every frame), as it is (absolute) and translated to the true root at the window start like the
    others; 'static_methods' then holds every method over the windows of static-camera
    sequences only."""
    torch.set_num_threads(threads)
    heads = {"trajectory head (GRU)": load_trajectory_net(weights)}
    heads.update({label: load_trajectory_net(p) for label, p in (extra or {}).items()})
    val = prepare_split(split_file(data, "val"))
    fps = float(val["fps"][0])
    for net in heads.values():
        if abs(fps - net.config.fps) > 1e-6:
            raise ValueError(f"the net was trained at {net.config.fps} fps, the data is at {fps} fps")
    W, stride = int(round(window_s * fps)), int(round(stride_s * fps))
    rows: dict[str, list[dict]] = {name: [] for name in heads}
    rows.update({"constant velocity": [], "standing still": []})
    if nets is not None:
        rows[CAMERA_BASELINE], rows[CAMERA_ALIGNED] = [], []
        rows.update({_on_nets(name): [] for name in heads})
        with np.load(split_file(data, "val")) as z:
            cam_R, cam_t, modes = z["R_w2c"], z["t_w2c"], z["camera_mode"]
        from mocap.models.body.smplx_model import load_body_model
        from mocap.models.world.stage import BodyRig

        rig = BodyRig.from_model(load_body_model())
    static_rows: dict[str, list[dict]] = {name: [] for name in rows}
    seqs, ms_per_frame = 0, []
    starts = val["seq_start"]
    for k, (s, e) in enumerate(zip(starts[:-1], starts[1:])):
        L = int(e - s)
        if L < history + W:
            continue
        seqs += 1
        J, R = val["joints_w"][s:e], val["R_root"][s:e]
        root = J[:, 0]
        static_seq = nets is not None and str(modes[k]) == "static"
        if nets is not None:
            seq_nets = {key: v[s:e] for key, v in nets.items()}
            cam_root, cam_Rw = camera_root_world(seq_nets, cam_R[s:e], cam_t[s:e])
            with torch.no_grad():
                f_nets = torch.as_tensor(nets_features(seq_nets, cam_R[s:e].astype(np.float64), fps, rig))[None]
                psi_nets = {_on_nets(name): net(f_nets)[0][0].double().numpy() for name, net in heads.items()}
        psis = {}
        for name, net in heads.items():
            t = time.perf_counter()
            with torch.no_grad():
                psi, _ = net(torch.as_tensor(val["feats"][s:e])[None])
            if name == "trajectory head (GRU)":
                ms_per_frame.append(1000 * (time.perf_counter() - t) / L)
            psis[name] = psi[0].double().numpy()
        for t0 in range(history, L - W + 1, stride):
            sl = slice(t0, t0 + W)
            for name, psi in psis.items():
                r_pred, R_pred, _ = world_from_egocentric(psi[sl], root[t0, [0, 2]], float(heading_angle(R[t0])))
                rows[name].append(window_metrics(J[sl], r_pred, R_pred, R[sl], fps))
            for name, still in (("constant velocity", False), ("standing still", True)):
                r_b, R_b = constant_velocity(root, R, t0, W, history, still)
                rows[name].append(window_metrics(J[sl], r_b, R_b, R[sl], fps))
            if nets is not None:
                rows[CAMERA_BASELINE].append(window_metrics(J[sl], cam_root[sl], cam_Rw[sl], R[sl], fps))
                shifted = cam_root[sl] + (root[t0] - cam_root[t0])
                rows[CAMERA_ALIGNED].append(window_metrics(J[sl], shifted, cam_Rw[sl], R[sl], fps))
                for name, psi in psi_nets.items():
                    r_pred, R_pred, _ = world_from_egocentric(psi[sl], root[t0, [0, 2]], float(heading_angle(R[t0])))
                    rows[name].append(window_metrics(J[sl], r_pred, R_pred, R[sl], fps))
            if static_seq:
                for name in rows:
                    static_rows[name].append(rows[name][-1])
    if not rows["constant velocity"]:
        raise ValueError(f"no validation sequence is longer than {history + W} frames")
    methods = {name: _summary(rs, np.mean) for name, rs in rows.items()}
    medians = {name: _summary(rs, np.median) for name, rs in rows.items()}
    extra_out = {}
    if nets is not None and static_rows["constant velocity"]:
        extra_out = {"static_windows": len(static_rows["constant velocity"]),
                     "static_methods": {name: _summary(rs, np.mean) for name, rs in static_rows.items()},
                     "static_medians": {name: _summary(rs, np.median) for name, rs in static_rows.items()}}
    moving = [r for r in rows["constant velocity"] if np.isfinite(r["speed_ratio"])]
    extra_out["moving_windows"] = len(moving)
    return {**extra_out, "window_s": window_s, "stride_s": stride_s, "history_frames": history, "fps": fps,
            "windows": len(rows["constant velocity"]), "sequences": seqs, "methods": methods, "medians": medians,
            "net_ms_per_frame_batched": float(np.mean(ms_per_frame))}


def _row(name: str, m: dict[str, float]) -> str:
    """One markdown table row of METRICS."""
    return (f"| {name} | {m['g_mpjpe_mm']:.0f} | {m['root_err_m']:.3f} | {m['drift_m']:.3f} | "
            f"{m['heading_err_deg']:.1f} | {m['accel_err_mps2']:.2f} | {m['height_err_mm']:.0f} | "
            f"{m['speed_ratio']:.2f} |")


def write_report(results: list[dict], out: Path, weights: str, data: str) -> Path:
    """JSON and markdown under `out`; returns the markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "trajectory_eval.json").write_text(json.dumps(results, indent=1))
    lines = ["# Trajectory head: held-out evaluation", "",
             f"Weights `{Path(weights).name}`; data: the validation split of the world-space proxy set "
             f"(`{public_path('data', str(data))}/proxy_val.npz`, clips never seen in training). "
             f"Machine: {cpu_name()}, 1 torch thread. "
             "How the shipped weights were trained: models/world/data/NOTICE.", "",
             "Windows are aligned at their first frame (true root position and heading given); the net has run "
             "causally since the start of its sequence. Baselines start from the same state and extrapolate from the "
             f"{results[0]['history_frames']} frames before the window (constant velocity: mean horizontal root "
             "velocity, constant heading, height and tilt).", ""]
    if any("static_methods" in r for r in results):
        lines += ["Static-camera baseline: the shipped 3D nets (pose_init + descent) run on each sequence's 2D keypoints "
                  "(the proxies' visible K67 pixels), their camera-space root joint and orientation mapped to the world "
                  "through the proxy's true camera (known extrinsics, per frame): absolute, never given the true start; "
                  "the 'aligned' row translates it onto the true root at the window start like the other methods. "
                  "The trajectory heads' rows use the true body poses as input, except those 'on the 3D nets' poses' "
                  "(the nets' body, gravity-aligned with the true camera rotation: what the app feeds the head).", ""]
    for r in results:
        lines += [f"## {r['window_s']:g} s windows (stride {r['stride_s']:g} s): {r['windows']} windows from "
                  f"{r['sequences']} sequences", "",
                  f"| method | G-MPJPE (mm) | root err (m) | drift at end (m) | heading err (deg) | accel err (m/s^2) "
                  f"| height err (mm) | speed ratio ({r.get('moving_windows', 0)} moving windows) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, m in r["methods"].items():
            lines.append(_row(name, m))
        lines += ["", "Medians over windows: " + "; ".join(
            f"{n}: G-MPJPE {m['g_mpjpe_mm']:.0f} mm, drift {m['drift_m']:.3f} m, speed ratio {m['speed_ratio']:.2f}"
            for n, m in r["medians"].items()), ""]
        if "static_methods" in r:
            lines += [f"Static-camera sequences only: {r['static_windows']} of these windows.", "",
                      "| method | G-MPJPE (mm) | root err (m) | drift at end (m) | heading err (deg) | accel err "
                      "(m/s^2) | height err (mm) | speed ratio (moving windows) |", "|---|---|---|---|---|---|---|---|"]
            for name, m in r["static_methods"].items():
                lines.append(_row(name, m))
            lines += ["", "Medians: " + "; ".join(
                f"{n}: G-MPJPE {m['g_mpjpe_mm']:.0f} mm, drift {m['drift_m']:.3f} m, speed ratio {m['speed_ratio']:.2f}"
                for n, m in r["static_medians"].items()), ""]
    lines += [f"Net cost (whole sequence at once, per frame): {results[0]['net_ms_per_frame_batched']:.3f} ms.", ""]
    md = out / "README.md"
    md.write_text("\n".join(lines))
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="~/.cache/mocap/proxy", help="folder with proxy_val.npz")
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--out", default="benchmarks/reports/trajectory")
    ap.add_argument("--windows", default="10,2", help="window lengths in seconds, comma separated")
    ap.add_argument("--nets3d", help="folder with pose_init.pt and descent.pt: add the static-camera baseline "
                    "(the nets' camera-space root through the known extrinsics)")
    ap.add_argument("--nets-cache", help="npz file caching the nets' outputs on the split (made when missing)")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=PATH",
                    help="other weights to evaluate on the same windows (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    extra = dict(e.split("=", 1) for e in args.extra)
    nets = nets_on_proxies(args.data, args.nets3d, args.nets_cache) if args.nets3d else None
    results = [evaluate(args.weights, args.data, window_s=float(w), stride_s=float(w) / 2, extra=extra, nets=nets)
               for w in args.windows.split(",")]
    print(write_report(results, Path(args.out), args.weights, args.data).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
