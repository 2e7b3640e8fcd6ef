"""Issue 22.1: a model failing at runtime costs ``compare`` that model's row only."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recbole_spec import cli


def test_a_failing_model_gets_a_row_and_the_later_models_still_run(
    tiny_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cmp"
    # reg_weight=0 makes EASE's Gram matrix singular (numpy's LinAlgError), as on ml-100k.
    settings = {**tiny_config, "reg_weight": 0}
    args = [f"--{k}={v}" for k, v in settings.items() if k != "seed"]
    code = cli.main(
        [
            "compare",
            "--models=BPRMF,EASE,recbole.BPR",
            "--dataset=checker",
            "--seeds=7",
            f"--out={out}",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "Traceback" not in err[0] and "EASE" in err[0], err
    with open(out / "results.csv", newline="") as handle:
        rows = {row["model"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["BPRMF", "EASE", "recbole.BPR"]
    assert rows["EASE"]["error"] == "LinAlgError: Singular matrix"
    assert rows["EASE"]["ndcg@20"] == "n/a"
    assert float(rows["recbole.BPR"]["ndcg@20"]) > 0 and rows["BPRMF"]["error"] == "n/a"
    markdown = (out / "results.md").read_text()
    ease_row = next(line for line in markdown.splitlines() if line.startswith("| EASE |"))
    assert "LinAlgError: Singular matrix" in ease_row
    # the failed run has no run file, so a rerun retries it
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "BPRMF-seed7.json",
        "recbole.BPR-seed7.json",
    ]
