"""The README's first two commands are what a new user runs; CI must run exactly those."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def test_readme_starts_with_two_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "pip install" in cmds[0] and "mocap-live" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for cmd in readme_commands():
        assert cmd in ci, f"CI does not run the README command: {cmd}"
