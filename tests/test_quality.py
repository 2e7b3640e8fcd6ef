"""Planted structure: on a two-block checkerboard a trained model must recommend its own block."""

from __future__ import annotations

import pytest
import torch

from recbole_spec import run
from tests.conftest import N_ITEMS, N_USERS


def own_block_share(result: dict, k: int = 5) -> float:
    """Share of each user's top-k items that lie in the user's own block (random: 0.5)."""
    model, data = result["trainer"].model.eval(), result["data"]
    users = torch.arange(1, model.n_users)
    with torch.no_grad():
        scores = model.full_sort_predict({model.USER_ID: users}).view(len(users), -1)
    scores[:, 0] = -torch.inf  # padding item
    top = scores.topk(k, dim=1).indices
    user_low = torch.tensor([int(t) < N_USERS // 2 for t in data.id2token("user_id", users)])
    item_tokens = data.id2token("item_id", top.flatten()).reshape(top.shape)
    item_low = torch.tensor([[int(t) < N_ITEMS // 2 for t in row] for row in item_tokens])
    return (item_low == user_low.unsqueeze(1)).float().mean().item()


@pytest.mark.parametrize("model", ["BPRMF", "LightGCN"])
def test_trained_model_recommends_own_block(model: str, tiny_config: dict) -> None:
    result = run(
        model,
        "checker",
        config_dict={**tiny_config, "epochs": 30, "learning_rate": 0.02, "stopping_step": 100},
    )
    assert own_block_share(result) > 0.9
