"""Issue 6: ``compare`` writes per-run JSON, CSV, markdown and a plot, and resumes."""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
from pathlib import Path

import pytest

import recbole_spec.pipeline
from recbole_spec.commands import compare as compare_command
from recbole_spec.compare import compare, run_filename, write_results
from recbole_spec.diagnostics.report import HEADLINE_KEYS
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
    compare_command.add_parser(parser.add_subparsers(dest="command"))
    args, extra = parser.parse_known_args(
        ["compare", "--models=BPR,EASE", "--seeds=1,2", "--epochs=3", "--seed=5", "--force"]
    )
    assert args.models == "BPR,EASE" and args.seeds == "1,2" and args.force
    assert extra == ["--epochs=3", "--seed=5"] and compare_command.PASSTHROUGH


def _record(model: str, seed: int, embedded: bool = True) -> dict:
    """A run file's fields that the results read, with distinct values per model and seed."""
    base = 0.1 * seed + 0.01 * len(model)
    return {
        "protocol": "recbole",
        "n_users": 4,
        "n_items": 9,
        "epochs": 10 + seed,
        "seconds_per_epoch": 1.0 / 3.0 + seed,
        "test_result": {"recall@10": base, "ndcg@20": base / 7},
        "diagnostics": {key: base * 11 for key in HEADLINE_KEYS} if embedded else None,
        "singular_values": [3.0, 2.0, 1.0] if embedded else None,
        "no_embedding_reason": None if embedded else "EASE has no embedding tables: it is x",
    }


def test_results_are_mean_and_sample_std_over_seeds(tmp_path: Path) -> None:
    seeds = [1, 2, 4]
    records = {
        "BPRMF": [_record("BPRMF", s) for s in seeds],
        "EASE": [_record("EASE", s, embedded=False) for s in seeds],
    }
    write_results(records, tmp_path, dataset="checker", seeds=seeds, echo=lambda _: None)
    text = (tmp_path / "results.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["model"] for row in rows] == ["BPRMF", "EASE"] and rows[0]["n_seeds"] == "3"
    recalls = [r["test_result"]["recall@10"] for r in records["BPRMF"]]
    # Full precision: the CSV cell reads back as the float it was written from.
    assert float(rows[0]["recall@10"]) == pytest.approx(statistics.mean(recalls), rel=1e-15)
    assert float(rows[0]["recall@10_std"]) == pytest.approx(statistics.stdev(recalls), rel=1e-15)
    assert rows[0]["seconds_per_epoch"] == repr(float(rows[0]["seconds_per_epoch"]))
    assert rows[1]["all_erank"] == rows[1]["all_erank_std"] == "n/a"
    assert float(rows[1]["epochs"]) == pytest.approx(12 + 1 / 3)
    markdown = (tmp_path / "results.md").read_text()
    epochs_std = statistics.stdev([11, 12, 14])
    assert f"| BPRMF | 12.3 ± {epochs_std:.1f} | " in markdown
    assert "| EASE | 12.3 ± " in markdown and "| n/a | n/a |" in markdown
    assert "seeds: 1, 2, 4 (mean ± sample std)" in markdown
    assert (tmp_path / "spectra.png").exists()


def test_one_seed_has_no_std_columns(tmp_path: Path) -> None:
    records = {"BPRMF": [_record("BPRMF", 3)]}
    write_results(records, tmp_path, dataset="checker", seeds=[3], echo=lambda _: None)
    (row,) = csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text()))
    recall = records["BPRMF"][0]["test_result"]["recall@10"]
    assert "recall@10_std" not in row and row["recall@10"] == repr(recall)
    assert (
        "| BPRMF | 13.0 | 3.33 | 0.3500 | 0.0500 | 3.85 |" in (tmp_path / "results.md").read_text()
    )
