"""Issue 13.7: ``python -m recbole_spec`` is the ``recbole-spec`` command line."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from recbole_spec.cli import main


def run_module(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Execute ``recbole_spec/__main__.py`` as ``python -m recbole_spec`` does, in process."""
    monkeypatch.setattr(sys, "argv", ["python -m recbole_spec", *argv])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("recbole_spec", run_name="__main__", alter_sys=True)
    return done.value.code


def test_help_lists_every_subcommand(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    assert run_module(["--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: recbole-spec")
    for command in ("run", "import", "tune", "compare", "spectrum"):
        assert command in out


def test_same_output_and_exit_status_as_the_console_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    args = ["spectrum", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "s.png")]
    assert run_module(args, monkeypatch) == 2
    via_module = capsys.readouterr()
    assert main(args) == 2  # what the console script's entry point returns
    via_script = capsys.readouterr()
    assert "missing.pth' does not exist" in via_module.err
    assert via_module == via_script


def test_run_trains_through_the_module(tmp_path: Path, data_root: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recbole_spec",
            "--model=BPRMF",
            "--dataset=checker",
            f"--data_path={data_root}",
            f"--checkpoint_dir={tmp_path / 'saved'}",
            "--epochs=1",
            "--embedding_size=8",
            "--show_progress=False",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model=BPRMF dataset=checker" in done.stdout
    assert "ndcg@20=" in done.stdout
