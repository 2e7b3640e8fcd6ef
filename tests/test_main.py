"""Issue 13.7: ``python -m recbole_spec`` is the ``recbole-spec`` command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def module(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recbole_spec", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=300,
    )


def test_help_lists_every_subcommand(tmp_path: Path) -> None:
    done = module("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: recbole-spec")
    for command in ("run", "import", "tune", "compare", "spectrum"):
        assert command in done.stdout


def test_same_output_and_exit_status_as_the_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("recbole-spec")
    if not script.exists():
        script = Path(shutil.which("recbole-spec") or "")
    if not script.is_file():
        pytest.skip("the recbole-spec console script is not installed next to this python")
    args = ("spectrum", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "s.png"))
    via_module = module(*args, cwd=tmp_path)
    via_script = subprocess.run(
        [str(script), *args], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300
    )
    assert via_module.returncode == via_script.returncode == 2
    assert "missing.pth' does not exist" in via_module.stderr
    assert via_module.stderr == via_script.stderr


def test_run_trains_through_the_module(tmp_path: Path, data_root: Path) -> None:
    done = module(
        "--model=BPRMF",
        "--dataset=checker",
        f"--data_path={data_root}",
        f"--checkpoint_dir={tmp_path / 'saved'}",
        "--epochs=1",
        "--embedding_size=8",
        "--show_progress=False",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model=BPRMF dataset=checker" in done.stdout
    assert "test: " in done.stdout and "ndcg@20=" in done.stdout
