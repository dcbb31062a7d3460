"""The world stage on the held-out proxy sequences (issue 5 items 3 and 5): root error, foot skating and
ground penetration before and after foot pinning, and the per-frame cost.

Inputs per held-out sequence (``proxy_val.npz``, never trained on): the true world body and camera
turned into what the 3D stage hands the world stage (camera-space poses, root joint, contact
probabilities), either

* ``--inputs truth``: exactly, or
* ``--inputs noisy`` (default): with a stand-in for the nets' errors, i.i.d. per frame: root joint
  N(0, --depth-noise) along the camera ray and N(0, --lateral-noise) across it, every body joint's
  rotation and the root's by N(0, --pose-noise) rad per axis, contacts flipped with probability
  --contact-flip; or
* ``--inputs nets --nets3d DIR``: the 3D nets run on the proxies' 2D keypoints (k67_px, visible points
  only, confidence 0.9): the real errors, once the weights exist.

Static-camera sequences run the "static" stage and are compared with the truth in the stage's gauge
(the world the true ground plane gives: camera above the origin, heading along its optical axis);
pan / follow / dolly sequences run the "moving" stage (trajectory head) and are compared after aligning
position and heading at the sequence start (drift). Foot metrics (RoHM, models/world/feet.py) are
gauge-free: before (the same stage with the foot correction off), after, and of the truth.

    python -m mocap.benchmarks.world_stage --data ~/.cache/mocap/proxy --out benchmarks/reports/world
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mocap.calib.ground import GroundPlane, camera_pose_from_ground
from mocap.models.world.feet import foot_metrics
from mocap.models.mocap.motion import axis_angle_to_matrix
from mocap.models.world.stage import BodyRig, OrtTrajectoryNet, WorldOptions, WorldStage, rotmat_to_axis_angle
from mocap.models.world.trajectory import heading_angle


def camera_inputs(z, s, e, k, rng, mode, args):
    """Camera-space poses (T, 165), root_c (T, 3), contact probabilities (T, 4), valid (T,) of one sequence."""
    T = e - s
    go, bp = z["global_orient"][s:e].astype(np.float64), z["body_pose"][s:e].astype(np.float64)
    lh, rh = z["left_hand_pose"][s:e].astype(np.float64), z["right_hand_pose"][s:e].astype(np.float64)
    R, t = z["R_w2c"][s:e].astype(np.float64), z["t_w2c"][s:e].astype(np.float64)
    j_root = z["j_root"][k].astype(np.float64)
    root_w = z["transl"][s:e].astype(np.float64) + j_root
    poses = np.zeros((T, 165))
    poses[:, 3:66] = bp.reshape(T, 63)
    poses[:, 75:120], poses[:, 120:165] = lh.reshape(T, 45), rh.reshape(T, 45)
    R_root_c = R @ axis_angle_to_matrix(go)
    root_c = np.einsum("tij,tj->ti", R, root_w) + t
    probs = z["contacts"][s:e].astype(np.float64)
    if mode == "noisy":
        poses[:, 3:66] += rng.normal(0, args.pose_noise, (T, 63))
        noise_R = axis_angle_to_matrix(rng.normal(0, args.pose_noise, (T, 3)))
        R_root_c = noise_R @ R_root_c
        ray = root_c / np.linalg.norm(root_c, axis=1, keepdims=True)
        lat = rng.normal(0, args.lateral_noise, (T, 3))
        lat -= (lat * ray).sum(1, keepdims=True) * ray
        root_c = root_c + ray * rng.normal(0, args.depth_noise, (T, 1)) + lat
        flip = rng.random((T, 4)) < args.contact_flip
        probs = np.where(flip, 1 - probs, probs)
    for i in range(T):
        poses[i, :3] = rotmat_to_axis_angle(R_root_c[i])
    return poses, root_c, probs, np.ones(T, bool)


def nets_inputs(z, s, e, k, stage3d):
    """The 3D nets on the proxy's 2D keypoints."""
    T = e - s
    px, vis = z["k67_px"][s:e], z["visible"][s:e]
    out = []
    stage3d.reset() if hasattr(stage3d, "reset") else None
    for i in range(T):
        k67 = np.concatenate([px[i], np.where(vis[i], 0.9, 0.0)[:, None]], 1).astype(np.float32)
        out.append(stage3d(k67))
    poses = np.stack([r.poses for r in out]).astype(np.float64)
    root_c = np.stack([r.root_c for r in out]).astype(np.float64)
    probs = np.stack([r.contacts for r in out]).astype(np.float64)
    valid = np.array([r.valid for r in out])
    betas = np.stack([r.betas for r in out]).astype(np.float64)
    return poses, root_c, probs, valid, betas


