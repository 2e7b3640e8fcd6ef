"""RowSGD applies exactly torch's SGD update, for sparse (repeated rows) and dense gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from recbole_spec.training.optim import RowSGD


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
