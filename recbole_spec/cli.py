"""Command line: ``recbole-spec run | import | tune | compare | spectrum``.

``run_recbole_spec.py`` is ``recbole-spec run``.

``run`` follows RecBole's conventions: ``--model=``, ``--dataset=``, ``--config_files=`` (comma
or space separated) and any other ``--key=value`` override, e.g.
``recbole-spec run --model=DirectSpecPlus --dataset=gowalla --tau=3.0``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recbole_spec.validation import ConfigError

PASSTHROUGH_COMMANDS = ("run", "tune", "compare")
"""Commands that hand unrecognised ``--key=value`` arguments to RecBole as config overrides."""


def _add_run_parser(subparsers: argparse._SubParsersAction) -> None:
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
    parser.set_defaults(func=_run_command)


def _run_command(args: argparse.Namespace, overrides: list[str]) -> int:
    from recbole_spec.pipeline import run

    files = [f for f in args.config_files.replace(",", " ").split() if f]
    result = run(args.model, args.dataset, config_file_list=files, overrides=overrides)
    print(format_result(result))
    return 1 if result.get("diverged") else 0


def resume_command(argv: Sequence[str], checkpoint: str) -> str:
    """The command line that continues an interrupted run from ``checkpoint``."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "recbole-spec"
    prefix = f"python {prog}" if prog.endswith(".py") else "recbole-spec"
    if prefix == "recbole-spec" and prog == "__main__.py":
        prefix = "python -m recbole_spec"
    kept = [a for a in argv if not a.startswith("--resume_from=")]
    return " ".join([prefix, *map(shlex.quote, kept), f"--resume_from={shlex.quote(checkpoint)}"])


def interrupted_message(argv: Sequence[str], err: Any) -> str:
    """One line for Ctrl-C: where the last checkpoint is and how to resume."""
    checkpoint = getattr(err, "checkpoint", None)
    if not checkpoint:
        return "recbole-spec: interrupted before the first epoch ended; nothing to resume"
    epoch = getattr(err, "epoch", None)
    done = f" (after epoch {epoch})" if epoch is not None else ""
    return (
        f"recbole-spec: interrupted; last checkpoint {checkpoint}{done}; resume with: "
        f"{resume_command(argv, checkpoint)}"
    )


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


def build_parser() -> argparse.ArgumentParser:
    """The ``recbole-spec`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="recbole-spec", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(subparsers)
    from recbole_spec.compare import add_compare_parser
    from recbole_spec.data_import import add_import_parser
    from recbole_spec.spectrum import add_spectrum_parser
    from recbole_spec.tuning import add_tune_parser

    add_import_parser(subparsers)
    add_tune_parser(subparsers)
    add_compare_parser(subparsers)
    add_spectrum_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recbole-spec`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    passthrough = args.command in PASSTHROUGH_COMMANDS
    if extra and not passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from recbole_spec.pipeline import RunInterrupted

    try:
        return args.func(args, extra) if passthrough else args.func(args)
    except ConfigError as err:
        print(f"recbole-spec: error: {err}", file=sys.stderr)
        return 2
    except RunInterrupted as err:
        print(interrupted_message(argv, err), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("recbole-spec: interrupted", file=sys.stderr)
        return 130
