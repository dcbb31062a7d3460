"""MMPose SimCC landmark nets (models/frontend/mmpose.py): known answers, misuse, and image -> keypoints.

No real RTMPose weights can be fetched here, so the end-to-end tests build small ONNX models with the
signature of real exports (input `input` [1, 3, H, W] normalised RGB; outputs `simcc_x` [1, K, 2W],
`simcc_y` [1, K, 2H]) whose outputs are computed from the input image: the test image holds one blob per
keypoint (R = a paraboloid bump, G = the keypoint's code k + 1 on a wider disc, B = 0); the net undoes the
RTMPose normalisation, keeps for keypoint k the R values where G == k + 1, and outputs the column and row
sums of that mask, upsampled x2 to SimCC bins. So the whole chain (box padding, aspect fix, warp,
channel order, mean/std, decode, inverse warp) must put every keypoint back on its blob.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mocap.engines.base import EngineError
from mocap.engines.onnxruntime import OrtConfig, OrtEngine
from mocap.models.frontend.mmpose import (
    RTMPOSE_MEAN_RGB,
    RTMPOSE_STD_RGB,
    MMPoseBodyLandmarker,
    MMPoseOptions,
    apply_affine,
    bbox_from_keypoints,
    bbox_xyxy_to_cs,
    coco_to_k67_parts,
    decode_simcc,
    fix_aspect_ratio,
    get_warp_matrix,
    input_to_image,
    invert_affine,
    simcc_scores_to_confidence,
)
from mocap.models.frontend.detection import Detections
from mocap.models.frontend.mmpose_stage import MMPoseBodyStage
from mocap.models.keypoints import Body25

# The synthetic net's argmax lands on a whole input pixel, so each coordinate is found to within half an
# input pixel plus blob-quantisation noise; this margin is per axis, in input pixels, and is converted to
# image pixels by the crop's scale in each test.
_LOC_MARGIN_INPUT_PX = 0.6
_BLOB_RADIUS_PX = 4.5  # R bump radius, image pixels
_CODE_MARGIN_PX = 3.0  # the G code disc reaches this much further, so bilinear edges never mix codes


# ----------------------------------------------------------------------------- synthetic models


def _const(name: str, arr) -> onnx.TensorProto:
    arr = np.asarray(arr)
    dtype = TensorProto.INT64 if arr.dtype.kind == "i" else TensorProto.FLOAT
    values = arr.astype(np.int64 if dtype == TensorProto.INT64 else np.float32).ravel()
    return helper.make_tensor(name, dtype, arr.shape, values)


def _blob_net(
    path, input_hw, num_kpts, batch="1", out_names=("simcc_x", "simcc_y"), gain=1.0, swap_outputs=False
):
    """Write an ONNX model with a real export's I/O that finds the test image's blobs (module docstring)."""
    h, w = input_hw
    bdim = 1 if batch == "1" else batch
    mean = np.asarray(RTMPOSE_MEAN_RGB, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(RTMPOSE_STD_RGB, np.float32).reshape(1, 3, 1, 1)
    codes = (np.arange(num_kpts, dtype=np.float32) + 1).reshape(1, num_kpts, 1, 1)
    inits = [
        _const("std", std), _const("mean", mean), _const("codes", codes), _const("one", np.float32(1.0)),
        _const("two", np.float32(2.0)), _const("r_gain", np.float32(gain / 255.0)),
        _const("split", np.array([1, 1, 1], np.int64)), _const("ax2", np.array([2], np.int64)),
        _const("ax3", np.array([3], np.int64)), _const("sx", np.array([1, 1, 1, 2], np.float32)),
        _const("sy", np.array([1, 1, 2, 1], np.float32)),
        _const("shape_x", np.array([0, num_kpts, 2 * w], np.int64)),
        _const("shape_y", np.array([0, num_kpts, 2 * h], np.int64)),
    ]
    resize = dict(mode="linear", coordinate_transformation_mode="asymmetric")
    nodes = [
        helper.make_node("Mul", ["input", "std"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mean"], ["raw"]),  # back to 0..255 RGB
        helper.make_node("Split", ["raw", "split"], ["R", "G", "B"], axis=1),
        helper.make_node("Sub", ["G", "codes"], ["dcode"]),  # (1, K, H, W)
        helper.make_node("Abs", ["dcode"], ["adcode"]),
        helper.make_node("Mul", ["adcode", "two"], ["adcode2"]),
        helper.make_node("Sub", ["one", "adcode2"], ["match_lin"]),
        helper.make_node("Relu", ["match_lin"], ["match"]),  # 1 where G == k + 1, 0 one code away
        helper.make_node("Mul", ["R", "r_gain"], ["r01"]),
        helper.make_node("Mul", ["match", "r01"], ["mask"]),  # (1, K, H, W)
        helper.make_node("ReduceSum", ["mask", "ax2"], ["col"], keepdims=1),  # (1, K, 1, W)
        helper.make_node("ReduceSum", ["mask", "ax3"], ["row"], keepdims=1),  # (1, K, H, 1)
        helper.make_node("Resize", ["col", "", "sx"], ["col2"], **resize),  # (1, K, 1, 2W)
        helper.make_node("Resize", ["row", "", "sy"], ["row2"], **resize),  # (1, K, 2H, 1)
        helper.make_node("Reshape", ["col2", "shape_x"], [out_names[0]]),
        helper.make_node("Reshape", ["row2", "shape_y"], [out_names[1]]),
    ]
    outputs = [
        helper.make_tensor_value_info(out_names[0], TensorProto.FLOAT, [bdim, num_kpts, 2 * w]),
        helper.make_tensor_value_info(out_names[1], TensorProto.FLOAT, [bdim, num_kpts, 2 * h]),
    ]
    if swap_outputs:  # an exporter may list y first; the landmarker must tell them apart by length
        outputs = outputs[::-1]
    graph = helper.make_graph(
        nodes, "blob_simcc",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [bdim, 3, h, w])], outputs, inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _signature_net(path, in_shape, out_specs):
    """A model that only has a signature (outputs are constants): for the shape checks."""
    nodes, outputs = [], []
    for name, shape in out_specs:
        concrete = [d if isinstance(d, int) else 1 for d in shape]
        value = _const(name + "_v", np.zeros(concrete, np.float32))
        nodes.append(helper.make_node("Constant", [], [name], value=value))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
    graph_input = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))
    graph = helper.make_graph(nodes, "sig", [graph_input], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _draw_blobs(image_hw, points_xy, skip=(), radius=_BLOB_RADIUS_PX):
    """(H, W, 3) uint8 RGB image with keypoint k's blob centred at points_xy[k] (image pixels)."""
    img = np.zeros((*image_hw, 3), np.uint8)
    ys, xs = np.mgrid[0 : image_hw[0], 0 : image_hw[1]].astype(np.float32)
    for k, (x, y) in enumerate(points_xy):
        if k in skip:
            continue
        d2 = (xs - x) ** 2 + (ys - y) ** 2
        code = d2 < (radius + _CODE_MARGIN_PX) ** 2
        bump = d2 < radius**2
        img[code, 1] = k + 1
        img[bump, 0] = np.round(255.0 * (1.0 - d2[bump] / radius**2)).astype(np.uint8)
    return img


