"""Bake the open default body model: Anny (PyPI `anny` 0.6.2) into the SMPL-X `.npz` file layout.

Development-time only; needs the `bake` extra (anny==0.6.2) and runs on the CPU in a few minutes:

    python export/bake_anny.py --out models/body/data/open_smplx.npz

What it does (the recipe of reference/smplx-and-nets.md 2.4, own code):
  1. `anny.Anny(rig="soma")`, default "anny" topology (13,718 vertices). With identity pose the
     soma rig gives a T-pose, Y up, +Z forward, the person's left at +X, Hips at the origin:
     the SMPL-X canonical frame (metres).
  2. Seeded adult phenotype samples (anny's WHO-calibrated SimpleShapeDistribution, 18-80 y).
  3. v_template = their mean T-pose mesh; shapedirs = PCA, scaled so that betas ~ N(0, 1).
  4. J_regressor: per SMPL-X joint, a non-negative, sum-to-one blend of the template vertices
     nearest that joint, fitted to the mapped SOMA joints over many shapes.
  5. weights: Anny's SOMA skinning weights, each SOMA bone added into the SMPL-X joint of its
     nearest mapped ancestor; the eyeballs (separate mesh parts) go to the eye joints.
  6. posedirs and expression dirs zero (Anny has no pose correctives); hands: identity PCA basis,
     zero mean (no open MANO prior); no face landmarks.
  7. k67_vertex_ids: the K67 points that are vertices on SMPL-X (nose, eyes, ears, toes, heels,
     fingertips), re-chosen on this mesh.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger("bake_anny")

# SMPL-X joints 0-54 (smplx/joint_names.py JOINT_NAMES[:55]) and their parents (kintree_table row
# 0); reference/smplx-and-nets.md 1.2.
SMPLX_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
) + tuple(
    f"{side}_{finger}{k}"
    for side in ("left", "right")
    for finger in ("index", "middle", "pinky", "ring", "thumb")
    for k in (1, 2, 3)
)
SMPLX_PARENTS = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)
NUM_JOINTS = 55

# SMPL-X joint -> SOMA bone of Anny's rig="soma" (reference 1.2, verified there: the nearest mapped
# SOMA ancestor of every joint is its SMPL-X parent). SOMA Index1/Middle1/... are carpo-metacarpal
# bases near the wrist, so SMPL-X index1..3 are SOMA Index2..4; the thumb has no such base.
_BODY_SOMA = (
    "Hips", "LeftLeg", "RightLeg", "Spine1", "LeftShin", "RightShin", "Spine2", "LeftFoot",
    "RightFoot", "Chest", "LeftToeBase", "RightToeBase", "Neck1", "LeftShoulder",
    "RightShoulder", "Head", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand",
    "RightHand", "Jaw", "LeftEye", "RightEye",
)
SOMA_OF_SMPLX = _BODY_SOMA + tuple(
    f"{side}Hand{finger}{k + (finger != 'Thumb')}"
    for side in ("Left", "Right")
    for finger in ("Index", "Middle", "Pinky", "Ring", "Thumb")
    for k in (1, 2, 3)
)
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")  # K67 / MediaPipe hand order

# Fixed sizes of the SMPL-X layout (reference 1.1, 1.5 #2): 400 shape columns so that smplx exposes
# more than 10 betas; expression in columns 300..399.
SHAPE_COLUMNS = 400
EXPRESSION_START = 300

SEED = 0
NUM_PCA_SAMPLES = 1000
NUM_REGRESSOR_SAMPLES = 400
NUM_HELD_OUT = 100
NUM_NEIGHBOURS = 256          # template vertices a joint regressor row may use (reference 2.4.6)
SUM_TO_ONE_WEIGHT = 1e3


# ----------------------------------------------------------------------------- Anny side

def build_anny():
    """Anny with the SOMA rig, default topology, float64 (reference 2.4 step 1)."""
    import anny  # the `bake` extra; imported here so that --help works without it

    return anny.Anny(rig="soma").to(dtype=torch.float64)


def soma_indices(model) -> np.ndarray:
    """(55,) index of each SMPL-X joint's SOMA bone in the Anny rig."""
    labels = list(model.bone_labels)
    return np.array([labels.index(name) for name in SOMA_OF_SMPLX])


