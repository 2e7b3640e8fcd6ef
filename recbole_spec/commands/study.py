"""``recbole-spec study``: tune every model on validation with one budget, test over seeds.

Any further ``--key=value`` is a config setting for every trial and retraining. Bad models,
spaces, budgets or overrides are raised as :class:`~recbole_spec.validation.ConfigError` by
:func:`~recbole_spec.study.plan_study` before anything trains.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from recbole_spec.validation import ConfigError, split_names

PASSTHROUGH = True


def add_parser(subparsers: Any) -> None:
    """The ``study`` subparser (prefix abbreviations off, as ``compare``)."""
    parser = subparsers.add_parser(
        "study",
        allow_abbrev=False,
        help="tune each model on validation (same budget), retrain per seed, test once each",
        description="Tune every model on the validation split with the same budget, retrain "
        "the selected configuration once per seed (the only test evaluations, in "
        "ledger.jsonl), and write results.md/.csv/.tex with mean ± std, Wilcoxon p-values "
        "against the best baseline, erank, stable rank, uniformity and timings, plus "
        "validation.png and spectra.png. Rerun the same command to resume. Any further "
        "--key=value is a config setting for every run.",
    )
    parser.add_argument("--models", required=True, help="e.g. DirectSpecPlus@grid,BPR,EASE")
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--trials", type=int, required=True, help="trials per model")
    parser.add_argument(
        "--time-budget-s",
        "--time_budget_s",
        type=float,
        default=None,
        help="seconds of search per model (default: none)",
    )
    parser.add_argument("--seeds", default="1,2,3", help="comma separated (default: 1,2,3)")
    parser.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="MODEL=FILE",
        help="search space of one entry (repeatable)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every run")
    parser.add_argument(
        "--max-concurrent",
        "--max_concurrent",
        type=int,
        default=None,
        help="trials at once (default: as many as the CPUs allow)",
    )
    parser.add_argument(
        "--cpus-per-trial",
        "--cpus_per_trial",
        type=float,
        default=None,
        help="CPUs (and torch threads) per trial (default: CPUs / max-concurrent, or 1)",
    )
    parser.add_argument(
        "--gpus-per-trial",
        "--gpus_per_trial",
        type=float,
        default=None,
        help="GPUs per trial, fractions allowed: 0.25 packs four trials on one GPU",
    )
    parser.add_argument("--config_files", default="", help="YAML files for every run")
    parser.add_argument(
        "--retune",
        default="",
        help="entries of this study to search again after their space changed; their earlier "
        "test evaluations move to ledger.discarded.jsonl and the tables name them",
    )


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Plan, run and report the study; exit status 1 when every model failed."""
    from recbole_spec.study import StudyUnfinished, plan_study, study

    try:
        seeds = [int(s) for s in split_names(args.seeds)]
    except ValueError as err:
        raise ConfigError(f"study: --seeds must be integers, e.g. 1,2,3 ({err})") from err
    spaces = {}
    for item in args.space:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise ConfigError(f"study: --space takes MODEL=FILE (got {item!r})")
        spaces[label] = path
    plan = plan_study(
        split_names(args.models),
        args.dataset,
        trials=args.trials,
        seeds=seeds,
        out_dir=args.out,
        time_budget_s=args.time_budget_s,
        spaces=spaces,
        epochs=args.epochs,
        config_file_list=split_names(args.config_files),
        overrides=list(overrides),
        max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        retune=split_names(args.retune),
    )
    for label, discarded in plan.retuned.items():
        print(
            f"recbole-spec study: {label}: earlier search and results discarded ({discarded} "
            "test evaluations kept in ledger.discarded.jsonl); if this run is interrupted, "
            "resume it without --retune",
            file=sys.stderr,
        )
    from recbole_spec.pipeline import RunInterrupted, stop_wording

    resume = " without --retune" if plan.retuned else ""  # with it, the entry is redone
    try:
        outcome = study(plan)
    except StudyUnfinished as err:
        print(f"recbole-spec study: {err}{resume}", file=sys.stderr)
        return 1
    except RunInterrupted as err:  # during a retraining: its run restarts, the rest is kept
        print(
            f"recbole-spec study: {stop_wording(err)}; every finished search and test "
            f"evaluation is kept in {plan.out_dir}; rerun the same command{resume} to resume",
            file=sys.stderr,
        )
        return err.exit_code
    print(outcome.files["md"].read_text(encoding="utf-8"))
    print("written: " + ", ".join(str(p) for p in outcome.files.values()))
    return 1 if len(outcome.failed) == len(plan.entries) else 0