def _grid_points(num, x_range, y_range, cols, seed):
    """num blob centres on a grid with sub-pixel jitter, image pixels (num, 2)."""
    rng = np.random.default_rng(seed)
    rows = -(-num // cols)
    gx = np.linspace(*x_range, cols)
    gy = np.linspace(*y_range, rows)
    pts = np.array([(x, y) for y in gy for x in gx][:num], np.float32)
    return pts + rng.uniform(-0.5, 0.5, pts.shape).astype(np.float32)


def _crop_scale(box, input_hw, padding=1.25):
    """Input pixels per image pixel of the landmarker's crop for this box."""
    _, scale = bbox_xyxy_to_cs(np.asarray(box, np.float32), padding)
    scale = fix_aspect_ratio(scale, input_hw[1] / input_hw[0])
    return input_hw[1] / scale[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mmpose models with spaces")


@pytest.fixture(scope="module")
def rtmpose_17(model_dir):
    """RTMPose-like: 256x192 input, COCO 17, static batch 1 (mmdeploy static export)."""
    path = _blob_net(model_dir / "rtmpose m 17.onnx", (256, 192), 17, gain=0.1)
    return MMPoseBodyLandmarker(OrtEngine(path, OrtConfig(threads=1)))


@pytest.fixture(scope="module")
def rtmw_133(model_dir):
    """RTMW-like: 384x288 input, COCO-WholeBody 133, dynamic batch (mmdeploy simcc dynamic config)."""
    path = _blob_net(model_dir / "rtmw x 133.onnx", (384, 288), 133, batch="batch", gain=0.1)
    return MMPoseBodyLandmarker(OrtEngine(path, OrtConfig(threads=1)))


# ----------------------------------------------------------------------------- end to end


def test_reads_signature_from_model(rtmpose_17, rtmw_133):
    assert (rtmpose_17.input_hw, rtmpose_17.num_keypoints) == ((256, 192), 17)
    assert (rtmw_133.input_hw, rtmw_133.num_keypoints) == ((384, 288), 133)


def test_rtmpose_17_finds_blobs(rtmpose_17):
    box = (250.0, 100.0, 400.0, 300.0)  # 150 x 200: the padded box already has the input's 0.75 aspect
    pts = _grid_points(17, (265, 385), (115, 285), cols=4, seed=0)
    missing = 5
    img = _draw_blobs((480, 640), pts, skip={missing})
    kpts = rtmpose_17(img, box)  # (17, 3)
    assert kpts.shape == (17, 3) and kpts.dtype == np.float32
    present = np.arange(17) != missing
    tol = _LOC_MARGIN_INPUT_PX / _crop_scale(box, (256, 192))
    err = np.abs(kpts[present, :2] - pts[present]).max(axis=1)
    assert err.max() <= tol, f"max error {err.max():.2f} px > {tol:.2f} px"
    # The net's gain puts a full blob's SimCC maximum near 0.6: confidences are the raw scores.
    assert ((kpts[present, 2] > 0.3) & (kpts[present, 2] < 0.95)).all()
    assert kpts[missing, 2] == 0.0  # no blob: SimCC maxima 0 -> MMPose location -1, confidence 0


def test_rtmw_133_finds_blobs(rtmw_133):
    box = (200.0, 80.0, 440.0, 400.0)  # 240 x 320
    pts = _grid_points(133, (210, 430), (90, 390), cols=12, seed=1)
    missing = 100
    img = _draw_blobs((480, 640), pts, skip={missing})
    kpts = rtmw_133(img, box)  # (133, 3)
    present = np.arange(133) != missing
    tol = _LOC_MARGIN_INPUT_PX / _crop_scale(box, (384, 288))
    err = np.abs(kpts[present, :2] - pts[present]).max(axis=1)
    assert err.max() <= tol, f"max error {err.max():.2f} px > {tol:.2f} px (keypoint {err.argmax()})"
    assert ((kpts[present, 2] > 0.3) & (kpts[present, 2] < 0.95)).all() and kpts[missing, 2] == 0.0


@pytest.mark.parametrize(
    "box, x_range, y_range, cols",
    [
        ((-60.0, 150.0, 300.0, 350.0), (20, 280), (170, 330), 6),  # 360 x 200, sticks out on the left
        ((300.0, 200.0, 380.0, 520.0), (305, 375), (215, 465), 3),  # 80 x 320, sticks out at the bottom
    ],
    ids=["wide-left", "tall-bottom"],
)
def test_box_aspect_and_image_edge(model_dir, box, x_range, y_range, cols):
    """Boxes off the input's aspect and past the image edge: aspect fix and black border; also an export
    whose outputs have exporter-made names, listed y first (told apart by length)."""
    path = _blob_net(model_dir / "rtmpose renamed.onnx", (256, 192), 17, gain=0.1,
                     out_names=("output", "onnx::Reshape_123"), swap_outputs=True)
    landmarker = MMPoseBodyLandmarker(OrtEngine(path, OrtConfig(threads=1)))
    pts = _grid_points(17, x_range, y_range, cols=cols, seed=2)
    img = _draw_blobs((480, 640), pts, radius=7.0)
    kpts = landmarker(img, box)
    tol = _LOC_MARGIN_INPUT_PX / _crop_scale(box, (256, 192))
    err = np.abs(kpts[:, :2] - pts).max(axis=1)
    assert err.max() <= tol, f"max error {err.max():.2f} px > {tol:.2f} px"
    assert (kpts[:, 2] > 0.3).all()


def test_bgr_image_is_not_found(rtmpose_17):
    """Feeding BGR where RGB is expected must break the chain (the net reads R from channel 0)."""
    box = (250.0, 100.0, 400.0, 300.0)
    img = _draw_blobs((480, 640), _grid_points(17, (265, 385), (115, 285), cols=4, seed=0))
    assert rtmpose_17(img[..., ::-1].copy(), box)[:, 2].max() < 0.01


def test_wrong_normalisation_is_not_found(model_dir):
    path = _blob_net(model_dir / "rtmpose norm.onnx", (256, 192), 17)
    options = MMPoseOptions(mean=(0, 0, 0), std=(1, 1, 1))
    wrong = MMPoseBodyLandmarker(OrtEngine(path, OrtConfig(threads=1)), options)
    img = _draw_blobs((480, 640), _grid_points(17, (265, 385), (115, 285), cols=4, seed=0))
    assert wrong(img, (250.0, 100.0, 400.0, 300.0))[:, 2].max() < 0.01


# ----------------------------------------------------------------------------- model checks and misuse


@pytest.mark.parametrize(
    "in_shape, outs, match",
    [
        ([1, 3, 224, 224], [("output", [1, 33, 5])], r"expected an MMPose SimCC top-down model"),
        ([1, 3, "h", "w"], [("simcc_x", [1, 17, 384]), ("simcc_y", [1, 17, 512])], r"shape \[1, 3, 'h', 'w'\]"),
        ([1, 3, 256, 192], [("simcc_x", [1, 26, 384]), ("simcc_y", [1, 26, 512])], r"\[26\] keypoints; expected"),
        ([1, 3, 256, 192], [("simcc_x", [1, 17, 192]), ("simcc_y", [1, 17, 256])], r"simcc_x.*\[1, 17, 192\]"),
        ([1, 256, 192, 3], [("simcc_x", [1, 17, 384]), ("simcc_y", [1, 17, 512])], r"input 'input' has shape"),
    ],
    ids=["not-simcc", "dynamic-hw", "halpe26", "split-1", "nhwc"],
)
def test_rejects_wrong_model(model_dir, in_shape, outs, match):
    path = _signature_net(model_dir / f"bad {abs(hash(str(in_shape) + str(outs)))}.onnx", in_shape, outs)
    with pytest.raises(EngineError, match=match):
        MMPoseBodyLandmarker(OrtEngine(path, OrtConfig(threads=1)))


def test_call_misuse(rtmpose_17):
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8 RGB image"):
        rtmpose_17(img.astype(np.float32), (0, 0, 50, 50))
    with pytest.raises(ValueError, match="uint8 RGB image"):
        rtmpose_17(img[..., 0], (0, 0, 50, 50))
    with pytest.raises(ValueError, match="x2 > x1"):
        rtmpose_17(img, (50, 0, 10, 50))
    with pytest.raises(ValueError, match="x2 > x1"):
        rtmpose_17(img, (0, 0, np.nan, 50))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"channel_order": "bgra"}, "channel_order"), ({"padding": 0.0}, "padding"),
     ({"split_ratio": -2.0}, "split_ratio"), ({"std": (1.0, 0.0, 1.0)}, "std"), ({"mean": (1.0, 2.0)}, "3 values")],
)
def test_options_misuse(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MMPoseOptions(**kwargs)


# ----------------------------------------------------------------------------- known answers


def test_bbox_xyxy_to_cs():
    center, scale = bbox_xyxy_to_cs(np.array([10, 20, 110, 220]), padding=1.25)
    np.testing.assert_allclose(center, [60, 120])
    np.testing.assert_allclose(scale, [125, 250])


def test_fix_aspect_ratio():
    np.testing.assert_allclose(fix_aspect_ratio(np.array([125, 250]), 0.75), [187.5, 250])  # too narrow
    np.testing.assert_allclose(fix_aspect_ratio(np.array([300, 100]), 0.75), [300, 400])  # too wide


def test_warp_matrix_hand_computed():
    # centre (60, 120), box 187.5 x 250 -> 192 x 256 crop: s = 192 / 187.5 = 1.024,
    # t = (96 - 1.024 * 60, 128 - 1.024 * 120) = (34.56, 5.12).
    m = get_warp_matrix(np.array([60.0, 120.0]), np.array([187.5, 250.0]), (192, 256))
    np.testing.assert_allclose(m, [[1.024, 0, 34.56], [0, 1.024, 5.12]], atol=1e-9)
    # Corners of the box go to the corners of the crop.
    corners = apply_affine(m, [[-33.75, -5.0], [153.75, 245.0]])
    np.testing.assert_allclose(corners, [[0, 0], [192, 256]], atol=1e-4)


def test_warp_matrix_rotated():
    # rot 90: the box's "up rotated by 90 deg" (image +x) becomes crop up (-v); s = 100 / 50 = 2.
    m = get_warp_matrix(np.array([10.0, 20.0]), np.array([50.0, 50.0]), (100, 100), rot_deg=90.0)
    mapped = apply_affine(m, [[10, 20], [20, 20], [10, 30]])
    np.testing.assert_allclose(mapped, [[50, 50], [50, 30], [70, 50]], atol=1e-5)


def test_preprocess_known_answer(rtmpose_17):
    """Box (10, 20, 110, 220) -> padding 1.25 -> aspect fix -> the hand-computed warp; RGB normalisation."""
    img = np.zeros((240, 320, 3), np.uint8)
    img[..., 0] = 255  # pure red
    tensor, warp = rtmpose_17.preprocess(img, (10, 20, 110, 220))
    np.testing.assert_allclose(warp, [[1.024, 0, 34.56], [0, 1.024, 5.12]], atol=1e-6)
    assert tensor.shape == (1, 3, 256, 192) and tensor.dtype == np.float32
    inside = tensor[0, :, 128, 96]  # crop centre = box centre (60, 120), inside the image
    expect = (np.array([255.0, 0.0, 0.0]) - RTMPOSE_MEAN_RGB) / RTMPOSE_STD_RGB  # channel 0 = R
    np.testing.assert_allclose(inside, expect, rtol=1e-5)
    border = -np.asarray(RTMPOSE_MEAN_RGB) / RTMPOSE_STD_RGB  # outside the image: pixel 0
    np.testing.assert_allclose(tensor[0, :, 0, 0], border, rtol=1e-5)


def test_input_to_image_matches_inverse_warp():
    center, scale = np.array([60.0, 120.0]), np.array([187.5, 250.0])
    kpts_in = np.array([[96.0, 128.0], [0.0, 0.0], [17.5, 200.25]])
    by_formula = input_to_image(kpts_in, center, scale, (192, 256))
    np.testing.assert_allclose(by_formula[:2], [[60, 120], [-33.75, -5.0]], atol=1e-4)
    by_inverse = apply_affine(invert_affine(get_warp_matrix(center, scale, (192, 256))), kpts_in)
    np.testing.assert_allclose(by_formula, by_inverse, atol=1e-4)


def test_decode_simcc_hand_made():
    simcc_x = np.full((2, 8), 0.1, np.float32)
    simcc_y = np.full((2, 6), 0.1, np.float32)
    simcc_x[0, 5], simcc_y[0, 3] = 0.8, 0.6  # keypoint 0 at bins (5, 3)
    simcc_x[1], simcc_y[1] = -0.3, -0.2  # keypoint 1: no positive response
    simcc_y[1, 4] = -0.1
    kpts_in, scores = decode_simcc(simcc_x, simcc_y, split_ratio=2.0)
    np.testing.assert_allclose(kpts_in, [[2.5, 1.5], [-0.5, -0.5]])  # bins / 2; MMPose's -1 / 2 when <= 0
    np.testing.assert_allclose(scores, [0.6, -0.3])  # min of the two axis maxima
    np.testing.assert_allclose(simcc_scores_to_confidence(scores), [0.6, 0.0])
    np.testing.assert_allclose(simcc_scores_to_confidence(np.array([1.3, 0.0])), [1.0, 0.0])


def test_k67_parts_wholebody():
    idx = np.arange(133, dtype=np.float32)
    kpts = np.stack([idx, 1000 + idx, 0.5 + idx / 400], axis=1)  # x = COCO-WholeBody index
    body, left, right = coco_to_k67_parts(kpts)
    assert body.shape == (25, 3) and left.shape == (21, 3) and right.shape == (21, 3)
    # BODY_25 slot -> COCO-WholeBody source (DESIGN 4; mmpose configs/_base_/datasets/coco_wholebody.py).
    expect = {0: 0, 2: 6, 3: 8, 4: 10, 5: 5, 6: 7, 7: 9, 9: 12, 10: 14, 11: 16, 12: 11, 13: 13, 14: 15,
              15: 2, 16: 1, 17: 4, 18: 3, 19: 17, 20: 18, 21: 19, 22: 20, 23: 21, 24: 22}
    for slot, src in expect.items():
        assert body[slot, 0] == src, (slot, body[slot, 0], src)
    np.testing.assert_allclose(body[1], [5.5, 1005.5, kpts[5, 2]])  # Neck = mean of shoulders, min conf
    np.testing.assert_allclose(body[8], [11.5, 1011.5, kpts[11, 2]])  # MidHip = mean of hips
    np.testing.assert_array_equal(left[:, 0], np.arange(91, 112))
    np.testing.assert_array_equal(right[:, 0], np.arange(112, 133))


def test_k67_parts_coco17():
    idx = np.arange(17, dtype=np.float32)
    body, left, right = coco_to_k67_parts(np.stack([idx, idx, np.ones(17)], axis=1))
    assert left is None and right is None
    np.testing.assert_array_equal(body[19:25, 2], 0.0)  # no toes or heels in COCO 17
    assert body[4, 0] == 10 and body[16, 0] == 1 and (body[:19, 2] == 1).all()
    with pytest.raises(ValueError, match="17, 3"):
        coco_to_k67_parts(np.zeros((26, 3)))


def test_to_k67_parts_method(rtmw_133):
    body, left, right = rtmw_133.to_k67_parts(np.zeros((133, 3), np.float32))
    assert body.shape == (25, 3) and left.shape == right.shape == (21, 3)


def test_bbox_from_keypoints():
    kpts = np.array([[100, 100, 0.9], [200, 300, 0.8], [0, 0, 0.1], [np.nan, 5, 1.0]], np.float32)
    # extent [100, 200] x [100, 300], centre (150, 200), grown 1.25 about it
    np.testing.assert_allclose(bbox_from_keypoints(kpts, (640, 480)), [87.5, 75, 212.5, 325])
    np.testing.assert_allclose(bbox_from_keypoints(kpts, (200, 300)), [87.5, 75, 200, 300])  # clipped
    assert bbox_from_keypoints(kpts, (640, 480), min_conf=0.85) is None  # one point left
    assert bbox_from_keypoints(np.zeros((0, 3)), (640, 480)) is None


# ----------------------------------------------------------------------------- the body stage


class _StandInDetector:
    """MediaPipe's pose detector stand-in: one detection whose ROI covers `box_xyxy`, counted."""

    def __init__(self, box_xyxy, image_wh):
        x1, y1, x2, y2 = box_xyxy
        W, H = image_wh
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) / 2 / 1.25 / 2
        # keypoint 0 = centre, keypoint 1 = the size/rotation point straight above it
        self.dets = Detections(np.zeros((1, 4), np.float32),
                               np.array([[[cx / W, cy / H], [cx / W, (cy - half) / H]]], np.float32),
                               np.ones(1, np.float32))
        self.calls = 0

    def __call__(self, rgb):
        self.calls += 1
        return self.dets


