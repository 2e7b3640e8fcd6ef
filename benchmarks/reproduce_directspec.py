"""Reproduce the official DirectSpec+ numbers: per-evaluation metrics and erank, per seed.

Runs the plugin's pipeline with a paper-protocol preset on an imported dataset and prints, for
every evaluation, NDCG@20, truncated and standard Recall@20 and the erank of the raw [U; I]
table (padding rows excluded), then the best evaluation per seed and the mean over seeds.
Example (CiteULike, MF + DirectSpec+, official README settings)::

    recbole-spec import citeulike --source ../shared/datasets --protocol=paper
    python benchmarks/reproduce_directspec.py --dataset=citeulike \
        --preset=directspec_citeulike --seeds=2020,2021,2022 --out=/tmp/repro_citeulike.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from recbole_spec import run
from recbole_spec.atomic import write_text_atomic
from recbole_spec.diagnostics import effective_rank, embedding_tables
from recbole_spec.validation import split_names


class EvaluationLog:
    """Epoch callback recording the validation metrics and the erank at every evaluation."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rows: list[dict] = []
        self.trainer = None

    def bind(self, trainer) -> None:  # noqa: ANN001 - a RecBole trainer
        self.trainer = trainer

    def __call__(self, epoch: int, loss: float, valid: dict) -> None:
        user, item = embedding_tables(self.trainer.model)  # padding rows dropped
        erank = effective_rank(torch.cat([user, item]))
        row = {"epoch": epoch + 1, "loss": loss, **valid, "erank": erank}
        self.rows.append(row)
        print(
            f"  seed {self.seed} epoch {row['epoch']:>4}: ndcg@20={valid['ndcg@20']:.4f} "
            f"trecall@20={valid.get('truncated_recall@20', float('nan')):.4f} "
            f"recall@20={valid['recall@20']:.4f} erank={erank:.1f}",
            flush=True,
        )


def _one_seed(args: argparse.Namespace, seed: int, overrides: list[str]) -> dict:
    log = EvaluationLog(seed)
    config = {"seed": seed, "preset": args.preset, "show_progress": False, "state": "WARNING"}
    if args.data_path:
        config["data_path"] = args.data_path
    start = time.perf_counter()
    result = run(args.model, args.dataset, config_dict=config, overrides=overrides, callbacks=[log])
    return {
        "seed": seed,
        "history": log.rows,
        "best": max(log.rows, key=lambda row: row["ndcg@20"]),
        "test_result": result["test_result"],
        "protocol": result["protocol"],
        "seconds": time.perf_counter() - start,
        "epochs": result["epochs"],
    }


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="DirectSpecPlus")
    parser.add_argument("--dataset", default="citeulike")
    parser.add_argument("--preset", default="directspec_citeulike")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--seeds", default="2020")
    parser.add_argument("--out", default=None, help="JSON file for all results (atomic write)")
    args, overrides = parser.parse_known_args()
    seeds = [int(s) for s in split_names(args.seeds)]
    runs = []
    for seed in seeds:
        print(f"{args.model} on {args.dataset}, preset {args.preset}, seed {seed}", flush=True)
        runs.append(_one_seed(args, seed, overrides))
        if args.out:
            payload = {"args": vars(args), "overrides": overrides, "runs": runs}
            write_text_atomic(args.out, json.dumps(payload))
    print("\n| seed | best epoch | NDCG@20 | trunc. Recall@20 | Recall@20 | erank | minutes |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        b = r["best"]
        print(
            f"| {r['seed']} | {b['epoch']} | {b['ndcg@20']:.4f} | {b['truncated_recall@20']:.4f} "
            f"| {b['recall@20']:.4f} | {b['erank']:.1f} | {r['seconds'] / 60:.1f} |"
        )
    pick = {
        k: [r["best"][k] for r in runs] for k in ("ndcg@20", "truncated_recall@20", "recall@20")
    }
    print(
        f"| mean of {len(runs)} | | {_mean_std(pick['ndcg@20'])} | "
        f"{_mean_std(pick['truncated_recall@20'])} | {_mean_std(pick['recall@20'])} | | |"
    )
    print(f"protocol: {runs[0]['protocol']} (paper: the best evaluation is on the test rows)")


if __name__ == "__main__":
    main()
