"""The back ends `mocap-bench --device cuda` compares, and which of them this machine can run.

Labels name a back end and its precision; `live_overrides` turns one into the LiveConfig fields
that select it (engines/select.py EngineConfig, the front end's crops on the GPU for GPU back ends).
"""
from __future__ import annotations

# Best first; the CPU run is the reference every GPU number is read against.
# torch-cuda: the nets with torch ops (engines/torch_graph.py), for GPUs without TensorRT/onnxruntime-gpu.
GPU_BACKENDS = ("tensorrt-fp16", "tensorrt-fp32", "onnxruntime-cuda", "torch-cuda", "onnxruntime-cpu")


def live_overrides(label: str) -> dict:
    """LiveConfig fields for a back-end label (see GPU_BACKENDS)."""
    if label.startswith("tensorrt-"):
        return {"backend": "tensorrt", "precision": label.split("-", 1)[1], "providers": ("cuda",),
                "require_provider": None}
    if label == "onnxruntime-cuda":
        return {"backend": "onnxruntime", "providers": ("cuda",), "require_provider": "cuda"}
    if label == "torch-cuda":
        return {"backend": "torch", "providers": ("cpu",), "require_provider": None}
    if label == "onnxruntime-cpu":
        return {"backend": "onnxruntime", "providers": ("cpu",), "require_provider": None}
    raise ValueError(f"unknown back end {label!r}; choose from {', '.join(GPU_BACKENDS)}")


def available_backends() -> tuple[list[str], dict[str, str]]:
    """(labels this machine can run, {label: why not} for the others), for `--device cuda`.

    Raises:
        ValueError: no CUDA device at all (one line: there is nothing to benchmark on a GPU).
    """
    import torch

    from ..engines.onnxruntime import available_providers
    from ..engines.select import tensorrt_available

    if not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no CUDA device (a CPU build of torch, no NVIDIA driver, "
                         "or no GPU); see docs/gpu.md")
    ok, why = tensorrt_available()
    have, missing = [], {}
    for label in GPU_BACKENDS:
        if label.startswith("tensorrt-") and not ok:
            missing[label] = why
        elif label == "onnxruntime-cuda" and "CUDAExecutionProvider" not in available_providers():
            missing[label] = "this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)"
        else:
            have.append(label)
    return have, missing
