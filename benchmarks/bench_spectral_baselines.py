"""GF-CF and BSPM on one dataset: test Recall@20 / NDCG@20, fit time, wall time and peak RSS.

Each model runs in its own spawned process (so each peak RSS is that model's alone) through the
one pipeline (:func:`recbole_spec.pipeline.run`), with the model's defaults (the official
Gowalla settings) unless ``--key=value`` overrides are given. Example (single-threaded)::

    RECBOLE_SPEC_DATA_HOME=/tmp/spectral-data OMP_NUM_THREADS=1 PYTHONPATH=$PWD \\
        python benchmarks/bench_spectral_baselines.py --dataset=gowalla

``fit`` is the model's constructor (normalisation + truncated SVD); ``wall`` covers data loading,
fit, the validation and the test evaluation.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from typing import Any


def _one(model: str, dataset: str, overrides: list[str], queue: Any) -> None:
    import torch

    from recbole_spec.pipeline import run

    torch.set_num_threads(1)
    start = time.perf_counter()
    result = run(model, dataset, overrides=["--state=WARNING", *overrides], saved=True)
    queue.put(
        {
            "model": model,
            "recall@20": result["test_result"]["recall@20"],
            "ndcg@20": result["test_result"]["ndcg@20"],
            "valid ndcg@20": result["best_valid_result"].get("ndcg@20", float("nan")),
            "fit_s": result["trainer"].model.fit_seconds,
            "wall_s": time.perf_counter() - start,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run each model in a fresh process, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--models", default="GFCF,BSPM", help="comma separated")
    args, overrides = parser.parse_known_args(argv)
    ctx = mp.get_context("spawn")
    rows = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(model, args.dataset, overrides, queue))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"{model} failed (exit code {proc.exitcode}); see its log")
        rows.append(queue.get())
    print(f"dataset {args.dataset}, overrides {' '.join(overrides) or 'none'}")
    print(
        "| model | test Recall@20 | test NDCG@20 | valid NDCG@20 | fit s | wall s | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['recall@20']:.4f} | {r['ndcg@20']:.4f} | "
            f"{r['valid ndcg@20']:.4f} | {r['fit_s']:.1f} | {r['wall_s']:.1f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
