"""An SSD detection net on the whole image: MediaPipe's pose detector and palm detector alike.

crop (keep aspect, letterbox) -> net -> decode against the anchors -> weighted NMS -> letterbox
removal (reference/mediapipe-graphs.md 2-4). The two detectors differ only in their options
(config.PoseConfig, config.PalmFallbackConfig).
"""
from __future__ import annotations

import numpy as np

from mocap.engines.base import Engine

from .anchors import ssd_anchors
from .config import CropSpec, DetectionDecodeOptions, NmsOptions, SsdAnchorOptions
from .crop import Image, crop_image
from .detection import Detections, decode_detections, remove_detection_letterbox, weighted_nms
from .netio import BoundNet


class SsdDetector:
    """Whole image -> weighted-NMS'd detections, normalised to the image, best first.

    The net has an NHWC `image` input and outputs `boxes` (1, N, C) and `scores` (1, N, 1).
    """

    def __init__(self, engine: Engine, anchors: SsdAnchorOptions, decode: DetectionDecodeOptions,
                 nms: NmsOptions, crop: CropSpec, min_score: float):
        self.decode, self.nms, self.crop, self.min_score = decode, nms, crop, min_score
        w, h = crop.size
        self.net = BoundNet(engine, "image", {"boxes": (decode.num_boxes, decode.num_coords),
                                              "scores": (decode.num_boxes,)}, (w, h))
        self.anchors = ssd_anchors(anchors)
        self._buf = np.empty((1, h, w, 3), np.float32)

    def __call__(self, rgb: Image) -> Detections:
        """rgb: (H, W, 3) uint8 RGB image, numpy or a torch tensor (crop.crop_image)."""
        batch, pads = crop_image(rgb, [None], self.crop, out=self._buf)
        out = self.net(batch)
        dets = decode_detections(out["boxes"][0], out["scores"][0], self.anchors, self.decode, self.min_score)
        dets = weighted_nms(dets, self.nms.min_suppression_threshold)
        return remove_detection_letterbox(dets, pads[0])
