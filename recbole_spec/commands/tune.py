"""``recbole-spec tune``: a Ray Tune hyperparameter search (see :mod:`recbole_spec.tuning`).

Any further ``--key=value`` is a config setting applied to every trial. Argument and space errors
are raised as :class:`~recbole_spec.validation.ConfigError` by :func:`plan_search`, before Ray
starts, and reported by :func:`recbole_spec.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recbole_spec.validation import split_names

PASSTHROUGH = True

SEARCH_ALGS = ("random", "grid", "optuna", "hyperopt")
SCHEDULERS = ("asha", "fifo")
"""The choices of ``--search-alg`` and ``--scheduler`` (as :mod:`recbole_spec.tuning.plan`;
repeated so that ``--help`` does not import the tuning package)."""


def add_parser(subparsers: Any) -> None:
    """The ``tune`` subparser."""
    parser = subparsers.add_parser(
        "tune",
        allow_abbrev=False,
        help="search hyperparameters with Ray Tune (validation-selected, ASHA, resumable)",
        description="Search a model's hyperparameters on the validation split with Ray Tune, "
        "then train the best configuration once more and report its test metrics. Any further "
        "--key=value is a config setting applied to every trial.",
    )
    parser.add_argument("--model", required=True, help="e.g. DirectSpecPlus, recbole.LightGCN")
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument(
        "--space", default=None, help="search-space YAML (default: properties/tune/<Model>.yaml)"
    )
    parser.add_argument("--config_files", default="", help="YAML files, comma or space separated")
    options: list[tuple[str, dict[str, Any]]] = [
        ("out-dir", {"help": "output folder (default: tune/<Model>-<dataset>)"}),
        ("num-samples", {"type": int, "default": 10, "help": "trials or grid repeats (10)"}),
        ("search-alg", {"default": "random", "choices": SEARCH_ALGS}),
        ("grace-period", {"type": int, "help": "evaluations before ASHA may stop a trial"}),
        ("cpus-per-trial", {"type": float, "help": "default: CPUs / max-concurrent, or 1"}),
        ("gpus-per-trial", {"type": float, "help": "default: 1 if Ray sees a GPU, else 0"}),
        ("max-concurrent", {"type": int, "help": "default: as many as resources allow"}),
        ("time-budget", {"type": float, "help": "seconds for the whole search"}),
        ("max-failures", {"type": int, "default": 2, "help": "retries of a failing trial (2)"}),
        ("retry-errored", {"action": "store_true", "help": "with --resume: rerun failed trials"}),
    ]
    for name, kwargs in options:
        parser.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kwargs)
    parser.add_argument("--scheduler", default="asha", choices=SCHEDULERS)
    parser.add_argument("--address", default=None, help="join this Ray cluster (e.g. auto)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out-dir")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Plan, run and report a search: print the summary, exit status 1 if every trial failed."""
    from recbole_spec.registry import get_model
    from recbole_spec.tuning import TuneFailedError, plan_search, tune

    out_dir = args.out_dir or str(Path("tune") / f"{get_model(args.model).__name__}-{args.dataset}")
    files = split_names(args.config_files)
    plan = plan_search(
        args.model,
        args.dataset,
        args.space,
        out_dir=out_dir,
        num_samples=args.num_samples,
        search_alg=args.search_alg,
        scheduler=args.scheduler,
        grace_period=args.grace_period,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent,
        time_budget_s=args.time_budget,
        address=args.address,
        resume=args.resume,
        retry_errored=args.retry_errored,
        max_failures=args.max_failures,
        config_file_list=files,
        overrides=list(overrides),
        verbose=args.verbose,
    )
    try:
        outcome = tune(plan)
    except TuneFailedError as err:  # a finished search with no result: its report, not a bug
        print(f"recbole-spec tune: {err}", file=sys.stderr)
        return 1
    print(outcome.summary())
    return 0
