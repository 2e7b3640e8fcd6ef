"""RecBole's built-ins through the runner (plugin models: tests/test_model_suite.py)."""

from __future__ import annotations

import math

import pytest

from recbole_spec import run
from recbole_spec.training.checkpoint import load_checkpoint

BUILTINS = ["recbole.BPR", "recbole.LightGCN"]


@pytest.mark.parametrize("model", BUILTINS)
def test_builtin_one_epoch_through_runner(model: str, tiny_config: dict) -> None:
    result = run(model, "checker", config_dict=tiny_config)
    assert result["epochs"] == 1
    assert set(result["test_result"]) == {"recall@10", "recall@20", "ndcg@10", "ndcg@20"}
    assert all(math.isfinite(v) for v in result["test_result"].values())
    state = load_checkpoint(result["checkpoint"])  # weights_only=True inside
    assert state["config"]["model"] == result["model"]
