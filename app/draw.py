"""Drawing the 2D overlay (K67 skeleton, crop ROIs, a status line) onto BGR frames."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from ..models.keypoints import K67_EDGES, LEFT_HAND, NUM_BODY, RIGHT_HAND
from ..models.mocap.motion import axis_angle_to_matrix

# BGR colours: body, person's left hand, person's right hand.
BODY_COLOUR = (255, 200, 0)
LEFT_COLOUR = (0, 220, 0)
RIGHT_COLOUR = (0, 80, 255)
_EDGES = np.asarray(K67_EDGES, dtype=np.int64)
_EDGE_COLOURS = [
    BODY_COLOUR if b < NUM_BODY else LEFT_COLOUR if b < RIGHT_HAND.start else RIGHT_COLOUR
    for _, b in K67_EDGES
]


def colour_runs(colours: list) -> list[tuple[object, slice]]:
    """Runs of equal consecutive colours: [(colour, slice)], so each run is one drawing call in order."""
    runs, start = [], 0
    for i in range(1, len(colours) + 1):
        if i == len(colours) or colours[i] != colours[start]:
            runs.append((colours[start], slice(start, i)))
            start = i
    return runs


def draw_segments(img: np.ndarray, a: np.ndarray, b: np.ndarray, colour, thickness: int) -> None:
    """Lines a[i]-b[i] ((N, 2) int32 pixels) in one cv2.polylines call, in order: the same pixels as
    cv2.line per segment."""
    if len(a):
        cv2.polylines(img, list(np.stack([a, b], 1)), False, colour, thickness, cv2.LINE_AA)


_EDGE_RUNS = colour_runs(_EDGE_COLOURS)   # body, left hand, right hand: three calls a frame


def rect_corners_px(x_center: float, y_center: float, width: float, height: float,
                    rotation: float, image_wh: tuple[int, int]) -> np.ndarray:
    """Corners (4, 2) in pixels of a normalised, rotated rect (MediaPipe NormalizedRect)."""
    w_img, h_img = image_wh
    c, s = np.cos(rotation), np.sin(rotation)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * 0.5
    local = half * (width * w_img, height * h_img)
    rot = local @ np.array([[c, s], [-s, c]])
    return rot + (x_center * w_img, y_center * h_img)


@dataclass(frozen=True)
class Letterbox:
    """A frame resized to fit a view of `size` (W, H), aspect kept, centred on black bars.

    Pixel coordinates of the frame map to the view by ``x' = scale * x + tx`` (and y likewise), the same
    map cv2.resize applies to pixel centres, so keypoints and the camera follow the resized picture.
    """

    size: tuple[int, int]     # (W, H) of the view
    inner: tuple[int, int]    # (w, h) of the resized frame inside it
    offset: tuple[int, int]   # (x, y) of its top-left corner in the view
    scale: float
    frame: tuple[int, int]    # (W, H) of the frame

    @classmethod
    def fit(cls, frame_wh: tuple[int, int], size: tuple[int, int]) -> "Letterbox":
        (fw, fh), (W, H) = frame_wh, size
        s = min(W / fw, H / fh)
        w, h = min(W, max(1, round(fw * s))), min(H, max(1, round(fh * s)))
        return cls((int(W), int(H)), (w, h), ((W - w) // 2, (H - h) // 2), s, (int(fw), int(fh)))

    @property
    def identity(self) -> bool:
        return self.inner == self.size and self.scale == 1.0

    def shift(self) -> np.ndarray:
        """(2,) translation of the pixel map (offset plus cv2.resize's half-pixel centring)."""
        return np.array(self.offset, np.float64) + 0.5 * (self.scale - 1.0)

    def image(self, bgr: np.ndarray) -> np.ndarray:
        """A new (H, W, 3) view image: the frame resized into it, black around (the frame itself untouched)."""
        W, H = self.size
        (w, h), (x, y) = self.inner, self.offset
        out = np.zeros((H, W, 3), np.uint8)
        cv2.resize(bgr, (w, h), dst=out[y:y + h, x:x + w], interpolation=cv2.INTER_LINEAR)
        return out

    def points(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) frame pixels -> view pixels."""
        return np.asarray(xy, np.float64) * self.scale + self.shift()

    def camera(self, K: np.ndarray) -> np.ndarray:
        """(3, 3) intrinsics of the frame -> the intrinsics that project into the view."""
        K2 = np.array(K, np.float64)
        K2[:2] *= self.scale
        K2[:2, 2] += self.shift()
        return K2


def draw_k67(bgr: np.ndarray, k67: np.ndarray, min_conf: float = 0.3) -> None:
    """Draw skeleton edges whose two ends are above min_conf, in place. k67: (67, 3) px."""
    ok = k67[:, 2] > min_conf
    pts = np.round(k67[:, :2]).astype(np.int32)
    thick = max(1, round(min(bgr.shape[:2]) / 300))
    both = ok[_EDGES[:, 0]] & ok[_EDGES[:, 1]]
    for colour, run in _EDGE_RUNS:
        e = _EDGES[run][both[run]]
        draw_segments(bgr, pts[e[:, 0]], pts[e[:, 1]], colour, thick)
    for i in np.flatnonzero(ok):
        colour = BODY_COLOUR if i < NUM_BODY else LEFT_COLOUR if i < LEFT_HAND.stop else RIGHT_COLOUR
        cv2.circle(bgr, tuple(pts[i]), thick + 1, colour, -1, cv2.LINE_AA)


def draw_rois(bgr: np.ndarray, rois: Iterable, view: Letterbox | None = None) -> None:
    """Outline each ROI (objects with x_center, y_center, width, height, rotation), in place.
    view: the letterbox that made `bgr` from the frame (None: `bgr` is the frame)."""
    wh = view.frame if view is not None else bgr.shape[1::-1]
    for roi in rois:
        if roi is None:
            continue
        corners = rect_corners_px(roi.x_center, roi.y_center, roi.width, roi.height, roi.rotation, wh)
        if view is not None:
            corners = view.points(corners)
        cv2.polylines(bgr, [np.round(corners).astype(np.int32)], True, (200, 200, 200), 1, cv2.LINE_AA)


def draw_status(bgr: np.ndarray, text: str) -> None:
    """A white status line on a dark box in the top-left corner, in place."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.6
    (w, h), base = cv2.getTextSize(text, font, scale, 1)
    cv2.rectangle(bgr, (4, 4), (12 + w, 12 + h + base), (0, 0, 0), -1)
    cv2.putText(bgr, text, (8, 8 + h), font, scale, (255, 255, 255), 1, cv2.LINE_AA)


# --- the posed body mesh ---------------------------------------------------------------------------
MESH_COLOUR = np.array([235.0, 200.0, 160.0])   # BGR light blue-grey, scaled by the shading level
_HAND_JOINTS = (20, 21, *range(25, 55))          # wrists and fingers: clustered finer (thin parts)


def cluster_decimate(vertices: np.ndarray, faces: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering decimation: vertices in one grid cell (per-vertex cell size, metres) merge into the
    vertex nearest the cell's mean; faces that collapse are dropped, duplicates kept once.

    Args:
        vertices: (V, 3) rest-pose vertices. faces: (F, 3) int, outward winding. cell: (V,) cell sizes.
    Returns:
        (keep (S,) vertex ids of the representatives, faces (F', 3) indexing into `keep`, winding kept).
    """
    key = np.concatenate([np.floor(vertices / cell[:, None]).astype(np.int64), (cell * 1e4).astype(np.int64)[:, None]], 1)
    _, cluster = np.unique(key, axis=0, return_inverse=True)
    cluster = cluster.reshape(-1)
    n = cluster.max() + 1
    mean = np.zeros((n, 3))
    np.add.at(mean, cluster, vertices)
    mean /= np.bincount(cluster, minlength=n)[:, None]
    d = np.linalg.norm(vertices - mean[cluster], axis=1)
    order = np.lexsort((d, cluster))               # per cluster, the nearest vertex first
    first = order[np.r_[True, cluster[order][1:] != cluster[order][:-1]]]
    rep = np.empty(n, np.int64)
    rep[cluster[first]] = first
    f = cluster[faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    _, idx = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
    f = f[np.sort(idx)]
    used = np.unique(f)
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    return rep[used], remap[f]


class MeshOverlay:
    """Draws the posed SMPL-X mesh onto a frame, cheaply on the CPU.

    A decimated face set (vertex clustering of the rest mesh: 4 cm cells, 1.5 cm on the hands; about
    3,300 of the open model's 27,420 faces) is skinned in NumPy (linear blend skinning of the kept
    vertices; pose correctives are left out, the open model has none), projected with cam_K, back faces culled, and painted far to near: the front faces are
    sorted by depth into `depth_buckets` groups and, within a group, binned into `shades` levels of
    Lambert shading towards the camera, one `cv2.fillPoly` call per (group, level). fillPoly fills a call's
    polygons with the even-odd rule, so two overlapping triangles of one call would cancel: small groups
    keep that to folds of the surface. The result is blended over the frame with `alpha`.
    """

    def __init__(self, model, cell_m: float = 0.04, hand_cell_m: float = 0.015, depth_buckets: int = 8,
                 shades: int = 4, alpha: float = 0.6, num_betas: int = 10):
        if not 0 < alpha <= 1 or depth_buckets < 1 or shades < 1:
            raise ValueError(f"MeshOverlay: need 0 < alpha <= 1, depth_buckets and shades >= 1; got "
                             f"{alpha}, {depth_buckets}, {shades}")
        v = model.v_template.detach().cpu().numpy().astype(np.float64)
        w = model.weights.detach().cpu().numpy().astype(np.float64)
        cell = np.where(np.isin(w.argmax(1), _HAND_JOINTS), hand_cell_m, cell_m)
        keep, self.faces = cluster_decimate(v, model.faces.cpu().numpy(), cell)
        self.keep = keep                                  # (S,) kept vertex ids of the full mesh
        J = model.J_regressor.detach().cpu().numpy().astype(np.float64)
        sd = model.shapedirs[:, :, :num_betas].detach().cpu().numpy().astype(np.float64)
        self.v_template, self.v_dirs, self.weights = (a.astype(np.float32) for a in (v[keep], sd[keep], w[keep]))
        self.j_template, self.j_dirs = J @ v, np.einsum("jv,vdk->jdk", J, sd)
        self.parents = np.asarray(model.parents)
        self.depth_buckets, self.shades, self.alpha = depth_buckets, shades, alpha
        self.colours = [tuple(float(c) for c in MESH_COLOUR * (0.3 + 0.7 * (s + 0.5) / shades)) for s in range(shades)]

    @property
    def num_faces(self) -> int:
        return len(self.faces)

    def vertices(self, poses: np.ndarray, betas: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """(S, 3) posed kept vertices, metres, in the frame of `trans` (SMPL-X transl). poses: (165,)."""
        R = axis_angle_to_matrix(np.asarray(poses, np.float64).reshape(-1, 3))               # (55, 3, 3)
        b = np.asarray(betas, np.float64)
        j = self.j_template + self.j_dirs @ b                                       # (55, 3)
        G = np.zeros((len(R), 3, 4))
        for i, p in enumerate(self.parents):
            if p < 0:
                G[i, :, :3], G[i, :, 3] = R[i], j[i]
            else:
                G[i, :, :3] = G[p, :, :3] @ R[i]
                G[i, :, 3] = G[p, :, :3] @ (j[i] - j[p]) + G[p, :, 3]
        G[:, :, 3] -= (G[:, :, :3] @ j[:, :, None])[:, :, 0]                        # relative to the rest pose
        T = (self.weights @ G.reshape(len(R), 12).astype(np.float32)).reshape(-1, 3, 4)   # (S, 3, 4)
        v = self.v_template + self.v_dirs @ b.astype(np.float32)
        return (T[:, :, :3] @ v[:, :, None])[:, :, 0] + T[:, :, 3] + np.asarray(trans, np.float32)

    def draw(self, bgr: np.ndarray, poses: np.ndarray, betas: np.ndarray, trans: np.ndarray,
             cam_K: np.ndarray) -> None:
        """Paint the posed mesh (camera-space poses/trans, OpenCV axes) onto `bgr` in place."""
        v = self.vertices(poses, betas, trans)
        tri = v[self.faces]                                                          # (F, 3, 3)
        centre = tri.sum(1) * (1 / 3)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        dot = -np.einsum("ij,ij->i", n, centre)
        front = (dot > 0) & (centre[:, 2] > 0.2)
        if not front.any():
            return
        tri, n, centre, dot = tri[front], n[front], centre[front], dot[front]
        facing = dot / np.sqrt(np.einsum("ij,ij->i", n, n) * np.einsum("ij,ij->i", centre, centre) + 1e-20)
        K = np.asarray(cam_K, np.float32)
        uv = tri[:, :, :2] / np.maximum(tri[:, :, 2:], 0.05) * K[[0, 1], [0, 1]] + K[:2, 2]   # (F', 3, 2) px
        h, w = bgr.shape[:2]
        uv = np.clip(uv, -2.0 * max(w, h), 3.0 * max(w, h))   # keeps fillPoly's fixed-point maths in range
        lo = np.clip(np.floor(uv.reshape(-1, 2).min(0)).astype(int), 0, [w, h])
        hi = np.clip(np.ceil(uv.reshape(-1, 2).max(0)).astype(int) + 1, 0, [w, h])
        if np.any(hi - lo <= 0):
            return
        pts = np.round((uv - lo) * 4).astype(np.int32)                                # 2 bits of sub-pixel
        order = np.argsort(-centre[:, 2])                                           # far to near
        level = np.minimum((facing * self.shades).astype(int), self.shades - 1)
        roi = bgr[lo[1]:hi[1], lo[0]:hi[0]]
        layer = roi.copy()
        for group in np.array_split(order, min(self.depth_buckets, len(order))):
            for s in np.unique(level[group]):
                sel = group[level[group] == s]
                cv2.fillPoly(layer, pts[sel], self.colours[s], cv2.LINE_8, shift=2)
        cv2.addWeighted(layer, self.alpha, roi, 1 - self.alpha, 0, dst=roi)
