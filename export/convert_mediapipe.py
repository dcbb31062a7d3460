"""Convert MediaPipe 0.10.21's five legacy .tflite nets to ONNX, check them, record references.

Standalone: runs in its own conversion venv (export/requirements-convert.txt), never imports
`mocap`. Usage:

    python export/convert_mediapipe.py --wheel mediapipe-0.10.21-cp311-...whl --out models/onnx

Without --wheel it runs `pip download mediapipe==0.10.21 --no-deps` into a temporary folder.
Steps per net: extract the .tflite from the wheel and verify its SHA-256; (pose_detection only)
densify the sparse fp16 weights into a dense .tflite; tflite2onnx (tf2onnx, fp16 DEQUANTIZE folded
into fp32 constants); cut unused outputs and their dead nodes; rename inputs/outputs; make the batch
dimension dynamic where wanted; simplify the graph; check ONNX Runtime against the TFLite
interpreter on fixed inputs; write the reference outputs (tests/data/onnx_reference/*.npz).

Model facts (paths, SHA-256, I/O shapes, ranges, output order) come from
shared reference `mediapipe-graphs.md` sections 0 and 1, which read them from the wheel.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from onnx import GraphProto, ModelProto, NodeProto, TensorProto

if __package__:  # imported as mocap.export.convert_mediapipe (tests of the graph rewrites)
    from . import reference_inputs
else:  # run as a script in the conversion venv: export/ is sys.path[0]
    import reference_inputs

LOG = logging.getLogger("convert_mediapipe")

# TFLite output tensors in subgraph order: (name, shape).
TfliteOutputs = list[tuple[str, tuple[int, ...]]]

MEDIAPIPE_VERSION = "0.10.21"
OPSET = 17


@dataclass(frozen=True)
class ModelSpec:
    """What one MediaPipe net is and what its ONNX file must look like.

    outputs: new ONNX output names, in the TFLite subgraph output order (MediaPipe's graphs
        consume outputs by index; the order is the one in reference section 1.1); None drops it.
    out_shapes: the TFLite output shapes in that order (checked before renaming).
    value_range: the input range MediaPipe's ImageToTensorCalculator feeds (reference 1.1).
    subsample: output name -> stride over the two spatial axes used when recording references.
    """

    name: str
    wheel_path: str
    sha256: str
    input_hw: tuple[int, int]
    value_range: tuple[float, float]
    outputs: tuple[str | None, ...]
    out_shapes: tuple[tuple[int, ...], ...]
    dynamic_batch: bool = False
    densify: bool = False
    final_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    subsample: dict[str, int] = field(default_factory=dict)


# SHA-256 values: reference mediapipe-graphs.md section 0 (files of the 0.10.21 wheel).
MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="pose_detection",
        wheel_path="mediapipe/modules/pose_detection/pose_detection.tflite",
        sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        input_hw=(224, 224),
        value_range=(-1.0, 1.0),
        outputs=("boxes", "scores"),
        out_shapes=((1, 2254, 12), (1, 2254, 1)),
        densify=True,
    ),
    ModelSpec(
        name="pose_landmark_full",
        wheel_path="mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        input_hw=(256, 256),
        value_range=(0.0, 1.0),
        # Identity_2 is the 256x256 segmentation: cut off (not used by the capture pipeline).
        outputs=("landmarks", "pose_flag", None, "heatmap", "world_landmarks"),
        out_shapes=((1, 195), (1, 1), (1, 256, 256, 1), (1, 64, 64, 39), (1, 117)),
        subsample={"heatmap": 4},
    ),
    ModelSpec(
        name="palm_detection_full",
        wheel_path="mediapipe/modules/palm_detection/palm_detection_full.tflite",
        sha256="1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
        input_hw=(192, 192),
        value_range=(0.0, 1.0),
        outputs=("boxes", "scores"),
        out_shapes=((1, 2016, 18), (1, 2016, 1)),
    ),
    ModelSpec(
        name="hand_landmark_full",
        wheel_path="mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        sha256="11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
        input_hw=(224, 224),
        value_range=(0.0, 1.0),
        # Subgraph order landmarks, flag, handedness, world (NOT the metadata's order; ref 1.3).
        outputs=("landmarks", "hand_flag", "handedness", "world_landmarks"),
        out_shapes=((1, 63), (1, 1), (1, 1), (1, 63)),
        dynamic_batch=True,
    ),
    ModelSpec(
        name="hand_recrop",
        wheel_path="mediapipe/modules/holistic_landmark/hand_recrop.tflite",
        sha256="67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
        input_hw=(256, 256),
        value_range=(0.0, 1.0),
        outputs=("points",),
        out_shapes=((1, 1, 1, 4),),
        dynamic_batch=True,
        final_shapes={"points": (1, 4)},  # [1,1,1,4] flattened to [N,4]
    ),
)


# --------------------------------------------------------------------------- sources


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def download_wheel(dest: Path) -> Path:
    """pip-download the mediapipe wheel for this Python into dest; return its path.

    Raises:
        RuntimeError: pip failed or produced no wheel.
    """
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}",
           "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    LOG.info("running %s", " ".join(cmd))
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download left no mediapipe {MEDIAPIPE_VERSION} wheel in {dest}")
    return wheels[0]


def wheel2tflite(wheel: Path, spec: ModelSpec, dest: Path) -> Path:
    """Extract spec's .tflite from the wheel into dest after checking its SHA-256.

    Raises:
        RuntimeError: the file's SHA-256 differs from the recorded one.
    """
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(spec.wheel_path)
    got = sha256_of(data)
    if got != spec.sha256:
        raise RuntimeError(f"{spec.wheel_path}: SHA-256 {got} != expected {spec.sha256}")
    path = dest / f"{spec.name}.tflite"
    path.write_bytes(data)
    LOG.info("%s: %d bytes, SHA-256 ok", spec.wheel_path, len(data))
    return path


# --------------------------------------------------------------------------- densify


def decode_csr(tensor: object, buffer_data: bytes) -> np.ndarray:
    """Decode one sparse TFLite tensor (dims DENSE..., last dim SPARSE_CSR, no block map).

    Args:
        tensor: flatbuffer_utils object-API TensorT with `sparsity`.
        buffer_data: the raw bytes of its buffer (the stored non-zero values).

    Returns:
        The dense array, dtype of the stored values (float16 here), shape tensor.shape.

    Raises:
        ValueError: a sparsity layout this decoder does not handle.
    """
    sp = tensor.sparsity
    shape = [int(d) for d in tensor.shape]
    dims = sp.dimMetadata
    order = list(sp.traversalOrder) if sp.traversalOrder is not None else list(range(len(shape)))
    if sp.blockMap is not None or order != list(range(len(shape))):
        raise ValueError(f"tensor {tensor.name!r}: block-sparse or permuted layout not supported")
    if any(d.format != 0 for d in dims[:-1]) or dims[-1].format != 1:
        raise ValueError(f"tensor {tensor.name!r}: expected DENSE,...,DENSE,SPARSE_CSR")
    values = np.frombuffer(bytes(buffer_data), dtype=np.float16)
    segments = np.asarray(dims[-1].arraySegments.values, dtype=np.int64)
    indices = np.asarray(dims[-1].arrayIndices.values, dtype=np.int64)
    rows = int(np.prod(shape[:-1]))
    if len(segments) != rows + 1 or segments[-1] != len(values) or len(indices) != len(values):
        raise ValueError(f"tensor {tensor.name!r}: inconsistent CSR arrays")
    dense = np.zeros((rows, shape[-1]), dtype=np.float16)
    row_of = np.repeat(np.arange(rows), np.diff(segments))
    dense[row_of, indices] = values
    return dense.reshape(shape)


def tflite2dense_tflite(src: Path, dst: Path) -> Path:
    """Replace every DENSIFY(sparse fp16 constant) by a dense fp16 constant; write dst.

    The DENSIFY op is removed and its consumers (DEQUANTIZE) read the now-dense input tensor.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(src))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    for graph in model.subgraphs:
        kept, rewired = [], {}
        for op in graph.operators:
            if codes[op.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
                kept.append(op)
                continue
            t_in = graph.tensors[op.inputs[0]]
            buf = model.buffers[t_in.buffer]
            dense = decode_csr(t_in, buf.data)
            buf.data = np.frombuffer(dense.tobytes(), dtype=np.uint8)
            t_in.sparsity = None
            rewired[int(op.outputs[0])] = int(op.inputs[0])
        for op in kept:
            op.inputs = np.array([rewired.get(int(i), int(i)) for i in op.inputs], dtype=np.int32)
        graph.operators = kept
        LOG.info("densified %d sparse tensors", len(rewired))
    flatbuffer_utils.write_model(model, str(dst))
    return dst


def check_densified(sparse: Path, dense: Path) -> None:
    """Prove the densified weights equal what TFLite's own DENSIFY kernel produces.

    Raises:
        RuntimeError: a densified constant differs from the interpreter's DENSIFY output.
    """
    import tensorflow as tf

    # Without the XNNPACK delegate: the delegate consumes the weights and leaves DENSIFY's output
    # tensors unfilled.
    interp = tf.lite.Interpreter(
        model_path=str(sparse), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"],
                      np.zeros(interp.get_input_details()[0]["shape"], np.float32))
    interp.invoke()
    from tensorflow.lite.tools import flatbuffer_utils

    model_s = flatbuffer_utils.read_model(str(sparse))
    model_d = flatbuffer_utils.read_model(str(dense))
    from tensorflow.lite.python import schema_py_generated as schema

    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model_s.operatorCodes]
    graph_s, graph_d = model_s.subgraphs[0], model_d.subgraphs[0]
    n = 0
    for op in graph_s.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.DENSIFY:
            continue
        want = interp.get_tensor(int(op.outputs[0]))
        t_d = graph_d.tensors[int(op.inputs[0])]
        got = np.frombuffer(bytes(model_d.buffers[t_d.buffer].data), np.float16).reshape(want.shape)
        if not np.array_equal(got, want):
            raise RuntimeError(f"densified tensor {t_d.name!r} differs from TFLite's DENSIFY")
        n += 1
    LOG.info("densified tensors equal TFLite DENSIFY outputs (%d tensors)", n)


