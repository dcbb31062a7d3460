"""The staged, threaded live pipeline: capture -> body -> hands -> 3D -> output (draw, record, show).

Each stage runs in its own thread and hands frames on through a small bounded queue, so
decoding, the body nets of frame t+1, the hand nets of frame t, the 3D nets of frame t-1 and
drawing/encoding overlap on separate cores (ONNX Runtime releases the GIL while a net runs). The end of the input
(or Ctrl-C) travels down the queues as a sentinel; every stage drains, then the files are
written for exactly the frames processed.
"""
from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .capture import END, CaptureThread, Frame, VideoSource
from .draw import Letterbox, draw_k67, draw_rois, draw_status
from .errors import AppError
from .record import Recorder, RunInfo, VideoFileWriter, prepare_out_dir
from .timing import stopwatch

log = logging.getLogger(__name__)

DEFAULT_VIDEO = Path(__file__).resolve().parent / "data" / "demo.mp4"
QUEUE_SIZE = 4
WINDOW = "mocap-live (q or Esc to stop)"
EXPORT_STEM = "take"   # --export writes out/take.bvh, out/take.glb, out/take.fbx
_ZERO3 = np.zeros(3)


@dataclass(frozen=True)
class LiveConfig:
    """Options of one `mocap-live` run.

    Exactly one of video / camera. headless None = automatic (no display found -> headless).
    threads: ONNX Runtime intra-op threads per net. providers: ONNX Runtime preference.
    backend: "onnxruntime" or "tensorrt" (engines/select.py); precision: TensorRT's "fp16" or "fp32".
    """

    video: Path | None = None
    camera: int | None = None
    out: Path = Path("out")
    headless: bool | None = None
    save_video: bool = False
    threads: int = 1
    providers: tuple[str, ...] = ("cpu",)
    require_provider: str | None = None
    backend: str = "onnxruntime"
    precision: str = "fp16"
    model_dir: Path | None = None
    body_model: Path | None = None
    max_frames: int | None = None
    progress: bool = True
    overlap: bool = True  # body (frame t+1), hands (frame t), 3D (frame t-1) in threads; False: one thread
    pose3d: bool = True   # the 3D stage (SMPL-X per frame, smplx.npz); False: 2D only
    nets3d: Path | None = None   # folder with pose_init.pt and descent.pt (None: the bundled nets)
    export: tuple[str, ...] = ()  # formats written from the take at its end ("bvh", "glb", "fbx"): out/take.<fmt>
    vmc: tuple[str, int] | None = None   # (host, port): stream each frame's 3D result over VMC (OSC/UDP)
    world: str = "static"  # world stage: "static", "panning" (turning in place) or "moving" camera, "off": camera-space take
    camera_file: Path | None = None   # calib's JSON camera (intrinsics); None: the assumed field of view
    refine_focal: bool = False        # world stage: refine the focal length from the body over the first seconds
    save_world_video: bool = False    # also write world.mp4 (the 3D world view)
    view_size: tuple[int, int] | None = None   # (W, H) of the drawn overlay (frame letterboxed) and world view;
    #                                            None: the overlay at the frame's size, the world view 640x480
    render: bool = False   # draw the overlay and world view even when no window shows them and no file keeps them
    realtime: bool = False  # a file read at its frame rate like a camera (newest frame wins, late ones dropped)

    def __post_init__(self):
        if (self.video is None) == (self.camera is None):
            raise ValueError("give exactly one of video or camera")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.max_frames is not None and self.max_frames <= 0:
            raise ValueError(f"max_frames must be positive, got {self.max_frames}")
        if (self.export or self.vmc) and not self.pose3d:
            raise ValueError("--export and --vmc need the 3D stage: leave out --no-3d")
        if self.world not in ("static", "moving", "panning", "off"):
            raise ValueError(f"--world must be static, moving, panning or off, got {self.world!r}")
        if self.save_world_video and (not self.pose3d or self.world == "off"):
            raise ValueError("--save-world-video needs the 3D and world stages: leave out --no-3d and --world off")
        if self.view_size is not None and (len(self.view_size) != 2 or min(self.view_size) < 16):
            raise ValueError(f"view size must be W x H of at least 16 x 16 pixels, got {self.view_size}")


_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
                 "openblas_set_num_threads")


