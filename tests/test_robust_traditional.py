"""Issue 22.5: one-epoch models (EASE, Pop) evaluate and save whatever ``eval_step`` is."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbole_spec import run
from recbole_spec.training.checkpoint import load_checkpoint


@pytest.mark.parametrize("model", ["EASE", "Pop"])
def test_one_epoch_models_are_evaluated_and_tested_with_a_large_eval_step(
    tiny_config: dict, model: str
) -> None:
    settings = {**tiny_config, "epochs": 10, "eval_step": 5}
    result = run(model, "checker", config_dict=settings)
    reference = run(model, "checker", config_dict={**settings, "eval_step": 1})
    assert result["epochs"] == 1
    assert Path(result["checkpoint"]).is_file()
    assert load_checkpoint(result["checkpoint"])["epoch"] == 0
    assert result["best_valid_result"] == reference["best_valid_result"] != {}
    assert result["test_result"] == reference["test_result"]