# --------------------------------------------------------------------------- convert


def tflite2onnx(src: Path, dst: Path, opset: int = OPSET) -> Path:
    """Convert a .tflite file to ONNX with tf2onnx (fp16 DEQUANTIZE constants become fp32)."""
    import tf2onnx

    tf2onnx.convert.from_tflite(str(src), opset=opset, output_path=str(dst))
    LOG.info("tf2onnx: %s -> %s", src.name, dst)
    return dst


def tflite_output_names(path: Path) -> TfliteOutputs:
    """TFLite output tensor names and shapes in subgraph output order."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    return [(d["name"], tuple(int(s) for s in d["shape"])) for d in interp.get_output_details()]


def prune_dead(model: ModelProto) -> None:
    """Remove nodes and initializers that no graph output depends on (in place)."""
    graph = model.graph
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    dropped = len(graph.node) - len(keep)
    del graph.node[:]
    graph.node.extend(keep)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    LOG.info("pruned %d dead nodes", dropped)


def rename_tensor(model: ModelProto, old: str, new: str) -> None:
    """Rename a tensor everywhere in the graph (node inputs/outputs, graph I/O)."""
    graph = model.graph
    for node in graph.node:
        node.input[:] = [new if i == old else i for i in node.input]
        node.output[:] = [new if o == old else o for o in node.output]
    for vi in list(graph.input) + list(graph.output):
        if vi.name == old:
            vi.name = new


def set_io(model: ModelProto, spec: ModelSpec, tflite_outputs: TfliteOutputs) -> None:
    """Rename input to `image`, keep and rename the wanted outputs in spec order, drop the rest.

    Outputs are matched by their position in the TFLite subgraph output order after checking
    every shape, never by the converter's name alone.

    Raises:
        RuntimeError: the TFLite outputs do not have the shapes the spec expects.
    """
    shapes = tuple(s for _, s in tflite_outputs)
    if shapes != spec.out_shapes:
        raise RuntimeError(f"{spec.name}: TFLite output shapes {shapes} != {spec.out_shapes}")
    graph = model.graph
    by_name = {o.name: o for o in graph.output}
    wanted = [(by_name[t], new) for (t, _), new in zip(tflite_outputs, spec.outputs) if new]
    del graph.output[:]
    for vi, new in wanted:
        graph.output.append(vi)
        rename_tensor(model, vi.name, new)
    if len(graph.input) != 1:
        raise RuntimeError(f"{spec.name}: expected one input, found {len(graph.input)}")
    rename_tensor(model, graph.input[0].name, "image")


def reshape_output(model: ModelProto, name: str, shape: tuple[int, ...]) -> None:
    """Give output `name` the shape `shape` (batch axis becomes -1 = follows the input).

    If the output already comes from a Reshape with a constant target, that target is replaced;
    otherwise a Reshape is appended.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    target = np.array((-1, *shape[1:]), np.int64)
    producer = next(n for n in graph.node if name in n.output)
    inits = {t.name: t for t in graph.initializer}
    if producer.op_type == "Reshape" and producer.input[1] in inits:
        shape_name = f"{name}__shape"
        graph.initializer.append(numpy_helper.from_array(target, shape_name))
        producer.input[1] = shape_name
    else:
        raw = f"{name}__raw"
        rename_tensor(model, name, raw)
        graph.initializer.append(numpy_helper.from_array(target, f"{name}__shape"))
        graph.node.append(helper.make_node("Reshape", [raw, f"{name}__shape"], [name]))
        for vi in graph.output:
            if vi.name == raw:
                vi.name = name
    for vi in graph.output:
        if vi.name == name:
            dims = vi.type.tensor_type.shape.dim
            del dims[:]
            for d in shape:
                dims.add().dim_value = d


