"""glTF 2.0 binary (.glb) writer: the take's body mesh, skinned to the SMPL-X skeleton, with one animation.

Written with pygltflib (the document model and the GLB container); the binary buffer is laid out here.
Facts from the glTF 2.0 specification (https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html):
y up, right-handed, metres, the front of an asset faces +Z (section 3.4), which is the SMPL-X model
frame, so no axis change; rotations are unit quaternions (x, y, z, w) (section 3.5.2); skinning is
``sum_i w_i * jointMatrix_i`` with ``jointMatrix = globalTransform(joint) @ inverseBindMatrix`` and at
most 4 influences per JOINTS_n / WEIGHTS_n set (section 3.7.3); animation samplers need min/max on
their time accessor (section 3.11); accessor offsets are multiples of the component size and buffer
views of vertex attributes are 4-byte aligned (section 3.6).

What is in the file:

* one scene: the mesh node ``body`` (mesh + skin, no transform of its own, as the spec asks of
  skinned meshes) and the joint tree rooted at ``pelvis``; joint nodes carry the SMPL-X names and the
  rest offsets of the take's betas; inverse bind matrices are the rest joint positions negated;
* the mesh: the model's vertices shaped by the take's betas (rest pose), normals, triangle indices,
  the 4 largest skinning weights per vertex renormalised to sum 1 (the open model uses up to 12; the
  dropped weight is at most 1.7 % of a vertex's total there, and posed vertices move by about 2 mm
  at most in the tests). Pose-corrective blend shapes (SMPL-X posedirs; zero in the open model) and
  expressions are not written;
* one animation ``take``: a rotation channel per joint and a translation channel on ``pelvis`` (its
  world position), LINEAR interpolation, times ``frame / fps`` seconds.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pygltflib as G
import torch
from mocap.app.formats.skeleton import SkeletonMotion, continuous_quats_xyzw
from mocap.models.body.smplx_layout import PARENTS
from mocap.models.body.smplx_model import SmplxModel
from tqdm import tqdm

MAX_INFLUENCES = 4          # glTF: one JOINTS_0/WEIGHTS_0 pair holds 4 influences
GENERATOR = "mocap (mocap-convert)"


class _Blob:
    """The GLB binary chunk under construction: each `add` appends one 4-byte-aligned buffer view."""

    def __init__(self, gltf: G.GLTF2) -> None:
        self.gltf, self.parts, self.size = gltf, [], 0

    def add(self, arr: np.ndarray, gl_type: str, component: int, target: int | None = None,
            minmax: bool = False) -> int:
        """Append `arr` (C order, rows = elements) as a buffer view + accessor; return the accessor index."""
        data = np.ascontiguousarray(arr).tobytes()
        pad = (-self.size) % 4
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        self.gltf.bufferViews.append(G.BufferView(buffer=0, byteOffset=self.size, byteLength=len(data), target=target))
        self.parts.append(data)
        self.size += len(data)
        acc = G.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=component,
                         count=int(arr.shape[0]), type=gl_type)
        if minmax:
            flat = arr.reshape(arr.shape[0], -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def bytes(self) -> bytes:
        pad = (-self.size) % 4
        return b"".join(self.parts) + b"\0" * pad


def top_weights(weights: np.ndarray, k: int = MAX_INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """The k largest skinning weights per vertex, renormalised.

    Args:
        weights: (V, J) weights, rows summing to about 1.
        k: influences kept.
    Returns:
        joints (V, k) int (largest weight first; distinct where the weight is > 0, else 0),
        weights (V, k) float32 summing to 1.
    """
    idx = np.argsort(-weights, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(weights, idx, 1).astype(np.float64)
    w = np.clip(w, 0.0, None)
    w /= w.sum(1, keepdims=True)
    w32 = w.astype(np.float32)
    # Put float32 rounding into the largest weight so each row sums to 1 as closely as float32 allows
    # (the validator checks the sum).
    w32[:, 0] = (1.0 - w32[:, 1:].astype(np.float64).sum(1)).astype(np.float32)
    # Unused slots point at joint 0 (the validator warns about a zero weight on another joint).
    idx = np.where(w32 > 0, idx, 0)
    return idx, w32


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals (float32); +Y where a vertex has no face area."""
    v = vertices.astype(np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for c in range(3):
        np.add.at(n, faces[:, c], fn)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(norm > 1e-12, n / np.maximum(norm, 1e-300), [0.0, 1.0, 0.0])
    return (n / np.linalg.norm(n, axis=1, keepdims=True)).astype(np.float32)


def shaped_rest_vertices(model: SmplxModel, betas: np.ndarray) -> np.ndarray:
    """(V, 3) rest-pose vertices for `betas` (no pose, no translation), metres, model frame."""
    nb = model.options.num_betas
    b = np.zeros((1, nb))
    n = min(nb, len(betas))
    b[0, :n] = np.asarray(betas, np.float64)[:n]
    with torch.no_grad():
        out = model(betas=torch.as_tensor(b, dtype=model.v_template.dtype))
    return out.vertices[0].double().cpu().numpy()


def skeleton2glb(sm: SkeletonMotion, model: SmplxModel, betas: np.ndarray, path: str | os.PathLike,
                 progress: bool = False) -> Path:
    """Write the skinned, animated body as a .glb (module docstring) and return its path.

    Args:
        sm: the skeleton motion (metres, y up); its joints are a subset of the model's 55.
        model: the body model whose mesh, skinning weights and faces are written.
        betas: (10,) the take's shape coefficients (mesh and rest joints).
        path: the .glb to write (temporary name, then renamed).
        progress: show a tqdm bar over the writing steps.
    Raises:
        OSError: the file cannot be written.
    """
    path = Path(path)
    steps = tqdm(total=4, desc="GLB", unit="step", disable=not progress, leave=False)
    J, T = len(sm.names), sm.num_frames
    verts = shaped_rest_vertices(model, betas).astype(np.float32)                   # (V, 3)
    faces = model.faces.cpu().numpy().astype(np.uint32)                            # (F, 3)
    # Skinning weights over the kept joints: a dropped joint's (jaw, eyes) weight goes to its parent.
    w55 = model.weights.double().cpu().numpy()                                     # (V, 55)
    col = {int(j): i for i, j in enumerate(sm.joint_ids)}
    w = np.zeros((w55.shape[0], J))
    for j in range(w55.shape[1]):
        k = j
        while k not in col:
            k = PARENTS[k]
        w[:, col[k]] += w55[:, j]
    joints4, weights4 = top_weights(w)
    steps.update()

    gltf = G.GLTF2(asset=G.Asset(version="2.0", generator=GENERATOR))
    blob = _Blob(gltf)
    pos_acc = blob.add(verts, G.VEC3, G.FLOAT, G.ARRAY_BUFFER, minmax=True)
    nrm_acc = blob.add(vertex_normals(verts, faces.astype(np.int64)), G.VEC3, G.FLOAT, G.ARRAY_BUFFER)
    jnt_acc = blob.add(joints4.astype(np.uint8), G.VEC4, G.UNSIGNED_BYTE, G.ARRAY_BUFFER)
    wgt_acc = blob.add(weights4, G.VEC4, G.FLOAT, G.ARRAY_BUFFER)
    idx_acc = blob.add(faces.reshape(-1), G.SCALAR, G.UNSIGNED_INT, G.ELEMENT_ARRAY_BUFFER, minmax=True)
    gltf.meshes.append(G.Mesh(name="body", primitives=[G.Primitive(
        attributes=G.Attributes(POSITION=pos_acc, NORMAL=nrm_acc, JOINTS_0=jnt_acc, WEIGHTS_0=wgt_acc),
        indices=idx_acc, mode=G.TRIANGLES)]))

    # Joint nodes 0..J-1 in SkeletonMotion order (pelvis first), then the mesh node.
    off = sm.offsets
    for j in range(J):
        gltf.nodes.append(G.Node(name=sm.names[j], translation=[float(x) for x in off[j]],
                                 children=[int(c) for c in np.flatnonzero(sm.parents == j)] or None))
    ibm = np.tile(np.eye(4, dtype=np.float32), (J, 1, 1))
    ibm[:, :3, 3] = -sm.rest_joints                              # rest joints have identity rotation
    ibm_acc = blob.add(ibm.transpose(0, 2, 1).reshape(J, 16), G.MAT4, G.FLOAT)   # column-major
    gltf.skins.append(G.Skin(name="smplx", joints=list(range(J)), skeleton=0, inverseBindMatrices=ibm_acc))
    gltf.nodes.append(G.Node(name="body", mesh=0, skin=0))
    gltf.scenes.append(G.Scene(name="take", nodes=[J, 0]))
    gltf.scene = 0
    steps.update()

    times = (np.arange(T, dtype=np.float64) / sm.fps).astype(np.float32)
    t_acc = blob.add(times, G.SCALAR, G.FLOAT, minmax=True)
    quats = continuous_quats_xyzw(sm.local_rotmats).astype(np.float32)             # (T, J, 4)
    quats /= np.linalg.norm(quats, axis=-1, keepdims=True)
    samplers, channels = [], []
    for j in range(J):
        samplers.append(G.AnimationSampler(input=t_acc, output=blob.add(quats[:, j], G.VEC4, G.FLOAT),
                                           interpolation=G.ANIM_LINEAR))
        channels.append(G.AnimationChannel(sampler=j, target=G.AnimationChannelTarget(node=j, path="rotation")))
    samplers.append(G.AnimationSampler(input=t_acc, output=blob.add(sm.root_pos.astype(np.float32), G.VEC3, G.FLOAT),
                                       interpolation=G.ANIM_LINEAR))
    channels.append(G.AnimationChannel(sampler=J, target=G.AnimationChannelTarget(node=0, path="translation")))
    gltf.animations.append(G.Animation(name="take", samplers=samplers, channels=channels))
    steps.update()

    data = blob.bytes()
    gltf.buffers.append(G.Buffer(byteLength=len(data)))
    gltf.set_binary_blob(data)
    tmp = path.with_name(path.name + ".tmp.glb")
    try:
        gltf.save_binary(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    steps.update()
    steps.close()
    return path
