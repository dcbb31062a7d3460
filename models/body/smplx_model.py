"""SMPL-X body model: load a file in the SMPL-X `.npz` layout and run the batched forward pass.

No run-time dependency on the `smplx` package (non-commercial code licence); it is a test oracle.
The model file is either the user's official `SMPLX_*.npz` (never bundled) or our open default.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mocap.models.body import lbs
from mocap.models.body.smplx_layout import (
    EXPRESSION_SPACE_DIM,
    JOINT_NAMES,
    JOINT_NAMES_KEY,
    K67_JOINT_IDS,
    K67_SMPLX_VERTEX_IDS,
    K67_VERTEX_IDS_KEY,
    NUM_JOINTS,
    NUM_POSEDIRS,
    OLD_SHAPE_SPACE_DIM,
    PARENTS,
    POSE_SLOTS,
    REQUIRED_KEYS,
    SHAPE_SPACE_DIM,
    SMPLX_NUM_VERTICES,
)
from mocap.models.keypoints import K67_NAMES, NUM_K67
from torch import nn

ENV_VAR = "MOCAP_SMPLX_MODEL"
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "open_smplx.npz"
OPEN_MODEL_NAME = "open"


@dataclass(frozen=True)
class SmplxOptions:
    """How to build the model from a file.

    Attributes:
        num_betas: shape coefficients used (the file's first `num_betas` shape columns).
        num_expression: expression coefficients used (0 allowed).
        dtype: torch float dtype of every buffer and output.
    """
    num_betas: int = 10
    num_expression: int = 10
    dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        for name in ("num_betas", "num_expression"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SmplxOptions.{name} must be an int >= 0, got {value!r}")
        if self.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"SmplxOptions.dtype must be torch.float32 or torch.float64, got {self.dtype}")


@dataclass
class SmplxOutput:
    """Posed model, all in metres in the model frame (Y up) plus `transl`.

    Attributes:
        vertices: (B, V, 3) posed mesh vertices.
        joints: (B, 55, 3) posed SMPL-X skeleton joints (JOINT_NAMES order).
        k67: (B, 67, 3) the K67 points in 3D (DESIGN 4): BODY_25, left hand, right hand.
    """
    vertices: torch.Tensor
    joints: torch.Tensor
    k67: torch.Tensor


def _open_npz(path: Path, allow_pickle: bool):
    """np.load of an `.npz`, or a one-line ValueError saying the file is not one."""
    try:
        z = np.load(path, allow_pickle=allow_pickle)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot read as .npz ({err})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not an .npz archive of named arrays")
    return z


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The keys the loader needs (and `k67_vertex_ids` if present) from an SMPL-X-layout npz."""
    arrays: dict[str, np.ndarray] = {}
    with _open_npz(path, allow_pickle=False) as z:
        for key in REQUIRED_KEYS:
            if key not in z.files:
                raise ValueError(f"{path.name}: key '{key}' missing, not an SMPL-X-layout model file")
        for key in REQUIRED_KEYS + (K67_VERTEX_IDS_KEY, JOINT_NAMES_KEY):
            if key not in z.files:
                continue
            try:
                arrays[key] = z[key]
            except ValueError:   # an object array: only J_regressor may legitimately be one
                if key != "J_regressor":
                    raise ValueError(f"{path.name}: key '{key}' is a pickled object, not an array") from None
    if "J_regressor" not in arrays:
        # Old files store a scipy.sparse matrix as a pickled object; only this key is unpickled
        # (a model file is trusted input, like any weights file).
        with _open_npz(path, allow_pickle=True) as z:
            obj = z["J_regressor"]
        obj = obj.item() if obj.dtype == object and obj.shape == () else obj
        if hasattr(obj, "toarray"):
            obj = obj.toarray()
        arrays["J_regressor"] = np.asarray(obj, dtype=np.float64)
    return arrays


def _check_shape(name: str, arr: np.ndarray, shape: tuple) -> None:
    """ValueError naming the key unless arr.shape matches shape (None = any size)."""
    if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"model key '{name}' has shape {arr.shape}, expected {want}")