def make_batch_dynamic(model: ModelProto, dim_name: str = "N") -> int:
    """Turn batch 1 into a symbolic dimension: graph I/O dim 0 and hard-coded Reshape targets.

    Every Reshape whose constant target starts with 1 (and has no -1 elsewhere) gets -1 there,
    and every Slice that cuts axis 0 to [0, 1) (tf2onnx writes the full batch-1 extent for TFLite
    STRIDED_SLICE) gets an open end there, so the batch flows through. Returns the number of
    patched nodes. The caller proves the result by comparing a batch-2 run with two batch-1 runs.
    """
    from onnx import numpy_helper

    graph = model.graph
    for vi in list(graph.input) + list(graph.output):
        vi.type.tensor_type.shape.dim[0].dim_param = dim_name
    inits = {t.name: t for t in graph.initializer}
    patched = 0
    for node in graph.node:
        if node.op_type != "Reshape" or node.input[1] not in inits:
            continue
        target = numpy_helper.to_array(inits[node.input[1]]).copy()
        if target.size and target[0] == 1 and -1 not in target:
            target[0] = -1
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(target, node.input[1]))
            patched += 1
    for node in graph.node:
        if node.op_type == "Slice" and patch_batch_slice(node, graph):
            patched += 1
    del graph.value_info[:]
    return patched


