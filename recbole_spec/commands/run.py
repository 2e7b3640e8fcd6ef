"""``recbole-spec run``: train and test one model (``run_recbole_spec.py`` is this command)."""

from __future__ import annotations

import argparse
from typing import Any

from recbole_spec.validation import split_names

PASSTHROUGH = True


def add_parser(subparsers: Any) -> None:
    """The ``run`` subparser: RecBole's ``--model``, ``--dataset``, ``--config_files``."""
    parser = subparsers.add_parser(
        "run",
        help="train and test one model",
        description="Train a plugin or RecBole model and print its test metrics. Any further "
        "--key=value is a RecBole/plugin config override.",
    )
    parser.add_argument(
        "--model", required=True, help="e.g. DirectSpecPlus, BPRMF, recbole.LightGCN"
    )
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--config_files", default="", help="YAML files, comma or space separated")


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Run the pipeline; exit status 1 when training diverged (the best checkpoint is tested)."""
    from recbole_spec.pipeline import run

    files = split_names(args.config_files)
    result = run(args.model, args.dataset, config_file_list=files, overrides=overrides)
    print(format_result(result))
    return 1 if result.get("diverged") else 0


def format_result(result: dict) -> str:
    """A short, paste-able summary of a run's test metrics."""
    lines = [
        f"model={result['model']} dataset={result['dataset']} protocol={result['protocol']} "
        f"epochs={result['epochs']} checkpoint={result['checkpoint']}",
        "test: " + "  ".join(f"{k}={v:.4f}" for k, v in result["test_result"].items()),
    ]
    if result["protocol"] == "paper":
        lines.append("NOTE: paper protocol, checkpoints were selected on the test rows.")
    return "\n".join(lines)
