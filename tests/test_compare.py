"""Issue 6: ``compare`` writes per-run JSON, CSV, markdown and a plot, and resumes."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

import recbole_spec.pipeline
from recbole_spec.compare import add_compare_parser, compare, run_filename
from recbole_spec.validation import ConfigError

MODELS = ["BPRMF", "recbole.BPR", "EASE"]


@pytest.fixture()
def compared(tiny_config: dict, tmp_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "cmp"
    compare(
        MODELS, "checker", seeds=(7,), out_dir=out, config_dict=tiny_config, echo=lambda _: None
    )
    return out, tiny_config


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_compare_writes_every_output(compared: tuple[Path, dict]) -> None:
    out, _ = compared
    rows = _rows(out)
    assert [row["model"] for row in rows] == MODELS
    for column in ("epochs", "seconds_per_epoch", "ndcg@20", "recall@10", "all_erank"):
        assert column in rows[0]
    assert float(rows[0]["all_erank"]) > 1 and rows[2]["all_erank"] == "n/a"
    # RecBole's BPR and the plugin's BPRMF agree on the same seed and data (parity).
    assert float(rows[0]["ndcg@20"]) == pytest.approx(float(rows[1]["ndcg@20"]), abs=1e-4)
    markdown = (out / "results.md").read_text()
    assert "protocol: `recbole`" in markdown and "| EASE |" in markdown
    assert "EASE has no embedding tables" in markdown
    assert (out / "spectra.png").stat().st_size > 10_000
    record = json.loads((out / "runs" / run_filename("recbole.BPR", 7)).read_text())
    assert record["diagnostics"]["n_pairs"] > 0 and len(record["singular_values"]) == 16
    assert [entry["epoch"] for entry in record["spectrum_history"]] == [0.0]
    ease = json.loads((out / "runs" / run_filename("EASE", 7)).read_text())
    assert ease["diagnostics"] is None and ease["spectrum_history"] is None
    assert not list(out.rglob(".*.tmp"))


def test_rerun_skips_and_force_reruns(
    compared: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, config = compared
    before = (out / "runs" / run_filename("BPRMF", 7)).read_text()

    def refuse(*args, **kwargs):
        raise AssertionError("run() called for a model whose results exist")

    monkeypatch.setattr(recbole_spec.pipeline, "run", refuse)
    lines: list[str] = []
    compare(MODELS, "checker", seeds=(7,), out_dir=out, config_dict=config, echo=lines.append)
    assert sum("skipped" in line for line in lines) == 3
    assert (out / "runs" / run_filename("BPRMF", 7)).read_text() == before

    calls: list[str] = []
    monkeypatch.undo()
    real_run = recbole_spec.pipeline.run

    def counting(model, *args, **kwargs):
        calls.append(model)
        return real_run(model, *args, **kwargs)

    monkeypatch.setattr(recbole_spec.pipeline, "run", counting)
    compare(["EASE"], "checker", seeds=(7,), out_dir=out, config_dict=config, force=True)
    assert calls == ["EASE"]
    assert [row["model"] for row in _rows(out)] == ["EASE"]


def test_existing_run_with_other_settings_is_refused(compared: tuple[Path, dict]) -> None:
    out, config = compared
    with pytest.raises(ConfigError, match="other settings"):
        compare(
            ["EASE"],
            "checker",
            seeds=(7,),
            out_dir=out,
            config_dict=config,
            overrides=["--epochs=2"],
        )


def test_bad_arguments_fail_before_training(tiny_config: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--seeds"):
        compare(
            ["BPRMF"], "checker", out_dir=tmp_path, config_dict=tiny_config, overrides=["--seed=3"]
        )
    with pytest.raises(ConfigError, match="unknown model"):
        compare(["BPRMF", "NoSuchModel"], "checker", out_dir=tmp_path, config_dict=tiny_config)
    assert not (tmp_path / "runs").exists()


def test_parser_keeps_overrides_apart() -> None:
    parser = argparse.ArgumentParser()
    add_compare_parser(parser.add_subparsers(dest="command"))
    args, extra = parser.parse_known_args(
        ["compare", "--models=BPR,EASE", "--seeds=1,2", "--epochs=3", "--seed=5", "--force"]
    )
    assert args.models == "BPR,EASE" and args.seeds == "1,2" and args.force
    assert extra == ["--epochs=3", "--seed=5"] and args.accepts_overrides
