"""Training and evaluation commands of the 3D nets, on the tiny synthetic proxy dataset (no training
to convergence here: a few steps must lower the loss, checkpoints must round-trip, the evaluation
must write its table)."""
from __future__ import annotations

import json

import pytest
import torch

from mocap.models.body.smplx_model import load_body_model
from mocap.models.nets import evaluate, learning_curve, train_descent, train_init
from mocap.models.nets.body_fk import SparseBody
from mocap.models.nets.checkpoint import load_descent, scrub_command
from mocap.models.nets.descent import DescentNet
from mocap.models.nets.pose_init import PoseInitConfig, PoseInitNet
from mocap.models.proxy.corrupt import CorruptionOptions
from mocap.models.proxy.dataset import ProxyWindows, target_frames
from torch.utils.data import default_collate


def test_init_loss_falls_on_a_fixed_batch(proxy_dataset):
    torch.manual_seed(0)
    ds = ProxyWindows(proxy_dataset / "out", "train", targets=8)
    batch = default_collate([ds[i] for i in range(4)])
    net = PoseInitNet(PoseInitConfig(channels=32, dropout=0.0))
    body = SparseBody(load_body_model())
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    w = train_init.LossWeights()
    first = None
    for _ in range(25):
        loss, _ = train_init.compute_losses(net, body, batch, 8, w)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.6 * first