def set_blas_threads(n: int) -> int:
    """Set the thread count of every OpenBLAS loaded in this process (numpy's and scipy's bundled ones);
    returns how many were set (0 where none is found, e.g. not Linux).

    The stages already run in parallel threads, one ONNX Runtime thread per net; a multi-threaded BLAS
    under numpy's small matrix products (mesh skinning, world stage) then only waits for a busy core:
    measured on the 2-core machine, skinning the overlay mesh took 0.4 ms with one BLAS thread and
    1-8 ms with two, depending on the load. Results are the same (the threads split the output, not sums).
    """
    import ctypes

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return 0
    libs = sorted({ln.split()[-1] for ln in maps.splitlines() if "openblas" in ln.lower() and ln.split()[-1].startswith("/")})
    done = 0
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        fn = next((getattr(handle, name) for name in _BLAS_SETTERS if hasattr(handle, name)), None)
        if fn is not None:
            fn(int(n))
            done += 1
    return done


_WINDOW_PROBE = "import cv2; cv2.namedWindow('probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def display_available() -> bool:
    """True if OpenCV can open a window here.

    Checked in a child process: with an unusable DISPLAY, Qt aborts the whole process instead of
    raising, which would lose the run's output files.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        probe = subprocess.run([sys.executable, "-c", _WINDOW_PROBE], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@dataclass
class Work:
    """A frame travelling down the pipeline with what each stage added."""

    frame: Frame
    timings_ms: dict[str, float] = field(default_factory=dict)
    rgb: np.ndarray | None = None  # the frame in RGB, for the nets
    body: object = None            # the body stage's result
    result: object = None          # the front end's FrontendResult
    pose3d: object = None          # the 3D stage's Pose3DResult (None: 3D off)
    world: object = None           # the world stage's WorldFrame (None: world off)
    R_pan: np.ndarray | None = None  # --world panning: this frame's camera -> the first frame's camera


class StageThread(threading.Thread):
    """Passes fn(item) for every item of `inbox` on to `outbox`, then END."""

    def __init__(self, name: str, fn: Callable, inbox: queue.Queue, outbox: queue.Queue | None,
                 abort: threading.Event, errors: list[BaseException]):
        super().__init__(name=name, daemon=True)
        self.fn, self.inbox, self.outbox, self.abort, self.errors = fn, inbox, outbox, abort, errors

    def run(self) -> None:
        while True:
            try:
                item = self.inbox.get(timeout=0.1)
            except queue.Empty:
                if self.abort.is_set():
                    break
                continue
            if item is END or self.abort.is_set():
                break
            try:
                item = self.fn(item)
            except BaseException as exc:  # surfaced by the main thread after the files are written
                self.errors.append(exc)
                self.abort.set()
                break
            if self.outbox is not None:
                self._put(item)
        if self.outbox is not None:
            self._put(END)

    def _put(self, item) -> None:
        while True:
            try:
                self.outbox.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.abort.is_set():
                    try:
                        self.outbox.get_nowait()
                    except queue.Empty:
                        pass


def engine_config(cfg: LiveConfig):
    """How this run's nets are opened (engines/select.py): ONNX Runtime with the chosen providers, or TensorRT."""
    from ..engines.onnxruntime import OrtConfig
    from ..engines.select import EngineConfig

    ort = OrtConfig(providers=cfg.providers, require=cfg.require_provider, threads=cfg.threads)
    return EngineConfig(backend=cfg.backend, ort=ort, precision=cfg.precision)


def build_frontend(cfg: LiveConfig):
    """The 2D front end for this run (MediaPipe nets, or an MMPose body net if given). With a GPU back end
    the crops are made on the GPU (torch) and handed to the nets as device tensors."""
    from ..models.frontend.config import FrontendConfig
    from ..models.frontend.crop_torch import device_for_provider
    from ..models.frontend.holistic import Frontend

    engines = engine_config(cfg)
    gpu = cfg.backend == "tensorrt" or cfg.require_provider in ("cuda", "tensorrt")
    if cfg.backend == "torch":
        from ..engines.select import torch_device

        gpu = torch_device(engines).startswith("cuda")
    config = FrontendConfig.for_device("cuda") if gpu else FrontendConfig()
    frontend = Frontend.from_onnx(model_dir=cfg.model_dir, ort=engines, body_model=cfg.body_model, config=config)
    if not gpu and cfg.backend == "onnxruntime" and cfg.providers[0] != "cpu":   # --provider auto: the back end is known only now
        frontend.use_device(device_for_provider(frontend.provider))
    return frontend


