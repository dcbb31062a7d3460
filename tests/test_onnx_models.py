"""The committed MediaPipe ONNX files: I/O contract and outputs against recorded TFLite references.

The references (tests/data/onnx_reference/*.npz) were written by export/convert_mediapipe.py from
the original .tflite files run in the TFLite interpreter (XNNPACK) on inputs that
mocap.export.reference_inputs regenerates here. A re-conversion or graph optimisation that moves
any output by more than its tolerance below fails this test.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.export import reference_inputs

ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
ONNX_DIR = ROOT / "models" / "onnx"
REF_DIR = ROOT / "tests" / "data" / "onnx_reference"

# Max abs difference allowed against the TFLite reference, per output, in the output's units.
# TFLite (XNNPACK) vs ONNX Runtime fp32 measured at most: 4.5e-3 px on pose landmarks (256-px crop
# units), 3e-4 on heatmap logits, 5e-4 on detector box/score values, 1.5e-4 px on hand landmarks,
# 4e-5 m on world landmarks, 3e-5 on sigmoid flags. The tolerances leave a 3-10x margin for
# other CPUs' summation orders; a changed weight or op moves outputs by far more.
TOL = {
    "landmarks": 2e-2,  # px in the crop (256 or 224)
    "world_landmarks": 2e-4,  # metres
    "heatmap": 2e-3,  # logits
    "pose_flag": 2e-4,  # sigmoid probability
    "hand_flag": 2e-4,
    "handedness": 2e-4,
    "boxes": 5e-3,  # px in the detector input (224 or 192)
    "scores": 2e-3,  # logits
    "points": 2e-3,  # px in the 256 re-crop input
}


# name -> (input (H, W), input range, dynamic batch, outputs {name: shape with batch 1 or "N"})
CONTRACT = {
    "pose_detection": ((224, 224), (-1.0, 1.0), False,
                       {"boxes": [1, 2254, 12], "scores": [1, 2254, 1]}),
    "pose_landmark_full": ((256, 256), (0.0, 1.0), False,
                           {"landmarks": [1, 195], "pose_flag": [1, 1],
                            "heatmap": [1, 64, 64, 39], "world_landmarks": [1, 117]}),
    "palm_detection_full": ((192, 192), (0.0, 1.0), False,
                            {"boxes": [1, 2016, 18], "scores": [1, 2016, 1]}),
    "hand_landmark_full": ((224, 224), (0.0, 1.0), True,
                           {"landmarks": ["N", 63], "hand_flag": ["N", 1],
                            "handedness": ["N", 1], "world_landmarks": ["N", 63]}),
    "hand_recrop": ((256, 256), (0.0, 1.0), True, {"points": ["N", 4]}),
}
# Spatial stride used when the reference was stored (the heatmap is kept at 16x16 of 64x64).
SUBSAMPLE = {"heatmap": 4}


@pytest.fixture(scope="module", params=sorted(CONTRACT))
def model(request):
    """(name, ONNX Runtime CPU session, reference npz) for each converted net."""
    name = request.param
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(ONNX_DIR / f"{name}.onnx"), options,
                                providers=["CPUExecutionProvider"])
    with np.load(REF_DIR / f"{name}.npz") as ref:
        return name, sess, dict(ref)


def _stored(name: str, arr: np.ndarray) -> np.ndarray:
    step = SUBSAMPLE.get(name, 1)
    return arr[:, ::step, ::step, :] if step > 1 else arr


def _input(name: str, kind: str) -> np.ndarray:
    (h, w), value_range, _, _ = CONTRACT[name]
    return reference_inputs.make_input(kind, h, w, value_range)


def test_io_names_and_shapes(model):
    name, sess, _ = model
    (h, w), _, dynamic, outputs = CONTRACT[name]
    batch = "N" if dynamic else 1
    (inp,) = sess.get_inputs()
    assert (inp.name, inp.type, inp.shape) == ("image", "tensor(float)", [batch, h, w, 3])
    got = {o.name: o.shape for o in sess.get_outputs()}
    assert got == outputs
    assert [o.name for o in sess.get_outputs()] == list(outputs)  # order as documented too


@pytest.mark.parametrize("kind", reference_inputs.INPUT_KINDS)
def test_outputs_match_tflite_reference(model, kind):
    name, sess, ref = model
    image = _input(name, kind)
    assert reference_inputs.digest(image) == str(ref[f"{kind}__input_sha256"]), (
        "regenerated input differs from the recorded one (numpy RNG or generator changed)")
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"image": image})))
    for out, arr in got.items():
        want = ref[f"{kind}__{out}"]
        diff = float(np.max(np.abs(_stored(out, arr) - want)))
        assert diff <= TOL[out], f"{name}/{out} on {kind}: max abs diff {diff:.3g} > {TOL[out]}"


@pytest.mark.parametrize("name", [n for n, c in CONTRACT.items() if c[2]])
def test_batch2_equals_two_single_runs(name):
    sess = ort.InferenceSession(str(ONNX_DIR / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    images = [_input(name, "rand0"), _input(name, "blobs")]
    both = sess.run(None, {"image": np.concatenate(images)})
    for i, image in enumerate(images):
        single = sess.run(None, {"image": image})
        for out, b, s in zip([o.name for o in sess.get_outputs()], both, single):
            assert b.shape[0] == 2
            diff = float(np.max(np.abs(b[i : i + 1] - s)))
            assert diff <= TOL[out] / 10, f"{name}/{out}: batch item {i} differs by {diff:.3g}"