def gauge_truth(R, t, root_w):
    """The true root joints in the static stage's gauge (the world of the true ground plane)."""
    n_c = R[:, 1]
    plane = GroundPlane(normal_c=n_c, d=float(-n_c @ t), inliers=np.zeros(0, bool), rms_m=0.0)
    pose = camera_pose_from_ground(plane)
    return (root_w @ R.T + t - pose.t_w2c) @ pose.R_w2c


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mocap.benchmarks.world_stage", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("~/.cache/mocap/proxy").expanduser())
    p.add_argument("--out", type=Path, default=Path("benchmarks/reports/world"))
    p.add_argument("--inputs", choices=("truth", "noisy", "nets"), default="noisy")
    p.add_argument("--nets3d", type=Path, help="folder with pose_init.pt and descent.pt (--inputs nets)")
    p.add_argument("--depth-noise", type=float, default=0.05)
    p.add_argument("--lateral-noise", type=float, default=0.01)
    p.add_argument("--pose-noise", type=float, default=0.03)
    p.add_argument("--contact-flip", type=float, default=0.1)
    p.add_argument("--fusion-gain", type=float, nargs="*", default=[1.0, 0.3])
    p.add_argument("--max-seqs", type=int, help="first N sequences of each camera mode")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cost", action="store_true",
                   help="only time WorldStage.step per mode (pinning and leg IK on) on the first sequences")
    args = p.parse_args(argv)
    from mocap.models.body.smplx_model import load_body_model

    z = dict(np.load(args.data / "proxy_val.npz"))
    starts = list(z["seq_start"])
    model = load_body_model()
    rig = BodyRig.from_model(model)
    net = OrtTrajectoryNet.from_checkpoint()
    stage3d = None
    if args.inputs == "nets":
        from mocap.app.stage3d import build_pose3d
        from mocap.engines.onnxruntime import OrtConfig

        W, H = (int(v) for v in z["image_wh"][0])
        stage3d = build_pose3d(args.nets3d, W, H, OrtConfig(), z["K"][0].astype(np.float64))
    rng = np.random.default_rng(args.seed)
    if args.cost:
        return cost_only(z, starts, rig, net, rng, args)
    rows, costs = [], []
    used = {}
    for k in range(len(starts) - 1):
        s, e = int(starts[k]), int(starts[k + 1])
        mode = str(z["camera_mode"][k])
        if args.max_seqs is not None and used.get(mode, 0) >= args.max_seqs:
            continue
        used[mode] = used.get(mode, 0) + 1
        fps = float(z["fps"][k])
        if args.inputs == "nets":
            if (z["image_wh"][k] != z["image_wh"][0]).any() or not np.allclose(z["K"][k], z["K"][0]):
                from mocap.app.stage3d import build_pose3d
                from mocap.engines.onnxruntime import OrtConfig

                W, H = (int(v) for v in z["image_wh"][k])
                stage3d = build_pose3d(args.nets3d, W, H, OrtConfig(), z["K"][k].astype(np.float64))
            poses, root_c, probs, valid, betas = nets_inputs(z, s, e, k, stage3d)
        else:
            poses, root_c, probs, valid = camera_inputs(z, s, e, k, rng, args.inputs, args)
            betas = np.repeat(z["betas"][k][None].astype(np.float64), e - s, 0)
        R, t = z["R_w2c"][s:e].astype(np.float64), z["t_w2c"][s:e].astype(np.float64)
        root_true = z["transl"][s:e].astype(np.float64) + z["j_root"][k].astype(np.float64)
        truth_feet = foot_metrics(z["joints_w"][s:e].astype(np.float64), fps)
        cam = "static" if mode == "static" else "moving"
        for gain in (args.fusion_gain if cam == "static" else [1.0]):
            stage = WorldStage(rig, fps, WorldOptions(camera=cam, fusion_gain=gain), net)
            frames = stage.run(poses, betas, root_c, probs, valid)
            costs += [f.timings_ms["world_cpu"] for f in frames]
            raw_frames = WorldStage(rig, fps, WorldOptions(camera=cam, fusion_gain=gain, pin=False), net).run(
                poses, betas, root_c, probs, valid)          # "before": the same stage without the feet
            J = np.array([f.joints_w for f in frames])
            Jraw = np.array([f.joints_w for f in raw_frames])
            root = np.array([f.root_w for f in frames])
            raw = np.array([f.root_w for f in raw_frames])
            row = dict(seq=k, clip=str(z["clip"][k]), camera=mode, stage=cam, fusion_gain=gain, frames=e - s,
                       valid=float(valid.mean()), before=foot_metrics(Jraw, fps).as_dict(),
                       after=foot_metrics(J, fps).as_dict(), truth=truth_feet.as_dict())
            if cam == "static":
                g = gauge_truth(R[0], t[0], root_true)
                row["root_err_m_before_pin"] = float(np.median(np.linalg.norm(raw - g, axis=1)[valid]))
                row["root_err_m"] = float(np.median(np.linalg.norm(root - g, axis=1)[valid]))
                row["plane_height_err_m"] = float(abs(stage.plane.d - (-R[0][:, 1] @ t[0])))
            else:   # align position and heading at the start, drift at the end (horizontal)
                h0 = heading_angle(frames[0].R_root_w) - heading_angle(axis_angle_to_matrix(z["global_orient"][s:s + 1].astype(np.float64))[0])
                c, sn = np.cos(-h0), np.sin(-h0)
                Ry = np.array([[c, 0, sn], [0, 1, 0], [-sn, 0, c]])
                est = (root - root[0]) @ Ry.T + root_true[0]
                d = np.linalg.norm((est - root_true)[:, [0, 2]], axis=1)
                row["drift_end_m"] = float(d[-1])
                row["seconds"] = (e - s) / fps
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows, costs)
    summary["inputs"] = args.inputs
    summary["noise"] = (dict(depth_m=args.depth_noise, lateral_m=args.lateral_noise, pose_rad=args.pose_noise,
                             contact_flip=args.contact_flip) if args.inputs == "noisy" else None)
    (args.out / f"proxy_{args.inputs}.json").write_text(json.dumps(dict(summary=summary, rows=rows), indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def panning_frames(n: int, size: tuple[int, int] = (960, 540), deg_per_frame: float = 0.3,
                   seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """`n` RGB frames of a camera turning about its vertical axis over a random textured scene (the
    homography K R K^-1 of a pure rotation), and their K; for timing the pan tracker without a video."""
    import cv2

    w, h = size
    f = 0.5 * h / np.tan(np.radians(22.5))      # the assumed 45-degree vertical field of view
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
    r = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(r.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2.0)
    frames = []
    for i in range(n):
        a = np.radians(deg_per_frame * i)
        R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        frames.append(cv2.warpPerspective(tex, K @ R @ np.linalg.inv(K), (w, h), borderMode=cv2.BORDER_REFLECT))
    return frames, K


def cost_only(z, starts, rig, net, rng, args) -> int:
    """Per-frame cost of WorldStage.step (ms) per camera mode over the first static and the first moving
    sequences (noisy inputs, so pinning and IK work), each run twice (the first run warms up). "panning"
    is the static sequences in the panning mode with the pan tracker (camera_rotation.PanTracker) run on
    synthetic 960x540 frames of a turning camera in the same frame, tracker and stage timed together."""
    import platform
    import time

    from mocap.models.world.camera_rotation import PanTracker

    out = {}
    video, K = panning_frames(90)
    for cam, modes in (("static", ("static",)), ("moving", ("pan", "follow", "dolly")), ("panning", ("static",))):
        ks = [k for k in range(len(starts) - 1) if str(z["camera_mode"][k]) in modes][:4]
        ts, cpu = [], []
        for k in ks:
            s, e = int(starts[k]), int(starts[k + 1])
            poses, root_c, probs, valid = camera_inputs(z, s, e, k, rng, "noisy", args)
            betas = np.repeat(z["betas"][k][None].astype(np.float64), e - s, 0)
            for rep in range(2):
                stage = WorldStage(rig, float(z["fps"][k]), WorldOptions(camera=cam), net)
                tracker = PanTracker(K) if cam == "panning" else None
                for t in range(e - s):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    i = t % (2 * len(video) - 2)      # back and forth: the camera turns one way, then back
                    R_pan = tracker.step(video[min(i, 2 * len(video) - 2 - i)]) if tracker is not None else None
                    stage.step(poses[t], betas[t], root_c[t], probs[t], bool(valid[t]), None, R_pan)
                    if rep:
                        ts.append((time.perf_counter() - t0) * 1e3)
                        cpu.append((time.thread_time() - c0) * 1e3)
        out[cam] = {}
        for name, t in (("wall_ms", np.asarray(ts)), ("cpu_ms", np.asarray(cpu))):
            out[cam][name] = dict(frames=int(len(t)), median=float(np.median(t)), p90=float(np.percentile(t, 90)),
                                  p99=float(np.percentile(t, 99)), max=float(t.max()))
    out["machine"] = dict(cpu=platform.processor() or platform.machine(), note="1 thread (OMP_NUM_THREADS=1)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


def summarise(rows, costs) -> dict:
    out = {}
    groups = {}
    for r in rows:
        groups.setdefault((r["stage"], r["fusion_gain"]), []).append(r)
    for (stage, gain), rs in groups.items():
        def pooled(key):
            c = sum(r[key]["contact_frames"] for r in rs)
            sk = sum(r[key]["skating_frames"] for r in rs)
            pen = float(np.mean([r[key]["penetration_mm"] for r in rs]))
            return dict(skating_ratio=sk / c if c else 0.0, penetration_mm=pen)
        g = dict(sequences=len(rs), frames=int(sum(r["frames"] for r in rs)), before=pooled("before"),
                 after=pooled("after"), truth=pooled("truth"))
        if stage == "static":
            g["root_err_m_median_before_pin"] = float(np.median([r["root_err_m_before_pin"] for r in rs]))
            g["root_err_m_median"] = float(np.median([r["root_err_m"] for r in rs]))
            g["plane_height_err_m_median"] = float(np.median([r["plane_height_err_m"] for r in rs]))
        else:
            g["drift_end_m_median"] = float(np.median([r["drift_end_m"] for r in rs]))
            g["seconds_median"] = float(np.median([r["seconds"] for r in rs]))
        out[f"{stage} gain {gain:g}" if stage == "static" else stage] = g
    c = np.asarray(costs)
    out["cost_cpu_ms"] = dict(median=float(np.median(c)), p90=float(np.percentile(c, 90)),
                          p99=float(np.percentile(c, 99)), max=float(c.max()), frames=int(len(c)))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
