"""The torch back end (engines/torch_graph.py): every bundled ONNX net run with torch ops agrees with
ONNX Runtime; the 3D nets run as their PyTorch modules with the ONNX names; unsupported graphs fail at
load; CUDA graphs where a GPU exists."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mocap.engines import EngineConfig, EngineError, OrtConfig, OrtEngine, open_engine
from mocap.engines.cache import CHECK_TOLERANCE
from mocap.engines.torch_graph import TorchEngine
from mocap.export.cli import BUNDLED_ONNX, check_feeds, compare
from mocap.export.nets import NET_NAMES, check_inputs, net_onnx, torch_engine
from mocap.models.nets.checkpoint import DATA_DIR, DESCENT_FILE, POSE_INIT_FILE

CPU = EngineConfig(backend="torch", torch_device="cpu", ort=OrtConfig(threads=1))


@pytest.mark.parametrize("path", sorted(BUNDLED_ONNX.glob("*.onnx")), ids=lambda p: p.stem)
def test_every_bundled_net_matches_onnxruntime(path):
    ort = OrtEngine(path, OrtConfig(threads=1))
    engine = open_engine(path, CPU)
    assert isinstance(engine, TorchEngine) and engine.provider.startswith("torch")
    assert [s.name for s in engine.inputs] == [s.name for s in ort.inputs]
    assert [s.name for s in engine.outputs] == [s.name for s in ort.outputs]
    feeds = check_feeds(ort, batch=1)
    ref, got = ort.run(feeds), engine.run(feeds)
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in ref.items()}
    absdiff, rel = compare(ref, got)
    assert rel <= 1e-4, (absdiff, rel)   # same float32 maths, other summation order
    # a perturbed input must move the outputs (the comparison can fail)
    moved = engine.run({k: v[..., ::-1].copy() for k, v in feeds.items()})
    assert compare(ref, moved)[1] > 1e-3


def test_an_unsupported_operator_fails_at_load(tmp_path):
    node = helper.make_node("Erf", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    path = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(EngineError, match="Erf are not supported by the torch back end"):
        open_engine(path, CPU)
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(EngineError, match="cannot load model"):
        open_engine(tmp_path / "bad.onnx", CPU)


@pytest.mark.skipif(not ((DATA_DIR / POSE_INIT_FILE).is_file() and (DATA_DIR / DESCENT_FILE).is_file()),
                    reason="the 3D nets' weights are not installed")
def test_3d_nets_run_as_their_pytorch_modules_with_the_onnx_contract(tmp_path):
    for name, ckpt in zip(NET_NAMES, (DATA_DIR / POSE_INIT_FILE, DATA_DIR / DESCENT_FILE)):
        engine = torch_engine(name, ckpt, "cpu")
        ort = OrtEngine(net_onnx(name, ckpt, tmp_path)[0], OrtConfig(threads=1))
        feeds = check_inputs(name, batch=2)
        absdiff, rel = compare(ort.run(feeds), engine.run(feeds))
        assert rel <= 1e-4, (name, absdiff)


def test_the_app_runs_on_the_torch_back_end(run, tmp_path, demo_video):
    out = tmp_path / "o"
    proc = run("app.cli", "--video", demo_video, "--max-frames", 6, "--out", out, "--backend", "torch",
               "--no-progress", timeout=300)
    assert proc.returncode == 0, proc.stderr
    timings = json.loads((out / "timings.json").read_text())
    assert timings["backend"] == "torch" and timings["provider"].startswith("torch")


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="CUDA graphs need a CUDA device")
def test_cuda_graph_replay_matches_eager():
    import torch

    path = BUNDLED_ONNX / "hand_landmark_full.onnx"
    eager = TorchEngine.from_onnx(path, "cuda", cuda_graph=False)
    graphed = TorchEngine.from_onnx(path, "cuda", cuda_graph=True, graph_batches=(1, 2))
    assert len(graphed._graphs) == 2
    ref = OrtEngine(path, OrtConfig(threads=1))
    for batch in (2, 1, 2, 3):   # replay, replay, replay with new data, a shape without a graph (eager)
        feeds = check_feeds(ref, batch, seed=batch)
        feeds = {k: torch.from_numpy(v).cuda() for k, v in feeds.items()}
        a, b = eager.run(feeds), graphed.run(feeds)
        assert compare(a, b)[1] <= 1e-5
        assert compare(ref.run({k: v.cpu().numpy() for k, v in feeds.items()}), b)[1] <= CHECK_TOLERANCE["fp32"]
