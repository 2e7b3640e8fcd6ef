"""``recbole-spec demo``: the product's point in three minutes, offline, on ml-100k.

Trains a collapse-prone baseline (BPR-MF) next to the spectrum-balancing models (DirectSpec+,
CLUniformity) through ``compare``, then prints their test metrics beside the collapse metrics of
their final tables (effective rank, stable rank) and what the numbers say. The sentences are
computed from the table, so a run where the balanced models lose says that, too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from recbole_spec.validation import split_names

PASSTHROUGH = True
DEMO_MODELS = "BPRMF,DirectSpecPlus,CLUniformity"
BASELINE = "BPRMF"


def add_parser(subparsers: Any) -> None:
    """The ``demo`` subparser; further ``--key=value`` arguments are overrides for every run."""
    parser = subparsers.add_parser(
        "demo",
        help="BPR-MF vs the spectrum-balancing models on ml-100k, with collapse metrics",
        description="Train BPR-MF, DirectSpecPlus and CLUniformity on ml-100k (offline) and "
        "print test metrics next to erank and stable rank, with what they show.",
    )
    parser.add_argument("--models", default=DEMO_MODELS, help=f"default: {DEMO_MODELS}")
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--out", default="demo", help="output folder (default: demo)")


def _rows(out: Path, models: list[str]) -> list[dict[str, Any]]:
    rows = []
    for model in models:
        record = json.loads((out / "runs" / f"{model}-seed2020.json").read_text("utf-8"))
        test = {k.lower(): v for k, v in record["test_result"].items()}
        diagnostics = record.get("diagnostics") or {}
        rows.append(
            {
                "model": model,
                "ndcg@20": test.get("ndcg@20"),
                "recall@20": test.get("recall@20"),
                "erank": diagnostics.get("all_erank"),
                "stable rank": diagnostics.get("all_stable_rank"),
                "epochs": record["epochs"],
                "seconds": record["train_seconds"],
                "dim": int(diagnostics.get("dim", 0)),
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    header = f"{'model':<16}{'NDCG@20':>9}{'Recall@20':>11}{'erank':>8}{'stable rank':>13}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<16}{r['ndcg@20']:>9.4f}{r['recall@20']:>11.4f}{r['erank']:>8.1f}"
            f"{r['stable rank']:>13.2f}   ({r['epochs']} epochs, {r['seconds']:.0f} s)"
        )
    return "\n".join(lines)


def explain(rows: list[dict[str, Any]], dimension: int) -> str:
    """What the table shows, from its numbers: spectrum width and accuracy vs the baseline."""
    base = next((r for r in rows if r["model"] == BASELINE), rows[0])
    lines = []
    for r in rows:
        if r is base:
            continue
        wider = r["erank"] > base["erank"]
        delta = r["ndcg@20"] - base["ndcg@20"]
        shape = "a flatter, less collapsed" if wider else "no flatter"
        lines.append(
            f"- {r['model']}: effective rank {r['erank']:.1f} of {dimension} vs "
            f"{base['erank']:.1f} for {base['model']} ({shape} spectrum); test NDCG@20 "
            f"{delta:+.4f}."
        )
    lines.append(
        "ml-100k is small, dense and popularity-driven: a few dominant embedding directions "
        "already rank well there, so balancing the spectrum need not pay off in accuracy. The "
        "papers' gains are on sparse data; for their setting run `recbole-spec import citeulike` "
        "then `python run_recbole_spec.py --model=DirectSpecPlus --dataset=citeulike`."
    )
    return "\n".join(lines)


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    """Run the comparison, print the table and its reading; returns 0."""
    from recbole_spec.compare import compare

    models = split_names(args.models)
    out = compare(models, args.dataset, out_dir=args.out, overrides=list(overrides))
    rows = _rows(Path(out), models)
    print()
    print(f"Test metrics and collapse of the final embedding tables ({args.dataset}, seed 2020):")
    print(_table(rows))
    print(explain(rows, rows[0]["dim"]))
    return 0
