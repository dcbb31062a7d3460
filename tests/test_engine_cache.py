"""TensorRT engine cache keys, rebuild decisions, back-end selection and fallbacks (no GPU needed),
the FP16 mixed-precision conversion (ONNX Runtime CPU), and the real TensorRT / ONNX Runtime CUDA
paths where this machine has them (skipped with the reason otherwise)."""
import dataclasses
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from mocap.engines import BackendUnavailable, EngineConfig, EngineError, OrtConfig, OrtEngine, open_engine
from mocap.engines import cache as engine_cache
from mocap.engines import select
from mocap.engines.cache import CHECK_TOLERANCE, EngineKey, cached_engine_state, engine_path, write_engine
from mocap.engines.onnxruntime import available_providers
from mocap.export.cli import BUNDLED_ONNX, check_feeds, choose_precisions, compare

RECROP = BUNDLED_ONNX / "hand_recrop.onnx"
KEY = EngineKey(name="hand_recrop", onnx_sha256="ab" * 32, precision="fp16", tensorrt="11.4.0.106",
                gpu="NVIDIA GeForce RTX 4060 Laptop GPU", compute_capability="8.9", max_batch=2)


def _tensorrt_and_cuda() -> str | None:
    """None when TensorRT engines can be built and run here, else why not."""
    ok, why = select.tensorrt_available()
    return None if ok else why


def test_every_key_field_changes_the_engine_file():
    names = {KEY.filename()}
    for field, other in [("onnx_sha256", "cd" * 32), ("precision", "fp32"), ("tensorrt", "10.13.0"),
                         ("gpu", "NVIDIA H100"), ("compute_capability", "9.0"), ("max_batch", 1),
                         ("workspace_mb", 512), ("fp16_converter", "modelopt 0.47.0")]:
        names.add(dataclasses.replace(KEY, **{field: other}).filename())
    assert len(names) == 9
    assert KEY.filename().startswith("hand_recrop.fp16.") and KEY.filename().endswith(".engine")
    with pytest.raises(ValueError, match="precision"):
        dataclasses.replace(KEY, precision="int8")


def test_a_cached_engine_is_valid_only_for_its_own_key_and_bytes(tmp_path):
    assert cached_engine_state(tmp_path, KEY) == "missing"
    path = write_engine(tmp_path, KEY, b"plan bytes")
    assert path == engine_path(tmp_path, KEY) and cached_engine_state(tmp_path, KEY) == "valid"
    assert not list(tmp_path.glob("*.tmp"))
    # A foreign engine under the wanted name (copied from another GPU): the sidecar says so.
    side = path.with_suffix(".json")
    meta = side.read_text()
    side.write_text(meta.replace("RTX 4060 Laptop GPU", "H100"))
    assert cached_engine_state(tmp_path, KEY).startswith("stale: gpu is 'NVIDIA GeForce H100'")
    side.write_text(meta)
    path.write_bytes(b"plan bytez")  # truncated/corrupted on disk
    assert cached_engine_state(tmp_path, KEY) == "stale: engine bytes changed since they were written"
    side.unlink()
    assert cached_engine_state(tmp_path, KEY) == "stale: no readable sidecar"


def test_a_stale_engine_is_rebuilt_and_a_valid_one_reused(tmp_path, monkeypatch):
    """The decisions around the TensorRT builder, with the builder replaced by a counter (the real
    builder runs in test_tensorrt_engine_matches_onnxruntime where TensorRT exists)."""
    import mocap.engines.tensorrt as trt_module

    key = dataclasses.replace(KEY, fp16_converter="")
    builds = []
    monkeypatch.setattr(select, "engine_key", lambda onnx, cfg: key)
    monkeypatch.setattr(trt_module, "build_plan", lambda *a, **k: builds.append(a) or f"plan {len(builds)}".encode())
    cfg = EngineConfig(backend="tensorrt", cache_dir=tmp_path)
    assert select.ensure_trt_engine(RECROP, cfg)[1] == "built"
    path, state = select.ensure_trt_engine(RECROP, cfg)
    assert state == "cached" and len(builds) == 1 and path.read_bytes() == b"plan 1"
    path.with_suffix(".json").write_text(path.with_suffix(".json").read_text().replace("11.4.0.106", "10.9.0"))
    path, state = select.ensure_trt_engine(RECROP, cfg)
    assert state.startswith("rebuilt (stale: tensorrt is '10.9.0'") and path.read_bytes() == b"plan 2"
    assert builds[0][1:] == ("fp16", 2, 1024)  # precision, the hands' batch profile, workspace


def test_tensorrt_unavailable_fails_clearly_or_falls_back_to_onnxruntime(caplog):
    why = _tensorrt_and_cuda()
    if why is None:
        pytest.skip("TensorRT and a CUDA device are available here: nothing falls back")
    with pytest.raises(BackendUnavailable) as err:
        open_engine(RECROP, EngineConfig(backend="tensorrt"))
    assert "\n" not in str(err.value) and ("TensorRT" in str(err.value) or "CUDA" in str(err.value))
    with caplog.at_level(logging.WARNING):
        engine = open_engine(RECROP, EngineConfig(backend="tensorrt", fallback=True, ort=OrtConfig(threads=1)))
    assert isinstance(engine, OrtEngine) and engine.provider == "CPUExecutionProvider"
    assert "running it in ONNX Runtime" in caplog.text
    with pytest.raises(EngineError, match="unknown back end"):
        EngineConfig(backend="tflite")


def test_onnxruntime_config_opens_an_onnxruntime_engine():
    for cfg in (OrtConfig(threads=1), EngineConfig(ort=OrtConfig(threads=1))):
        engine = open_engine(RECROP, cfg)
        assert isinstance(engine, OrtEngine) and engine.provider == "CPUExecutionProvider"


