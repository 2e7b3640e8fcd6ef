"""DirectSpec+ under the paper protocol: seconds per epoch vs the official loop, and memory.

``--mode=speed`` (default): MF + DirectSpec+ on an imported paper split (CiteULike), ours (the
plugin's trainer: user-uniform sampler, sparse SGD on the touched rows, fused filter backward)
against a faithful re-implementation of the official ``directspec_mf.py`` loop with only its
sampler made sparse (full-table ``nn.Parameter``s, autograd through the filter, dense SGD step).
Epochs alternate between the two so background load hits both alike; medians and the ratio are
printed. ``--floor`` (MF, fixed temperature) adds a third loop, the same kernels as ours with no
framework around them (rows gathered by index, :class:`FusedSides` and the loss under autograd,
``index_add_`` SGD; no RecBole loop, model, embedding modules or optimizer object), so ours /
floor is what the framework costs per epoch and the floor bounds what removing it could give; it
first checks that 20 of its steps equal 20 of ours bit for bit. ``--mode=memory``: LightGCN +
DirectSpec+ on Gowalla for ``--steps`` steps, printing the peak RSS (the official GCN variant
materialises a dense 20 GB propagation matrix).

    python benchmarks/bench_directspec.py --dataset=citeulike --preset=directspec_citeulike
    python benchmarks/bench_directspec.py --dataset=gowalla --preset=directspec_gowalla \
        --epochs=2 --profile
    python benchmarks/bench_directspec.py --dataset=citeulike --preset=directspec_citeulike --floor
    python benchmarks/bench_directspec.py --mode=memory --dataset=gowalla \
        --preset=directspec_gowalla,gcn --steps=20
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from recbole_spec.objectives.directspec import positive_logsigmoid_loss
from recbole_spec.objectives.directspec_plus import FusedSides
from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data


class OfficialLoop:
    """The official DirectSpec+ MF training loop (CUDA calls removed, sampler made sparse)."""

    def __init__(self, config, sampler) -> None:  # noqa: ANN001
        n_users, n_items, d = (
            sampler.indptr.shape[0] - 1,
            config["n_items"],
            config["embedding_size"],
        )
        self.user = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_users, d)))
        self.item = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_items, d)))
        self.optimizer = torch.optim.SGD([self.user, self.item], lr=config["learning_rate"])
        self.alpha, self.tau, self.shrink = config["alpha"], config["tau"], config["shrink"]
        self.sampler = sampler

    def _side(self, rows: torch.Tensor) -> torch.Tensor:
        x = F.normalize(rows, dim=1)
        x = x - self.alpha * torch.softmax(self.tau * x @ x.T, dim=1) @ x
        if self.shrink > 0:
            x = self.shrink * x.norm(dim=1, keepdim=True) * x
        return x

    def epoch(self) -> None:
        """``floor(|train| / B)`` steps of the official update."""
        for _ in range(self.sampler.steps):
            users, items = self.sampler.sample(self.sampler.batch_size)
            users, items = torch.from_numpy(users), torch.from_numpy(items)
            x, y = self._side(self.user[users]), self._side(self.item[items])
            loss = -F.logsigmoid((x * y).sum(1)).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()


class KernelFloor:
    """Ours without the framework: the same kernels per step, on copies of ours' tables."""

    def __init__(self, config, model, sampler) -> None:  # noqa: ANN001
        self.user, self.item = (p.detach().clone() for p in model.parameters())
        self.alpha, self.tau, self.shrink = config["alpha"], config["tau"], config["shrink"]
        self.lr = config["learning_rate"]
        self.sampler = sampler

    def epoch(self) -> None:
        """One epoch of gather -> fused filter -> loss -> backward -> row SGD."""
        steps, size = self.sampler.steps, self.sampler.batch_size
        users, items = (
            torch.from_numpy(a).view(steps, size) for a in self.sampler.sample(steps * size)
        )
        for step in range(steps):
            u, i = users[step], items[step]
            rows = torch.stack((self.user[u], self.item[i])).requires_grad_()
            x, y = FusedSides.apply(rows, self.alpha, self.tau, self.shrink)
            loss = positive_logsigmoid_loss(x, y)
            loss.backward()
            self.user.index_add_(0, u, rows.grad[0], alpha=-self.lr)
            self.item.index_add_(0, i, rows.grad[1], alpha=-self.lr)
            loss.item()


