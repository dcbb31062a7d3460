"""Foot contact and ground (issue 5 item 3): RoHM-style metrics and a causal foot pinner.

Metrics (DESIGN 11, after RoHM, Zhang et al. CVPR 2024), on SMPL-X body joints in a y-up world with the
ground at y = 0 (metres):

* foot-skating ratio: per foot (left: ankle 7, toe 10; right: ankle 8, toe 11) and frame t >= 1, the
  foot is *in contact* when toe height < 10 cm and ankle height < 15 cm, and *skating* when in contact
  and both of its joints move faster than 10 cm/s horizontally (x-z speed, finite difference to the
  previous frame). Ratio = skating foot-frames / contact foot-frames (0 when there is no contact).
  Horizontal speed is our reading of "move": a foot lifting off the floor is not sliding on it.
* ground penetration: mean over frames and both toe joints of max(0, -y) (millimetres; frames above the
  ground count as 0), and the maximum depth.

`FootPinner` makes contact points stay put and the body stay above the ground by shifting the whole body
(its root translation) per frame; it never changes the pose. Module docstrings of models/world/stage.py
say where it runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# SMPL-X body joints of the feet: (ankle, toe) per side.
FEET = ((7, 10), (8, 11))
TOE_HEIGHT_M = 0.10
ANKLE_HEIGHT_M = 0.15
SKATE_SPEED_MPS = 0.10


@dataclass
class FootMetrics:
    """skating_ratio: skating / contact foot-frames; contact_frames, skating_frames: counts (both feet);
    penetration_mm: mean toe depth below the ground (0 above); max_penetration_mm."""
    skating_ratio: float
    contact_frames: int
    skating_frames: int
    penetration_mm: float
    max_penetration_mm: float

    def as_dict(self) -> dict:
        return dict(skating_ratio=self.skating_ratio, contact_frames=self.contact_frames,
                    skating_frames=self.skating_frames, penetration_mm=self.penetration_mm,
                    max_penetration_mm=self.max_penetration_mm)


def foot_metrics(joints_w: np.ndarray, fps: float, toe_height_m: float = TOE_HEIGHT_M,
                 ankle_height_m: float = ANKLE_HEIGHT_M, speed_mps: float = SKATE_SPEED_MPS) -> FootMetrics:
    """Foot-skating ratio and ground penetration (module docstring).

    Args:
        joints_w: (T, >=12, 3) SMPL-X joints in the world (y up, ground y = 0), metres.
        fps: frame rate.
    Raises:
        ValueError: fewer than 12 joints or a non-positive frame rate.
    """
    J = np.asarray(joints_w, np.float64)
    if J.ndim != 3 or J.shape[1] < 12 or J.shape[2] != 3:
        raise ValueError(f"foot_metrics: joints must be (T, >=12, 3), got {J.shape}")
    if not fps > 0:
        raise ValueError(f"foot_metrics: fps must be positive, got {fps}")
    contact = skating = 0
    for ankle, toe in FEET:
        a, t = J[:, ankle], J[:, toe]
        c = (t[1:, 1] < toe_height_m) & (a[1:, 1] < ankle_height_m)
        va = np.linalg.norm(np.diff(a[:, [0, 2]], axis=0), axis=1) * fps
        vt = np.linalg.norm(np.diff(t[:, [0, 2]], axis=0), axis=1) * fps
        contact += int(c.sum())
        skating += int((c & (va > speed_mps) & (vt > speed_mps)).sum())
    depth = np.maximum(0.0, -J[:, [10, 11], 1])
    return FootMetrics(skating_ratio=skating / contact if contact else 0.0, contact_frames=contact,
                       skating_frames=skating, penetration_mm=float(depth.mean() * 1e3) if depth.size else 0.0,
                       max_penetration_mm=float(depth.max() * 1e3) if depth.size else 0.0)


@dataclass(frozen=True)
class PinOptions:
    """FootPinner settings.

    Attributes:
        contact_prob: a foot point is a contact candidate when the nets' probability exceeds this ...
        contact_height_m: ... and it is lower than this above the ground (after the current correction).
        release_prob: hysteresis: a pinned point stays pinned until its probability falls below this.
        pull_mps: anchors follow the uncorrected feet at most this fast (keeps the correction bounded, so a
            static camera's absolute position cannot drift away; below RoHM's 10 cm/s skating speed).
        vertical_mps: how fast the vertical correction may change (contacts put their mean sole height on
            the ground; penetration is removed at once whatever this says).
        ground_contacts: put the contact points' mean sole height on the ground (else vertical = penetration only).
        ramp_frames: a new contact's weight in the correction grows over this many frames.
        horizontal: shift the body horizontally to hold contact points (else only vertically; the moving
            camera's stage turns it off: there the trajectory head's path is the evidence, see stage.py).
        penetration_tol_m: a sole may be this far below the ground before the body is lifted (the lowest
            of four noisy soles is biased low; lifting at 0 floats the body by that bias).
        weak_prob, weak_height_m: a point with a probability above weak_prob also counts as a contact
            candidate when its sole is lower than weak_height_m (the nets' contact probabilities are
            cautious; height is the second cue). Set weak_prob >= contact_prob to use the nets alone.
        support: the lowest point, when its sole is lower than contact_height_m, counts as in contact whatever
            its probability (a body on the ground stands on something: walking always has a foot down;
            a running flight phase has no foot that low). On far, small people the nets' probabilities
            can stay low through a whole walk (the sports2d roof walker: 0.02-0.4 on planted feet).
        support_band_m: with support, a pinned point stays pinned while its sole is within this of the lowest
            one (and below contact_height_m), whatever its probability: otherwise a support pin lasts only
            while its point is the very lowest, and on a planted foot whose heel and toe take turns at
            that, the pins flicker and every release lets the foot slide.
    """
    contact_prob: float = 0.5
    contact_height_m: float = 0.12
    release_prob: float = 0.35
    pull_mps: float = 0.05
    vertical_mps: float = 0.6
    ground_contacts: bool = True
    ramp_frames: int = 6
    weak_prob: float = 0.2
    penetration_tol_m: float = 0.02
    horizontal: bool = True
    weak_height_m: float = 0.05
    support: bool = True
    support_band_m: float = 0.05

    def __post_init__(self) -> None:
        if not (0 < self.release_prob <= self.contact_prob < 1) or min(self.pull_mps, self.vertical_mps) < 0:
            raise ValueError(f"PinOptions: need 0 < release_prob <= contact_prob < 1 and speeds >= 0, got {self}")


class FootPinner:
    """Causal foot pinning: per frame, a translation of the whole body (one thread; `reset()` after a cut).

    While a foot point is in contact it keeps the x-z position the nets gave it when the contact began (its
    anchor), up to a slow pull of the anchor towards the uncorrected point (`PinOptions.pull_mps`); the body
    is shifted by the weighted mean anchor error of the contact points (a new contact's weight ramps up). Without contacts the horizontal correction
    returns to zero at the same slow speed. Vertically the contact points' mean sole height is put on the
    ground (rate-limited) and no sole may be more than `penetration_tol_m` below it (immediate).
    """

    def __init__(self, fps: float, options: PinOptions = PinOptions()):
        if not fps > 0:
            raise ValueError(f"FootPinner: fps must be positive, got {fps}")
        self.fps, self.options = float(fps), options
        self.reset()

    def reset(self) -> None:
        self.offset = np.zeros(3)
        self.anchors: np.ndarray | None = None      # (P, 2) x-z
        self.age: np.ndarray | None = None          # (P,) frames since the contact began
        self.pinned: np.ndarray | None = None       # (P,) bool

    def step(self, points_w: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Args:
            points_w: (P, 3) the contact points (heels, toes) in world before correction, metres.
            probs: (P,) contact probabilities.
        Returns:
            (offset (3,) to add to the body's translation and every point, pinned (P,) bool).
        """
        o, P = self.options, np.asarray(points_w, np.float64)
        probs = np.asarray(probs, np.float64)
        n = len(P)
        if self.anchors is None or len(self.anchors) != n:
            self.anchors, self.pinned, self.age = np.zeros((n, 2)), np.zeros(n, bool), np.zeros(n, int)
        dt = 1.0 / self.fps
        cur = P + self.offset
        if o.support and n:
            lowest = int(np.argmin(cur[:, 1]))
            if cur[lowest, 1] < o.contact_height_m:
                probs = probs.copy()
                probs[lowest] = max(probs[lowest], o.contact_prob)
                held = self.pinned & (cur[:, 1] < min(cur[lowest, 1] + o.support_band_m, o.contact_height_m))
                probs[held] = np.maximum(probs[held], o.contact_prob)
        low = cur[:, 1] < o.contact_height_m
        weak = (probs > o.weak_prob) & (cur[:, 1] < o.weak_height_m)
        pinned = np.where(self.pinned, ((probs > o.release_prob) & low) | weak, ((probs > o.contact_prob) & low) | weak)
        new = pinned & ~self.pinned
        # a new contact is anchored where the nets put it (not where the current correction would: that
        # would carry the correction from footstep to footstep as a random walk); its weight ramps up, so
        # the correction moves over to the new footstep during the double support
        self.anchors[new] = P[new][:, [0, 2]]
        self.age = np.where(pinned, np.where(new, 0, self.age + 1), 0)
        # anchors drift towards the raw points at <= pull_mps (bounded correction, no visible skating)
        raw = P[:, [0, 2]]
        d = raw - self.anchors
        dist = np.linalg.norm(d, axis=1, keepdims=True)
        step = np.minimum(dist, o.pull_mps * dt)
        self.anchors = self.anchors + np.where(dist > 1e-12, d / np.maximum(dist, 1e-12) * step, 0.0)
        if not o.horizontal:
            self.offset[[0, 2]] = 0.0
        elif pinned.any():
            w = probs[pinned] * np.minimum(1.0, (self.age[pinned] + 1) / (o.ramp_frames + 1))
            err = (self.anchors[pinned] - raw[pinned]) * w[:, None]
            self.offset[[0, 2]] = err.sum(0) / w.sum()
        else:
            h = self.offset[[0, 2]]
            hn = np.linalg.norm(h)
            if hn > 0:
                self.offset[[0, 2]] = h * max(0.0, hn - o.pull_mps * dt) / hn
        # vertical
        target = -float(P[pinned, 1].mean()) if o.ground_contacts and pinned.any() else 0.0
        dy = np.clip(target - self.offset[1], -o.vertical_mps * dt, o.vertical_mps * dt)
        self.offset[1] += dy
        lowest = float(P[:, 1].min())
        if lowest + self.offset[1] < -o.penetration_tol_m:
            self.offset[1] = -lowest - o.penetration_tol_m
        self.pinned = pinned
        return self.offset.copy(), pinned.copy()


# ----------------------------------------------------------------------------- leg IK

# per side: (hip, knee, ankle) SMPL-X joints and the contact points (heel, big toe) of that foot
LEGS = ((1, 4, 7), (2, 5, 8))
LEG_CONTACTS = ((0, 1), (2, 3))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3-vector cross product (np.cross costs ~30 us a call, this ~2)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _norm(a: np.ndarray) -> float:
    return math.sqrt(float(a @ a))


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / _norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def _align(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction u to direction v."""
    u, v = u / _norm(u), v / _norm(v)
    axis = _cross(u, v)
    s, c = _norm(axis), float(np.clip(u @ v, -1, 1))
    if s < 1e-12:
        return np.eye(3)   # (anti-parallel cannot happen for a leg reaching a nearby target)
    return _axis_rotation(axis, np.arctan2(s, c))


def reach_shift(hips: np.ndarray, targets: np.ndarray, leg_lengths: np.ndarray, slack_m: float = 1e-3,
                iterations: int = 8) -> np.ndarray:
    """A small horizontal (x-z) move s (3,) of the body after which every ankle target is within its leg's
    reach, `leg_length - slack_m`, of its hip (y up).

    Each leg allows the hips' x-z moves inside a disc: centre (target - hip) x-z, radius the horizontal
    span sqrt(reach^2 - dy^2) the leg has at the target's height difference dy (0 when the target is too
    far below or above the hip for any move). Alternating projections onto the discs from s = 0 (a point
    of their intersection when they meet, close to the smallest such move).
    Zero when every target is already within reach, and when no horizontal move reaches them all (two
    nearly straight legs whose targets are too far apart: moving the body for one leg would pull the
    other off its target; each leg then reaches as far as it can, as without this move).

    Args:
        hips, targets: (L, 3) world, metres; leg_lengths: (L,) hip-knee plus knee-ankle, metres.
    """
    v = np.asarray(targets, np.float64) - np.asarray(hips, np.float64)
    reach = np.asarray(leg_lengths, np.float64) - slack_m
    centres = v[:, [0, 2]]
    radii = np.sqrt(np.maximum(reach ** 2 - v[:, 1] ** 2, 0.0))
    s = np.zeros(2)
    for _ in range(iterations):
        moved = False
        for c, r in zip(centres, radii):
            d = s - c
            n = math.hypot(d[0], d[1])
            if n > r + 1e-9:
                s = c + d * (r / n) if n > 0 else c
                moved = True
        if not moved:
            break
    if np.any(np.hypot(*(s - centres).T) > radii + 1e-6):
        return np.zeros(3)
    return np.array([s[0], 0.0, s[1]])


def two_bone_ik(h: np.ndarray, k: np.ndarray, a: np.ndarray, target: np.ndarray, bend_axis: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK: rotations that put the ankle of the chain hip h -> knee k -> ankle a on target.

    The knee turns about the leg's bend axis (normal of the hip-knee-ankle plane; `bend_axis` when the leg
    is straight) to get the hip-ankle distance right (clamped to what the bones reach), then the whole leg
    swings about the hip onto the target.

    Returns:
        (R_hip, R_knee): world-frame rotations to pre-multiply the hip's and the knee's global rotations
        (the knee's includes the hip's swing); the ankle's global rotation is to be kept.
    """
    l1, l2 = _norm(k - h), _norm(a - k)
    d = float(np.clip(_norm(target - h), abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4))
    n = _cross(k - h, a - k)
    n = n / _norm(n) if _norm(n) > 1e-6 else bend_axis / _norm(bend_axis)
    cur = _norm(a - h)
    # distance hip-ankle as the shin turns by delta about n at the knee: pick delta by the law of cosines
    want = np.arccos(np.clip((l1 ** 2 + l2 ** 2 - d ** 2) / (2 * l1 * l2), -1, 1))   # interior knee angle
    have = np.arccos(np.clip((l1 ** 2 + l2 ** 2 - cur ** 2) / (2 * l1 * l2), -1, 1))
    best = None
    for delta in (have - want, want - have):
        Rk = _axis_rotation(n, delta)
        a2 = k + Rk @ (a - k)
        err = abs(_norm(a2 - h) - d)
        if best is None or err < best[0]:
            best = (err, Rk, a2)
    _, Rk, a2 = best
    Rs = _align(a2 - h, target - h)
    return Rs, Rs @ Rk


@dataclass(frozen=True)
class LegPinOptions:
    """LegPinner settings: pull_mps as PinOptions; release_frames: frames over which a released foot
    returns from its pinned place to where the pose puts it."""
    pull_mps: float = 0.05
    release_frames: int = 5


class LegPinner:
    """Pins the ankle of a foot in contact in x-z with two-bone leg IK (hip and knee turn, the foot keeps
    its orientation); the ankle height stays the pose's. One thread; `reset()` after a cut.

    `FootPinner` moves the whole body (the common drift); this removes what is left per foot (one foot
    sliding against the other, the jitter of the nets' leg angles).
    """

    def __init__(self, fps: float, options: LegPinOptions = LegPinOptions()):
        self.fps, self.options = float(fps), options
        self.reset()

    def reset(self) -> None:
        self.anchor = [None, None]      # x-z per side while pinned
        self.release = [0, 0]           # frames left of the release blend
        self.last = [None, None]        # the last pinned x-z

    def targets(self, joints_w: np.ndarray, in_contact) -> list[np.ndarray | None]:
        """Per side, the ankle target (3,) in world, or None to leave the leg alone."""
        o, dt = self.options, 1.0 / self.fps
        out: list[np.ndarray | None] = [None, None]
        for side, (_, _, ankle) in enumerate(LEGS):
            a = joints_w[ankle]
            if in_contact[side]:
                if self.anchor[side] is None:
                    self.anchor[side] = a[[0, 2]].copy()
                d = a[[0, 2]] - self.anchor[side]
                dist = np.linalg.norm(d)
                if dist > 1e-12:
                    self.anchor[side] = self.anchor[side] + d / dist * min(dist, o.pull_mps * dt)
                self.last[side] = self.anchor[side].copy()
                self.release[side] = o.release_frames
                out[side] = np.array([self.anchor[side][0], a[1], self.anchor[side][1]])
            else:
                self.anchor[side] = None
                if self.release[side] > 0 and self.last[side] is not None:
                    w = self.release[side] / (o.release_frames + 1)
                    xz = a[[0, 2]] + w * (self.last[side] - a[[0, 2]])
                    self.release[side] -= 1
                    out[side] = np.array([xz[0], a[1], xz[1]])
        return out
