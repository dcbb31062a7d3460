"""The ONNX Runtime back end: provider choice, what runs, clear errors, named I/O."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mocap.engines import BACKENDS, EngineError, OrtConfig, OrtEngine
from mocap.engines.onnxruntime import available_providers, choose_providers


@pytest.fixture
def add_model(tmp_path):
    """y = x + 1 on a [N, 3] float input: a tiny real ONNX model."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph([helper.make_node("Add", ["x", "one"], ["y"])], "add", [x], [y], [one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "add.onnx"
    onnx.save(model, path)
    return path


def test_runs_named_io_on_cpu(add_model):
    eng = OrtEngine(add_model, OrtConfig(threads=1))
    assert eng.provider == "CPUExecutionProvider" and eng.backend == "onnxruntime"
    assert [s.name for s in eng.inputs] == ["x"] and [s.name for s in eng.outputs] == ["y"]
    out = eng.run({"x": np.zeros((2, 3), np.float32)})
    np.testing.assert_array_equal(out["y"], np.ones((2, 3), np.float32))
    assert BACKENDS["onnxruntime"] is OrtEngine


def test_preference_falls_back_to_what_exists():
    chosen = choose_providers(("tensorrt", "cuda", "cpu"))
    assert chosen[-1] == "CPUExecutionProvider"
    assert all(p in available_providers() for p in chosen)


@pytest.mark.skipif("CUDAExecutionProvider" in available_providers(), reason="this build has CUDA")
def test_required_missing_provider_is_a_clear_error(add_model):
    with pytest.raises(EngineError, match="'cuda'.*required"):
        OrtEngine(add_model, OrtConfig(providers=("cuda", "cpu"), require="cuda"))


def test_unknown_provider(add_model):
    with pytest.raises(EngineError, match="unknown provider 'gpu'"):
        OrtEngine(add_model, OrtConfig(providers=("gpu",)))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        OrtEngine(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EngineError, match="cannot load model"):
        OrtEngine(bad)