def nearest_mapped_joint(model, soma_idx: np.ndarray) -> np.ndarray:
    """(78,) SMPL-X joint that each SOMA bone folds into: the joint of its nearest mapped ancestor.

    Root (no mapped ancestor) folds into the pelvis.
    """
    joint_of_bone = {int(b): j for j, b in enumerate(soma_idx)}
    out = np.zeros(len(model.bone_labels), dtype=np.int64)
    for bone in range(len(model.bone_labels)):
        b = bone
        while b >= 0 and b not in joint_of_bone:
            b = model.bone_parents[b]
        out[bone] = joint_of_bone[b] if b >= 0 else 0
    return out


def check_parents(model, soma_idx: np.ndarray) -> None:
    """Raise if the SOMA hierarchy, folded onto the 55 joints, is not SMPL-X's kintree."""
    fold = nearest_mapped_joint(model, soma_idx)
    for j, bone in enumerate(soma_idx):
        parent_bone = model.bone_parents[int(bone)]
        got = -1 if j == 0 else int(fold[parent_bone])
        if got != SMPLX_PARENTS[j]:
            raise RuntimeError(f"joint {SMPLX_JOINT_NAMES[j]}: SOMA parent maps to {got}, "
                               f"SMPL-X parent is {SMPLX_PARENTS[j]}")


def sample_phenotypes(model, n: int, seed: int) -> dict[str, torch.Tensor]:
    """n adult phenotypes from anny's WHO-calibrated sampler (ages 18-80), seeded."""
    from anny.shape_distribution import SimpleShapeDistribution

    torch.manual_seed(seed)   # the sampler draws from torch's global generator
    ages = torch.distributions.Uniform(torch.tensor(18.0, dtype=torch.float64),
                                       torch.tensor(80.0, dtype=torch.float64))
    dist = SimpleShapeDistribution(model, morphological_age_distribution=ages)
    _, phenotypes = dist.sample(n)   # (morphological ages, {label: (n,)})
    return phenotypes


@torch.no_grad()
def tpose_meshes(model, phenotypes: dict, soma_idx: np.ndarray, chunk: int = 100):
    """T-pose vertices (N, V, 3) and the 55 mapped joint positions (N, 55, 3), float64, metres.

    Identity pose with the soma rig is the SOMA T-pose in the SMPL-X frame (reference 2.1).
    """
    n = len(next(iter(phenotypes.values())))
    verts, joints = [], []
    for s in range(0, n, chunk):
        out = model(phenotype_kwargs={k: v[s:s + chunk] for k, v in phenotypes.items()})
        verts.append(out["vertices"].numpy())
        joints.append(out["bone_poses"][:, soma_idx, :3, 3].numpy())
    return np.concatenate(verts), np.concatenate(joints)