def test_mmpose_stage_tracks_and_fills_k67(rtmw_133):
    W, H = 640, 480
    pts = _grid_points(133, (250, 390), (110, 330), cols=12, seed=3)
    img = _draw_blobs((H, W), pts)
    detector = _StandInDetector((220, 80, 420, 360), (W, H))
    stage = MMPoseBodyStage(rtmw_133, detector)
    first = stage(img, 0.0)
    assert first.found and first.detector_ran and detector.calls == 1
    tol = 1.0  # image px: the blob net is exact to ~0.6 input px, crops are ~1:1 here
    np.testing.assert_allclose(first.body25_raw[Body25.Nose, :2], pts[0], atol=tol)
    np.testing.assert_allclose(first.body25_raw[Body25.RWrist, :2], pts[10], atol=tol)
    np.testing.assert_allclose(first.body25_raw[Body25.LBigToe, :2], pts[17], atol=tol)
    np.testing.assert_allclose(first.hands_px_raw[0, :, :2], pts[91:112], atol=tol)   # person's left hand
    np.testing.assert_allclose(first.hands_px_raw[1, :, :2], pts[112:133], atol=tol)
    assert first.hand_anchors.shape == (2, 3, 2)
    second = stage(img, 1 / 30)
    assert second.found and not second.detector_ran and detector.calls == 1  # tracked from keypoints
    lost = stage(np.zeros_like(img), 2 / 30)
    assert not lost.found
    again = stage(img, 3 / 30)
    assert again.found and again.detector_ran and detector.calls == 2


def test_body_model_flag_runs_the_app(tmp_path, model_dir, run, demo_video):
    path = _blob_net(model_dir / "rtmw for app.onnx", (384, 288), 133, batch="batch", gain=0.1)
    out = tmp_path / "o"
    proc = run("app.cli", "--video", demo_video, "--body-model", path, "--max-frames", 8, "--headless",
               "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    with np.load(out / "keypoints.npz") as z:
        assert z["k67"].shape == (8, 67, 3) and np.all((z["k67"][..., 2] >= 0) & (z["k67"][..., 2] <= 1))


def test_body_model_of_the_wrong_shape_is_one_line(tmp_path, model_dir, run, demo_video):
    bad = _signature_net(model_dir / "bad.onnx", (1, 3, 256, 192), [("simcc_x", (1, 17, 100)), ("simcc_y", (1, 17, 512))])
    proc = run("app.cli", "--video", demo_video, "--body-model", bad, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("mocap-live: error: bad")
