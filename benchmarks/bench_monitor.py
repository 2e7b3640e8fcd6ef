"""Overhead of SpectrumMonitor per evaluation vs one training epoch and one full-sort evaluation."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data


def timed(fn, repeat):
    values, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        values.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(values), values, min(values), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="DirectSpecPlus")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--checkpoint_dir", default="/tmp/recbole_spec_bench")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = {"show_progress": False, "state": "WARNING", "checkpoint_dir": args.checkpoint_dir}
    if args.data_path:
        cfg["data_path"] = args.data_path
    config = build_config(args.model, args.dataset, config_dict=cfg, overrides=args.overrides)
    _, train_data, valid_data, _ = load_data(config)
    model = build_model(config, train_data)
    trainer = build_trainer(config, model, saved=False)
    monitor = SpectrumMonitor(model, tensorboard=trainer.tensorboard)
    epoch_s, _, _, epoch_cpu = timed(
        lambda: trainer._train_epoch(train_data, 0, show_progress=False), 1
    )
    eval_s, _, eval_min, eval_cpu = timed(
        lambda: trainer.evaluate(valid_data, load_best_model=False), 3
    )
    monitor(0)  # warm-up
    mon_s, mon_all, mon_min, mon_cpu = timed(lambda: monitor(0), args.repeat)
    n_users, n_items = train_data._dataset.user_num - 1, train_data._dataset.item_num - 1
    print(
        f"{args.model} {args.dataset} {' '.join(args.overrides)} users={n_users} items={n_items} "
        f"d={config['embedding_size']} threads={torch.get_num_threads()}"
    )
    print(f"  train epoch        {epoch_s:8.3f} s wall, {epoch_cpu:.3f} s CPU")
    print(
        f"  evaluation (valid) {eval_s:8.3f} s wall median of 3 (min {eval_min:.3f}), "
        f"{eval_cpu:.3f} s CPU"
    )
    print(
        f"  monitor callback   {mon_s * 1000:8.1f} ms wall median of {args.repeat} (min "
        f"{mon_min * 1000:.1f}), {mon_cpu * 1000:.1f} ms CPU"
    )
    print(
        f"  evaluation + monitor {eval_s + mon_s:8.3f} s  "
        f"(+{100 * mon_s / eval_s:.2f}% of the evaluation)"
    )
    print(
        f"  share of epoch+eval  {100 * mon_s / (epoch_s + eval_s):.2f}% (CPU: "
        f"{100 * mon_cpu / (epoch_cpu + eval_cpu):.2f}%)"
    )
    print(f"  CPU share of eval    {100 * mon_cpu / eval_cpu:.2f}%")


if __name__ == "__main__":
    main()
