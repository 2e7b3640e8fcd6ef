"""``recbole-spec import``: benchmark splits to atomic files (:mod:`recbole_spec.data_import`)."""

from __future__ import annotations

import argparse
from typing import Any

PASSTHROUGH = False


def add_parser(subparsers: Any) -> None:
    """The ``import`` subparser."""
    from recbole_spec.data_import import add_import_parser

    add_import_parser(subparsers)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Import a dataset and print its report."""
    from recbole_spec.data_import import run_import_command

    return run_import_command(args)
