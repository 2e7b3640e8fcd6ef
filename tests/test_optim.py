"""RowSGD applies exactly torch's SGD update, for sparse (repeated rows) and dense gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from recbole_spec.training.optim import RowAdam, RowSGD, attach_row_sync


@pytest.mark.parametrize("sparse", [True, False])
def test_row_sgd_matches_torch_sgd(sparse: bool) -> None:
    torch.manual_seed(0)
    ours, ref = nn.Embedding(10, 4, sparse=sparse), nn.Embedding(10, 4, sparse=sparse)
    ref.load_state_dict(ours.state_dict())
    ids = torch.tensor([1, 3, 3, 7])  # a repeated row must receive both contributions
    weights = torch.randn(4, 4)
    optimizers = [RowSGD(ours.parameters(), lr=0.5), torch.optim.SGD(ref.parameters(), lr=0.5)]
    for module, optimizer in zip((ours, ref), optimizers, strict=True):
        optimizer.zero_grad()
        (module(ids) * weights).sum().backward()
        optimizer.step()
    torch.testing.assert_close(ours.weight, ref.weight)
    untouched = [0, 2, 4, 5, 6, 8, 9]
    torch.testing.assert_close(ours.weight[untouched], ref.weight[untouched])


def test_row_sgd_rejects_bad_lr() -> None:
    with pytest.raises(ValueError, match="'lr' must be > 0"):
        RowSGD([nn.Parameter(torch.zeros(1))], lr=0.0)


# ------------------------------------------------------------------------------------ RowAdam
# Issue 11: the MF models' default optimiser must give dense Adam's numbers while touching only
# the batch rows. The reference is torch.optim.Adam on the same table with dense gradients.


def _touch_plan(steps: int, rows: int, seed: int) -> list[torch.Tensor]:
    """Row ids per step: row r is drawn with probability ~ 1 / (r + 1) (long gaps for the tail),
    with repeats; row ``rows - 1`` is touched once at step 3 only (a gap longer than ``J``)."""
    gen = torch.Generator().manual_seed(seed)
    weights = 1.0 / torch.arange(1, rows)
    plan = []
    for step in range(steps):
        ids = torch.multinomial(weights, 6, replacement=True, generator=gen)
        if step == 3:
            ids = torch.cat([ids, torch.tensor([rows - 1])])
        plan.append(ids)
    return plan


def _train_pair(
    dtype: torch.dtype,
    betas: tuple[float, float],
    steps: int,
    tiny_rows: tuple[int, ...] = (),
    check_reads: bool = False,
) -> tuple[nn.Embedding, RowAdam, nn.Embedding, torch.optim.Adam]:
    torch.manual_seed(0)
    rows, dim = 40, 5
    ours = nn.Embedding(rows, dim, sparse=True).to(dtype)
    ref = nn.Embedding(rows, dim).to(dtype)
    ref.load_state_dict(ours.state_dict())
    row_adam = RowAdam(ours.parameters(), lr=0.05, betas=betas)
    adam = torch.optim.Adam(ref.parameters(), lr=0.05, betas=betas, foreach=False)
    attach_row_sync(ours, row_adam)
    scale = torch.ones(rows, 1, dtype=dtype)
    scale[list(tiny_rows)] = 1e-7  # gradients so small that eps dominates sqrt(v)
    gen = torch.Generator().manual_seed(1)
    for step, ids in enumerate(_touch_plan(steps, rows, seed=2)):
        target = torch.randn(ids.shape[0], dim, generator=gen, dtype=dtype)
        for module, optimizer in ((ours, row_adam), (ref, adam)):
            optimizer.zero_grad()
            looked_up = module(ids)
            if check_reads and module is ours:
                torch.testing.assert_close(looked_up, ref(ids), rtol=1e-9, atol=1e-12)
            # a loss that depends on the current rows: stale rows would give other gradients
            ((looked_up - target) * scale[ids]).pow(2).sum().backward()
            optimizer.step()
        if step == steps // 2:  # a learning-rate change and an early catch-up mid-run
            for optimizer in (row_adam, adam):
                optimizer.param_groups[0]["lr"] *= 0.5
            row_adam.catch_up()
    row_adam.catch_up()
    return ours, row_adam, ref, adam


@pytest.mark.parametrize(("betas", "steps"), [((0.9, 0.999), 1200), ((0.5, 0.9), 500)])
def test_row_adam_equals_dense_adam_float64(betas: tuple[float, float], steps: int) -> None:
    """Gaps longer than the horizon J, repeats, an lr change; the first eager (dense) steps,
    511 for beta2 = 0.999, then row updates."""
    ours, row_adam, ref, adam = _train_pair(torch.float64, betas, steps, check_reads=True)
    consts = row_adam._consts(row_adam.param_groups[0])
    assert consts.horizon + consts.eager_steps < steps
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-9, atol=1e-12)
    ours_state, ref_state = row_adam.state[ours.weight], adam.state[ref.weight]
    for key in ("exp_avg", "exp_avg_sq"):
        torch.testing.assert_close(ours_state[key], ref_state[key], rtol=1e-9, atol=1e-15)


def test_row_adam_equals_dense_adam_when_eps_dominates() -> None:
    """Rows with tiny gradients take the term-by-term path (x = eps / sqrt(v) large)."""
    ours, row_adam, ref, _ = _train_pair(torch.float64, (0.9, 0.999), 900, tiny_rows=(0, 1, 7))
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-9, atol=1e-12)


def test_row_adam_float32_close_to_dense_adam() -> None:
    ours, _, ref, _ = _train_pair(torch.float32, (0.9, 0.999), 900)
    torch.testing.assert_close(ours.weight, ref.weight, rtol=2e-5, atol=2e-6)


def test_row_adam_is_torch_adam_when_every_row_is_touched() -> None:
    """All rows in every batch (no catch-up) and dense gradients: bit-identical to torch."""
    torch.manual_seed(0)
    for sparse in (True, False):
        ours = nn.Embedding(6, 3, sparse=sparse)
        ref = nn.Embedding(6, 3)
        ref.load_state_dict(ours.state_dict())
        row_adam = RowAdam(ours.parameters(), lr=0.1)
        adam = torch.optim.Adam(ref.parameters(), lr=0.1, foreach=False)
        ids = torch.tensor([0, 1, 2, 3, 4, 5, 2])
        for _ in range(20):
            for module, optimizer in ((ours, row_adam), (ref, adam)):
                optimizer.zero_grad()
                (module(ids).sin() * torch.arange(3.0)).sum().backward()
                optimizer.step()
        assert torch.equal(ours.weight, ref.weight)


def test_row_adam_state_dict_resumes_bit_identically(tmp_path) -> None:  # noqa: ANN001
    """Through torch.save / torch.load(weights_only=True), mid-epoch (lagging rows) included."""

    def run(steps: range, table: nn.Embedding, optimizer: RowAdam) -> None:
        for step in steps:
            ids = torch.tensor([step % 7, (3 * step) % 11, 1])
            optimizer.zero_grad()
            (table(ids) ** 3).sum().backward()
            optimizer.step()

    def build() -> tuple[nn.Embedding, RowAdam]:
        torch.manual_seed(0)
        table = nn.Embedding(11, 4, sparse=True)
        optimizer = RowAdam(table.parameters(), lr=0.01)
        attach_row_sync(table, optimizer)
        return table, optimizer

    unbroken, unbroken_opt = build()
    run(range(60), unbroken, unbroken_opt)
    unbroken_opt.catch_up()

    first, first_opt = build()
    run(range(30), first, first_opt)
    path = tmp_path / "state.pth"
    torch.save({"model": first.state_dict(), "optim": first_opt.state_dict()}, path)
    saved = torch.load(path, weights_only=True)
    resumed, resumed_opt = build()
    resumed.load_state_dict(saved["model"])
    resumed_opt.load_state_dict(saved["optim"])
    assert resumed_opt.state[resumed.weight]["window"].dtype == torch.float64
    run(range(30, 60), resumed, resumed_opt)
    resumed_opt.catch_up()
    assert torch.equal(resumed.weight, unbroken.weight)


def test_torch_sparse_adam_is_lazy_and_lags_dense_adam() -> None:
    """Why ``learner: sparse_adam`` lost quality (issue 11): once the bias corrections have
    settled, a row touched once moves one step under SparseAdam and about
    ``1 / (1 - beta1 / sqrt(beta2))`` times as far under dense Adam (its momentum tail; 10.05
    for the default betas, 10.47 for the betas used here, which settle sooner)."""
    torch.manual_seed(0)
    tables = [nn.Embedding(3, 4, sparse=True) for _ in range(2)]
    tables[1].load_state_dict(tables[0].state_dict())
    start = tables[0].weight.detach().clone()
    optimizers = [
        torch.optim.SparseAdam(list(tables[0].parameters()), lr=0.01, betas=(0.9, 0.99)),
        RowAdam(tables[1].parameters(), lr=0.01, betas=(0.9, 0.99)),
    ]
    for step in range(1200):
        ids = torch.tensor([0]) if step == 1000 else torch.tensor([1])
        for table, optimizer in zip(tables, optimizers, strict=True):
            optimizer.zero_grad()
            table(ids).sum().backward()
            optimizer.step()
    optimizers[1].catch_up()
    lazy, dense = ((t.weight[0] - start[0]).detach().norm() for t in tables)
    assert float(dense / lazy) == pytest.approx(1 / (1 - 0.9 / 0.99**0.5), rel=0.02)


def test_row_adam_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'lr' must be > 0"):
        RowAdam([nn.Parameter(torch.zeros(1))], lr=0.0)
    with pytest.raises(ValueError, match="betas"):
        RowAdam([nn.Parameter(torch.zeros(1))], betas=(0.999, 0.999))
    with pytest.raises(ValueError, match="dense_above"):
        RowAdam([nn.Parameter(torch.zeros(1))], dense_above=1.5)


@pytest.mark.parametrize("dense_above", [0.05, 0.5])
def test_row_adam_steps_densely_above_the_row_fraction(dense_above: float) -> None:
    """A sparse step touching more than ``dense_above`` of the table is torch's dense Adam step
    (bit for bit; every step here touches 3 to 6 of 40 rows, 7.5-15%); below it, rows lag
    between reads and still end at dense Adam's parameters."""
    torch.manual_seed(0)
    ours, ref = nn.Embedding(40, 5, sparse=True), nn.Embedding(40, 5)
    ref.load_state_dict(ours.state_dict())
    row_adam = RowAdam(ours.parameters(), lr=0.05, dense_above=dense_above)
    adam = torch.optim.Adam(ref.parameters(), lr=0.05, foreach=False)
    attach_row_sync(ours, row_adam)
    lagged = False
    for step, ids in enumerate(_touch_plan(600, 40, seed=2)):
        ids = torch.cat([ids[:5], torch.tensor([39 - step % 3])]).unique()[:6]
        for table, optimizer in ((ours, row_adam), (ref, adam)):
            optimizer.zero_grad()
            (table(ids) ** 2).sum().backward()
            optimizer.step()
        state = row_adam.state[ours.weight]
        lagged |= state["base"] < state["step"]
    row_adam.catch_up()
    if dense_above < 6 / 40:
        assert not lagged and torch.equal(ours.weight, ref.weight)
    else:
        assert lagged
        torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-5, atol=1e-6)
