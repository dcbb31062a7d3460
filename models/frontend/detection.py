"""SSD detection decoding, weighted non-maximum suppression and letterbox removal.

Sources: calculators/tensor/tensors_to_detections_calculator.cc (3.1),
calculators/util/non_max_suppression_calculator.cc (3.2),
calculators/util/detection_letterbox_removal_calculator.cc (4.3), as summarised in
reference/mediapipe-graphs.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DetectionDecodeOptions


@dataclass(frozen=True)
class Detections:
    """N detections in normalised coordinates of some frame (network input or image).

    boxes: (N, 4) float32 [xmin, ymin, width, height]; keypoints: (N, K, 2) float32 (x, y);
    scores: (N,) float32 in [0, 1].
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, idx) -> "Detections":
        return Detections(self.boxes[idx], self.keypoints[idx], self.scores[idx])


def decode_detections(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, opts: DetectionDecodeOptions,
    min_score: float | None = None,
) -> Detections:
    """Decode SSD regressors against anchors (TensorsToDetections, CPU path, XYWH order).

    Args:
        raw_boxes: (N, num_coords) regressors in input-pixel units: [dx, dy, w, h, kp0x, kp0y, ...].
        raw_scores: (N,) or (N, 1) score logits.
        anchors: (N, 4) [x_c, y_c, w, h] from ssd_anchors.
        min_score: keep iff sigmoid score >= this; default opts.min_score_thresh.
    Returns:
        Detections normalised to the (letterboxed) network input; only kept rows, anchor order.
    """
    min_score = opts.min_score_thresh if min_score is None else min_score
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -opts.score_clipping_thresh, opts.score_clipping_thresh)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return Detections(np.zeros((0, 4), np.float32), np.zeros((0, opts.num_keypoints, 2), np.float32),
                          np.zeros((0,), np.float32))
    r = raw_boxes[keep].astype(np.float32)
    a = anchors[keep]
    s = np.float32(opts.scale)
    o = opts.box_coord_offset
    xc = r[:, o] / s * a[:, 2] + a[:, 0]
    yc = r[:, o + 1] / s * a[:, 3] + a[:, 1]
    w = r[:, o + 2] / s * a[:, 2]
    h = r[:, o + 3] / s * a[:, 3]
    xmin, ymin, xmax, ymax = xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2
    boxes = np.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=1)
    k0 = opts.keypoint_coord_offset
    kp = r[:, k0:k0 + 2 * opts.num_keypoints].reshape(-1, opts.num_keypoints, 2) / s
    kp = kp * a[:, None, 2:4] + a[:, None, 0:2]
    valid = (boxes[:, 2] >= 0) & (boxes[:, 3] >= 0) & np.isfinite(boxes).all(axis=1)
    return Detections(boxes[valid].astype(np.float32), kp[valid].astype(np.float32),
                      scores[keep][valid].astype(np.float32))


def iou_xywh(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box with (M, 4) boxes, all [xmin, ymin, width, height]; 0 if disjoint."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y1 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    disjoint = (x1 <= x0) | (y1 <= y0) | (union <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where(disjoint, 0.0, iou)


def weighted_nms(dets: Detections, min_suppression_threshold: float = 0.3) -> Detections:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Seeds in descending score order; every remaining detection with IoU > threshold (strict, the
    seed included) is merged: box corners and keypoints are score-weighted means, the score is the
    seed's. Runs on whatever frame the boxes are in (MediaPipe: before letterbox removal).

    Returns:
        Detections in descending seed-score order.
    """
    if len(dets) == 0:
        return dets
    order = np.argsort(-dets.scores, kind="stable")
    boxes, kps, scores = dets.boxes, dets.keypoints, dets.scores
    corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)  # xmin ymin xmax ymax
    out_b, out_k, out_s = [], [], []
    while order.size:
        top = order[0]
        iou = iou_xywh(boxes[top], boxes[order])
        cand_mask = iou > min_suppression_threshold
        cand = order[cand_mask]
        remained = order[~cand_mask]
        if cand.size:
            w = scores[cand]
            total = w.sum()
            c = (w[:, None] * corners[cand]).sum(0) / total
            k = (w[:, None, None] * kps[cand]).sum(0) / total
            out_b.append(np.array([c[0], c[1], c[2] - c[0], c[3] - c[1]], np.float32))
            out_k.append(k.astype(np.float32))
        else:
            out_b.append(boxes[top])
            out_k.append(kps[top])
        out_s.append(scores[top])
        if remained.size == order.size:  # guard against a zero-area seed
            break
        order = remained
    return Detections(np.stack(out_b), np.stack(out_k), np.asarray(out_s, np.float32))


def remove_detection_letterbox(dets: Detections, padding: np.ndarray) -> Detections:
    """Undo the keep-aspect letterbox: network-input-normalised -> image-normalised.

    padding: (4,) [left, top, right, bottom] as fractions of the tensor size.
    """
    l, t, r, b = (float(v) for v in padding)
    sx, sy = 1.0 - l - r, 1.0 - t - b
    boxes = dets.boxes.copy()
    boxes[:, 0] = (boxes[:, 0] - l) / sx
    boxes[:, 1] = (boxes[:, 1] - t) / sy
    boxes[:, 2] /= sx
    boxes[:, 3] /= sy
    kps = dets.keypoints.copy()
    kps[..., 0] = (kps[..., 0] - l) / sx
    kps[..., 1] = (kps[..., 1] - t) / sy
    return Detections(boxes, kps, dets.scores)