def patch_batch_slice(node: NodeProto, graph: GraphProto) -> bool:
    """Open the end of a constant Slice over axis 0 [0, 1) so it keeps any batch; True if patched.

    A fresh ends initializer is written (the original may be shared with other Slices).
    """
    from onnx import numpy_helper

    if len(node.input) < 4:
        return False
    inits = {t.name: t for t in graph.initializer}
    if not all(i in inits for i in node.input[1:4]):
        return False
    starts, ends, axes = (numpy_helper.to_array(inits[i]) for i in node.input[1:4])
    hits = [k for k, a in enumerate(axes) if a == 0 and starts[k] == 0 and ends[k] == 1]
    if not hits:
        return False
    ends = ends.copy()
    ends[hits] = np.iinfo(np.int64).max
    name = f"{node.output[0]}__ends_dynamic_batch"
    graph.initializer.append(numpy_helper.from_array(ends.astype(np.int64), name))
    node.input[2] = name
    return True


def prelu2conv(model: ModelProto) -> int:
    """Rewrite every PRelu with constant per-channel alpha as Relu + two 1x1 depthwise Convs + Add.

    PRelu(x) = alpha * x + (1 - alpha) * Relu(x), per channel. ONNX Runtime's CPU PRelu is a slow
    broadcasting kernel that also forces its NCHWc layout back to NCHW around every PRelu (palm
    detector: 6.8 of 13 ms). A 1x1 depthwise Conv is a per-channel scale that stays in NCHWc, and
    ORT fuses the Add into the second Conv. Exact in real arithmetic; fp32 rounding differs by
    about one ulp. Returns the number of rewritten nodes.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        alpha = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        if alpha.ndim < 3 or alpha.shape[-2:] != (1, 1):  # NCHW per-channel alpha only
            nodes.append(node)
            continue
        channels = alpha.size
        x, y = node.input[0], node.output[0]
        base = f"{y.replace(':', '_')}__prelu"
        graph.initializer.extend([
            numpy_helper.from_array(alpha.reshape(channels, 1, 1, 1), f"{base}_alpha"),
            numpy_helper.from_array((1.0 - alpha).reshape(channels, 1, 1, 1), f"{base}_one_minus_alpha"),
        ])
        conv = dict(group=channels, kernel_shape=[1, 1])
        nodes += [
            helper.make_node("Relu", [x], [f"{base}_relu"], name=f"{base}_relu"),
            helper.make_node("Conv", [f"{base}_relu", f"{base}_one_minus_alpha"], [f"{base}_pos"],
                             name=f"{base}_pos", **conv),
            helper.make_node("Conv", [x, f"{base}_alpha"], [f"{base}_lin"], name=f"{base}_lin", **conv),
            helper.make_node("Add", [f"{base}_lin", f"{base}_pos"], [y], name=f"{base}_add"),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def _zero_pad_amounts(node: NodeProto, inits: dict[str, TensorProto]) -> np.ndarray | None:
    """The pads of a constant-zero Pad with constant pads, as (2, rank) begin/end, else None."""
    from onnx import helper, numpy_helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("mode", b"constant") != b"constant" or len(node.input) > 3:
        return None
    if node.input[1] not in inits:
        return None
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in inits or np.any(numpy_helper.to_array(inits[node.input[2]]) != 0):
            return None
    pads = numpy_helper.to_array(inits[node.input[1]]).astype(np.int64)
    return pads.reshape(2, -1)


def fold_pads(model: ModelProto) -> int:
    """Fold zero Pads (spatial axes only) into the pads of the Convs that consume them.

    Conv(Pad0(x), pads=p) == Conv(x, pads=p + pad) for zero padding. tf2onnx leaves a Pad where
    TFLite used an explicit PAD + VALID conv and the padded tensor feeds two Convs, and where the
    Pad sits on the NHWC input before the layout Transpose; ORT only fuses single-consumer Pads.
    Handles Pad -> Conv(s) and Pad -> Transpose -> Conv(s). Returns the number of folded Pads.
    """
    from onnx import helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)

    def convs_ok(nodes) -> bool:
        return bool(nodes) and all(
            n.op_type == "Conv" and n.input[0] != "" and all(
                a.name != "auto_pad" or a.s in (b"", b"NOTSET") for a in n.attribute)
            for n in nodes)

    folded, drop = 0, set()
    for node in graph.node:
        if node.op_type != "Pad" or node.output[0] in outputs:
            continue
        pads = _zero_pad_amounts(node, inits)
        if pads is None or pads.shape[1] != 4:
            continue
        users = consumers.get(node.output[0], [])
        via = None
        if len(users) == 1 and users[0].op_type == "Transpose" and users[0].output[0] not in outputs:
            via = users[0]
            perm = list(helper.get_attribute_value(via.attribute[0]))
            pads = pads[:, perm]
            users = consumers.get(via.output[0], [])
        if np.any(pads[:, :2] != 0) or not convs_ok(users):
            continue
        for conv in users:
            old = next((a for a in conv.attribute if a.name == "pads"), None)
            base = np.array(old.ints if old is not None else [0, 0, 0, 0], np.int64).reshape(2, 2)
            new = (base + pads[:, 2:]).reshape(-1).tolist()
            if old is not None:
                conv.attribute.remove(old)
            conv.attribute.append(helper.make_attribute("pads", new))
        if via is not None:
            via.input[0] = node.input[0]
        else:
            for conv in users:
                conv.input[0] = node.input[0]
        drop.add(id(node))
        folded += 1
    kept = [n for n in graph.node if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)
    return folded


def canonical_node_order(graph: GraphProto) -> list[NodeProto]:
    """Topological order of the graph's nodes that depends only on the graph's structure.

    tf2onnx's own node order varies between runs on branchy graphs. Each node gets a key: the
    SHA-256 of its op, attributes and inputs (producer keys, constant contents, graph inputs);
    Kahn's algorithm then always emits the ready node with the smallest key.
    """
    import heapq

    from onnx import numpy_helper

    inits = {t.name: t for t in graph.initializer}
    producer = {o: (i, slot) for i, n in enumerate(graph.node) for slot, o in enumerate(n.output)}
    keys: dict[int, str] = {}

    def key_of(i: int) -> str:  # graph.node is topologically sorted (ONNX requires it)
        if i not in keys:
            node = graph.node[i]
            parts = [node.domain, node.op_type]
            parts += [a.SerializeToString().hex() for a in sorted(node.attribute, key=lambda a: a.name)]
            for name in node.input:
                if name in producer:
                    parts.append(f"{key_of(producer[name][0])}:{producer[name][1]}")
                elif name in inits:
                    arr = numpy_helper.to_array(inits[name])
                    parts.append(f"{arr.dtype}{arr.shape}" + sha256_of(arr.tobytes()))
                else:
                    parts.append(f"in:{name}")
            keys[i] = sha256_of("|".join(parts).encode())
        return keys[i]

    for i in range(len(graph.node)):
        key_of(i)
    consumers: dict[int, list[int]] = {i: [] for i in range(len(graph.node))}
    indegree = [0] * len(graph.node)
    for i, node in enumerate(graph.node):
        deps = {producer[n][0] for n in node.input if n in producer}
        indegree[i] = len(deps)
        for d in deps:
            consumers[d].append(i)
    ready = [(keys[i], i) for i in range(len(graph.node)) if indegree[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(graph.node[i])
        for c in consumers[i]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, (keys[c], c))
    return order


def canonicalize_names(model: ModelProto, graph_name: str) -> None:
    """Make node order and names reproducible so the same inputs give byte-identical files.

    tf2onnx appends process-global counters (`__3817`) and, when it merges equal constants,
    keeps whichever name its (hash-seeded) set yields first. So: initializers are named after
    their first consumer (`<Op>_<node index>_in<slot>`), in that order; other tensors keep their
    TF layer name without counters (uniquified in order of first use); nodes are `<Op>_<index>`.
    """
    import re

    graph = model.graph
    nodes = canonical_node_order(graph)
    del graph.node[:]
    graph.node.extend(nodes)
    keep = {v.name for v in list(graph.input) + list(graph.output)}
    init_names = {t.name for t in graph.initializer}
    mapping: dict[str, str] = {}
    used: set[str] = set(keep)

    def claim(old: str, base: str) -> str:
        new, k = base, 1
        while new in used:
            new, k = f"{base}_{k}", k + 1
        used.add(new)
        mapping[old] = new
        return new

    for index, node in enumerate(graph.node):
        node.name = f"{node.op_type}_{index}"
        for slot, name in enumerate(node.input):
            if name in init_names and name not in mapping:
                claim(name, f"{node.name}_in{slot}")
    for node in graph.node:
        for name in list(node.input) + list(node.output):
            if name and name not in keep and name not in mapping:
                claim(name, re.sub(r"__\d+", "", name).replace(":0", "") or "t")
        node.input[:] = [mapping.get(i, i) for i in node.input]
        node.output[:] = [mapping.get(o, o) for o in node.output]
    order = {name: i for i, name in enumerate(mapping)}
    inits = sorted(graph.initializer, key=lambda t: order.get(t.name, len(order)))
    for t in inits:
        t.name = mapping.get(t.name, t.name)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    graph.name = graph_name


def check_fp32(model: ModelProto, name: str) -> None:
    """Raise RuntimeError if any float initializer is not float32 (fp16 must have been folded)."""
    from onnx import TensorProto

    bad = [t.name for t in model.graph.initializer
           if t.data_type in (TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)]
    if bad or any(n.op_type in ("Cast", "DequantizeLinear") for n in model.graph.node):
        raise RuntimeError(f"{name}: non-fp32 weights or casts left: {bad[:3]}")


def onnx2clean_onnx(path: Path, spec: ModelSpec, tflite_outputs: TfliteOutputs) -> Path:
    """Post-process tf2onnx's file in place: I/O names, cut outputs, dynamic batch, fp32 check."""
    import onnx

    model = onnx.load(str(path))
    set_io(model, spec, tflite_outputs)
    for name, shape in spec.final_shapes.items():
        reshape_output(model, name, shape)
    if spec.dynamic_batch:
        patched = make_batch_dynamic(model)
        LOG.info("%s: dynamic batch, %d Reshape/Slice nodes patched", spec.name, patched)
    LOG.info("%s: %d PRelu rewritten as Relu + depthwise 1x1 Convs", spec.name, prelu2conv(model))
    LOG.info("%s: %d zero Pads folded into Convs", spec.name, fold_pads(model))
    prune_dead(model)
    canonicalize_names(model, spec.name)
    check_fp32(model, spec.name)
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    model.producer_name = "mocap export/convert_mediapipe.py (tf2onnx)"
    onnx.save(model, str(path))
    return path


