"""Issue 22.2: SIGTERM (how SLURM and Kubernetes stop jobs) ends a run like Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from recbole_spec.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]


def test_sigterm_prints_the_resume_line_and_exits_143(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "recbole_spec",
        "run",
        "--model=BPRMF",
        "--dataset=ml-100k",
        "--epochs=200",
        "--stopping_step=1000",
        f"--checkpoint_dir={saved}",
        "--state=WARNING",
    ]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not list(saved.glob("*-last.pth")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert list(saved.glob("*-last.pth")), "no last checkpoint within 120 s"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert proc.returncode == 143, err
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert "SIGTERM" in lines[0] and "--resume_from=" in lines[0]
    last = lines[0].rsplit("--resume_from=", 1)[1]
    assert load_checkpoint(last)["epoch"] >= 0
    assert not list(saved.glob(".*.tmp")), "no half-written files"
