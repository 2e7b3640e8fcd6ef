"""``recbole-spec spectrum``: collapse diagnostics of checkpoints (:mod:`recbole_spec.spectrum`)."""

from __future__ import annotations

import argparse
from typing import Any

PASSTHROUGH = False


def add_parser(subparsers: Any) -> None:
    """The ``spectrum`` subparser."""
    from recbole_spec.spectrum import add_spectrum_parser

    add_spectrum_parser(subparsers)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Print (and optionally write) the diagnostics table."""
    from recbole_spec.spectrum import spectrum_command

    return spectrum_command(args)
