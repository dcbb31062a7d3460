"""Shared by the front-end tests that run the real converted nets on the demo clip."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from mocap.models.frontend.holistic import MODEL_FILES, default_model_dir

needs_frontend_nets = pytest.mark.skipif(
    not all((default_model_dir() / f).is_file() for f in MODEL_FILES.values()),
    reason="converted MediaPipe nets missing in models/onnx (run mocap-export)")


def read_rgb_frames(path: Path, count: int, first: int = 0) -> list[np.ndarray]:
    """`count` consecutive RGB frames of a video, starting at frame `first`."""
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    out = []
    while len(out) < count:
        ok, bgr = cap.read()
        assert ok, "demo clip shorter than expected"
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out
