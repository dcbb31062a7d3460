"""`mocap-bench --device cuda`: which back ends it compares and how each is selected (no GPU needed)."""
import pytest

from mocap.app.pipeline import LiveConfig
from mocap.benchmarks.backends import GPU_BACKENDS, available_backends, live_overrides
from mocap.benchmarks.device_info import backend_versions, cuda_info


def test_every_label_selects_a_valid_live_config(demo_video):
    for label in GPU_BACKENDS:
        cfg = LiveConfig(video=demo_video, **live_overrides(label))
        assert cfg.backend == label.split("-")[0]
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


def test_report_has_one_budget_column_per_back_end():
    """A GPU report (built here from the committed CPU report's runs under GPU back-end names) names each
    back end's provider, the skipped back ends and one budget column per back end's sequential run."""
    import copy
    import json
    from pathlib import Path

    from mocap.benchmarks.cli import budget_runs, render_markdown

    cpu = json.loads((Path(__file__).parent.parent / "benchmarks/reports/cpu_realtime/report.json").read_text())
    seq = cpu["runs"]["sequential"]
    runs = {}
    for label, provider in (("tensorrt-fp16", "TensorRT 11.4.0.106 fp16"), ("onnxruntime-cpu", "CPUExecutionProvider")):
        for mode in ("overlap", "sequential"):
            r = copy.deepcopy(seq)
            r["backend"], r["provider"] = label.split("-")[0], provider
            runs[f"{mode} [{label}]"] = r
    runs["sequential [tensorrt-fp16]"]["summary"]["pose_init"]["median"] = 0.123
    report = {"versions": cpu["versions"], "runs": runs, "gpu": {"gpu": "NVIDIA Test GPU", "driver": "999"},
              "skipped_backends": {"onnxruntime-cuda": "no CUDAExecutionProvider"}}
    md = render_markdown(report)
    assert budget_runs(runs) == ["sequential [tensorrt-fp16]", "sequential [onnxruntime-cpu]"]
    assert "| sequential [tensorrt-fp16] | sequential [onnxruntime-cpu] |" in md
    assert "0.12 /" in md.split("pose initialisation net")[1].splitlines()[0]
    assert "GPU: gpu NVIDIA Test GPU, driver 999" in md and "onnxruntime-cuda not run: no CUDAExecutionProvider" in md
    assert "tensorrt (TensorRT 11.4.0.106 fp16)" in md
