"""The smplx.npz take contract: round trip, one-line errors for malformed files."""
import numpy as np
import pytest

from mocap.app.take import Take, TakeError, load_take, save_take


def _take(T=5):
    rng = np.random.default_rng(0)
    return Take(poses=rng.normal(0, 0.2, (T, 165)), trans=rng.normal(0, 1, (T, 3)), betas=np.zeros(10), fps=30.0)


def test_round_trip(tmp_path):
    t = _take()
    p = save_take(tmp_path / "smplx.npz", t)
    r = load_take(p)
    assert r.num_frames == 5 and r.fps == 30.0 and r.model == "open" and r.frame == "camera"
    np.testing.assert_allclose(r.poses, t.poses, atol=1e-6)
    assert r.pose_slot(25, 15).shape == (5, 15, 3)


@pytest.mark.parametrize("key,value,msg", [("poses", np.zeros((5, 160)), "'poses' must be"),
                                           ("trans", np.full((5, 3), np.nan), "NaN"),
                                           ("betas", np.zeros(3), "'betas' must be")])
def test_malformed(tmp_path, key, value, msg):
    t = _take()
    d = dict(poses=t.poses, trans=t.trans, betas=t.betas, mocap_frame_rate=30.0)
    d[key] = value
    np.savez(tmp_path / "bad.npz", **d)
    with pytest.raises(TakeError, match=msg):
        load_take(tmp_path / "bad.npz")


def test_not_a_take(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(TakeError, match="cannot read"):
        load_take(tmp_path / "x.npz")
    with pytest.raises(TakeError, match="not found"):
        load_take(tmp_path / "missing.npz")
