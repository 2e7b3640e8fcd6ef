"""Seconds per training epoch and per full-sort evaluation: plugin models vs RecBole built-ins.

Both sides run in this one process on the same dataset split and settings (equal batch size),
so the ratio is meaningful on a shared, noisy machine. Ours is built by the pipeline
(``load_data``, ``build_model``, ``build_trainer``: lean loader, row optimisers, fast
evaluator); a ``recbole.`` reference exactly as RecBole builds it (stock loaders and trainer).
Pairs: BPRMF vs ``recbole.BPR`` and LightGCN vs ``recbole.LightGCN`` (targets of issue 11:
ratios <= 0.5 and <= 0.2), then DirectSpecPlus with its RecBole-native defaults
(``--preset=none``: interaction batches of 256, Adam) against itself with
``--sparse_grad=False`` (dense ``torch.optim.Adam``): the same numbers (tests), the epoch time
the issue targets (<= 10 s on Gowalla). ``--models`` picks pairs; ``A/B`` compares any two
(``:dense`` = ``--sparse_grad=False``). Example::

    python benchmarks/bench_epoch.py --dataset=ml-100k --epochs=3
    python benchmarks/bench_epoch.py --dataset=gowalla --data_path=<import root> --epochs=1
    python benchmarks/bench_epoch.py --dataset=gowalla --data_path=<root> --models=BPRMF/BPRMF:dense
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_seed

from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data
from recbole_spec.registry import RECBOLE_PREFIX
from recbole_spec.validation import split_names

PAIRS = {
    "BPRMF": ("BPRMF", "recbole.BPR"),
    "LightGCN": ("LightGCN", "recbole.LightGCN"),
    "DirectSpecPlus": ("DirectSpecPlus", "DirectSpecPlus:dense"),
}
NATIVE = {"preset": "none", "train_batch_size": 256}
"""DirectSpecPlus's RecBole-native defaults (no paper preset; its own batch of 256)."""


def _build(name: str, args: argparse.Namespace):  # noqa: ANN202
    """Ours through the pipeline's public steps; a ``recbole.`` reference exactly as RecBole's
    own ``run_recbole`` builds it (its data loaders, sampler and trainer)."""
    settings = {
        "show_progress": False,
        "state": "WARNING",
        "train_batch_size": args.batch_size,
        "embedding_size": 64,
        "n_layers": 3,
        "checkpoint_dir": args.checkpoint_dir,
        "spectrum_monitor": False,
    }
    name, _, variant = name.partition(":")
    if name == "DirectSpecPlus":
        settings.update(NATIVE)
    if variant == "dense":
        settings["sparse_grad"] = False
    if args.data_path:
        settings["data_path"] = args.data_path
    config = build_config(name, args.dataset, config_dict=settings)
    if name.startswith(RECBOLE_PREFIX):
        init_seed(config["seed"], config["reproducibility"])
        train, valid, _ = data_preparation(config, create_dataset(config))
        init_seed(config["seed"], config["reproducibility"])
        model = get_model(config["model"])(config, train._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    else:
        _, train, valid, _ = load_data(config)
        model = build_model(config, train)
        trainer = build_trainer(config, model, saved=False)
    trainer.eval_collector.data_collect(train)
    return trainer, train, valid


def _time_epoch(trainer, train, valid, epoch: int) -> tuple[float, float]:  # noqa: ANN001
    start = time.perf_counter()
    trainer._train_epoch(train, epoch)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        trainer.evaluate(valid, load_best_model=False)
    return train_seconds, time.perf_counter() - start


def _compare(ours: str, reference: str, args: argparse.Namespace) -> list[float]:
    """Median seconds ``[ours train, ref train, ours eval, ref eval]``; epochs alternate between
    the two models so that background load hits both alike."""
    sides = [_build(ours, args), _build(reference, args)]
    times: list[list[tuple[float, float]]] = [[], []]
    for epoch in range(args.epochs):
        for side, built in enumerate(sides):
            times[side].append(_time_epoch(*built, epoch))
    (ours_t, ours_e), (ref_t, ref_e) = (
        [statistics.median(column) for column in zip(*side, strict=True)] for side in times
    )
    return [ours_t, ref_t, ours_e, ref_e]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median reported)")
    parser.add_argument("--batch_size", type=int, default=2048)
    parser.add_argument("--checkpoint_dir", default="/tmp/recbole_spec_bench")
    parser.add_argument(
        "--models",
        default="BPRMF,LightGCN,DirectSpecPlus",
        help="pairs: names from PAIRS or OURS/REFERENCE, e.g. BPRMF/BPRMF:dense (':dense': "
        "sparse_grad=False, torch's Adam on the whole table)",
    )
    args = parser.parse_args()
    print(
        f"dataset={args.dataset} epochs={args.epochs} batch={args.batch_size} "
        f"torch_threads={torch.get_num_threads()} device="
        f"{'cuda' if torch.cuda.is_available() else 'cpu'}"
    )
    header = f"{'ours':<15}{'reference':<21}{'train s/ep':>11}{'ref':>8}{'ratio':>7}"
    header += f"{'eval s':>9}{'ref':>8}{'ratio':>7}"
    print(header)
    pairs = [
        PAIRS[name] if name in PAIRS else tuple(name.split("/"))
        for name in split_names(args.models)
    ]
    for ours, reference in pairs:
        ours_train, ref_train, ours_eval, ref_eval = _compare(ours, reference, args)
        print(
            f"{ours:<15}{reference:<21}{ours_train:>11.3f}{ref_train:>8.3f}"
            f"{ours_train / ref_train:>7.2f}{ours_eval:>9.3f}{ref_eval:>8.3f}"
            f"{ours_eval / ref_eval:>7.2f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB (ratio < 1: ours is faster)")


if __name__ == "__main__":
    main()
