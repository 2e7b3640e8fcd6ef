"""Registry-driven checks every model gets: one epoch through the runner, shapes, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch

from recbole_spec import list_models, run
from recbole_spec.training.checkpoint import load_checkpoint

BUILTINS = ["recbole.BPR", "recbole.LightGCN"]


@pytest.mark.parametrize("model", list_models() + BUILTINS)
def test_one_epoch_through_runner(model: str, tiny_config: dict) -> None:
    result = run(model, "checker", config_dict=tiny_config)
    assert result["epochs"] == 1
    assert set(result["test_result"]) == {"recall@10", "recall@20", "ndcg@10", "ndcg@20"}
    assert all(math.isfinite(v) for v in result["test_result"].values())
    state = load_checkpoint(result["checkpoint"])  # weights_only=True inside
    assert state["config"]["model"] == result["model"]


@pytest.mark.parametrize("model", list_models())
def test_loss_falls_and_scores_have_full_sort_shape(model: str, tiny_config: dict) -> None:
    losses: list[float] = []
    result = run(
        model,
        "checker",
        config_dict={**tiny_config, "epochs": 5, "stopping_step": 100},
        callbacks=[lambda epoch, loss, valid: losses.append(float(loss))],
    )
    assert len(losses) == 5
    assert losses[-1] < losses[0]
    recommender = result["trainer"].model.eval()
    users = torch.tensor([1, 2, 3])
    interaction = {recommender.USER_ID: users}
    with torch.no_grad():
        scores = recommender.full_sort_predict(interaction)
    assert scores.shape == (3 * recommender.n_items,)
