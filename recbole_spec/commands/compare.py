"""``recbole-spec compare``: several models and seeds, one table (:mod:`recbole_spec.compare`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from recbole_spec.validation import split_names

PASSTHROUGH = True


def add_parser(subparsers: Any) -> None:
    """The ``compare`` subparser; further ``--key=value`` arguments are overrides for every run.

    Prefix abbreviations are off, so ``--seed=1`` or ``--model=X`` are never taken for
    ``--seeds``/``--models``: they reach :func:`~recbole_spec.compare.compare` as overrides,
    which rejects them.
    """
    parser = subparsers.add_parser(
        "compare",
        allow_abbrev=False,
        help="run several models on one dataset and tabulate metrics, time and erank",
        description="Train each model (plugin or RecBole built-in; recbole.<Name> forces "
        "RecBole's) with each seed through the one pipeline, then write results.md, results.csv "
        "and spectra.png. Finished runs are skipped on a rerun unless --force. Any further "
        "--key=value is a config override for every run.",
    )
    parser.add_argument(
        "--models", required=True, help="comma separated, e.g. DirectSpecPlus,BPR,recbole.LightGCN"
    )
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--seeds", default="2020", help="comma separated seeds (default: 2020)")
    parser.add_argument("--out", default=None, help="output folder (default: compare/<dataset>)")
    parser.add_argument("--config_files", default="", help="YAML files for every run")
    parser.add_argument("--force", action="store_true", help="rerun models with existing results")


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Run every model and seed, write the tables; returns 0, or 1 when some runs failed.

    A failed run has its row (with the reason) in the tables and one line on stderr.
    """
    import sys

    from recbole_spec.compare import compare
    from recbole_spec.compare.runs import ComparisonFailed
    from recbole_spec.validation import ConfigError

    try:
        seeds = [int(s) for s in split_names(args.seeds)]
    except ValueError as err:
        raise ConfigError(f"compare: --seeds must be integers, e.g. 2020,2021 ({err})") from err
    try:
        compare(
            split_names(args.models),
            args.dataset,
            seeds=seeds,
            out_dir=args.out or Path("compare") / args.dataset,
            config_file_list=split_names(args.config_files),
            overrides=list(overrides),
            force=args.force,
        )
    except ComparisonFailed as err:
        print(f"recbole-spec: error: {err}", file=sys.stderr)
        return 1
    return 0