def vertex_components(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """(V,) connected-component label (smallest vertex id in the component) of each vertex."""
    label = np.arange(num_vertices)
    while True:
        old = label.copy()
        face_min = label[faces].min(axis=1)
        for k in range(faces.shape[1]):
            np.minimum.at(label, faces[:, k], face_min)
        label = label[label]
        if np.array_equal(label, old):
            return label


# ----------------------------------------------------------------------------- SMPL-X arrays

def pca_shapedirs(verts: np.ndarray, num_betas: int):
    """Mean mesh (V, 3) and shape directions (V, 3, K) with betas ~ N(0, 1) over the samples.

    shapedirs[..., k] = sigma_k u_k, u_k the unit principal direction, sigma_k = s_k / sqrt(N - 1).
    Returns (v_template, shapedirs, explained-variance ratios).
    """
    n, v, _ = verts.shape
    mean = verts.mean(axis=0)
    centred = (verts - mean).reshape(n, -1)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    sigma = s[:num_betas] / np.sqrt(n - 1)
    dirs = (vt[:num_betas] * sigma[:, None]).T.reshape(v, 3, num_betas)
    # SVD signs are arbitrary; fix them: beta_0 > 0 is taller (PC1 is stature, reference 2.5 #2),
    # and for k >= 1 the direction's largest-magnitude coordinate is positive.
    flat = dirs.reshape(-1, num_betas)
    signs = np.sign(flat[np.abs(flat).argmax(axis=0), np.arange(num_betas)])
    signs[0] = np.sign(np.sum((mean[:, 1] - mean[:, 1].mean()) * dirs[:, 1, 0]))
    return mean, dirs * signs, (s ** 2) / (s ** 2).sum()


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares, min ||a x - b|| s.t. x >= 0 (Lawson & Hanson 1974, ch. 23)."""
    m, n = a.shape
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    tol = 10 * np.finfo(float).eps * np.abs(a).sum(axis=0).max() * max(m, n)
    w = a.T @ (b - a @ x)
    for _ in range(3 * n):
        if passive.all() or w[~passive].max() <= tol:
            break
        passive[np.argmax(np.where(passive, -np.inf, w))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > tol).all():
                break
            bad = passive & (z <= tol)
            alpha = np.min(x[bad] / (x[bad] - z[bad]))
            x = x + alpha * (z - x)
            passive &= x > tol
            x[~passive] = 0.0
        x = z
        w = a.T @ (b - a @ x)
    return x


def fit_joint_regressor(verts: np.ndarray, joints: np.ndarray, template: np.ndarray,
                        joint_template: np.ndarray) -> np.ndarray:
    """(55, V) non-negative J_regressor with rows summing to 1 (reference 2.4 step 6).

    Per joint: NNLS over the NUM_NEIGHBOURS template vertices nearest the joint, stacking x, y, z of
    every sample shape, plus a heavily weighted sum-to-one row. 256 neighbours, because the spine
    joints lie deep inside the torso (64 gave 10 cm errors there, reference 2.4.6).
    """
    n, v, _ = verts.shape
    reg = np.zeros((NUM_JOINTS, v))
    for j in range(NUM_JOINTS):
        near = np.argsort(np.linalg.norm(template - joint_template[j], axis=1))[:NUM_NEIGHBOURS]
        a = verts[:, near, :].transpose(0, 2, 1).reshape(n * 3, NUM_NEIGHBOURS)  # (3N, K)
        b = joints[:, j, :].reshape(n * 3)
        a = np.vstack([a, np.full((1, NUM_NEIGHBOURS), SUM_TO_ONE_WEIGHT)])
        b = np.append(b, SUM_TO_ONE_WEIGHT)
        reg[j, near] = nnls(a, b)
    return reg / reg.sum(axis=1, keepdims=True)


def collapse_weights(model, soma_idx: np.ndarray, eye_vertices: dict[int, np.ndarray]):
    """(V, 55) skinning weights: each SOMA bone's column added into its nearest mapped joint.

    The SOMA eye bones carry no weight on the Anny mesh (reference 2.2), so the eyeballs (given
    per SMPL-X eye joint as vertex ids) are bound rigidly to joints 23/24.
    """
    idx = model.vertex_bone_indices.cpu()
    w = model.vertex_bone_weights.cpu().to(torch.float64)
    v = idx.shape[0]
    dense = torch.zeros(v, len(model.bone_labels), dtype=torch.float64).scatter_add_(1, idx, w)
    fold = torch.from_numpy(nearest_mapped_joint(model, soma_idx))
    out = torch.zeros(v, NUM_JOINTS, dtype=torch.float64).index_add_(1, fold, dense).numpy()
    for joint, ids in eye_vertices.items():
        out[ids] = 0.0
        out[ids, joint] = 1.0
    return out / out.sum(axis=1, keepdims=True)


def eye_vertex_ids(faces: np.ndarray, template: np.ndarray, joints: np.ndarray):
    """{23: ids, 24: ids}: the mesh component (an eyeball) whose centre lies nearest each eye joint."""
    label = vertex_components(faces, len(template))
    comps = np.unique(label)
    centres = np.array([template[label == c].mean(axis=0) for c in comps])
    out = {}
    for joint in (23, 24):
        c = comps[np.argmin(np.linalg.norm(centres - joints[joint], axis=1))]
        ids = np.flatnonzero(label == c)
        if len(ids) > 500:
            raise RuntimeError(f"eye joint {joint}: nearest component has {len(ids)} vertices")
        out[joint] = ids
    return out, label


# ----------------------------------------------------------------------------- K67 vertex ids

# K67 slots that SMPL-X takes from vertices (DESIGN 4; smplx/vertex_ids.py) <- anny COCO-23 labels.
K67_FROM_COCO = {
    0: "nose", 15: "right_eye", 16: "left_eye", 17: "right_ear", 18: "left_ear",
    19: "left_big_toe", 20: "left_small_toe", 21: "left_heel",
    22: "right_big_toe", 23: "right_small_toe", 24: "right_heel",
}
K67_LEFT_HAND, K67_RIGHT_HAND = 25, 46
HAND_TIP_SLOTS = {"Thumb": 4, "Index": 8, "Middle": 12, "Ring": 16, "Pinky": 20}


def coco_vertex_ids(model, template: np.ndarray, candidates: np.ndarray) -> dict[int, int]:
    """K67 slot -> the candidate vertex nearest anny's COCO keypoint regressed on the template."""
    import anny

    reg = anny.KeypointsRegressor.coco(model, labels=list(K67_FROM_COCO.values()))
    with torch.no_grad():
        pts = reg({"vertices": torch.from_numpy(template)[None]})[0].numpy()
    out = {}
    for (slot, _), p in zip(K67_FROM_COCO.items(), pts):
        out[slot] = int(candidates[np.argmin(np.linalg.norm(template[candidates] - p, axis=1))])
    return out


def fingertip_vertex_ids(model, template: np.ndarray, weights: np.ndarray) -> dict[int, int]:
    """K67 slot -> fingertip vertex: the vertex skinned mostly to a finger's distal joint that lies
    farthest along that distal bone (from the SMPL-X distal joint toward SOMA's *End bone)."""
    labels = list(model.bone_labels)
    with torch.no_grad():
        heads = model()["bone_poses"][0, :, :3, 3].numpy()   # default phenotype, T-pose
    dominant = weights.argmax(axis=1)
    out = {}
    for side, base in (("Left", K67_LEFT_HAND), ("Right", K67_RIGHT_HAND)):
        for finger, slot in HAND_TIP_SLOTS.items():
            distal = SOMA_OF_SMPLX.index(f"{side}Hand{finger}{3 + (finger != 'Thumb')}")
            axis = heads[labels.index(f"{side}Hand{finger}End")] - heads[labels.index(SOMA_OF_SMPLX[distal])]
            ids = np.flatnonzero(dominant == distal)
            along = (template[ids] - template[ids].mean(axis=0)) @ (axis / np.linalg.norm(axis))
            out[base + slot] = int(ids[np.argmax(along)])
    return out


def k67_vertex_ids(model, template, weights, components) -> np.ndarray:
    """(67,) int64 vertex id per K67 slot, -1 where K67 uses a skeleton joint."""
    comps, sizes = np.unique(components, return_counts=True)
    body = comps[np.argmax(sizes)]   # the skin; the other parts are the tongue and eyeballs
    eyes = np.flatnonzero(weights[:, 23] + weights[:, 24] > 0.5)
    candidates = np.concatenate([np.flatnonzero(components == body), eyes])
    ids = np.full(67, -1, dtype=np.int64)
    for slot, vid in {**coco_vertex_ids(model, template, candidates),
                      **fingertip_vertex_ids(model, template, weights)}.items():
        ids[slot] = vid
    return ids


# ----------------------------------------------------------------------------- file

def assemble(v_template, shapedirs, j_regressor, weights, faces, k67_ids) -> dict[str, np.ndarray]:
    """The SMPL-X `.npz` dict (reference 1.1 keys; dtypes as the smplx package reads them)."""
    v, num_betas = v_template.shape[0], shapedirs.shape[-1]
    full_dirs = np.zeros((v, 3, SHAPE_COLUMNS), dtype=np.float32)
    full_dirs[:, :, :num_betas] = shapedirs
    kintree = np.stack([np.array(SMPLX_PARENTS, dtype=np.int64), np.arange(NUM_JOINTS)])
    kintree[0, 0] = 4294967295   # uint32 -1, as in the official files; smplx overwrites it
    eye45 = np.eye(45, dtype=np.float32)
    return {
        "v_template": v_template.astype(np.float32),
        "f": faces.astype(np.int32),
        "shapedirs": full_dirs,
        "posedirs": np.zeros((v, 3, (NUM_JOINTS - 1) * 9), dtype=np.float32),
        "J_regressor": j_regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": kintree,
        "hands_componentsl": eye45, "hands_componentsr": eye45.copy(),
        "hands_meanl": np.zeros(45, np.float32), "hands_meanr": np.zeros(45, np.float32),
        "lmk_faces_idx": np.zeros(0, np.int64), "lmk_bary_coords": np.zeros((0, 3), np.float32),
        "dynamic_lmk_faces_idx": np.zeros((79, 0), np.int64),
        "dynamic_lmk_bary_coords": np.zeros((79, 0, 3), np.float32),
        "k67_vertex_ids": k67_ids.astype(np.int64),
        "joint_names": np.array(SMPLX_JOINT_NAMES),
        "model_name": np.array("open"),
    }


def quantize(x: np.ndarray, step: float = 2.0 ** -20) -> np.ndarray:
    """Round to float32 multiples of a power-of-two `step` (metres; 2^-20 m ~ 1 micrometre).

    The low mantissa bits become zero, so the compressed npz shrinks; the change is far below
    anything the model can resolve.
    """
    return (np.round(np.asarray(x, dtype=np.float64) / step) * step).astype(np.float32)


# ----------------------------------------------------------------------------- main

def bake(out: Path, num_betas: int) -> dict[str, np.ndarray]:
    """Run the whole bake, log the checks, write `out` (compressed npz) and return its arrays."""
    model = build_anny()
    sidx = soma_indices(model)
    check_parents(model, sidx)
    log.info("anny: %d vertices, %d faces, %d SOMA bones; SMPL-X kintree check passed",
             model.template_vertices.shape[0], model.faces.shape[0], len(model.bone_labels))

    n_all = NUM_PCA_SAMPLES + NUM_HELD_OUT
    verts, joints = tpose_meshes(model, sample_phenotypes(model, n_all, SEED), sidx)
    train_v, test_v = verts[:NUM_PCA_SAMPLES], verts[NUM_PCA_SAMPLES:]
    heights = verts[..., 1].max(axis=1) - verts[..., 1].min(axis=1)
    log.info("%d adult samples (seed %d): height %.3f +- %.3f m, range %.2f-%.2f",
             n_all, SEED, heights.mean(), heights.std(), heights.min(), heights.max())

    template, dirs, ratio = pca_shapedirs(train_v, num_betas)
    recon = template + np.einsum("vdk,nk->nvd", dirs, np.einsum(
        "nvd,vdk->nk", test_v - template, dirs) / np.einsum("vdk,vdk->k", dirs, dirs))
    err = np.linalg.norm(recon - test_v, axis=-1) * 1e3
    log.info("PCA: %d betas keep %.5f of the variance; held-out mesh error mean %.2f mm, max %.1f mm",
             num_betas, ratio[:num_betas].sum(), err.mean(), err.max())

    faces = model.faces.cpu().numpy()
    joint_template = joints[:NUM_PCA_SAMPLES].mean(axis=0)
    reg = fit_joint_regressor(train_v[:NUM_REGRESSOR_SAMPLES], joints[:NUM_REGRESSOR_SAMPLES],
                              template, joint_template)
    jerr = np.linalg.norm(np.einsum("jv,nvd->njd", reg, test_v) - joints[NUM_PCA_SAMPLES:], axis=-1) * 1e3
    log.info("J_regressor: %d non-zeros/row on average, held-out joint error mean %.2f mm, "
             "p99 %.1f mm, max %.1f mm (%s)", (reg > 0).sum(1).mean(), jerr.mean(),
             np.percentile(jerr, 99), jerr.max(), SMPLX_JOINT_NAMES[jerr.max(0).argmax()])

    eyes, components = eye_vertex_ids(faces, template, joint_template)
    weights = collapse_weights(model, sidx, eyes)
    log.info("weights: up to %d influences per vertex, eyeballs %d + %d vertices",
             (weights > 0).sum(1).max(), len(eyes[23]), len(eyes[24]))

    k67 = k67_vertex_ids(model, template, weights, components)
    log.info("k67_vertex_ids: %s", {i: int(v) for i, v in enumerate(k67) if v >= 0})

    arrays = assemble(quantize(template), quantize(dirs), reg, weights, faces, k67)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    log.info("wrote %s (%.2f MB)", out, out.stat().st_size / 1e6)
    return arrays


def main(argv: list[str] | None = None) -> None:
    """Command line: `python export/bake_anny.py --out models/body/data/open_smplx.npz`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/body/data/open_smplx.npz"))
    parser.add_argument("--num-betas", type=int, default=16, help="PCA shape components (>= 10)")
    args = parser.parse_args(argv)
    if not 10 <= args.num_betas <= EXPRESSION_START:
        parser.error(f"--num-betas must be in 10..{EXPRESSION_START}, got {args.num_betas}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bake(args.out, args.num_betas)


if __name__ == "__main__":
    main()
