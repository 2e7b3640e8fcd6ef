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


def _resume_settings(tiny_config: dict) -> dict:
    settings = {**tiny_config, "stopping_step": 100, "spectrum_monitor": False}
    del settings["checkpoint_dir"]
    return settings


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_resume_after_moving_the_folder_writes_into_the_new_folder(
    tiny_config: dict, tmp_path: Path
) -> None:
    settings = _resume_settings(tiny_config)
    first = run(
        "BPRMF",
        "checker",
        config_dict={**settings, "epochs": 2, "checkpoint_dir": str(tmp_path / "ckA")},
    )
    name = Path(first["checkpoint"]).name
    shutil.move(tmp_path / "ckA", tmp_path / "ckB")
    last = tmp_path / "ckB" / name.replace(".pth", "-last.pth")
    resumed = run(
        "BPRMF", "checker", config_dict={**settings, "epochs": 4, "resume_from": str(last)}
    )
    assert not (tmp_path / "ckA").exists()
    assert resumed["checkpoint"] == str(tmp_path / "ckB" / name)
    assert load_checkpoint(last)["epoch"] == 2
    assert load_checkpoint(last)["best_model_file"] == str(tmp_path / "ckB" / name)
    assert resumed["test_result"]


def test_resume_from_a_copied_folder_never_touches_the_original(
    tiny_config: dict, tmp_path: Path
) -> None:
    settings = _resume_settings(tiny_config)
    first = run(
        "BPRMF",
        "checker",
        config_dict={**settings, "epochs": 2, "checkpoint_dir": str(tmp_path / "ckA")},
    )
    name = Path(first["checkpoint"]).name
    shutil.copytree(tmp_path / "ckA", tmp_path / "ckB")
    original = _files(tmp_path / "ckA")
    last = tmp_path / "ckB" / name.replace(".pth", "-last.pth")
    resumed = run(
        "BPRMF", "checker", config_dict={**settings, "epochs": 5, "resume_from": str(last)}
    )
    assert _files(tmp_path / "ckA") == original
    assert resumed["checkpoint"] == str(tmp_path / "ckB" / name)
    assert load_checkpoint(last)["epoch"] == 3

    # with --checkpoint_dir, the continued run lives there and the resume file stays as it was
    copied = _files(tmp_path / "ckB")
    again = run(
        "BPRMF",
        "checker",
        config_dict={
            **settings,
            "epochs": 7,
            "resume_from": str(last),
            "checkpoint_dir": str(tmp_path / "ckC"),
        },
    )
    assert _files(tmp_path / "ckB") == copied and _files(tmp_path / "ckA") == original
    assert again["checkpoint"] == str(tmp_path / "ckC" / name)
    assert load_checkpoint(tmp_path / "ckC" / last.name)["epoch"] == 5
