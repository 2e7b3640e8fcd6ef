"""``recbole-spec import``: benchmark splits to atomic files (:mod:`recbole_spec.data_import`).

A bad file, name or destination is the user's to fix, not a crash: :func:`main` prints the
importer's one-line message (``recbole-spec import: error: ...``) and returns 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from recbole_spec import paths
from recbole_spec.data.checks import COLD_START_POLICIES
from recbole_spec.data_import.download import CACHE_FOLDER, MIRROR_ENV
from recbole_spec.data_import.importer import PROTOCOLS, import_known, import_split
from recbole_spec.data_import.known import KNOWN_DATASETS, SOURCE_ENV, UnregisteredDatasetError
from recbole_spec.data_import.readers import FORMATS
from recbole_spec.data_import.report import ImportReport

PASSTHROUGH = False


def add_parser(subparsers: Any) -> None:
    """The ``import`` subparser: a known dataset with ``--source``, or ``--train/--test``."""
    known = ", ".join(sorted(KNOWN_DATASETS))
    parser = subparsers.add_parser(
        "import",
        help="download or convert a fixed train/test split into RecBole atomic files",
        description=(
            f"Import a known dataset ({known}) or any split given with --train/--test[/--valid]. "
            "A known dataset without --source (and without $"
            f"{SOURCE_ENV}) is downloaded over HTTPS from its published source, verified by "
            f"content (rows, users, items, sorted-pair sha256) and cached in "
            f"<out>/{CACHE_FOLDER}/; set {MIRROR_ENV}=<base URL> to read <base URL>/<folder>/"
            "<file> instead (e.g. lightgcn-gowalla/train.txt)."
        ),
    )
    parser.add_argument("name", help=f"known dataset ({known}) or a new name with --train/--test")
    parser.add_argument(
        "--source",
        help=f"local dataset folder or its parent (default ${SOURCE_ENV}; unset: download)",
    )
    parser.add_argument("--train", help="train file of a custom split")
    parser.add_argument("--test", help="test file of a custom split")
    parser.add_argument("--valid", help="optional valid file of a custom split")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="auto",
        help="format of custom split files (default: auto)",
    )
    parser.add_argument(
        "--out",
        help=f"output root, RecBole's data_path (default ${paths.DATA_HOME_ENV} or ~/.cache/...)",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="holdout",
        help="holdout: carve valid from train; paper: valid = copy of test",
    )
    parser.add_argument(
        "--valid-fraction",
        type=float,
        default=0.1,
        help="share of each user's train rows carved out (holdout; default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=2020, help="carve-out seed (default 2020)")
    parser.add_argument(
        "--cold-start",
        dest="cold_start",
        choices=COLD_START_POLICIES,
        default="keep",
        help="valid/test rows whose user or item has no train row: keep (RecBole's behaviour, "
        "default; they are scored with untrained embeddings) or drop; counted either way",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing import")


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Import a dataset: print its report and return 0, or an error line and 2."""
    try:
        report = _import_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"recbole-spec import: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _import_from_args(args: argparse.Namespace) -> ImportReport:
    options = {
        "protocol": args.protocol,
        "valid_fraction": args.valid_fraction,
        "seed": args.seed,
        "overwrite": args.force,
        "cold_start": getattr(args, "cold_start", "keep"),
    }
    if args.train or args.test or args.valid:
        if args.source:
            raise ValueError("--source is for known datasets; a custom split takes --train/--test")
        if not (args.train and args.test):
            raise ValueError("a custom split needs both --train and --test")
        return import_split(
            args.train, args.test, args.name, args.out, valid=args.valid, fmt=args.fmt, **options
        )
    if args.name not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        raise UnregisteredDatasetError(
            f"unknown dataset '{args.name}' (known: {known}); to import your own split give "
            "--train and --test"
        )
    return import_known(args.name, source=args.source, out_root=args.out, **options)
