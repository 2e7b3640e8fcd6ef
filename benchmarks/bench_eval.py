"""Seconds per full-sort evaluation: ours vs RecBole's evaluator, on the same model, in one run.

Three evaluators score the same (trained or random) model on the same test split:

* ours: ``recbole_spec.training.full_sort`` (the default, ``fast_eval: True``);
* RecBole's ``Trainer.evaluate`` with its default ``eval_batch_size: 4096`` (RecBole's loader
  then takes ``max(4096 // n_items, 1)`` users per batch: one user on Gowalla or CiteULike);
* RecBole's ``Trainer.evaluate`` with ``eval_batch_size: 4096000`` (about 100 users per batch
  on Gowalla).

All three return the same metrics (checked here, and by ``tests/test_full_sort.py``). Peak RSS
(sampled every 5 ms) and, on CUDA, peak GPU memory are reported per evaluator. Example::

    python benchmarks/bench_eval.py --dataset=gowalla --data_path=~/.cache/recbole_spec/datasets

The last line reads ``<dataset> eval: ours <s> s, RecBole default <s> s (x<ratio>), RecBole
large batches <s> s (x<ratio>)``, with ratio = RecBole's seconds / ours.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from recbole.data.dataloader import FullSortEvalDataLoader

from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data

RECBOLE_DEFAULT_BATCH = 4096
RECBOLE_LARGE_BATCH = 4096000
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class PeakRSS:
    """Peak resident memory of this process while the ``with`` block runs (sampled)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _loader_with_batch(config: Any, loader: FullSortEvalDataLoader, batch: int) -> Any:
    """A copy of RecBole's full-sort ``loader`` built with ``eval_batch_size = batch``."""
    saved = config["eval_batch_size"]
    config["eval_batch_size"] = batch
    try:
        return FullSortEvalDataLoader(config, loader._dataset, loader._sampler, shuffle=False)
    finally:
        config["eval_batch_size"] = saved


def _timed(
    evaluate: Callable[[], dict], repeats: int, device: torch.device
) -> tuple[list[float], dict, int, int]:
    """``(seconds per call, last result, peak RSS bytes, peak CUDA bytes)``."""
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    seconds = []
    with PeakRSS() as rss:
        for _ in range(repeats):
            start = time.perf_counter()
            result = evaluate()
            if cuda:
                torch.cuda.synchronize(device)
            seconds.append(time.perf_counter() - start)
    gpu_peak = torch.cuda.max_memory_allocated(device) if cuda else 0
    return seconds, dict(result), rss.peak, gpu_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--model", default="BPRMF")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: CUDA if visible"
    )
    parser.add_argument("--epochs", type=int, default=1, help="training epochs first (0: random)")
    parser.add_argument("--repeats", type=int, default=3, help="timed evaluations of ours")
    parser.add_argument(
        "--recbole_repeats", type=int, default=1, help="timed evaluations of each RecBole setting"
    )
    parser.add_argument("--split", default="test", choices=["valid", "test"])
    parser.add_argument("--checkpoint_dir", default="/tmp/recbole_spec_bench")
    args = parser.parse_args()

    settings: dict[str, Any] = {
        "show_progress": False,
        "state": "WARNING",
        "checkpoint_dir": args.checkpoint_dir,
        "metrics": ["Recall", "NDCG", "TruncatedRecall"],
        "topk": [10, 20],
    }
    if args.data_path:
        settings["data_path"] = os.path.expanduser(args.data_path)
    if args.device != "auto":
        settings["use_gpu"] = args.device == "cuda"
    config = build_config(args.model, args.dataset, config_dict=settings)
    device = torch.device(config["device"])
    if args.device == "cuda" and device.type != "cuda":
        parser.error("--device=cuda but no CUDA device is visible")

    start = time.perf_counter()
    dataset, train, valid, test = load_data(config)
    loader = test if args.split == "test" else valid
    model = build_model(config, train)
    trainer = build_trainer(config, model, saved=False)
    trainer.eval_collector.data_collect(train)
    n_users, n_items = len(loader.uid_list), dataset.item_num - 1
    where = str(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(
        f"{args.dataset}: {n_users:,} {args.split} users x {n_items:,} items, model "
        f"{config['model']}, {where}; data loaded in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    for epoch in range(args.epochs):
        start = time.perf_counter()
        trainer._train_epoch(train, epoch)
        print(f"trained epoch {epoch} in {time.perf_counter() - start:.1f} s", flush=True)

    default_loader = _loader_with_batch(config, loader, RECBOLE_DEFAULT_BATCH)
    large_loader = _loader_with_batch(config, loader, RECBOLE_LARGE_BATCH)

    def evaluate(eval_data: Any, fast: bool) -> Callable[[], dict]:
        def run() -> dict:
            trainer.config["fast_eval"] = fast
            return trainer.evaluate(eval_data, load_best_model=False)

        return run

    baseline = _rss_bytes()
    start = time.perf_counter()
    evaluate(loader, True)()  # first call indexes the loader (once per loader)
    first = time.perf_counter() - start
    rows = [
        ("ours", evaluate(loader, True), args.repeats),
        (
            f"RecBole default (eval_batch_size={RECBOLE_DEFAULT_BATCH}, "
            f"{default_loader.step} user(s)/batch)",
            evaluate(default_loader, False),
            args.recbole_repeats,
        ),
        (
            f"RecBole large batches (eval_batch_size={RECBOLE_LARGE_BATCH}, "
            f"{large_loader.step} users/batch)",
            evaluate(large_loader, False),
            args.recbole_repeats,
        ),
    ]
    print(f"ours, first call (builds the loader's index once): {first:.3f} s")
    print(f"RSS before evaluating: {baseline / 2**20:.0f} MB")
    medians, results = [], []
    for name, run, repeats in rows:
        seconds, result, rss, gpu = _timed(run, repeats, device)
        medians.append(statistics.median(seconds))
        results.append(result)
        gpu_text = f", peak GPU memory {gpu / 2**20:.0f} MB" if gpu else ""
        print(
            f"{name}: {medians[-1]:.3f} s (median of {repeats}: "
            f"{', '.join(f'{s:.3f}' for s in seconds)}), peak RSS {rss / 2**20:.0f} MB{gpu_text}",
            flush=True,
        )
    same = all(r == results[0] for r in results[1:])
    print(f"metrics: {results[0]}")
    print(f"identical metrics from all three evaluators: {same}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole process (data, training, all evaluations): {peak:.0f} MB")
    ours, default, large = medians
    print(
        f"{args.dataset} eval: ours {ours:.3f} s, RecBole default {default:.2f} s "
        f"(x{default / ours:.1f}), RecBole large batches {large:.2f} s (x{large / ours:.1f})"
    )


if __name__ == "__main__":
    main()