class SmplxModel(nn.Module):
    """SMPL-X forward pass over buffers loaded from an SMPL-X-layout file.

    Hands take full 15 x 3 axis-angle poses with a flat mean (no PCA, no mean pose added). Move it
    with `.to(device)` like any module.
    """

    def __init__(self, arrays: dict[str, np.ndarray], options: SmplxOptions | None = None,
                 model_name: str = "smplx") -> None:
        """Build from the file's arrays (see `load_body_model` for the usual entry point).

        Args:
            arrays: key -> array of an SMPL-X `.npz` (reference section 1.1 layout).
            options: number of betas/expression coefficients and dtype.
            model_name: recorded in outputs: "open" for the bundled model, else the file name.
        Raises:
            ValueError: a key is missing or has a wrong shape, the file has too few shape or
                expression columns, the skeleton is not SMPL-X's 55 joints.
        """
        super().__init__()
        options = options or SmplxOptions()
        self.options, self.model_name = options, model_name
        for key in REQUIRED_KEYS:
            if key not in arrays:
                raise ValueError(f"model key '{key}' missing, not an SMPL-X-layout model file")
        a = {k: np.asarray(v) for k, v in arrays.items()}
        _check_shape("v_template", a["v_template"], (None, 3))
        V = a["v_template"].shape[0]
        _check_shape("kintree_table", a["kintree_table"], (2, None))
        if a["kintree_table"].shape[1] != NUM_JOINTS:
            raise ValueError(f"model key 'kintree_table' has {a['kintree_table'].shape[1]} joints, "
                             f"SMPL-X has {NUM_JOINTS}")
        # Row 0 holds parents, the root's is a sentinel (uint32 -1 = 4294967295) -> -1.
        parents = a["kintree_table"][0].astype(np.int64)
        parents[0] = -1
        if tuple(parents.tolist()) != PARENTS:
            raise ValueError("model key 'kintree_table' parents differ from the SMPL-X skeleton")
        if JOINT_NAMES_KEY in a and tuple(map(str, a[JOINT_NAMES_KEY].tolist())) != JOINT_NAMES:
            raise ValueError(f"model key '{JOINT_NAMES_KEY}' differs from the SMPL-X joint order")
        _check_shape("J_regressor", a["J_regressor"], (NUM_JOINTS, V))
        _check_shape("weights", a["weights"], (V, NUM_JOINTS))
        _check_shape("f", a["f"], (None, 3))
        faces = a["f"].astype(np.int64)
        if faces.size and (faces.min() < 0 or faces.max() >= V):
            raise ValueError(f"model key 'f' indexes vertices outside 0..{V - 1}")
        posedirs = a["posedirs"]
        if posedirs.ndim == 2 and posedirs.shape == (3 * V, NUM_POSEDIRS):   # (3V, 486) flat variant
            posedirs = posedirs.reshape(V, 3, NUM_POSEDIRS)
        _check_shape("posedirs", posedirs, (V, 3, NUM_POSEDIRS))
        shapedirs = a["shapedirs"]
        _check_shape("shapedirs", shapedirs, (V, 3, None))
        shapedirs = self._select_shape_columns(shapedirs, options)
        vertex_ids = self._k67_vertex_ids(a.get(K67_VERTEX_IDS_KEY), V)

        dt = options.dtype
        def buf(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x), dtype=dt)
        self.register_buffer("v_template", buf(a["v_template"]), persistent=False)        # (V, 3)
        self.register_buffer("shapedirs", buf(shapedirs), persistent=False)              # (V, 3, nb + ne)
        self.register_buffer("posedirs", buf(posedirs), persistent=False)                # (V, 3, 486)
        self.register_buffer("J_regressor", buf(a["J_regressor"]), persistent=False)     # (55, V)
        self.register_buffer("weights", buf(a["weights"]), persistent=False)             # (V, 55)
        self.register_buffer("faces", torch.as_tensor(faces), persistent=False)          # (F, 3) int64
        self.register_buffer("k67_vertex_ids", torch.as_tensor(vertex_ids), persistent=False)  # (67,)
        self.parents = PARENTS
        # K67 as one gather over cat([joints, vertices]): a joint id, or 55 + vertex id.
        gather = np.where(vertex_ids >= 0, NUM_JOINTS + vertex_ids, K67_JOINT_IDS)
        self.register_buffer("_k67_gather", torch.as_tensor(gather), persistent=False)

    @staticmethod
    def _select_shape_columns(shapedirs: np.ndarray, options: SmplxOptions) -> np.ndarray:
        """(V, 3, nb + ne): the first nb shape and first ne expression columns of the file.

        Files with >= 400 columns (SMPL-X v1.1) hold 300 shape then 100 expression columns, older
        ones 10 and 10 (smplx `SMPLX.__init__`); reproduce that so both loaders agree.
        """
        cols = shapedirs.shape[-1]
        if cols >= SHAPE_SPACE_DIM + EXPRESSION_SPACE_DIM:
            n_shape, e0, n_expr = SHAPE_SPACE_DIM, SHAPE_SPACE_DIM, EXPRESSION_SPACE_DIM
        else:
            n_shape = min(cols, OLD_SHAPE_SPACE_DIM)
            e0, n_expr = OLD_SHAPE_SPACE_DIM, max(0, min(cols - OLD_SHAPE_SPACE_DIM, OLD_SHAPE_SPACE_DIM))
        if options.num_betas > n_shape:
            raise ValueError(f"model key 'shapedirs' ({cols} columns) holds {n_shape} shape coefficients, "
                             f"num_betas={options.num_betas} asked")
        if options.num_expression > n_expr:
            raise ValueError(f"model key 'shapedirs' ({cols} columns) holds {n_expr} expression "
                             f"coefficients, num_expression={options.num_expression} asked")
        return np.concatenate([shapedirs[:, :, :options.num_betas],
                               shapedirs[:, :, e0:e0 + options.num_expression]], axis=2)

    @staticmethod
    def _k67_vertex_ids(from_file: np.ndarray | None, V: int) -> np.ndarray:
        """(67,) vertex id per K67 point, -1 where the K67 point is a skeleton joint."""
        if from_file is None:
            if V != SMPLX_NUM_VERTICES:
                raise ValueError(f"model has {V} vertices, not SMPL-X's {SMPLX_NUM_VERTICES}, and no "
                                 f"'{K67_VERTEX_IDS_KEY}' key to say where its K67 points are")
            return K67_SMPLX_VERTEX_IDS.copy()
        ids = np.asarray(from_file)
        if ids.shape != (NUM_K67,) or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"model key '{K67_VERTEX_IDS_KEY}' must be ({NUM_K67},) integers, "
                             f"got {ids.shape} {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.max() >= V or ids.min() < -1:
            raise ValueError(f"model key '{K67_VERTEX_IDS_KEY}' holds ids outside -1..{V - 1}")
        missing = [K67_NAMES[i] for i in np.flatnonzero((ids < 0) & (K67_JOINT_IDS < 0))]
        if missing:
            raise ValueError(f"model key '{K67_VERTEX_IDS_KEY}' is -1 for {missing[0]}, which has no "
                             "SMPL-X joint: it needs a vertex id")
        return ids

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]

    def forward(
        self,
        global_orient: torch.Tensor | None = None,
        body_pose: torch.Tensor | None = None,
        left_hand_pose: torch.Tensor | None = None,
        right_hand_pose: torch.Tensor | None = None,
        jaw_pose: torch.Tensor | None = None,
        leye_pose: torch.Tensor | None = None,
        reye_pose: torch.Tensor | None = None,
        betas: torch.Tensor | None = None,
        expression: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
    ) -> SmplxOutput:
        """Pose and shape the body. Every argument is optional (zeros), all given ones share batch B.

        Args:
            global_orient: (B, 3) root rotation, axis-angle in radians, pivoting about the rest pelvis.
            body_pose: (B, 21, 3) (or (B, 63)) joints 1..21, axis-angle relative to the parent.
            left_hand_pose, right_hand_pose: (B, 15, 3) (or (B, 45)) finger joints, full axis-angle,
                flat mean (zero = flat hand).
            jaw_pose, leye_pose, reye_pose: (B, 3) joints 22, 23, 24.
            betas: (B, num_betas) shape coefficients.
            expression: (B, num_expression) expression coefficients.
            transl: (B, 3) translation in metres, added after posing.
        Returns:
            SmplxOutput with vertices (B, V, 3), joints (B, 55, 3), k67 (B, 67, 3), metres.
        Raises:
            ValueError: an argument has the wrong shape or the batch sizes differ.
        """
        given = dict(global_orient=global_orient, body_pose=body_pose, left_hand_pose=left_hand_pose,
                     right_hand_pose=right_hand_pose, jaw_pose=jaw_pose, leye_pose=leye_pose,
                     reye_pose=reye_pose, betas=betas, expression=expression, transl=transl)
        batches = {k: v.shape[0] for k, v in given.items() if v is not None and v.ndim > 0}
        if len(set(batches.values())) > 1:
            raise ValueError(f"batch sizes differ: {batches}")
        B = next(iter(batches.values()), 1)
        dt, dev = self.v_template.dtype, self.v_template.device

        def arg(name: str, shape: tuple[int, ...]) -> torch.Tensor:
            x = given[name]
            if x is None:
                return torch.zeros(B, *shape, dtype=dt, device=dev)
            x = torch.as_tensor(x, dtype=dt, device=dev)
            if tuple(x.shape[1:]) == shape or (len(shape) == 2 and tuple(x.shape[1:]) == (shape[0] * 3,)):
                return x.reshape(B, *shape)
            want = ", ".join(map(str, shape))
            raise ValueError(f"{name} must be (B, {want}), got {tuple(x.shape)}")

        pose = torch.cat([arg(name, (n, 3) if name.endswith(("body_pose", "hand_pose")) else (3,))
                          .reshape(B, n, 3) for name, _, n in POSE_SLOTS], 1)     # (B, 55, 3)
        coeffs = torch.cat([arg("betas", (self.options.num_betas,)),
                            arg("expression", (self.options.num_expression,))], 1)  # (B, nb + ne)
        t = arg("transl", (3,))

        v_shaped = self.v_template + lbs.blend_shapes(coeffs, self.shapedirs)       # (B, V, 3)
        joints_rest = lbs.regress_joints(self.J_regressor, v_shaped)                # (B, 55, 3)
        rotmats = lbs.axis_angle_to_rotmat(pose)                                    # (B, 55, 3, 3)
        v_posed = v_shaped + lbs.pose_blend_offsets(rotmats, self.posedirs)
        joints, transforms = lbs.forward_kinematics(rotmats, joints_rest, self.parents)
        vertices = lbs.linear_blend_skinning(v_posed, self.weights, transforms)
        joints, vertices = joints + t[:, None], vertices + t[:, None]
        k67 = torch.cat([joints, vertices], 1)[:, self._k67_gather]                 # (B, 67, 3)
        return SmplxOutput(vertices=vertices, joints=joints, k67=k67)


