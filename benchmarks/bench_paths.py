"""Issue 19 (b): the new training default against the old path, test metrics over seeds.

The new default is what ``run_recbole_spec.py --model=M --dataset=D`` does now (planned epochs,
fused Adam on dense tables and, on a holdout import of a paper dataset, the ``stop_on_stall``
rule); the old path is ``--fast_train=False`` with the paper preset alone (RecBole's loop and
Adam, 300 epochs evaluated every 30), i.e. the previous default. Prints each run and, per path,
the mean and standard deviation of test NDCG@20, then whether the means differ by no more than
the larger of the two standard deviations and 0.001 (the issue's criterion)::

    OMP_NUM_THREADS=1 python benchmarks/bench_paths.py --dataset=citeulike --seeds=2020,2021,2022

``--new_preset=directspec_citeulike`` runs the new path under the old protocol (300 epochs,
evaluated every 30, no stall rule): the training paths alone, compared.
"""

from __future__ import annotations

import argparse
import statistics
import time

from recbole_spec.pipeline import run
from recbole_spec.validation import split_names

OLD_PATH = {"fast_train": False}
"""Plus the model's paper preset alone, named explicitly so that stop_on_stall is not added."""


def _one(model: str, dataset: str, seed: int, settings: dict) -> tuple[float, float, int]:
    start = time.perf_counter()
    result = run(model, dataset, config_dict={"seed": seed, **settings})
    wall = time.perf_counter() - start
    test = {k.lower(): v for k, v in result["test_result"].items()}
    return float(test["ndcg@20"]), wall, int(result["epochs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="DirectSpecPlus")
    parser.add_argument("--dataset", default="citeulike")
    parser.add_argument("--seeds", default="2020,2021,2022")
    parser.add_argument("--old_preset", default="directspec_citeulike")
    parser.add_argument(
        "--new_preset",
        default=None,
        help="run the new path with this preset alone (e.g. directspec_citeulike: no stall "
        "rule), to compare the training paths under one protocol",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in split_names(args.seeds)]
    new = (
        ("new default", {})
        if args.new_preset is None
        else (
            f"new path (--preset={args.new_preset})",
            {"preset": args.new_preset},
        )
    )
    paths = {
        new[0]: new[1],
        f"old path (--fast_train=False --preset={args.old_preset})": {
            **OLD_PATH,
            "preset": args.old_preset,
        },
    }
    scores: dict[str, list[float]] = {name: [] for name in paths}
    for seed in seeds:
        for name, settings in paths.items():
            ndcg, wall, epochs = _one(args.model, args.dataset, seed, settings)
            scores[name].append(ndcg)
            print(f"seed {seed} {name}: test ndcg@20 {ndcg:.4f}, {epochs} epochs, {wall:.0f} s")
    stats = {}
    for name, values in scores.items():
        mean = statistics.mean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        stats[name] = (mean, std)
        print(f"{name}: test ndcg@20 {mean:.4f} +- {std:.4f} over seeds {args.seeds}")
    (new_mean, new_std), (old_mean, old_std) = stats.values()
    bound = max(new_std, old_std, 0.001)
    verdict = "within" if abs(new_mean - old_mean) <= bound else "OUTSIDE"
    print(
        f"difference of means {new_mean - old_mean:+.4f}: {verdict} the bound "
        f"max(std, 0.001) = {bound:.4f}"
    )


if __name__ == "__main__":
    main()