class LiveRun:
    """One run of the live pipeline over a source; see `run_live`."""

    def __init__(self, cfg: LiveConfig):
        self.cfg = cfg
        if cfg.headless is None:
            self.headless = not display_available()
            if self.headless and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                log.warning("no usable display here; running headless (files go to %s)", cfg.out)
        elif not cfg.headless and not display_available():
            raise AppError("--show: cannot open a window on this display "
                           f"(DISPLAY={os.environ.get('DISPLAY', '')!r}); use --headless")
        else:
            self.headless = cfg.headless
        self.out_dir = prepare_out_dir(cfg.out)
        self.source = VideoSource(video=cfg.video, camera=cfg.camera)
        self.vmc = None
        self._vmc_trans = None   # the last body's SMPL-X translation sent (None: no body yet)
        self.export_failed: list[str] = []   # --export formats that could not be written (after the run)
        frame_wh = (self.source.width, self.source.height)
        self.letterbox = Letterbox.fit(frame_wh, cfg.view_size or frame_wh)   # the overlay's size
        try:
            self.frontend = build_frontend(cfg)
            self._build_pose3d(cfg)
            self._build_outputs(cfg)
        except BaseException:
            self.source.close()
            raise
        if cfg.threads > 0:   # numpy's BLAS like ONNX Runtime: the stages are the parallelism
            set_blas_threads(cfg.threads)
        self.stop = threading.Event()   # stop reading new frames (end of input or Ctrl-C)
        self.abort = threading.Event()  # stop everything now (second Ctrl-C or an error)
        self.errors: list[BaseException] = []
        self.display_q: queue.Queue = queue.Queue(maxsize=1)
        self.recorder = Recorder(
            self.out_dir, self.source.fps, self.source.width, self.source.height,
            RunInfo(backend=cfg.backend, provider=self.frontend.provider, threads=cfg.threads,
                    source=self.source.name),
        )
        self.overlay = (VideoFileWriter(self.out_dir / "overlay.mp4", self.source.fps, *self.letterbox.size,
                                        background=True) if cfg.save_video else None)
        self.draw_needed = self.overlay is not None or not self.headless or cfg.render
        self.progress = None
        if cfg.progress:
            from tqdm import tqdm

            total = self.source.frame_count
            if cfg.max_frames is not None and total is not None:
                total = min(total, cfg.max_frames)
            self.progress = tqdm(total=total, unit="frame", desc=Path(self.source.name).name,
                                 dynamic_ncols=True, leave=True)

    def _build_pose3d(self, cfg: LiveConfig) -> None:
        """The 3D stage, its take recorder and the mesh overlay (all None when 3D is off or not installed)."""
        self.pose3d = self.take = self.mesh = self.body_model = self.world = self.world_view = self.world_video = None
        self.pan = None
        if not cfg.pose3d:
            return
        from ..engines.onnxruntime import OrtConfig
        from .stage3d import TAKE_FILE, TakeRecorder, build_pose3d

        # The world stage's trajectory head (one small GRU step per frame) stays on ONNX Runtime CPU.
        ort = OrtConfig(providers=("cpu",), threads=cfg.threads)
        cam_K = None
        if cfg.camera_file is not None:   # --camera-file: calib's intrinsics, scaled to the video
            from ..calib.assumed import camera_for_video
            from ..calib.camera_file import CameraFileError, load_camera_file

            try:
                cam_K = camera_for_video(self.source.width, self.source.height, load_camera_file(cfg.camera_file)).K
            except (CameraFileError, OSError, ValueError) as exc:
                raise AppError(f"--camera-file: {exc}") from None
        self.pose3d = build_pose3d(cfg.nets3d, self.source.width, self.source.height, engine_config(cfg), cam_K)
        if self.pose3d is None:
            return
        # the camera that projects into the overlay (the letterboxed frame)
        self.view_K = self.pose3d.cam_K if self.letterbox.identity else self.letterbox.camera(self.pose3d.cam_K)
        from ..models.body.smplx_model import load_body_model

        body_model = self.body_model = load_body_model()
        self.take = TakeRecorder(self.out_dir / TAKE_FILE, self.source.fps, self.pose3d.cam_K, body_model)
        if cfg.save_video or not self.headless or cfg.render:
            from .draw import MeshOverlay

            self.mesh = MeshOverlay(body_model)
        if cfg.world != "off":
            from .world_stage import WORLD_VIDEO, WorldRun

            from ..models.world.stage import WorldOptions

            self.world = self.take.world = WorldRun(body_model, self.source.fps, cfg.world, ort,
                                                    WorldOptions(refine_focal=cfg.refine_focal), cam_K=self.pose3d.cam_K)
            if cfg.world == "panning":
                from ..models.world.camera_rotation import PanTracker

                self.pan = PanTracker(self.pose3d.cam_K)
            if cfg.save_world_video or not self.headless or cfg.render:
                from .world_view import WorldView

                self.world_view = WorldView(self.pose3d.cam_K, (self.source.width, self.source.height),
                                            *(cfg.view_size or ()))
                self.world_video = (VideoFileWriter(self.out_dir / WORLD_VIDEO, self.source.fps, self.world_view.W,
                                                     self.world_view.H, background=True)
                                    if cfg.save_world_video else None)

    def _build_outputs(self, cfg: LiveConfig) -> None:
        """Check that --export/--vmc have a 3D stage to feed them; open the VMC sender (host resolved once)."""
        if not (cfg.export or cfg.vmc):
            return
        if self.pose3d is None:
            from .stage3d import default_nets_dir

            raise AppError(f"--export and --vmc need the 3D nets, which are not installed in {default_nets_dir()}; "
                           "give --nets3d DIR")
        if cfg.vmc is not None:
            from .formats.vmc import VmcSender, VmcStream

            host, port = cfg.vmc
            try:
                # Zero betas for the bone offsets (the take's shape is known only at its end); each frame's
                # root translation uses that frame's betas. With the world stage the stream is in its world
                # frame (y up, ground at y = 0), else in the camera's (turned y up by the sender).
                # sent from its own thread: the output thread only hands the frame over
                self.vmc = VmcStream(VmcSender(host, port, model=self.body_model,
                                               frame="world" if self.world is not None else "camera"))
            except (OSError, ValueError) as exc:
                raise AppError(f"--vmc: {exc}") from None

    # --- stages -------------------------------------------------------------------------
    def body_stage(self, frame: Frame) -> Work:
        work = Work(frame, {"capture": frame.read_ms})
        work.rgb = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB)
        work.body = self.frontend.process_body(work.rgb, frame.timestamp_s)
        if self.pan is not None:   # --world panning: the camera's turn from the background (body thread)
            t0 = time.perf_counter()
            b = work.body
            person = b.body25_raw[b.body25_raw[:, 2] > 0.3, :2] if b.found and b.body25_raw is not None else None
            work.R_pan = self.pan.step(work.rgb, person)
            work.timings_ms["pan"] = (time.perf_counter() - t0) * 1e3
        return work

    def hand_stage(self, work: Work) -> Work:
        work.result = self.frontend.process_hands(work.rgb, work.body, work.frame.timestamp_s)
        work.timings_ms.update(work.result.timings_ms)
        work.rgb = work.body = None
        return work

    def stage_3d(self, work: Work) -> Work:
        work.pose3d = self.pose3d(work.result.k67_raw)
        work.timings_ms.update(work.pose3d.timings_ms)
        if self.world is not None:   # "world": the world stage's time (FK, ground, trajectory head, feet)
            work.world = self.world.step(work.pose3d, work.result.k67_raw, work.R_pan)
            work.timings_ms.update(work.world.timings_ms)
        return work

    def output(self, work: Work) -> Work:
        res = work.result
        if self.vmc is not None:
            # "vmc": wall time on the output thread; "vmc_cpu": this thread's CPU time in it (the wall time
            # minus waiting for the GIL or a core, which the other stages' threads and processes hold)
            wall, cpu = time.perf_counter(), time.thread_time()
            self._send_vmc(work)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall   # the CPU interval nests in the wall one
            work.timings_ms["vmc"], work.timings_ms["vmc_cpu"] = wall * 1e3, cpu * 1e3
        done = time.perf_counter()
        view = self._render_world(work)
        drawn_ms = None
        if self.draw_needed:
            canvas = self._draw_overlay(work)
            drawn_ms = (time.perf_counter() - work.frame.captured_at) * 1e3
            if self.overlay is not None:   # encoded on its own thread ("encode"): draw no more into `canvas`
                self.overlay.write(canvas)
            if not self.headless:
                if view is not None:
                    from .world_view import inset

                    if self.overlay is not None:
                        canvas = canvas.copy()
                    inset(canvas, view)
                try:
                    self.display_q.put_nowait(canvas)
                except queue.Full:
                    pass
        self.recorder.add(work.frame.index, work.frame.timestamp_s, res.k67, res.k67_raw,
                          work.timings_ms, (done - work.frame.captured_at) * 1e3, done, drawn_ms)
        if self.take is not None:
            self.take.add(work.pose3d)
        if self.progress is not None:
            self.progress.update(1)
        return work

    def _draw_overlay(self, work: Work) -> np.ndarray:
        """The overlay of this frame: the frame (letterboxed to --view-size, else itself, drawn in place: it is
        ours now) with the posed mesh, crop boxes, K67 skeleton and a status line."""
        lb, res, p3 = self.letterbox, work.result, work.pose3d
        with stopwatch(work.timings_ms, "draw"):
            canvas = work.frame.bgr if lb.identity else lb.image(work.frame.bgr)
            if self.mesh is not None and p3 is not None and p3.valid:
                with stopwatch(work.timings_ms, "draw_mesh"):
                    self.mesh.draw(canvas, p3.poses, p3.betas, p3.root_c - self.take.root_joint(p3.betas),
                                   self.view_K)
            k67 = res.k67
            if not lb.identity:
                k67 = np.concatenate([lb.points(k67[:, :2]), k67[:, 2:]], 1)
            draw_rois(canvas, res.rois.values(), None if lb.identity else lb)
            draw_k67(canvas, k67)
            draw_status(canvas, f"frame {work.frame.index}  {self._fps_text()}")
        return canvas

    def _render_world(self, work: Work):
        """The 3D world view of this frame (written to world.mp4 with --save-world-video), or None."""
        if self.world_view is None or work.world is None:
            return None
        with stopwatch(work.timings_ms, "draw_world"):
            view = self.world_view.render(work.world, work.frame.timestamp_s)   # One Euro smoothed for display
        if self.world_video is not None:   # encoded on its own thread ("encode_world"); `view` is not changed later
            self.world_video.write(view)
        return view

    def _send_vmc(self, work: Work) -> None:
        """One VMC bundle for this frame: the world stage's result (root orientation and position in the
        world) when it runs, else the camera-space one. A frame without a body repeats the last pose; before
        the first body, the rest pose at the origin. Never blocks: the frame is handed to the VMC thread
        (``VmcStream``), which sends it over UDP (dropped if the socket buffer is full)."""
        p3, w = work.pose3d, work.world
        if p3.valid:
            root = p3.root_c if w is None else w.root_w
            self._vmc_trans = root - self.take.root_joint(p3.betas)
        trans = self._vmc_trans
        if trans is None:   # no body yet
            self.vmc.submit(work.frame.index, p3.poses, _ZERO3)
        else:
            self.vmc.submit(work.frame.index, p3.poses if w is None else w.world_poses(p3.poses), trans)

    def _fps_text(self) -> str:
        t = self.recorder.done_at[-30:]
        if len(t) < 2 or t[-1] <= t[0]:
            return ""
        return f"{(len(t) - 1) / (t[-1] - t[0]):.1f} fps"

    # --- orchestration --------------------------------------------------------------------
    def run(self) -> Recorder:
        # Live: one waiting frame at most, so a slow stage drops frames instead of adding latency.
        # Live (or paced): also one frame at most between the later stages; deeper queues only fill up when
        # the pipeline is slower than the camera, and then every waiting frame is latency.
        like_camera = self.source.is_live or self.cfg.realtime
        qsize = 1 if like_camera else QUEUE_SIZE
        q_frames = queue.Queue(maxsize=qsize)
        q_bodies, q_results = queue.Queue(maxsize=qsize), queue.Queue(maxsize=qsize)
        capture = CaptureThread(self.source, q_frames, self.stop, self.cfg.max_frames, paced=self.cfg.realtime)
        if self.cfg.overlap:
            infer = [StageThread("body", self.body_stage, q_frames, q_bodies, self.abort, self.errors)]
            if self.pose3d is not None:   # hands of frame t beside the 3D nets of frame t-1
                q_hands = queue.Queue(maxsize=qsize)
                infer += [StageThread("hands", self.hand_stage, q_bodies, q_hands, self.abort, self.errors),
                          StageThread("3d", self.stage_3d, q_hands, q_results, self.abort, self.errors)]
            else:
                infer.append(StageThread("hands", self.hand_stage, q_bodies, q_results, self.abort, self.errors))
        else:  # lowest latency per frame: a frame runs start to end (front end, 3D) in one thread
            def whole(f: Frame) -> Work:
                work = self.hand_stage(self.body_stage(f))
                return self.stage_3d(work) if self.pose3d is not None else work

            infer = [StageThread("frontend", whole, q_frames, q_results, self.abort, self.errors)]
        stages = [*infer, StageThread("output", self.output, q_results, None, self.abort, self.errors)]
        output = stages[-1]
        threads = [capture, *stages]
        interrupted = 0
        try:
            for t in threads:
                t.start()
            while output.is_alive():
                try:
                    self._show_or_wait(output)
                except KeyboardInterrupt:
                    interrupted += 1
                    self.stop.set()
                    if interrupted > 1:
                        self.abort.set()
                    log.warning("interrupted: finishing the frames in flight (Ctrl-C again to stop now)")
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=5.0)
            self._close(capture)
        if self.errors:
            raise self.errors[0]
        if interrupted:
            raise KeyboardInterrupt
        return self.recorder

    def _show_or_wait(self, output: threading.Thread) -> None:
        if self.headless:
            output.join(timeout=0.1)
            return
        try:
            canvas = self.display_q.get(timeout=0.05)
        except queue.Empty:
            return
        cv2.imshow(WINDOW, canvas)
        key = cv2.waitKey(1) & 0xFF
        if key in (27, ord("q")) or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            self.stop.set()  # Esc, q or the window closed: end like the end of the input

    def _close(self, capture: CaptureThread) -> None:
        if self.progress is not None:
            self.progress.close()
        self.source.close()
        self.recorder.extra.update(frames_dropped=capture.dropped, live=self.source.is_live, paced=capture.paced,
                                   render=self.draw_needed, view_size=list(self.letterbox.size),
                                   encode=self.overlay is not None or self.world_video is not None)
        if self.vmc is not None:
            self.vmc.close()
            self.recorder.extra["vmc"] = {"target": f"{self.cfg.vmc[0]}:{self.cfg.vmc[1]}",
                                          "sent": self.vmc.sent, "dropped": self.vmc.dropped}
        for name, video in (("encode", self.overlay), ("encode_world", self.world_video)):
            if video is not None:   # the encoder threads finish; their per-frame times join the frames' timings
                video.close()
                for timings, ms in zip(self.recorder.frame_timings, video.times_ms):
                    timings[name] = round(ms, 4)
        self.recorder.write()
        if self.take is not None:
            written = self.take.write()
            self.export_failed = self._export(written)
        if not self.headless:
            cv2.destroyAllWindows()


    def _export(self, take_file: Path) -> list[str]:
        """Write the take as out/take.<fmt> for every --export format; returns the formats that failed.

        Runs after smplx.npz is written and exports that file as read back (so every format holds exactly
        its frames); a failing exporter (no Blender for FBX, an unwritable file) costs only its own file:
        one line on stderr, the other formats are still written.
        """
        failed: list[str] = []
        if not self.cfg.export:
            return failed
        from .convert import export_take
        from .take import load_take

        take = load_take(take_file)
        for i, fmt in enumerate(self.cfg.export):
            path = self.out_dir / f"{EXPORT_STEM}.{fmt}"
            if take.num_frames == 0:
                failed.append(fmt)
                sys.stderr.write(f"mocap-live: warning: no {fmt} export: the take has no frames\n")
                continue
            try:
                t = time.perf_counter()
                export_take(take, fmt, path, model=self.body_model)
                log.info("exported %s (%d frames) in %.2f s", path, take.num_frames, time.perf_counter() - t)
            except KeyboardInterrupt:   # Ctrl-C while exporting: skip the rest, the take is safe
                failed.extend(self.cfg.export[i:])
                sys.stderr.write(f"mocap-live: warning: export interrupted at {fmt}; {self.take.path} is complete\n")
                break
            except Exception as exc:   # any exporter failure is one line; smplx.npz is already written
                failed.append(fmt)
                msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                sys.stderr.write(f"mocap-live: warning: {fmt} export failed: {msg} "
                                 f"(the take is in {self.take.path}; retry with mocap-convert)\n")
        return failed


def run_live(cfg: LiveConfig) -> Recorder:
    """Run the pipeline on cfg's source; write cfg.out; return the recorder (for summaries).

    Raises:
        AppError: bad input (camera, video, output dir). EngineError: models cannot be loaded.
        KeyboardInterrupt: after Ctrl-C, once the files for the processed frames are written.
    """
    return LiveRun(cfg).run()