# --------------------------------------------------------------------------- check + record


def run_tflite(path: Path, image: np.ndarray) -> list[np.ndarray]:
    """Run the TFLite interpreter (default XNNPACK delegate) on one (1, H, W, 3) image."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], image)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def run_onnx(path: Path, image: np.ndarray) -> dict[str, np.ndarray]:
    """Run ONNX Runtime (CPU) on a (N, H, W, 3) image; outputs by name."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"image": image})))


def reference_outputs(spec: ModelSpec, tflite_out: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Map TFLite outputs (subgraph order) to the ONNX names and final shapes."""
    out = {}
    for name, arr in zip(spec.outputs, tflite_out):
        if name is not None:
            shape = spec.final_shapes.get(name, arr.shape)
            out[name] = arr.reshape(shape)
    return out


def subsample(spec: ModelSpec, name: str, arr: np.ndarray) -> np.ndarray:
    """Spatially subsample an NHWC output for storage (stride from spec.subsample)."""
    step = spec.subsample.get(name, 1)
    return arr[:, ::step, ::step, :] if step > 1 else arr


def check_and_record(spec: ModelSpec, tflite_path: Path, onnx_path: Path, ref_dir: Path) -> Path:
    """Compare ONNX with TFLite on the fixed inputs, check batch 2, write the reference .npz.

    Raises:
        RuntimeError: an ONNX output differs from TFLite by more than 1e-2 (a broken
            conversion; the test's tolerances are tighter and per output).
    """
    h, w = spec.input_hw
    record: dict[str, np.ndarray] = {}
    images = []
    for kind in reference_inputs.INPUT_KINDS:
        image = reference_inputs.make_input(kind, h, w, spec.value_range)
        images.append(image)
        want = reference_outputs(spec, run_tflite(tflite_path, image))
        got = run_onnx(onnx_path, image)
        record[f"{kind}__input_sha256"] = np.array(reference_inputs.digest(image))
        for name, ref in want.items():
            diff = float(np.max(np.abs(got[name] - ref)))
            LOG.info("%s %-6s %-16s max|onnx - tflite| = %.3g (max|ref| %.3g)",
                     spec.name, kind, name, diff, float(np.max(np.abs(ref))))
            if got[name].shape != ref.shape or diff > 1e-2:
                raise RuntimeError(f"{spec.name}/{name}: ONNX differs from TFLite by {diff}")
            record[f"{kind}__{name}"] = subsample(spec, name, ref)
    if spec.dynamic_batch:
        check_batch(spec, onnx_path, np.concatenate(images[:2]))
    ref_dir.mkdir(parents=True, exist_ok=True)
    path = ref_dir / f"{spec.name}.npz"
    np.savez_compressed(path, **record)
    LOG.info("wrote %s (%d bytes)", path, path.stat().st_size)
    return path


def check_batch(spec: ModelSpec, onnx_path: Path, batch: np.ndarray) -> None:
    """Raise RuntimeError unless a batch-2 run equals two batch-1 runs (to 1e-4)."""
    both = run_onnx(onnx_path, batch)
    for i in range(batch.shape[0]):
        single = run_onnx(onnx_path, batch[i : i + 1])
        for name, arr in single.items():
            diff = float(np.max(np.abs(both[name][i : i + 1] - arr)))
            if diff > 1e-4:
                raise RuntimeError(f"{spec.name}/{name}: batch item {i} differs by {diff}")
    LOG.info("%s: batch-%d run equals single runs", spec.name, batch.shape[0])


# --------------------------------------------------------------------------- main


def convert_one(spec: ModelSpec, wheel: Path, work: Path, out_dir: Path, ref_dir: Path) -> Path:
    """Run every step for one net; return the written ONNX path."""
    tflite_path = wheel2tflite(wheel, spec, work)
    source = tflite_path
    if spec.densify:
        source = tflite2dense_tflite(tflite_path, work / f"{spec.name}_dense.tflite")
        check_densified(tflite_path, source)
    onnx_path = tflite2onnx(source, out_dir / f"{spec.name}.onnx")
    onnx2clean_onnx(onnx_path, spec, tflite_output_names(source))
    check_and_record(spec, tflite_path, onnx_path, ref_dir)  # reference = the ORIGINAL file
    return onnx_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wheel", type=Path, help="mediapipe 0.10.21 wheel (default: pip download)")
    p.add_argument("--out", type=Path, default=Path("models/onnx"), help="folder for the .onnx files")
    p.add_argument("--ref-out", type=Path, default=Path("tests/data/onnx_reference"),
                   help="folder for the reference .npz files")
    p.add_argument("--only", nargs="*", choices=[m.name for m in MODELS], help="convert only these")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Convert all five nets (or --only some); return a process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mp2onnx_") as tmp:
        work = Path(tmp)
        wheel = args.wheel if args.wheel else download_wheel(work)
        for spec in MODELS:
            if args.only and spec.name not in args.only:
                continue
            convert_one(spec, wheel, work, args.out, args.ref_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
