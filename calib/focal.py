"""Focal length from the body (issue 5 item 4b): refine the assumed field of view over the first seconds.

Idea (a 1-D search, no closed form): the 3D stage gives the body's shape in the camera's orientation
(joints and detector points relative to the root joint, metres). For a candidate focal length f the
best root translation t(f) is solved per frame (pinhole, principal point fixed), and the 2D keypoints'
reprojection error left over measures how well f explains the image. A wrong f can be absorbed by the
depth only to first order (size ~ f / depth); what is left is the perspective: near parts of the body
look larger than far ones by (depth difference / depth), which only the right f reproduces. The
focal length minimising the summed robust error over many frames of varied poses is returned.

Frames and units: camera coordinates are OpenCV's (x right, y down, z forward), metres; pixels with
the origin at the image's top-left corner; focal lengths in pixels (square pixels).

Ray correction: the nets estimate the body's orientation in the camera under the assumed focal f0.
Under another f the same pixel is on another ray, and the body seen there is turned by the rotation
between the two rays (a body off the image centre). `refine_focal` applies that rotation per frame
when given the nets' root joints (root_c), so the orientation is consistent with each candidate f.

What limits it: the perspective cue is weak for a distant or a flat-on body (depth extent small
against the distance) and the nets' depth errors bias it; `FocalEstimate.well_posed` says whether the
minimum lies inside the searched range with a clear curvature. Measured results: benchmarks/reports/world.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Searched vertical fields of view (degrees): from a mild telephoto to a wide action camera.
SEARCH_FOV_Y_DEG = (15.0, 100.0)
SEARCH_STEPS = 49                 # log-spaced focal lengths over the range, then a parabola through the best
ROBUST_FRACTION = 0.1             # residuals beyond this fraction of the body's pixel size are truncated
GN_ITERATIONS = 4                 # Gauss-Newton steps on the translation after the linear solve
MIN_POINTS = 6                    # a frame needs at least this many weighted points


@dataclass(frozen=True)
class FocalEstimate:
    """Result of `refine_focal`.

    f_px: the chosen focal length (pixels). fov_y_deg: the vertical field of view it gives for
    `height_px`. frames: frames used. rms_px: robust RMS reprojection error at f_px (pixels).
    well_posed: the minimum is inside the searched range (not at an end) and the cost there is at least
    `min_gain` below both ends. curve_f, curve_cost: the searched focal lengths and their costs.
    """
    f_px: float
    fov_y_deg: float
    frames: int
    rms_px: float
    well_posed: bool
    curve_f: np.ndarray
    curve_cost: np.ndarray


def focal_to_fov_y(f_px: float, height_px: float) -> float:
    """Vertical field of view (degrees) of a focal length f_px (pixels) for an image height_px high."""
    return math.degrees(2 * math.atan(0.5 * height_px / f_px))


def fov_y_to_focal(fov_y_deg: float, height_px: float) -> float:
    """Focal length (pixels) of a vertical field of view (degrees) for an image height_px high."""
    return 0.5 * height_px / math.tan(math.radians(fov_y_deg) / 2)


def ray_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the smallest rotations taking directions a (..., 3) onto b (..., 3) (Rodrigues)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    v = np.cross(a, b)
    c = (a * b).sum(-1)
    K = np.zeros(a.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    K[..., 1, 0], K[..., 2, 0], K[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    k = 1.0 / (1.0 + c)[..., None, None]            # rays in front of the camera: c > 0, no singularity
    return np.eye(3) + K + K @ K * k


def fit_translation(X: np.ndarray, uv: np.ndarray, w: np.ndarray, f: float, c: np.ndarray) -> np.ndarray:
    """Per frame, the camera translation of a body of known shape that best reprojects onto 2D points.

    The linear (algebraic) solve of f (X + t)_xy - (uv - c) (X + t)_z = 0, then `GN_ITERATIONS`
    Gauss-Newton steps on the weighted pixel error.

    Args:
        X: (F, N, 3) points relative to the root joint in camera orientation, metres.
        uv: (F, N, 2) their detections, pixels. w: (F, N) weights (0 = missing).
        f: focal length, pixels. c: (2,) principal point, pixels.
    Returns:
        (F, 3) t: the root joint in the camera, metres (points at X + t).
    """
    d = uv - c                                                       # (F, N, 2)
    F = X.shape[0]
    A = np.zeros((F, X.shape[1], 2, 3))
    A[..., 0, 0] = A[..., 1, 1] = f
    A[..., :, 2] = -d
    b = d * X[..., 2:3] - f * X[..., :2]                            # (F, N, 2)
    sw = np.sqrt(w)[..., None, None]
    A, b = (A * sw).reshape(F, -1, 3), (b * sw[..., 0]).reshape(F, -1)
    t = np.linalg.solve(np.einsum("fki,fkj->fij", A, A) + 1e-9 * np.eye(3), np.einsum("fki,fk->fi", A, b)[..., None])[..., 0]
    for _ in range(GN_ITERATIONS):
        P = X + t[:, None]
        z = np.maximum(P[..., 2], 1e-3)
        r = (f * P[..., :2] / z[..., None] - d)                      # (F, N, 2)
        J = np.zeros(r.shape + (3,))
        J[..., 0, 0] = J[..., 1, 1] = f / z
        J[..., :, 2] = -f * P[..., :2] / (z ** 2)[..., None]
        Jw, rw = (J * sw).reshape(F, -1, 3), (r * sw[..., 0]).reshape(F, -1)
        t = t - np.linalg.solve(np.einsum("fki,fkj->fij", Jw, Jw) + 1e-9 * np.eye(3),
                                np.einsum("fki,fk->fi", Jw, rw)[..., None])[..., 0]
    return t


def reprojection_cost(X: np.ndarray, uv: np.ndarray, w: np.ndarray, f: float, c: np.ndarray) -> np.ndarray:
    """Per frame robust reprojection cost at focal f (`fit_translation` for the translation).

    Residuals are divided by the frame's body size in pixels (the detections' bounding-box diagonal)
    and truncated at ROBUST_FRACTION, so near and far frames count alike and a wrong detection costs at
    most a fixed amount.

    Returns:
        (F,) the weighted mean squared normalised residual.
    """
    t = fit_translation(X, uv, w, f, c)
    P = X + t[:, None]
    proj = f * P[..., :2] / np.maximum(P[..., 2:3], 1e-3) + c
    on = w > 0
    big = np.where(on[..., None], uv, np.nan)
    size = np.linalg.norm(np.nanmax(big, 1) - np.nanmin(big, 1), axis=-1)          # (F,)
    e2 = ((proj - uv) ** 2).sum(-1) / np.maximum(size, 1.0)[:, None] ** 2
    e2 = np.minimum(e2, ROBUST_FRACTION ** 2)
    return (w * e2).sum(1) / np.maximum(w.sum(1), 1e-9)


def refine_focal(X: np.ndarray, uv: np.ndarray, w: np.ndarray, c: np.ndarray, height_px: float,
                 f_assumed: float | None = None, root_c: np.ndarray | None = None,
                 fov_range_deg: tuple[float, float] = SEARCH_FOV_Y_DEG, steps: int = SEARCH_STEPS,
                 min_gain: float = 0.02) -> FocalEstimate:
    """The focal length that best explains 2D keypoints with the body's 3D shape (module docstring).

    Args:
        X: (F, N, 3) body points relative to the root joint, camera orientation, metres (the 3D stage's,
            made under the focal f_assumed).
        uv: (F, N, 2) their 2D detections, pixels. w: (F, N) confidences (0 = missing).
        c: (2,) principal point, pixels. height_px: image height (for the field of view).
        f_assumed: the focal length the 3D stage ran with; with root_c, X is turned per candidate f by
            the rotation between the root's ray under f_assumed and under f (ray correction).
        root_c: (F, 3) the 3D stage's root joints in the camera (metres), or None: no ray correction.
        fov_range_deg: searched vertical fields of view (degrees). steps: grid size.
        min_gain: relative cost drop from the worse range end to the minimum below which the estimate is
            not `well_posed`.
    Returns:
        FocalEstimate.
    Raises:
        ValueError: no frame with MIN_POINTS weighted points, or inconsistent shapes.
    """
    X, uv, w = np.asarray(X, np.float64), np.asarray(uv, np.float64), np.asarray(w, np.float64)
    if X.ndim != 3 or X.shape[-1] != 3 or uv.shape != X.shape[:2] + (2,) or w.shape != X.shape[:2]:
        raise ValueError(f"refine_focal: need X (F, N, 3), uv (F, N, 2), w (F, N); got {X.shape}, {uv.shape}, "
                         f"{w.shape}")
    keep = (w > 0).sum(1) >= MIN_POINTS
    if not keep.any():
        raise ValueError(f"refine_focal: no frame has {MIN_POINTS} or more detected points")
    X, uv, w = X[keep], uv[keep], w[keep]
    c = np.asarray(c, np.float64)
    root_px = None
    if root_c is not None and f_assumed is not None:
        rc = np.asarray(root_c, np.float64)[keep]
        root_px = f_assumed * rc[:, :2] / rc[:, 2:3]                 # root pixel relative to c
        ray0 = np.concatenate([root_px / f_assumed, np.ones((len(rc), 1))], 1)
    lo, hi = (fov_y_to_focal(a, height_px) for a in (max(fov_range_deg), min(fov_range_deg)))
    fs = np.exp(np.linspace(np.log(lo), np.log(hi), steps))

    def cost(f: float) -> float:
        Xf = X
        if root_px is not None:
            ray = np.concatenate([root_px / f, np.ones((len(root_px), 1))], 1)
            Xf = np.einsum("fij,fnj->fni", ray_rotation(ray0, ray), X)
        return float(reprojection_cost(Xf, uv, w, f, c).mean())

    costs = np.array([cost(f) for f in fs])
    i = int(np.argmin(costs))
    f_best = fs[i]
    if 0 < i < steps - 1:        # parabola through the three best points, in log f
        y0, y1, y2 = costs[i - 1:i + 2]
        den = y0 - 2 * y1 + y2
        if den > 0:
            step = 0.5 * (y0 - y2) / den
            f_best = float(np.exp(np.log(fs[i]) + step * (np.log(fs[1]) - np.log(fs[0]))))
    c_best = cost(f_best)
    worse_end = min(costs[0], costs[-1])
    well = 0 < i < steps - 1 and c_best < (1 - min_gain) * worse_end
    # rms in pixels at the chosen focal: undo the size normalisation with the median body size
    size = np.nanmedian(np.linalg.norm(np.nanmax(np.where(w[..., None] > 0, uv, np.nan), 1)
                                       - np.nanmin(np.where(w[..., None] > 0, uv, np.nan), 1), axis=-1))
    return FocalEstimate(f_px=float(f_best), fov_y_deg=focal_to_fov_y(f_best, height_px), frames=int(keep.sum()),
                         rms_px=float(math.sqrt(c_best) * size), well_posed=bool(well), curve_f=fs, curve_cost=costs)
