"""FP32 ONNX -> mixed-precision FP16 ONNX with float32 inputs/outputs, for TensorRT 11.

TensorRT 11 builds only strongly typed networks: the FP16 builder flag of 10.x is gone and the
precision has to be in the graph (NVIDIA, "Migrating from TensorRT 10.x to 11.x": convert the ONNX
with ModelOpt AutoCast first). We use ModelOpt AutoCast where it is installed (NVIDIA's tool: it
keeps numerically risky nodes, e.g. values beyond +-512, in FP32) and otherwise onnxconverter-common's
float16 converter (small, pure Python; every node FP16 except I/O). Both keep float32 I/O, so the
engine's contract does not change. The file is a pure function of the source, cached by its hash.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from .base import EngineError
from .cache import sha256_file

log = logging.getLogger(__name__)


def converter() -> str:
    """Name and version of the converter that `mixed_precision_onnx` will use, or EngineError."""
    try:
        import modelopt

        import modelopt.onnx.autocast  # noqa: F401  (needs the [onnx] extra)
        return f"modelopt {modelopt.__version__}"
    except ImportError:
        pass
    try:
        import onnxconverter_common
    except ImportError:
        raise EngineError("FP16 on TensorRT 11 needs a mixed-precision ONNX converter: "
                          "pip install onnxconverter-common (in mocap[gpu]) or nvidia-modelopt[onnx]") from None
    return f"onnxconverter-common {onnxconverter_common.__version__}"


def mixed_precision_onnx(src: Path, cache: Path, tool: str | None = None) -> Path:
    """The FP16 mixed-precision version of `src` in `cache` (made once: NAME.fp16.<hash12>.onnx).

    tool: 'modelopt ...' or 'onnxconverter-common ...' (default: `converter()`).
    """
    import warnings

    import onnx

    tool = tool or converter()
    stem = src.name.split(".")[0]
    dst = cache / f"{stem}.fp16-{tool.split()[0]}.{sha256_file(src)[:12]}.onnx"
    if dst.is_file():
        return dst
    log.info("converting %s to mixed precision with %s", src.name, tool)
    if tool.startswith("modelopt"):
        from modelopt.onnx.autocast import convert_to_mixed_precision

        model = convert_to_mixed_precision(onnx_path=str(src), low_precision_type="fp16", keep_io_types=True)
    else:
        from onnxconverter_common import float16

        with warnings.catch_warnings():  # it warns for every weight below FP16's smallest normal
            warnings.simplefilter("ignore", UserWarning)
            model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return dst