def test_precision_choice_and_output_comparison():
    assert choose_precisions("auto", "8.9") == ["fp16"] and choose_precisions("auto", "6.1") == ["fp32"]
    assert choose_precisions("both", None) == ["fp32", "fp16"] and choose_precisions("fp32", "9.0") == ["fp32"]
    with pytest.raises(ValueError):
        choose_precisions("int8", "9.0")
    ref = {"a": np.array([0.0, 100.0]), "b": np.array([0.5])}
    assert compare(ref, ref) == (0.0, 0.0)
    absdiff, rel = compare(ref, {"a": np.array([0.0, 101.0]), "b": np.array([0.5])})
    assert absdiff == pytest.approx(1.0) and rel == pytest.approx(0.01)


def test_mixed_precision_onnx_keeps_float32_io_and_the_outputs(tmp_path):
    pytest.importorskip("onnxconverter_common", reason="onnxconverter-common is not installed (mocap[test] has it)")
    import onnx

    from mocap.engines.mixed_precision import mixed_precision_onnx

    src = BUNDLED_ONNX / "hand_landmark_full.onnx"
    dst = mixed_precision_onnx(src, tmp_path, tool="onnxconverter-common test")
    assert mixed_precision_onnx(src, tmp_path, tool="onnxconverter-common test") == dst  # made once
    model = onnx.load(str(dst))
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert all(v.type.tensor_type.elem_type == f32 for v in [*model.graph.input, *model.graph.output])
    assert sum(i.data_type == f16 for i in model.graph.initializer) > 40  # the conv weights are FP16 now
    fp32 = OrtEngine(src, OrtConfig(threads=1))
    fp16 = OrtEngine(dst, OrtConfig(threads=1))
    feeds = check_feeds(fp32, batch=2)
    ref, got = fp32.run(feeds), fp16.run(feeds)
    absdiff, rel = compare(ref, got)
    assert 0 < rel <= CHECK_TOLERANCE["fp16"], (absdiff, rel)  # FP16 differs, within the stated tolerance


@pytest.mark.skipif(_tensorrt_and_cuda() is not None, reason=f"TensorRT engines need TensorRT + CUDA: {_tensorrt_and_cuda()}")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_engine_matches_onnxruntime(tmp_path, precision):
    import torch

    from mocap.engines.tensorrt import TrtEngine

    cfg = EngineConfig(backend="tensorrt", precision=precision, cache_dir=tmp_path, cuda_graph=True)
    path, state = select.ensure_trt_engine(RECROP, cfg)
    assert state == "built" and select.ensure_trt_engine(RECROP, cfg)[1] == "cached"
    cpu = OrtEngine(RECROP, OrtConfig(threads=1))
    for batch in (2, 1, 2, 2):  # eager, eager, graph capture, graph replay
        feeds = check_feeds(cpu, batch)
        engine = open_engine(RECROP, cfg) if batch == 2 and "engine" not in locals() else engine
        device_feeds = {k: torch.from_numpy(v).cuda() for k, v in feeds.items()}
        _, rel = compare(cpu.run(feeds), engine.run(device_feeds))
        assert rel <= CHECK_TOLERANCE[precision]
    assert isinstance(engine, TrtEngine) and engine.provider.startswith("TensorRT")
    path.write_bytes(path.read_bytes()[:100])  # corrupt: rebuilt, never loaded
    assert select.ensure_trt_engine(RECROP, cfg)[1].startswith("rebuilt (stale: engine bytes")


@pytest.mark.skipif("CUDAExecutionProvider" not in available_providers(),
                    reason="ONNX Runtime CUDA needs onnxruntime-gpu and an NVIDIA GPU")
def test_onnxruntime_cuda_binds_device_tensors():
    import torch

    cuda = OrtEngine(RECROP, OrtConfig(providers=("cuda",), require="cuda"))
    assert cuda.provider == "CUDAExecutionProvider"
    cpu = OrtEngine(RECROP, OrtConfig(threads=1))
    feeds = check_feeds(cpu, 2)
    _, rel = compare(cpu.run(feeds), cuda.run({k: torch.from_numpy(v).cuda() for k, v in feeds.items()}))
    assert rel <= CHECK_TOLERANCE["fp32"]


def test_engine_cache_module_has_no_tensorrt_import():
    """The cache/selection logic must import on machines without TensorRT."""
    src = Path(engine_cache.__file__).read_text() + Path(select.__file__).read_text()
    assert "import tensorrt" not in src


@pytest.mark.skipif(_tensorrt_and_cuda() is not None, reason=f"TensorRT engines need TensorRT + CUDA: {_tensorrt_and_cuda()}")
def test_export_builds_and_checks_every_engine_then_the_app_runs_on_them(run, tmp_path, demo_video):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}   # export and app share this engine cache
    first = run("export.cli", "--precision", "both", "--check", timeout=3600, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "FAILED" not in first.stdout and first.stdout.count(" ok") >= 2 * 8
    again = run("export.cli", "--precision", "both", timeout=600, env=env)
    assert again.returncode == 0 and "built" not in again.stdout  # a valid cache is a no-op
    for precision in ("fp16", "fp32"):
        out = tmp_path / f"live_{precision}"
        live = run("app.cli", "--video", demo_video, "--max-frames", 40, "--out", out, "--backend", "tensorrt",
                   "--precision", precision, "--no-progress", timeout=600, env=env)
        assert live.returncode == 0, live.stderr
        timings = json.loads((out / "timings.json").read_text())
        assert timings["backend"] == "tensorrt" and "TensorRT" in timings["provider"]
