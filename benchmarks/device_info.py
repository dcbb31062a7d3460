"""What a GPU benchmark ran on: GPU, driver, CUDA, and the versions of every back end present.

A GPU time is only meaningful with these beside it (DESIGN 3: device, back end, precision named).
Everything degrades to a stated absence: on a machine without a GPU each field says why.
"""
from __future__ import annotations

import shutil
import subprocess


def nvidia_driver() -> str:
    """The NVIDIA driver version from nvidia-smi, or why it is unknown."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "unknown (no nvidia-smi)"
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({type(exc).__name__})"
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "unknown"


def cuda_info() -> dict[str, str]:
    """GPU name, compute capability, memory, CUDA runtime (torch's) and driver; 'none' without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return {"gpu": "none (torch sees no CUDA device)", "torch": torch.__version__}
    props = torch.cuda.get_device_properties(0)
    return {"gpu": props.name, "compute_capability": f"{props.major}.{props.minor}",
            "memory_gib": f"{props.total_memory / 2**30:.0f}", "cuda_runtime": str(torch.version.cuda),
            "driver": nvidia_driver(), "torch": torch.__version__}


def backend_versions() -> dict[str, str]:
    """onnxruntime (and whether it has the CUDA provider), TensorRT, or 'not installed'."""
    import onnxruntime

    out = {"onnxruntime": f"{onnxruntime.__version__} ({', '.join(onnxruntime.get_available_providers())})"}
    try:
        import tensorrt

        out["tensorrt"] = tensorrt.__version__
    except ImportError:
        out["tensorrt"] = "not installed"
    return out
