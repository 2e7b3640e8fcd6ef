"""``recbole-spec tune``: a Ray Tune hyperparameter search (see :mod:`recbole_spec.tuning`)."""

from __future__ import annotations

import argparse
from typing import Any

PASSTHROUGH = True


def add_parser(subparsers: Any) -> None:
    """The ``tune`` subparser."""
    from recbole_spec.tuning import add_tune_parser

    add_tune_parser(subparsers)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Plan, run and report a search."""
    from recbole_spec.tuning import run_tune_command

    return run_tune_command(args, overrides)
