"""``recbole-spec compare``: several models and seeds, one table (:mod:`recbole_spec.compare`)."""

from __future__ import annotations

import argparse
from typing import Any

PASSTHROUGH = True


def add_parser(subparsers: Any) -> None:
    """The ``compare`` subparser."""
    from recbole_spec.compare import add_compare_parser

    add_compare_parser(subparsers)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Run every model and seed, write the tables."""
    from recbole_spec.compare import compare_command

    return compare_command(args, overrides)
