"""Issue 19: fused Adam on dense tables, decided when the trainer is built.

One step of torch's fused Adam equals the single-tensor Adam RecBole's trainer builds to a
relative 1e-5 (gradients are the same tensors; the updated parameters are compared), and a table
that every batch touches widely gets dense gradients from the start instead of RowAdam's
per-step sparse-to-dense conversion.
"""

from __future__ import annotations

import pytest
import torch

from recbole_spec import run
from recbole_spec.training.optim import RowAdam, dense_adam, densify_wide_tables


def test_fused_adam_step_matches_single_tensor_adam() -> None:
    torch.manual_seed(0)
    tables = [torch.randn(500, 64), torch.randn(900, 64)]
    grads = [torch.randn_like(t) * 1e-2 for t in tables]
    ours = [torch.nn.Parameter(t.clone()) for t in tables]
    ref = [torch.nn.Parameter(t.clone()) for t in tables]
    fused = dense_adam(ours, lr=1e-3, weight_decay=1e-6)
    single = torch.optim.Adam(ref, lr=1e-3, weight_decay=1e-6, foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(3):
        for params, optimizer in ((ours, fused), (ref, single)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
        for a, b in zip(ours, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_wide_tables_are_dense_from_the_start() -> None:
    model = torch.nn.Module()
    model.users = torch.nn.Embedding(1000, 8, sparse=True)  # 256 rows a step: 25.6% > 2%
    model.items = torch.nn.Embedding(100_000, 8, sparse=True)  # 0.26% <= 2%
    assert densify_wide_tables(model, 256) == ["users"]
    assert model.users.sparse is False and model.items.sparse is True


def test_bprmf_on_small_tables_trains_with_fused_adam_like_row_adam(tiny_config: dict) -> None:
    settings = {**tiny_config, "epochs": 2, "stopping_step": 100}
    fused = run("BPRMF", "checker", config_dict=settings)
    optimizer = fused["trainer"].optimizer
    assert type(optimizer) is torch.optim.Adam and optimizer.defaults["fused"] is True
    assert not fused["trainer"].model.encoder.user_embedding.sparse
    reference = run("BPRMF", "checker", config_dict={**settings, "sparse_grad": False})
    for key, value in reference["trainer"].model.state_dict().items():
        torch.testing.assert_close(
            fused["trainer"].model.state_dict()[key], value, rtol=1e-4, atol=1e-6
        )


def test_row_adam_stays_for_tables_a_batch_touches_sparsely(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {**tiny_config, "epochs": 1, "train_batch_size": 1, "stopping_step": 100}
    result = run("BPRMF", "checker", config_dict=settings)  # 1 row of 41: 2.4% > 2%: dense
    assert type(result["trainer"].optimizer) is torch.optim.Adam
    monkeypatch.setattr("recbole_spec.training.optim.DENSE_ABOVE", 0.5)
    result = run("BPRMF", "checker", config_dict=settings)  # 2.4% <= 50%: rows
    assert isinstance(result["trainer"].optimizer, RowAdam)
