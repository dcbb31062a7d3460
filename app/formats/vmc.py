"""Live VMC stream: each frame's SMPL-X pose as one OSC bundle over UDP to a VMC receiver (Performer role).

The VMC protocol (https://protocol.vmc.info/english , "Performer -> Marionette"; Japanese original
https://protocol.vmc.info/specification) is OSC 1.0 over UDP; receivers listen on port 39539 by
default. Per frame this sender puts into ONE bundle (OSC "immediate" time tag):

* ``/VMC/Ext/Root/Pos (s)"root" (f)px py pz (f)qx qy qz qw``: the avatar root, at floor level
  under the rest pelvis, the way an avatar's root sits under its hips: position = the world place of
  that rest floor point moved by the body's translation (``trans + floor_origin``; y is 0 while the
  person stands on a world take's ground), rotation = identity;
* ``/VMC/Ext/Bone/Pos (s)name (f)px py pz (f)qx qy qz qw`` for every SMPL-X joint, named by its VRM
  humanoid bone (``skeleton.SMPLX_TO_VRM``: Hips ... all 30 finger bones, Jaw, eyes): the bone's
  LOCAL position (rest offset from its parent; for Hips the rest pelvis above the floor origin, i.e.
  the hip height) and LOCAL rotation relative to the T-pose (SMPL-X zero pose) in Unity's axes.
  Root + Hips position = the pelvis's world position; a receiver that ignores bone positions keeps
  the avatar's own hip height with its feet at the root;
* ``/VMC/Ext/OK (i)1 (i)3 (i)0``: model loaded, calibration state 3 = calibrated, calibration mode
  0 = normal (protocol v2.5 "Available" message);
* ``/VMC/Ext/T (f)time``: seconds since the sender was created (the "relative time" message).

Axes: Unity is left-handed, +Y up, +Z forward; SMPL-X (world take) is right-handed, +Y up, the body
facing +Z with its left at +X. Negating X maps one onto the other (body still facing +Z, its left now
at -X, as for a VRM avatar in Unity): positions (x, y, z) -> (-x, y, z), quaternions (x, y, z, w) ->
(x, -y, -z, w). A camera-frame take (OpenCV, y down) is first turned to y up (``YUP_FROM_CAMERA``).

Never blocking: a non-blocking UDP socket, one ``sendto`` per frame, no retries, no acknowledgement;
a full socket buffer or an absent receiver drops the frame (counted in ``dropped``), never raises.

The wire bytes come from python-osc's builders: the whole bundle is built once with python-osc at
start (addresses, names and type tags never change) and per frame only the float arguments are
rewritten in place, which keeps ``send`` well under 0.5 ms (benchmarks/outputs.py measures it).
"""
from __future__ import annotations

import socket
import time

import numpy as np
from mocap.app.formats.skeleton import (
    SMPLX_TO_VRM,
    YUP_FROM_CAMERA,
    rest_floor_y,
    rest_joints_for,
)
from mocap.models.body.smplx_layout import JOINT_NAMES, NUM_JOINTS, PARENTS
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 39539                      # VMC receivers' default (VSeeFace, Warudo, EVMC4U)
ROOT_NAME = "root"
_FLOATS = 7                               # px py pz qx qy qz qw
_UNITY_POS_SIGN = np.array([-1.0, 1.0, 1.0])        # right-handed y-up -> Unity: negate X
_UNITY_QUAT_SIGN = np.array([1.0, -1.0, -1.0, 1.0])  # (x, y, z, w) -> (x, -y, -z, w)


def parse_host_port(spec: str | None) -> tuple[str, int]:
    """"HOST:PORT", "HOST", ":PORT" or None -> (host, port) with the VMC defaults filled in.

    Raises:
        ValueError: the port is not an integer in 1..65535.
    """
    if not spec:
        return DEFAULT_HOST, DEFAULT_PORT
    host, sep, port = spec.rpartition(":") if ":" in spec else (spec, "", "")
    host = host.strip("[]") or DEFAULT_HOST
    if not sep:
        return host, DEFAULT_PORT
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"VMC target {spec!r}: port must be an integer, e.g. 127.0.0.1:39539") from None
    if not 0 < p < 65536:
        raise ValueError(f"VMC target {spec!r}: port must be in 1..65535")
    return host, p


def _quat_mul_xyzw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of (4,) quaternions (x, y, z, w): the rotation b, then a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz])


_QUAT_YUP_FROM_CAMERA = np.array([1.0, 0.0, 0.0, 0.0])   # half turn about X, (x, y, z, w)


