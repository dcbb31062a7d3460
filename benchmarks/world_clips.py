"""The world stage on the two real clips (issue 5 "done when"): runs mocap-live, then measures the take.

* static camera (sports2d_demo_static_multi.mp4, `--world static`): median height of the contact feet's
  soles above the fitted ground plane, and the RoHM foot-skating ratio / ground penetration
  (models/world/feet.py), before the foot correction (the stage with pinning off, same ground plane)
  and after (what the app's take holds);
* panning camera (phalp_runner_panning_cam.mp4, `--world moving`): the runner's top-down world
  trajectory (PNG), its straightness (net displacement / path length, RMS distance to the best line),
  with the static-camera assumption beside it for contrast.

    python -m mocap.benchmarks.world_clips --videos VIDEO_DIR --out benchmarks/reports/world [--nets3d DIR]

The clips are not in the repository (VIDEO_DIR holds them: the project's development clips); nothing
here runs in the tests.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mocap.app.take import load_take
from mocap.models.world.feet import foot_metrics
from mocap.models.world.stage import BodyRig, OrtTrajectoryNet, WorldOptions, WorldStage


def run_app(video: Path, out: Path, world: str, nets3d: Path | None) -> tuple[list[str], float]:
    cmd = [sys.executable, "-m", "mocap.app.cli", "--video", str(video), "--headless", "--out", str(out),
           "--no-progress", "--world", world, "--save-world-video"] + (["--nets3d", str(nets3d)] if nets3d else [])
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mocap-live failed on {video}:\n{proc.stderr[-2000:]}")
    return cmd, time.time() - t


def restage(take, rig, mode: str, net, pin: bool, plane=None):
    """The world stage over the take's camera-space frames (as the app's second pass)."""
    T = take.num_frames
    j_root = rig.root_joint(take.betas)
    root_c = take.extra["trans_cam"].astype(np.float64) + j_root
    betas = np.repeat(np.asarray(take.betas, np.float64)[None], T, 0)
    if plane is None:
        first = WorldStage(rig, take.fps, WorldOptions(camera=mode, pin=pin), net)
        first.run(take.extra["poses_cam"], betas, root_c, take.contacts, take.valid)
        plane = first.plane
    stage = WorldStage(rig, take.fps, WorldOptions(camera=mode, pin=pin, fixed_plane=plane), net)
    return stage.run(take.extra["poses_cam"], betas, root_c, take.contacts, take.valid), plane


def sole_heights(frames, take, rig, keep, pinned: bool = False):
    """Heights (m) of the soles under the contact points (nets' probability > 0.5, or the stage's pinned
    points), frames where keep."""
    h = []
    for f, c, k in zip(frames, take.contacts, keep):
        if k:
            on = f.pinned if pinned else c > 0.5
            h += list(f.contacts_w[on, 1] - rig.contact_heights[on])
    return np.asarray(h)


def segments(take, rig, jump_m: float = 1.0) -> list[tuple[int, int]]:
    """Runs of valid frames without a root jump > jump_m (a person switch or a lost body), longest first."""
    rc = take.extra["trans_cam"].astype(np.float64)
    out, start = [], None
    for t in range(take.num_frames + 1):
        brk = t == take.num_frames or not take.valid[t] or (
            start is not None and np.linalg.norm(rc[t] - rc[t - 1]) > jump_m)
        if brk and start is not None:
            out.append((start, t))
            start = None
        if t < take.num_frames and take.valid[t] and start is None:
            start = t
    return sorted(out, key=lambda ab: ab[0] - ab[1])


def take_plane(take):
    """The ground plane (camera coordinates) a static-camera world take was made with: cam_R's y column is
    the normal, and the camera sits -n . cam_t above it (calib.ground.camera_pose_from_ground)."""
    from mocap.calib.ground import GroundPlane

    k = int(np.argmax(take.valid))
    n = take.extra["cam_R"][k][:, 1].astype(np.float64)
    return GroundPlane(normal_c=n, d=float(-n @ take.extra["cam_t"][k]), inliers=np.zeros(0, bool), rms_m=float("nan"))


def static_report(take, rig, net) -> dict:
    plane = take_plane(take)   # the app's (its run's final fit)
    before, _ = restage(take, rig, "static", net, pin=False, plane=plane)
    after, _ = restage(take, rig, "static", net, pin=True, plane=plane)
    v = take.valid
    out = dict(frames=int(take.num_frames), valid_frames=int(v.sum()),
               camera_height_m=float(plane.d))
    segs = segments(take, rig)
    out["segments"] = [list(ab) for ab in segs]
    a, b = segs[0]
    longest = np.zeros(take.num_frames, bool)
    longest[a:b] = True
    for scope, keep in (("all valid frames", v), (f"longest segment {a}-{b}", longest)):
        res = {}
        for name, frames in (("before", before), ("after", after)):
            J = np.array([f.joints_w for f in frames])[keep]
            h = sole_heights(frames, take, rig, keep)
            res[name] = dict(foot_metrics(J, take.fps).as_dict(), contact_points=int(len(h)),
                             median_contact_sole_height_m=float(np.median(h)) if len(h) else None,
                             median_abs_contact_sole_height_m=float(np.median(np.abs(h))) if len(h) else None)
        hp = sole_heights(after, take, rig, keep, pinned=True)
        res["after"]["pinned_points"] = int(len(hp))
        res["after"]["median_pinned_sole_height_m"] = float(np.median(hp)) if len(hp) else None
        out[scope] = res
    # the app's own take agrees with the "after" pass (same code, same plane)
    j_root = rig.root_joint(take.betas)
    app_root = take.trans.astype(np.float64)[v] + j_root
    out["app_take_vs_after_max_m"] = float(np.abs(app_root - np.array([f.root_w for f in after])[v]).max())
    return out


def focal_report(run_dir: Path, take, rig, seconds: float = 3.0) -> dict:
    """The focal length `calib.focal.refine_focal` picks from the first `seconds` of valid frames (the
    take's camera-space body and the run's raw 2D keypoints) against the assumed field of view."""
    from mocap.calib.focal import focal_to_fov_y, refine_focal

    kp = np.load(run_dir / "keypoints.npz")
    k67 = kp["k67_raw"].astype(np.float64)
    K = np.asarray(take.cam_K, np.float64)
    j_root = rig.root_joint(take.betas)
    X, uv, w, rc = [], [], [], []
    for t in np.flatnonzero(take.valid)[:int(round(seconds * take.fps))]:
        J, _, _, G = rig.forward_full(take.extra["poses_cam"][t].astype(np.float64), take.betas)
        X.append(rig.body_points(J, G))
        uv.append(k67[t, :25, :2])
        w.append(k67[t, :25, 2])
        rc.append(take.extra["trans_cam"][t].astype(np.float64) + j_root)
    est = refine_focal(np.array(X), np.array(uv), np.array(w), K[:2, 2], 2 * K[1, 2], f_assumed=K[0, 0],
                       root_c=np.array(rc))
    return dict(frames=est.frames, assumed_f_px=float(K[0, 0]), assumed_fov_y_deg=focal_to_fov_y(K[0, 0], 2 * K[1, 2]),
                refined_f_px=est.f_px, refined_fov_y_deg=est.fov_y_deg, well_posed=est.well_posed, rms_px=est.rms_px)


def straightness(xz: np.ndarray) -> dict:
    d = np.linalg.norm(np.diff(xz, axis=0), axis=1).sum()
    c = xz - xz.mean(0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    lateral = c @ vt[1]
    return dict(path_m=float(d), net_m=float(np.linalg.norm(xz[-1] - xz[0])),
                net_over_path=float(np.linalg.norm(xz[-1] - xz[0]) / d) if d > 0 else 0.0,
                rms_from_line_m=float(np.sqrt(np.mean(lateral ** 2))))


def panning_report(take, rig, net, png: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = take.valid
    moving, _ = restage(take, rig, "moving", net, pin=True)
    static, _ = restage(take, rig, "static", net, pin=True)
    out = dict(frames=int(take.num_frames), valid_frames=int(v.sum()))
    fig, ax = plt.subplots(figsize=(7, 6))
    for name, frames, style in (("moving (trajectory head)", moving, "-"), ("static-camera assumption", static, ":")):
        xz = np.array([f.root_w for f in frames])[v][:, [0, 2]]
        cam = np.array([f.camera_centre_w for f in frames])[v][:, [0, 2]]
        out[name.split(" ")[0]] = dict(runner=straightness(xz), camera_path_m=float(
            np.linalg.norm(np.diff(cam, axis=0), axis=1).sum()))
        ln, = ax.plot(xz[:, 0], xz[:, 1], style, lw=2, label=f"runner, {name}")
        ax.plot(xz[0, 0], xz[0, 1], "o", color=ln.get_color())
        ax.plot(cam[:, 0], cam[:, 1], style, lw=1, color=ln.get_color(), alpha=0.5, label=f"camera, {name}")
        ax.plot(cam[0, 0], cam[0, 1], "^", color=ln.get_color(), alpha=0.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("world x (m; +x is left of the first camera view)")
    ax.set_ylabel("world z (m; the first camera's heading)")
    ax.invert_xaxis()
    ax.set_title("phalp_runner_panning_cam.mp4: top-down world trajectory\n(o: start of the runner, ^: of the camera)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mocap.benchmarks.world_clips", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/reports/world"))
    p.add_argument("--videos", type=Path, required=True, help="folder with the two clips (not shipped)")
    p.add_argument("--work", type=Path, default=Path("runs/world_clips"), help="where the app's runs go")
    p.add_argument("--nets3d", type=Path, help="3D nets' folder (default: the bundled nets)")
    p.add_argument("--static-clip", default="sports2d_demo_static_multi.mp4", help="file name in --videos")
    p.add_argument("--panning-clip", default="phalp_runner_panning_cam.mp4", help="file name in --videos")
    args = p.parse_args(argv)
    args.static_clip, args.panning_clip = args.videos / args.static_clip, args.videos / args.panning_clip
    for clip in (args.static_clip, args.panning_clip):
        if not clip.is_file():
            print(f"error: video {clip} not found", file=sys.stderr)
            return 2
    from mocap.models.body.smplx_model import load_body_model

    rig = BodyRig.from_model(load_body_model())
    net = OrtTrajectoryNet.from_checkpoint()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"nets3d": str(args.nets3d) if args.nets3d else "bundled (models/nets/data)"}
    for key, clip, mode in (("static", args.static_clip, "static"), ("panning", args.panning_clip, "moving")):
        run_dir = args.work / key
        cmd, secs = run_app(clip, run_dir, mode, args.nets3d)
        take = load_take(run_dir / "smplx.npz")
        timings = json.loads((run_dir / "timings.json").read_text())["summary"]
        shown = ["mocap-live", "--video", f"VIDEO_DIR/{clip.name}", *cmd[5:7], f"RUN/{key}", *cmd[8:]]   # no machine paths
        r = dict(clip=clip.name, command=" ".join(shown), seconds=round(secs, 1),
                 world_ms=timings.get("world"), draw_world_ms=timings.get("draw_world"))
        r["focal"] = focal_report(run_dir, take, rig)
        if key == "static":
            r.update(static_report(take, rig, net))
        else:
            r.update(panning_report(take, rig, net, args.out / "panning_topdown.png"))
        # one frame of the world view as a picture
        import cv2

        cap = cv2.VideoCapture(str(run_dir / "world.mp4"))
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) * 2 // 3)
        ok, img = cap.read()
        cap.release()
        if ok:
            cv2.imwrite(str(args.out / f"world_view_{key}.png"), img)
        report[key] = r
    (args.out / "clips.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
