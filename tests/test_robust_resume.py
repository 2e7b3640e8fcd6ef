"""Issue 22.3-22.4: a resumed run reports the unbroken run's best and writes where it lives now."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from recbole_spec import run
from recbole_spec.training.checkpoint import load_checkpoint


def _finished_line(text: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith("finished in"))
    return re.sub(r"^finished in \S+: ", "", line)


def test_resumed_run_prints_and_returns_the_unbroken_runs_best(
    tiny_config: dict, capsys: pytest.CaptureFixture
) -> None:
    settings = {**tiny_config, "stopping_step": 100, "spectrum_monitor": False}
    unbroken = run("BPRMF", "checker", config_dict={**settings, "epochs": 8})
    unbroken_line = _finished_line(capsys.readouterr().out)
    best = int(unbroken_line.rsplit("at epoch ", 1)[1])
    assert best < 6, "the test needs a best epoch before the resume point"

    first = run("BPRMF", "checker", config_dict={**settings, "epochs": best + 2})
    last = first["checkpoint"].removesuffix(".pth") + "-last.pth"
    assert load_checkpoint(last)["epoch"] == best  # the resumed run trains after the best only
    capsys.readouterr()
    resumed = run("BPRMF", "checker", config_dict={**settings, "epochs": 8, "resume_from": last})
    assert _finished_line(capsys.readouterr().out) == unbroken_line
    assert resumed["best_valid_result"] == unbroken["best_valid_result"] != {}
    assert resumed["best_valid_score"] == unbroken["best_valid_score"]
    assert resumed["test_result"] == unbroken["test_result"]
