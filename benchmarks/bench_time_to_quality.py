"""Time to quality: wall seconds until validation NDCG@20 first reaches 95% of the best.

For each model, two runs on the same split and seed: **before** and **after** (today's
defaults: lean loader, ``RowAdam`` on the rows a batch touches on the CPU, fast evaluator; the
same numbers). ``--before=dense`` (default) is ``--sparse_grad=False``: dense
``torch.optim.Adam`` over the whole tables at every step; ``--before=recbole`` is the whole
pre-issue-11 path: dense Adam, RecBole's own data loaders and RecBole's evaluator (with its
default ``eval_batch_size``). The
target is 95% of the best validation NDCG@20 that the *before* run reached within ``--epochs``
(and each run's own 95% mark is printed too). Seconds count training and evaluation from the
first epoch on (data loading excluded); checkpoints are not written. DirectSpecPlus runs with
its RecBole-native defaults (``--preset=none``), BPRMF with its own. Example::

    python benchmarks/bench_time_to_quality.py --dataset=gowalla --data_path=<import root> \\
        --epochs=5
"""

from __future__ import annotations

import argparse
import time

import torch
from recbole.data import create_dataset, data_preparation
from recbole.utils import init_seed

from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data
from recbole_spec.validation import split_names

METRIC = "ndcg@20"


def _curve(model: str, before: bool, args: argparse.Namespace) -> list[tuple[int, float, float]]:
    """``[(epoch, seconds since the first epoch started, valid NDCG@20), ...]``."""
    settings = {
        "show_progress": False,
        "state": "WARNING",
        "epochs": args.epochs,
        "eval_step": 1,
        "stopping_step": 10_000,
        "checkpoint_dir": args.checkpoint_dir,
        "spectrum_monitor": False,
    }
    if model == "DirectSpecPlus":
        settings["preset"] = "none"
    if before:
        settings["sparse_grad"] = False
        settings["fast_eval"] = args.before == "dense"
    if args.data_path:
        settings["data_path"] = args.data_path
    config = build_config(model, args.dataset, config_dict=settings)
    if before and args.before == "recbole":
        init_seed(config["seed"], config["reproducibility"])
        train, valid, _ = data_preparation(config, create_dataset(config))
    else:
        _, train, valid, _ = load_data(config)
    label = {"dense": "dense Adam", "recbole": "before issue 11"}[args.before] if before else "now"
    points: list[tuple[int, float, float]] = []
    start = [0.0]

    def record(epoch: int, _loss: object, result: dict) -> None:
        points.append((epoch, time.perf_counter() - start[0], float(result[METRIC])))
        print(
            f"  {model} {label} epoch {epoch}: "
            f"{points[-1][1]:.1f} s, valid {METRIC} {points[-1][2]:.4f}",
            flush=True,
        )

    trainer = build_trainer(config, build_model(config, train), [record], saved=False)
    print(f"{model}: optimizer {type(trainer.optimizer).__name__}", flush=True)
    start[0] = time.perf_counter()
    trainer.fit(train, valid, verbose=False, saved=False, show_progress=False)
    return points


def _first(points: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    return next(((epoch, s) for epoch, s, value in points if value >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--models", default="DirectSpecPlus,BPRMF")
    parser.add_argument("--epochs", type=int, default=10, help="bounded number of epochs")
    parser.add_argument("--checkpoint_dir", default="/tmp/recbole_spec_ttq")
    parser.add_argument("--before", choices=("dense", "recbole"), default="dense")
    args = parser.parse_args()
    print(f"dataset={args.dataset} epochs<={args.epochs} threads={torch.get_num_threads()}")
    lines = []
    for model in split_names(args.models):
        before = _curve(model, True, args)
        after = _curve(model, False, args)
        target = 0.95 * max(value for _, _, value in before)
        hit_before, hit_after = _first(before, target), _first(after, target)
        own = _first(after, 0.95 * max(value for _, _, value in after))

        def show(hit: tuple[int, float] | None) -> str:
            return "not reached" if hit is None else f"{hit[1]:.1f} s (epoch {hit[0]})"

        ratio = f" (x{hit_after[1] / hit_before[1]:.2f})" if hit_before and hit_after else ""
        lines.append(
            f"{args.dataset} {model}: 95% of best valid {METRIC} ({target:.4f}): before "
            f"({args.before}) {show(hit_before)}, now {show(hit_after)}{ratio}; now best "
            f"{max(v for _, _, v in after):.4f} (own 95% at {show(own)}), before best "
            f"{max(v for _, _, v in before):.4f}; {args.epochs} epochs at most"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
