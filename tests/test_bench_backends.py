"""`mocap-bench --device cuda`: which back ends it compares and how each is selected (no GPU needed)."""
import pytest

from mocap.app.pipeline import LiveConfig
from mocap.benchmarks.backends import GPU_BACKENDS, available_backends, live_overrides
from mocap.benchmarks.device_info import backend_versions, cuda_info


def test_every_label_selects_a_valid_live_config(demo_video):
    for label in GPU_BACKENDS:
        cfg = LiveConfig(video=demo_video, **live_overrides(label))
        assert cfg.backend == ("tensorrt" if label.startswith("tensorrt") else "onnxruntime")
    assert live_overrides("tensorrt-fp32")["precision"] == "fp32"
    assert live_overrides("onnxruntime-cuda")["require_provider"] == "cuda"  # a silent CPU fallback would lie
    with pytest.raises(ValueError, match="unknown back end"):
        live_overrides("tflite")


def test_no_cuda_is_one_clear_error_and_device_info_says_so():
    import torch

    info = cuda_info()
    assert "onnxruntime" in backend_versions() and "tensorrt" in backend_versions()
    if torch.cuda.is_available():
        have, missing = available_backends()
        assert "onnxruntime-cpu" in have and set(have) | set(missing) == set(GPU_BACKENDS)
        assert info["gpu"] and info["compute_capability"]
        return
    assert info["gpu"].startswith("none")
    with pytest.raises(ValueError, match="no CUDA device") as err:
        available_backends()
    assert "\n" not in str(err.value)