def resolve_model_path(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Which model file to load and its recorded name.

    Order: `path`; else the environment variable MOCAP_SMPLX_MODEL; else the bundled open default.
    A folder means `{folder}/SMPLX_NEUTRAL.npz` or `{folder}/smplx/SMPLX_NEUTRAL.npz`.

    Returns:
        (file path, model_name): "open" for the bundled model, else the file name.
    Raises:
        FileNotFoundError: the named file does not exist, or no path was given and the open
            default is not installed.
    """
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        if not DEFAULT_MODEL_PATH.is_file():
            raise FileNotFoundError(
                f"the open default body model {DEFAULT_MODEL_PATH} is not installed; point at an "
                f"official SMPL-X file with --smplx-model PATH or {ENV_VAR}=/path/to/SMPLX_NEUTRAL.npz")
        return DEFAULT_MODEL_PATH, OPEN_MODEL_NAME
    p = Path(path).expanduser()
    if p.is_dir():
        for cand in (p / "SMPLX_NEUTRAL.npz", p / "smplx" / "SMPLX_NEUTRAL.npz"):
            if cand.is_file():
                p = cand
                break
        else:
            raise FileNotFoundError(f"no SMPLX_NEUTRAL.npz in folder {p} (nor in {p / 'smplx'})")
    if not p.is_file():
        raise FileNotFoundError(f"body model file {p} not found (an SMPL-X .npz is expected)")
    name = OPEN_MODEL_NAME if p.resolve() == DEFAULT_MODEL_PATH else p.name
    return p, name


def load_body_model(path: str | os.PathLike | None = None,
                    options: SmplxOptions | None = None) -> SmplxModel:
    """Load an SMPL-X-layout `.npz` (see `resolve_model_path` for which file) into a SmplxModel.

    Raises:
        FileNotFoundError: no such file, or no model installed and none named.
        ValueError: not an SMPL-X-layout `.npz` (the message names the missing or wrong key).
    """
    p, name = resolve_model_path(path)
    if p.suffix.lower() != ".npz":
        raise ValueError(f"{p.name}: only the SMPL-X .npz layout is read (convert a .pkl with numpy.savez)")
    return SmplxModel(_read_arrays(p), options, model_name=name)