def _same_steps(trainer, train, floor: KernelFloor, steps: int = 20) -> bool:  # noqa: ANN001
    """Whether ``steps`` steps of ``floor`` and of ours, from the same tables and draws, agree."""
    sampler = floor.sampler
    full, state = sampler.steps, sampler.state()
    sampler.steps = steps
    floor.epoch()
    sampler.set_state(state)
    trainer._train_epoch(train, 0)
    sampler.steps = full
    ours = [p.detach() for p in trainer.model.parameters()]
    return torch.equal(ours[0], floor.user) and torch.equal(ours[1], floor.item)


def _setup(args: argparse.Namespace):  # noqa: ANN202
    settings = {"preset": args.preset, "show_progress": False, "state": "WARNING"}
    if args.data_path:
        settings["data_path"] = args.data_path
    config = build_config(args.model, args.dataset, config_dict=settings)
    _, train, _, _ = load_data(config)
    trainer = build_trainer(config, build_model(config, train), saved=False)
    return config, train, trainer


def _speed(args: argparse.Namespace) -> None:
    config, train, trainer = _setup(args)
    sampler = trainer._user_uniform(train)
    config["n_items"] = train._dataset.item_num
    official = OfficialLoop(config, sampler)
    if args.floor and (config["encoder"] != "mf" or config["tau_mode"] != "fixed"):
        raise SystemExit(
            "--floor times the MF encoder with a fixed temperature; got encoder="
            f"{config['encoder']}, tau_mode={config['tau_mode']} (drop ',gcn' / ',adaptive')"
        )
    floor = KernelFloor(config, trainer.model, sampler) if args.floor else None
    if floor is not None:
        same = _same_steps(trainer, train, floor)
        print(f"20 steps of the kernel floor equal ours bit for bit: {same}")
    ours_times, official_times, floor_times = [], [], []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        trainer._train_epoch(train, epoch)
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        official.epoch()
        official_times.append(time.perf_counter() - start)
        line = (
            f"epoch {epoch}: ours {ours_times[-1]:.3f} s, official loop {official_times[-1]:.3f} s"
        )
        if floor is not None:
            start = time.perf_counter()
            floor.epoch()
            floor_times.append(time.perf_counter() - start)
            line += f", kernel floor {floor_times[-1]:.3f} s"
        print(line)
    ours, ref = statistics.median(ours_times), statistics.median(official_times)
    if args.profile:
        _profile(trainer, train, args.epochs)
    print(
        f"steps/epoch={sampler.steps} batch={sampler.batch_size} threads={torch.get_num_threads()}"
    )
    print(
        f"median s/epoch: ours {ours:.3f}, official loop (sparse sampler) {ref:.3f}, "
        f"ratio ours/official {ours / ref:.2f}"
    )
    if floor_times:
        low = statistics.median(floor_times)
        print(
            f"median s/epoch: kernel floor {low:.3f}, ratio ours/floor {ours / low:.2f}, "
            f"floor/official {low / ref:.2f}; {config['epochs']} epochs: ours "
            f"{ours * config['epochs']:.0f} s, floor {low * config['epochs']:.0f} s"
        )


def _profile(trainer, train, epoch: int) -> None:  # noqa: ANN001
    """Where one more epoch of ours goes: torch profiler, operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        trainer._train_epoch(train, epoch)
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=30
    )
    print(table)


def _memory(args: argparse.Namespace) -> None:
    config, train, trainer = _setup(args)
    sampler = trainer._user_uniform(train)
    full_steps = sampler.steps
    sampler.steps = args.steps
    start = time.perf_counter()
    trainer._train_epoch(train, 0)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.model} encoder={config['encoder']} on {args.dataset}: {args.steps} steps in "
        f"{seconds:.1f} s ({seconds / args.steps:.3f} s/step; a full epoch is {full_steps} steps)"
    )
    print(f"peak RSS {peak_mb:.0f} MB (dataset loading included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("speed", "memory"), default="speed")
    parser.add_argument("--model", default="DirectSpecPlus")
    parser.add_argument("--dataset", default="citeulike")
    parser.add_argument("--preset", default="directspec_citeulike")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--floor", action="store_true", help="speed mode: also time the kernels without framework"
    )
    parser.add_argument(
        "--profile", action="store_true", help="speed mode: then profile one more epoch of ours"
    )
    args = parser.parse_args()
    (_speed if args.mode == "speed" else _memory)(args)


if __name__ == "__main__":
    main()
