"""K67 layout and the detector -> K67 maps, with hand-computed answers."""
import numpy as np

from mocap.models import keypoints as kp


def test_layout_sizes_and_names():
    assert kp.NUM_K67 == 67 and len(kp.K67_NAMES) == 67
    assert kp.K67_NAMES[kp.LEFT_HAND.start] == "LWrist" and kp.K67_NAMES[kp.RIGHT_HAND.stop - 1] == "RPinkyTip"
    assert kp.Body25.MidHip == 8 and kp.Body25.RHeel == 24 and kp.Hand21.MiddleMCP == 9
    # every hand joint but the wrist has exactly one parent edge inside its hand
    children = sorted(b for _, b in kp.HAND_EDGES[:20])
    assert children == list(range(1, 21))
    assert max(max(e) for e in kp.K67_EDGES) == 66


def test_blazepose_to_body25_copies_means_and_missing():
    rng = np.random.default_rng(1)
    pts = np.concatenate([rng.random((33, 2)) * 100, rng.random((33, 1))], axis=1)
    b25 = kp.remap(pts, kp.BLAZEPOSE_TO_BODY25)
    assert b25.shape == (25, 3) and b25.dtype == np.float32
    np.testing.assert_allclose(b25[kp.Body25.Nose], pts[0], rtol=1e-6)
    np.testing.assert_allclose(b25[kp.Body25.RWrist], pts[16], rtol=1e-6)      # person's right = BlazePose 16
    np.testing.assert_allclose(b25[kp.Body25.LEye], pts[2], rtol=1e-6)
    np.testing.assert_allclose(b25[kp.Body25.Neck, :2], (pts[11, :2] + pts[12, :2]) / 2, rtol=1e-6)
    assert b25[kp.Body25.Neck, 2] == np.float32(min(pts[11, 2], pts[12, 2]))
    np.testing.assert_allclose(b25[kp.Body25.MidHip, :2], (pts[23, :2] + pts[24, :2]) / 2, rtol=1e-6)
    assert b25[kp.Body25.LSmallToe, 2] == 0 and b25[kp.Body25.RSmallToe, 2] == 0
    np.testing.assert_allclose(b25[kp.Body25.LHeel], pts[29], rtol=1e-6)


def test_remap_is_batched():
    pts = np.random.default_rng(2).random((4, 33, 3))
    np.testing.assert_allclose(kp.remap(pts, kp.BLAZEPOSE_TO_BODY25)[2], kp.remap(pts[2], kp.BLAZEPOSE_TO_BODY25))


def test_coco_wholebody_fills_every_slot():
    pts = np.ones((133, 3))
    b25 = kp.remap(pts, kp.COCO_WHOLEBODY_TO_BODY25)
    assert np.all(b25[:, 2] == 1)
    coco17 = kp.remap(pts[:17], kp.COCO17_TO_BODY25)
    assert np.all(coco17[19:, 2] == 0) and np.all(coco17[:19, 2] == 1)


def test_assemble_k67_places_hands():
    body = np.full((25, 3), 1.0)
    left = np.full((21, 3), 2.0)
    k = kp.assemble_k67(body, left, None)
    assert np.all(k[:25] == 1) and np.all(k[25:46] == 2) and np.all(k[46:] == 0)