class VmcSender:
    """Send SMPL-X frames to a VMC receiver; owned by one thread (in the live app, the VmcStream thread).

    Example::

        with VmcSender("127.0.0.1", 39539, betas=take.betas) as vmc:
            for i in range(T):
                vmc.send(i, poses[i], trans[i])
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, betas: np.ndarray | None = None,
                 model=None, frame: str = "world") -> None:
        """Open the UDP socket and prepare the message templates.

        Args:
            host, port: the receiver (VMC default 127.0.0.1:39539).
            betas: (10,) shape coefficients for the bone offsets (zeros if None).
            model: SmplxModel for the rest joints (the bundled open model if None).
            frame: "world" (y up) or "camera" (OpenCV axes): the frame of the poses' root and trans.
        Raises:
            ValueError: bad port or frame; OSError: the socket cannot be created or the host resolved.
        """
        if frame not in ("world", "camera"):
            raise ValueError(f"VmcSender frame must be 'world' or 'camera', got {frame!r}")
        if not 0 < int(port) < 65536:
            raise ValueError(f"VmcSender port must be in 1..65535, got {port}")
        if model is None:
            from mocap.models.body.smplx_model import load_body_model
            model = load_body_model()
        self.frame = frame
        betas = np.zeros(10) if betas is None else np.asarray(betas)
        rest = rest_joints_for(model, betas)                                # (55, 3)
        self.rest_pelvis = rest[0].copy()
        # Floor origin: the rest pelvis dropped to the soles (lowest rest vertex), model frame.
        self.floor_origin = np.array([rest[0, 0], rest_floor_y(model, betas), rest[0, 2]])
        local = rest.copy()
        local[1:] -= rest[list(PARENTS[1:])]
        local[0] -= self.floor_origin                                       # Hips: (0, hip height, 0)
        self.bone_names = [SMPLX_TO_VRM[n] for n in JOINT_NAMES]
        self._floats = np.zeros((NUM_JOINTS + 1, _FLOATS), np.float64)      # row 0: root, 1..55: bones
        self._floats[1:, :3] = local * _UNITY_POS_SIGN
        self._floats[0, 6] = 1.0
        # The whole bundle is built once with python-osc (zero floats); per frame only the float
        # arguments are overwritten in place through a big-endian float32 view of the buffer.
        parts = [OscBundleBuilder(IMMEDIATELY).build().dgram]              # "#bundle\0" + time tag
        float_at: list[int] = []                                            # byte offset of each float block
        size = len(parts[0])
        msgs = [("/VMC/Ext/Root/Pos", ROOT_NAME)] + [("/VMC/Ext/Bone/Pos", b) for b in self.bone_names]
        for addr, name in msgs:
            mb = OscMessageBuilder(address=addr)
            mb.add_arg(name, "s")
            for _ in range(_FLOATS):
                mb.add_arg(0.0, "f")
            dgram = mb.build().dgram
            parts.append(len(dgram).to_bytes(4, "big") + dgram)             # bundle element: size, message
            size += 4 + len(dgram)
            float_at.append(size - 4 * _FLOATS)
        ok = OscMessageBuilder(address="/VMC/Ext/OK")
        for v in (1, 3, 0):
            ok.add_arg(v, "i")
        tm = OscMessageBuilder(address="/VMC/Ext/T")
        tm.add_arg(0.0, "f")
        for dgram in (ok.build().dgram, tm.build().dgram):
            parts.append(len(dgram).to_bytes(4, "big") + dgram)
            size += 4 + len(dgram)
        self._buf = bytearray(b"".join(parts))
        self._view = np.frombuffer(self._buf, dtype=">f4")                  # OSC keeps 4-byte alignment
        self._idx = (np.array(float_at)[:, None] // 4 + np.arange(_FLOATS)).ravel()   # (56 * 7,)
        self._t_idx = size // 4 - 1                                         # the last float: /VMC/Ext/T
        # Resolve the host once here: a name looked up on every sendto could block the output thread.
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as exc:
            raise OSError(f"VMC target {host}:{port}: cannot resolve host ({exc})") from None
        self.address = sockaddr
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        # Constant parts of the per-frame maths, folded once (fewer NumPy calls per frame: on the live
        # output thread each call runs with caches cold from the nets, ~5-10 us each).
        # Unity quaternion sign folded into the axis-angle -> quaternion scale: (x, -y, -z).
        self._aa_sign = _UNITY_QUAT_SIGN[:3].copy()
        # Root position: Unity = S (M (rest_pelvis + tr) - rest_pelvis + floor_origin), M = YUP_FROM_CAMERA
        # for a camera-frame take (else identity), S = _UNITY_POS_SIGN: an affine map A tr + b.
        M = YUP_FROM_CAMERA if frame == "camera" else np.eye(3)
        self._root_A = _UNITY_POS_SIGN[:, None] * M
        self._root_b = _UNITY_POS_SIGN * (M @ self.rest_pelvis - self.rest_pelvis + self.floor_origin)
        # Root bone rotation for a camera-frame take: Unity q' = U (Q_cam * (U q)), U = _UNITY_QUAT_SIGN,
        # Q_cam * . = the left-multiplication matrix of the half turn about X: one 4 x 4 matrix.
        L = np.array([_quat_mul_xyzw(_QUAT_YUP_FROM_CAMERA, e) for e in np.eye(4)]).T   # L @ q = Q_cam * q
        self._root_q = (_UNITY_QUAT_SIGN[:, None] * L * _UNITY_QUAT_SIGN[None, :]) if frame == "camera" else None
        self._half = np.empty(NUM_JOINTS)
        self._t0 = time.monotonic()
        self.sent = 0
        self.dropped = 0

    def _fill(self, poses_row: np.ndarray, trans: np.ndarray, t: float | None = None) -> bytearray:
        """Write one frame into the bundle buffer and return it (overwritten by the next call).

        Args:
            poses_row: (165,) SMPL-X axis-angle pose, radians (``app/take.py`` layout).
            trans: (3,) SMPL-X translation, metres.
            t: the /VMC/Ext/T time in seconds (now - start if None).
        Raises:
            ValueError: wrong shapes.
        """
        aa = np.asarray(poses_row)
        tr = np.asarray(trans)
        if aa.shape != (3 * NUM_JOINTS,) or tr.shape != (3,):
            raise ValueError(f"VmcSender: poses_row must be (165,) and trans (3,), got {aa.shape} and {tr.shape}")
        aa = aa.reshape(NUM_JOINTS, 3)
        f = self._floats
        # Quaternion (x, y, z, w) = (sin(a/2)/a * v, cos(a/2)), a = |v|; 0.5 sinc(a / 2 pi) = sin(a/2)/a,
        # 1/2 at a = 0. Few NumPy calls on purpose: this runs on the live output thread.
        half = np.multiply(np.sqrt(np.einsum("ij,ij->i", aa, aa, dtype=np.float64)), 0.5, out=self._half)
        f[1:, 6] = np.cos(half)
        scale = np.sinc(half * (1 / np.pi))                                 # sin(a/2) / (a/2)
        np.multiply(aa, np.multiply.outer(0.5 * scale, self._aa_sign), out=f[1:, 3:6])
        if self._root_q is not None:
            f[1, 3:] = self._root_q @ f[1, 3:]
        f[0, :3] = self._root_A @ tr + self._root_b                         # root = pelvis - Hips local
        self._view[self._idx] = f.ravel()                                   # float64 -> big-endian float32
        self._view[self._t_idx] = time.monotonic() - self._t0 if t is None else t
        return self._buf

    def encode(self, poses_row: np.ndarray, trans: np.ndarray, t: float | None = None) -> bytes:
        """The OSC bundle bytes for one frame (module docstring for the content).

        Args:
            poses_row: (165,) SMPL-X axis-angle pose, radians (``app/take.py`` layout).
            trans: (3,) SMPL-X translation, metres.
            t: the /VMC/Ext/T time in seconds (now - start if None).
        Raises:
            ValueError: wrong shapes.
        """
        return bytes(self._fill(poses_row, trans, t))

    def send(self, frame_index: int, poses_row: np.ndarray, trans: np.ndarray) -> bool:
        """Send one frame's bundle; never blocks or raises for network trouble.

        Args:
            frame_index: the pipeline's frame number (for the caller's bookkeeping; UDP has no order).
            poses_row: (165,) SMPL-X axis-angle pose, radians.
            trans: (3,) SMPL-X translation, metres.
        Returns:
            True if the datagram was handed to the OS, False if dropped (buffer full, no route, ...).
        Raises:
            ValueError: wrong shapes (a programming error, not a network one).
        """
        data = self._fill(poses_row, trans)
        try:
            self._sock.sendto(data, self.address)
        except (BlockingIOError, InterruptedError):
            self.dropped += 1
            return False
        except OSError:   # ECONNREFUSED from an earlier ICMP, no route, buffer space, ...
            self.dropped += 1
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self._sock.close()

    def __enter__(self) -> VmcSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VmcStream:
    """A ``VmcSender`` on its own thread, so that the caller's thread (the live app's output thread) only
    hands over the frame: building the bundle and ``sendto`` (which releases the GIL and may wait up to
    the interpreter's switch interval to get it back) happen on the stream's thread.

    ``submit`` never blocks: the hand-over queue holds ``depth`` frames; when the sender falls behind, the
    oldest waiting frame is dropped (counted in ``overwritten``), so the stream stays live.
    """

    def __init__(self, sender: VmcSender, depth: int = 8) -> None:
        import collections
        import threading

        self.sender = sender
        self.overwritten = 0
        self._queue: collections.deque = collections.deque(maxlen=depth)
        self._ready = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="vmc-sender", daemon=True)
        self._thread.start()

    @property
    def sent(self) -> int:
        return self.sender.sent

    @property
    def dropped(self) -> int:
        """Frames not handed to the OS: overwritten in the queue or dropped by the socket."""
        return self.sender.dropped + self.overwritten

    def submit(self, frame_index: int, poses_row: np.ndarray, trans: np.ndarray) -> None:
        """Queue one frame (copied) for sending; returns at once."""
        item = (frame_index, np.array(poses_row, np.float64), np.array(trans, np.float64))
        with self._ready:
            if len(self._queue) == self._queue.maxlen:
                self.overwritten += 1
            self._queue.append(item)
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:          # closing and drained
                    return
                item = self._queue.popleft()
            self.sender.send(*item)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued, stop the thread and close the socket (idempotent)."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)
        self.sender.close()
