"""`mocap-export` and `mocap-bench` as a user runs them."""
import json

from mocap.export.cli import BUNDLED_ONNX
from mocap.engines.select import tensorrt_available
from mocap.models.nets.checkpoint import DATA_DIR, DESCENT_FILE, POSE_INIT_FILE
from mocap.models.world.trajectory import DEFAULT_WEIGHTS


def test_export_stages_every_net_and_is_a_noop_the_second_time(run, tmp_path):
    cache = tmp_path / "cache dir"
    first = run("export.cli", "--cache", cache, timeout=120)
    assert first.returncode == 0, first.stderr
    nets = sorted(p.stem for p in BUNDLED_ONNX.glob("*.onnx"))
    assert len(nets) == 5
    # the 3D nets join the set once their weights are installed (tests/test_app_3d.py covers --nets3d)
    nets3d = ["descent", "pose_init"] if (DATA_DIR / POSE_INIT_FILE).is_file() and (DATA_DIR / DESCENT_FILE).is_file() else []
    nets3d += ["trajectory"] if DEFAULT_WEIGHTS.is_file() else []
    manifest = json.loads((cache / "manifest.json").read_text())
    assert sorted(manifest) == sorted(nets + nets3d)
    assert first.stdout.count("staged") == 5
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.onnx")}
    second = run("export.cli", "--cache", cache, timeout=120)
    assert second.returncode == 0 and second.stdout.count("cached") == 5 + len(nets3d)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.onnx")} == before
    assert "TensorRT" in second.stdout


def test_export_says_plainly_when_tensorrt_cannot_build(run, tmp_path):
    ok, why = tensorrt_available()
    if ok:
        import pytest

        pytest.skip(f"{why}: engines are built here (tests/test_engine_cache.py runs them)")
    auto = run("export.cli", "--cache", tmp_path / "c", "--check", timeout=120)
    assert auto.returncode == 0, auto.stderr
    assert "TensorRT: not available here" in auto.stdout and "nothing to compare" in auto.stdout
    on = run("export.cli", "--cache", tmp_path / "c", "--tensorrt", "on", timeout=120)
    assert on.returncode == 2 and on.stderr.count("\n") == 1 and "--tensorrt on:" in on.stderr
    assert "Traceback" not in on.stderr


def test_export_rejects_an_empty_source(run, tmp_path):
    proc = run("export.cli", "--onnx-dir", tmp_path, "--cache", tmp_path / "c", timeout=60)
    assert proc.returncode == 2 and "no .onnx files" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_writes_the_report(run, tmp_path, demo_video):
    rep = tmp_path / "rep"
    proc = run("benchmarks.cli", "--video", demo_video, "--max-frames", 30, "--report", rep, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    md = (rep / "report.md").read_text()
    assert "body landmark net" in md and "pose_landmark" in md and "fps" in md
    assert "| overlap |" in md and "| sequential |" in md
    report = json.loads((rep / "report.json").read_text())
    assert set(report["runs"]) == {"overlap", "sequential"}
    for run_ in report["runs"].values():
        assert run_["frames_processed"] == 30 and len(run_["frames"]) == 30
        assert run_["summary"]["pose_landmark"]["count"] == 20  # 30 frames minus 10 warm-up
    assert (rep / "report.png").stat().st_size > 5000


def test_bench_rejects_an_unknown_mode(run, tmp_path):
    proc = run("benchmarks.cli", "--modes", "turbo", "--report", tmp_path, timeout=60)
    assert proc.returncode == 2 and "unknown mode 'turbo'" in proc.stderr