@pytest.mark.parametrize("causal", [True, False])
def test_targets_line_up_with_their_frames(proxy_dataset, causal):
    """Without noise, the observed points of a target frame are its clean points in its own box, for the
    init net's losses and for the frames the descent net learns from, causal and centred."""
    clean = CorruptionOptions(noise_body=0, noise_hand=0, drop_body=0, drop_hand=0, hand_drop=0, frame_drop=0,
                              occluded_fraction=0, small_toes_missing=0)
    ds = ProxyWindows(proxy_dataset / "out", "train", window=9, causal=causal, targets=8, corruption=clean)
    batch = default_collate([ds[i] for i in range(0, len(ds), max(1, len(ds) // 6))])
    t = train_init.flatten_targets(batch, 8, causal)
    keep = t["target_valid"] > 0

    def gap(obs_xy, obs_mask, k67_box):   # mean box-unit distance over the observed points
        m = obs_mask > 0
        return float((obs_xy - k67_box).norm(dim=-1)[m].mean())

    for lag_ok, c in ((True, causal), (False, not causal)):
        sl = target_frames(batch["k67_xy"].shape[1], 8, c)
        obs_xy, obs_mask = batch["k67_xy"][:, sl].flatten(0, 1), batch["mask"][:, sl].flatten(0, 1)
        d = gap(obs_xy[keep], obs_mask[keep], t["k67_box"][keep])
        assert (d < 1e-3) if lag_ok else (d > 1e-2), (c, d)
    init = PoseInitNet(PoseInitConfig(channels=16, filter_widths=(3, 3), causal=causal))
    f = train_descent.collect_frames(init.eval(), ds, 1, workers=0, max_chunks=6)
    assert gap(f["obs_xy"], f["obs_mask"], f["k67_box"]) < 1e-3
    with pytest.raises(ValueError, match="init net"):
        train_descent.collect_frames(PoseInitNet(PoseInitConfig(channels=16, filter_widths=(3, 3), causal=not causal)),
                                     ds, 1, workers=0, max_chunks=2)


def test_dropout_active_perturbs_the_init_net_and_restores_it(proxy_dataset):
    """Noisy passes: the init net's outputs change within the block (batch norm stays frozen), and after
    it the net is the one that went in; the noisy pass of `collect_frames` differs from the plain one."""
    torch.manual_seed(0)
    net = PoseInitNet(PoseInitConfig(channels=16, filter_widths=(3, 3), dropout=0.1)).eval()
    x, m, gi = torch.randn(2, 9, 67, 2), torch.ones(2, 9, 67), torch.randn(2, 9, 3) * 0.1
    before = net.forward_sequence(x, m, gi).pose_6d
    with train_descent.dropout_active(net, 0.5):
        noisy = net.forward_sequence(x, m, gi).pose_6d
        assert all(bn.training is False for bn in net.modules() if isinstance(bn, torch.nn.BatchNorm1d))
    assert (noisy - before).abs().max() > 1e-3
    drops = [d for d in net.modules() if isinstance(d, torch.nn.Dropout)]
    assert drops and all(not d.training and d.p == 0.1 for d in drops)
    torch.testing.assert_close(net.forward_sequence(x, m, gi).pose_6d, before)
    with train_descent.dropout_active(net, 0.0):
        torch.testing.assert_close(net.forward_sequence(x, m, gi).pose_6d, before)

    ds = ProxyWindows(proxy_dataset / "out", "train", window=9, targets=8)
    plain = train_descent.collect_frames(net, ds, 2, workers=0, max_chunks=3)
    noisy = train_descent.collect_frames(net, ds, 2, workers=0, max_chunks=3, noisy_dropout=0.5)
    half = plain["init_pose_6d"].shape[0] // 2
    assert not noisy["init_pose_6d"].requires_grad   # collected without graphs (memory)
    torch.testing.assert_close(noisy["init_pose_6d"][:half], plain["init_pose_6d"][:half])   # pass 1 plain
    assert (noisy["init_pose_6d"][half:] - plain["init_pose_6d"][half:]).abs().max() > 1e-3  # pass 2 noisy


def test_descent_starts_as_identity_and_learns(proxy_dataset):
    body = SparseBody(load_body_model())
    net = DescentNet(body)
    g = torch.Generator().manual_seed(0)
    pose = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(2, 52, 1) + 0.05 * torch.randn(2, 52, 6, generator=g)
    betas, root = torch.zeros(2, 10), torch.tensor([[0.0, 0.0, 3.0], [0.2, 0.1, 4.0]])
    xy, mask, gi = torch.randn(2, 67, 2, generator=g) * 0.3, torch.ones(2, 67), torch.tensor([[0.0, 0.0, 0.5]] * 2)
    p, b, r = net(pose, betas, root, xy, mask, gi)
    torch.testing.assert_close(p, pose)
    torch.testing.assert_close(r, root)
    # gradients reach every step's weights through the kinematics
    states = net.forward_all(pose, betas, root, xy, mask, gi, pose_last=True)
    states[-1].k67_c.sum().backward()
    assert all(s[-1].weight.grad is not None and s[-1].weight.grad.abs().sum() > 0 for s in net.steps)


def test_train_and_evaluate_commands(proxy_dataset, tmp_path, capsys):
    data = proxy_dataset / "out"
    init_pt, desc_pt = tmp_path / "init.pt", tmp_path / "descent.pt"
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "2",
                            "--targets", "16", "--channels", "32", "--workers", "0", "--steps-per-epoch", "2",
                            "--val-chunks", "2", "--export", str(init_pt)]) == 0
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(hist) == 1 and "val" in hist[0]
    # resume continues at the next epoch
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "2", "--batch-size", "2",
                            "--targets", "16", "--channels", "32", "--workers", "0", "--steps-per-epoch", "2",
                            "--val-chunks", "2", "--resume"]) == 0
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 2
    assert train_descent.main(["--data", str(data), "--init", str(init_pt), "--out", str(tmp_path / "d"),
                               "--passes", "1", "--epochs", "1", "--batch-size", "64", "--workers", "0",
                               "--iterations", "2", "--chunks", "4", "--export", str(desc_pt)]) == 0
    # warm starts: init from the exported weights with the body-joint term, descent from its export
    warm_pt, warm_desc = tmp_path / "init_warm.pt", tmp_path / "descent_warm.pt"
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "warm"), "--epochs", "1", "--batch-size", "2",
                            "--targets", "16", "--channels", "32", "--workers", "0", "--steps-per-epoch", "2",
                            "--val-chunks", "2", "--init-from", str(init_pt), "--body-weight", "5", "--lr", "3e-4",
                            "--export", str(warm_pt)]) == 0
    meta = torch.load(warm_pt, weights_only=True)["meta"]
    assert meta["warm_start"]["file"] == "init.pt" and len(meta["warm_start"]["history"]) == 1
    assert "body" in meta["history"][0]["val"] and meta["train_config"]["losses"]["body"] == 5.0
    # shipped weights carry no machine paths (tmp_path is absolute)
    assert meta["train_config"]["data"] == "PROXY_DIR" and meta["train_config"]["init_from"] == "CACHE/init.pt"
    rows = learning_curve.curve_rows(meta)
    assert [r["run"] for r in rows] == ["first run", "continued"] and "body" in rows[1] and "body" not in rows[0]
    assert learning_curve.main([str(warm_pt), "--out", str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").stat().st_size > 1000
    # a second warm start (heavier contact term, mirror images): the curve walks the whole chain
    warm2 = tmp_path / "init_warm2.pt"
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "warm2"), "--epochs", "1", "--batch-size", "2",
                            "--targets", "16", "--channels", "32", "--workers", "0", "--steps-per-epoch", "2",
                            "--val-chunks", "2", "--init-from", str(warm_pt), "--contact-weight", "5",
                            "--mirror", "0.5", "--export", str(warm2)]) == 0
    meta2 = torch.load(warm2, weights_only=True)["meta"]
    assert meta2["train_config"]["losses"]["contacts"] == 5.0 and meta2["train_config"]["mirror"] == 0.5
    rows2 = learning_curve.curve_rows(meta2)
    assert [r["run"] for r in rows2] == ["first run", "continued", "continued 2"]
    assert rows2[2]["minutes"] >= rows2[1]["minutes"] >= rows2[0]["minutes"]
    # the contact term is shown unweighted: the same BCE scale in every run
    assert abs(rows2[2]["contacts"] - meta2["history"][0]["val"]["contacts"] / 5.0) < 1e-9
    # weights of another width: one line, exit 2; a centred net may start from the causal weights
    capsys.readouterr()
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "bad"), "--channels", "64", "--workers", "0",
                            "--init-from", str(init_pt)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --init-from") and "net config" in err and err.count("\n") == 1
    centred = tmp_path / "init_centred.pt"
    assert train_init.main(["--data", str(data), "--out", str(tmp_path / "centred"), "--epochs", "1",
                            "--batch-size", "2", "--targets", "16", "--channels", "32", "--workers", "0",
                            "--steps-per-epoch", "1", "--val-chunks", "2", "--init-from", str(init_pt), "--centred",
                            "--export", str(centred)]) == 0
    assert torch.load(centred, weights_only=True)["config"]["causal"] is False
    assert train_descent.main(["--data", str(data), "--init", str(warm_pt), "--out", str(tmp_path / "dw"),
                               "--passes", "1", "--epochs", "1", "--batch-size", "64", "--workers", "0",
                               "--iterations", "2", "--chunks", "4", "--init-from", str(desc_pt), "--mirror", "1",
                               "--body-weight", "5", "--noisy-dropout", "0.3", "--export", str(warm_desc)]) == 0
    meta_d = torch.load(warm_desc, weights_only=True)["meta"]
    assert meta_d["warm_start"]["file"] == "descent.pt" and meta_d["train_config"]["mirror"] == 1.0
    assert meta_d["train_config"]["losses"]["body"] == 5.0 and meta_d["train_config"]["noisy_dropout"] == 0.3
    # one step more than the warm start (exported before any training): its two steps first, the third
    # one new (its last layer zero, so it returns its input); fewer steps than the warm start: exit 2
    deeper = tmp_path / "descent3.pt"
    assert train_descent.main(["--data", str(data), "--init", str(warm_pt), "--out", str(tmp_path / "d3"),
                               "--passes", "1", "--epochs", "0", "--batch-size", "64", "--workers", "0",
                               "--iterations", "3", "--chunks", "4", "--init-from", str(desc_pt),
                               "--export", str(deeper)]) == 0
    body = SparseBody(load_body_model())
    d2, d3 = load_descent(desc_pt, body), load_descent(deeper, body)
    assert d3.config.iterations == 3
    for a, b in zip(d2.steps, d3.steps):
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            torch.testing.assert_close(va, vb, msg=ka)
    assert float(d3.steps[2][-1].weight.detach().abs().sum()) == 0.0
    capsys.readouterr()
    assert train_descent.main(["--data", str(data), "--init", str(warm_pt), "--out", str(tmp_path / "d1"),
                               "--passes", "1", "--epochs", "1", "--workers", "0", "--iterations", "1",
                               "--chunks", "4", "--init-from", str(desc_pt)]) == 2
    assert "at most as many --iterations" in capsys.readouterr().err
    out = tmp_path / "report"
    assert evaluate.main(["--data", str(data), "--init", str(init_pt), "--descent", str(desc_pt), "--levels",
                          "realistic", "--ablation-partial", str(init_pt), "--ablation-plain", str(init_pt),
                          "--chunks", "3", "--out", str(out)]) == 0
    res = json.loads((out / "evaluation.json").read_text())["results"]
    r = res["levels"]["realistic"]
    assert r["frames"] > 0 and set(r) == {"frames", "init", "init+descent"}
    assert all(v == v for v in r["init+descent"].values())            # no NaN
    assert "| realistic | init+descent |" in (out / "evaluation.md").read_text()


@pytest.mark.parametrize("command", [train_init, train_descent, evaluate])
def test_commands_without_proxy_data_fail_in_one_line(command, tmp_path, capsys):
    assert command.main(["--data", str(tmp_path / "none"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: proxy split file") and "mocap.models.proxy.build" in err
    assert err.count("\n") == 1


def test_report_command_lines_have_no_machine_paths():
    argv = ["/home/x/videos", "--data", "/home/x/proxy450", "--init", "/tmp/runs/pose_init_B2.pt",
            "--out", "/tmp/eval", "--levels", "realistic", "--descent", "models/nets/data/descent.pt"]
    assert scrub_command(argv) == ("VIDEO_DIR --data PROXY_DIR --init CACHE/pose_init_B2.pt --out runs/eval "
                                   "--levels realistic --descent models/nets/data/descent.pt")
