"""The stable-rank warm start's two claims (Loveland et al., arXiv 2410.23300), measured here.

(a) Speed: epochs and wall seconds until the validation NDCG@20 first reaches 95% of the best
    validation NDCG@20 of the run without warm start, for CLUniformity (DirectAU loss) with and
    without the warm start.
(b) Few negatives: test NDCG@20 / Recall@20 of BPR (1 negative) and SSM (1 and 4 negatives) on
    BPRMF, with and without the warm start.

All runs use the same dataset split (holdout: validation for early stopping, test untouched),
seed and epoch budget, in one process. Example (the ML-1M split with its own valid file)::

    recbole-spec import ml-1m --source ../shared/datasets
    python benchmarks/bench_warm_start.py --dataset=ml-1m --epochs=60 --out=/tmp/warm.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

from recbole_spec import run

WARM = {"stable_rank_weight": 1.0, "warm_start_epochs": 5, "warm_start_patience": 2}


class Clock:
    """Epoch callback recording (epoch, seconds since start, validation NDCG@20)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.rows: list[tuple[int, float, float]] = []

    def __call__(self, epoch: int, loss: float, valid: dict) -> None:
        self.rows.append((epoch + 1, time.perf_counter() - self.start, valid["ndcg@20"]))


def _run(model: str, args: argparse.Namespace, settings: dict) -> dict:
    clock = Clock()
    config = {
        "epochs": args.epochs,
        "stopping_step": args.stopping_step,
        "seed": args.seed,
        "show_progress": False,
        "state": "WARNING",
        **settings,
    }
    if args.data_path:
        config["data_path"] = args.data_path
    result = run(model, args.dataset, config_dict=config, callbacks=[clock])
    return {
        "model": model,
        "settings": settings,
        "curve": clock.rows,
        "test": result["test_result"],
        "epochs": result["epochs"],
        "seconds": clock.rows[-1][1] if clock.rows else 0.0,
        "warm_start_ended": next(
            (c.ended_epoch for c in result["trainer"].epoch_callbacks if hasattr(c, "ended_epoch")),
            None,
        ),
    }


def _time_to(curve: list[tuple[int, float, float]], target: float) -> tuple[str, str]:
    for epoch, seconds, score in curve:
        if score >= target:
            return str(epoch), f"{seconds:.0f}"
    return "never", "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--stopping_step", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    runs: dict[str, dict] = {}

    def record(name: str, model: str, settings: dict) -> None:
        print(f"running {name} ...", flush=True)
        runs[name] = _run(model, args, settings)
        if args.out:
            with open(f"{args.out}.tmp", "w") as handle:
                json.dump({"args": vars(args), "runs": runs}, handle)
            os.replace(f"{args.out}.tmp", args.out)

    record("CLUniformity", "CLUniformity", {})
    record("CLUniformity + warm start", "CLUniformity", WARM)
    for loss, k in (("bpr", 1), ("ssm", 1), ("ssm", 4)):
        base = {"loss": loss, "neg_ratio": k}
        record(f"BPRMF {loss.upper()} k={k}", "BPRMF", base)
        record(f"BPRMF {loss.upper()} k={k} + warm start", "BPRMF", {**base, **WARM})

    plain = runs["CLUniformity"]
    target = 0.95 * max(score for _, _, score in plain["curve"])
    print(f"\n(a) epochs / seconds until valid NDCG@20 >= {target:.4f} (95% of plain best)")
    print("| model | epochs to 95% | seconds to 95% | best valid NDCG@20 | epochs run |")
    print("|---|---|---|---|---|")
    for name in ("CLUniformity", "CLUniformity + warm start"):
        r = runs[name]
        epochs, seconds = _time_to(r["curve"], target)
        best = max(score for _, _, score in r["curve"])
        print(f"| {name} | {epochs} | {seconds} | {best:.4f} | {r['epochs']} |")
    print("\n(b) test metrics with few negatives")
    print("| model | test NDCG@20 | test Recall@20 | epochs | warm start ended after epoch |")
    print("|---|---|---|---|---|")
    for name, r in runs.items():
        if name.startswith("BPRMF"):
            ended = r["warm_start_ended"] if r["warm_start_ended"] is not None else "-"
            print(
                f"| {name} | {r['test']['ndcg@20']:.4f} | {r['test']['recall@20']:.4f} | "
                f"{r['epochs']} | {ended} |"
            )


if __name__ == "__main__":
    main()
