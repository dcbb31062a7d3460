"""The 3D nets' checkpoints and their ONNX export: round trips, agreement with PyTorch, the cache, errors."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mocap.engines.base import EngineError
from mocap.engines.onnxruntime import OrtConfig, OrtEngine
from mocap.export import nets as export_nets
from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets.body_fk import SparseBody
from mocap.models.nets.checkpoint import load_descent, load_pose_init
from nets3d_synth import POSE_INIT_CONFIG, random_nets, write_random_nets

ONNX_TOLERANCE = export_nets.TOLERANCE   # 1e-4, on outputs of order 1


@pytest.fixture(scope="module")
def body():
    return SparseBody(load_body_model())


@pytest.fixture(scope="module")
def ckpts(body, tmp_path_factory):
    return write_random_nets(tmp_path_factory.mktemp("nets dir"), body)   # a space in the path on purpose


def test_checkpoints_rebuild_the_same_nets(body, ckpts):
    init, descent = random_nets(body)
    feeds = export_nets.check_inputs("pose_init", batch=2)
    for name, net, loaded in (("pose_init", init, load_pose_init(ckpts[0])),
                              ("descent", descent, load_descent(ckpts[1], body))):
        assert not loaded.training
        feeds = export_nets.check_inputs(name, batch=2)
        for a, b in zip(export_nets.torch_outputs(name, net, feeds), export_nets.torch_outputs(name, loaded, feeds)):
            np.testing.assert_array_equal(a, b)


def test_filter_widths_saved_as_a_list_come_back_as_a_tuple(tmp_path):
    from mocap.models.nets.pose_init import PoseInitNet

    net = PoseInitNet(POSE_INIT_CONFIG)
    cfg = dataclasses.asdict(POSE_INIT_CONFIG)
    cfg["filter_widths"] = list(cfg["filter_widths"])
    torch.save({"config": cfg, "state_dict": net.state_dict(), "meta": {}}, tmp_path / "p.pt")
    loaded = load_pose_init(tmp_path / "p.pt")
    assert loaded.config.filter_widths == (3, 3, 3, 3) and loaded.receptive_field() == 81


@pytest.mark.parametrize("name", export_nets.NET_NAMES)
def test_onnx_export_agrees_with_pytorch(name, body, ckpts, tmp_path):
    net = load_pose_init(ckpts[0]) if name == "pose_init" else load_descent(ckpts[1], body)
    path = export_nets.torch2onnx(name, net, tmp_path / f"{name}.onnx")
    engine = OrtEngine(path, OrtConfig(threads=1))
    assert all(isinstance(s.shape[0], str) for s in (*engine.inputs, *engine.outputs)), "batch axis must be dynamic"
    if name == "pose_init":
        assert list(engine.inputs[0].shape[1:]) == [81, 67, 2]
    diff = export_nets.max_abs_diff(name, path, net, batches=(1, 4))
    assert diff <= ONNX_TOLERANCE
    # the check can fail: other weights give other outputs
    other = random_nets(body, seed=1)[0 if name == "pose_init" else 1]
    assert export_nets.max_abs_diff(name, path, other, batches=(1,)) > 100 * ONNX_TOLERANCE


def test_net_onnx_is_cached_by_checkpoint_content(body, ckpts, tmp_path):
    cache = tmp_path / "cache"
    path, diff = export_nets.net_onnx("pose_init", ckpts[0], cache)
    assert diff is not None and diff <= ONNX_TOLERANCE and path.parent == cache
    again, diff2 = export_nets.net_onnx("pose_init", ckpts[0], cache)
    assert again == path and diff2 is None
    other = write_random_nets(tmp_path / "other", body, seed=2)[0]
    assert export_nets.net_onnx("pose_init", other, cache)[0] != path
    assert not list(cache.glob("*.tmp"))


def test_unreadable_or_mismatched_checkpoints_are_one_line_errors(body, ckpts, tmp_path):
    with pytest.raises(EngineError, match="not found"):
        load_pose_init(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(EngineError, match="cannot read net file"):
        load_pose_init(bad)
    with pytest.raises(EngineError, match="unknown DescentConfig field"):
        load_descent(ckpts[0], body)      # the init net's file given as the descent net
    ck = torch.load(ckpts[1], weights_only=True)
    ck["config"]["hidden"] = 32           # weights of another size than the config says
    torch.save(ck, tmp_path / "resized.pt")
    with pytest.raises(EngineError, match="does not fit DescentNet"):
        load_descent(tmp_path / "resized.pt", body)
    ck = torch.load(ckpts[0], weights_only=True)
    ck["config"]["wings"] = 2
    torch.save(ck, tmp_path / "newer.pt")
    with pytest.raises(EngineError, match="unknown PoseInitConfig field 'wings'"):
        load_pose_init(tmp_path / "newer.pt")
    with pytest.raises(EngineError, match="unknown net"):
        export_nets.net_onnx("trajectory", ckpts[0], tmp_path)
