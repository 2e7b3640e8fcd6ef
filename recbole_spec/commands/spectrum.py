"""``recbole-spec spectrum``: collapse diagnostics of saved checkpoints, as a table and a plot.

The library behind it: :func:`recbole_spec.diagnostics.checkpoints.spectrum_of_checkpoints` (which
restores each model through :mod:`recbole_spec.training.restore`).
"""

from __future__ import annotations

import argparse
from typing import Any

PASSTHROUGH = False


def add_parser(subparsers: Any) -> None:
    """The ``spectrum`` subparser: checkpoints, ``--out``, ``--normalize``, the pickle opt-in."""
    from recbole_spec.training.restore import RECBOLE_PICKLE_RISK

    parser = subparsers.add_parser(
        "spectrum",
        help="collapse diagnostics and singular-value plot of saved checkpoints",
        description="Rebuild each checkpoint's model, print erank / stable rank / energy / "
        "uniformity / alignment as a markdown table and plot the normalised singular-value "
        "spectra (one curve per checkpoint, log scale).",
    )
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="recbole-spec .pth")
    parser.add_argument("--out", default="spectra.png", help="PNG to write (default spectra.png)")
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="plot the spectra of row-normalised tables (directions only)",
    )
    parser.add_argument(
        "--allow-recbole-pickle",
        action="store_true",
        help=f"also read checkpoints written by RecBole itself: {RECBOLE_PICKLE_RISK}",
    )


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Print the diagnostics table and write the plot.

    A missing or foreign checkpoint, or a model without embedding tables, is a
    :class:`~recbole_spec.validation.ConfigError` (one line, exit status 2).
    """
    from recbole_spec.diagnostics.checkpoints import spectrum_of_checkpoints
    from recbole_spec.diagnostics.tables import NoEmbeddingError
    from recbole_spec.training.checkpoint import CheckpointError
    from recbole_spec.validation import ConfigError

    try:
        rows = spectrum_of_checkpoints(
            args.checkpoints,
            out=args.out,
            normalize=args.normalize,
            allow_recbole_pickle=args.allow_recbole_pickle,
        )
    except (CheckpointError, NoEmbeddingError) as err:
        raise ConfigError(f"spectrum: {err}") from err
    print(format_spectrum_table(rows))
    print(f"plot: {args.out}")
    return 0


def format_spectrum_table(rows: list[dict[str, Any]]) -> str:
    """The printed markdown table: floats to 4 decimals, absent metrics as ``n/a``."""
    from recbole_spec.diagnostics.checkpoints import spectrum_table
    from recbole_spec.reporting import markdown_table

    return markdown_table(spectrum_table(rows), decimals=4, missing="n/a")
