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


# ----------------------------------------------------------------- the conversion's graph rewrites
# Tiny graphs, run before and after each rewrite under ONNX Runtime: the rewrites in
# export/convert_mediapipe.py must not change what a graph computes.

from types import SimpleNamespace  # noqa: E402

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from mocap.export import convert_mediapipe as conv  # noqa: E402


def _run(model, x: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})


def _model(nodes, inits, in_shape, out_shape, in_name="x", out_name="y"):
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_prelu2conv_keeps_the_function():
    rng = np.random.default_rng(3)
    alpha = rng.uniform(-2, 3, (1, 4, 1, 1)).astype(np.float32)  # negative and > 1 on purpose
    model = _model([helper.make_node("PRelu", ["x", "a"], ["y"])], {"a": alpha},
                   [1, 4, 5, 5], [1, 4, 5, 5])
    x = rng.normal(size=(1, 4, 5, 5)).astype(np.float32)
    (want,) = _run(model, x)
    assert conv.prelu2conv(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Relu", "Conv", "Conv", "Add"]
    (got,) = _run(model, x)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_fold_pads_through_transpose_into_two_convs():
    rng = np.random.default_rng(4)
    w1 = rng.normal(size=(2, 3, 2, 2)).astype(np.float32)
    w2 = rng.normal(size=(2, 3, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Pad", ["x", "p"], ["xp"]),  # NHWC pad of H and W, as in pose_detection
        helper.make_node("Transpose", ["xp"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w1"], ["c1"], strides=[2, 2]),
        helper.make_node("Conv", ["t", "w2"], ["c2"], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Pad", ["c2", "p2"], ["c2p"]),
        helper.make_node("Add", ["c1", "c2p"], ["y"]),
    ]
    inits = {"p": np.array([0, 1, 1, 0, 0, 1, 1, 0], np.int64), "w1": w1, "w2": w2,
             "p2": np.array([0, 0, 0, 0, 0, 0, -1, -1], np.int64)}
    model = _model(nodes, inits, [1, 8, 8, 3], None)
    x = rng.normal(size=(1, 8, 8, 3)).astype(np.float32)
    (want,) = _run(model, x)
    assert conv.fold_pads(model) == 1  # the negative (cropping) Pad before Add is left alone
    assert [n.op_type for n in model.graph.node].count("Pad") == 1
    (got,) = _run(model, x)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_make_batch_dynamic_patches_reshape_and_slice():
    nodes = [
        helper.make_node("Slice", ["x", "s", "e", "ax"], ["sl"]),
        helper.make_node("Reshape", ["sl", "shape"], ["y"]),
    ]
    inits = {"s": np.array([0, 0], np.int64), "e": np.array([1, 2], np.int64),
             "ax": np.array([0, 1], np.int64), "shape": np.array([1, 8], np.int64)}
    model = _model(nodes, inits, [1, 4, 4], [1, 8])
    assert conv.make_batch_dynamic(model) == 2
    x = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4)
    (got,) = _run(model, x)
    np.testing.assert_array_equal(got, x[:, :2].reshape(3, 8))


def test_canonicalize_names_is_independent_of_converter_counters():
    def build(suffix: str):
        nodes = [helper.make_node("Relu", ["x"], [f"relu__{suffix}:0"]),
                 helper.make_node("Add", [f"relu__{suffix}:0", f"c__{suffix}"], ["y"])]
        model = _model(nodes, {f"c__{suffix}": np.ones(3, np.float32)}, [3], [3])
        conv.canonicalize_names(model, "tiny")
        return model.SerializeToString()

    assert build("17") == build("4242")


def test_decode_csr_matches_dense():
    dense = np.array([[0, 1.5, 0, 0, -2], [0, 0, 0, 0, 0], [3, 0, 0, 0.25, 0]], np.float16)
    rows, cols = np.nonzero(dense)
    segments = np.searchsorted(rows, np.arange(dense.shape[0] + 1))
    dims = [SimpleNamespace(format=0, denseSize=3),
            SimpleNamespace(format=1, arraySegments=SimpleNamespace(values=segments),
                            arrayIndices=SimpleNamespace(values=cols))]
    tensor = SimpleNamespace(
        name="w", shape=np.array(dense.shape),
        sparsity=SimpleNamespace(traversalOrder=None, blockMap=None, dimMetadata=dims))
    got = conv.decode_csr(tensor, dense[rows, cols].tobytes())
    np.testing.assert_array_equal(got, dense)
