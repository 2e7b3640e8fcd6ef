"""Issue 22.7: RecBole's ``load_data_and_model`` contract for both kinds of checkpoints.

:func:`recbole_spec.load_data_and_model` returns RecBole's ``(config, model, dataset,
train_data, valid_data, test_data)`` for a recbole-spec checkpoint and for one RecBole's
``run_recbole`` wrote; RecBole's ``Trainer`` then reproduces the run's test metrics.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from recbole.trainer import Trainer

from recbole_spec import run
from recbole_spec.training.checkpoint import CheckpointError
from recbole_spec.training.restore import load_data_and_model


def _recbole_test(config, model, test_data) -> dict[str, float]:
    result = Trainer(config, model).evaluate(test_data, load_best_model=False)
    return {k: float(v) for k, v in result.items()}


def _same_weights(model, state_dict) -> bool:
    theirs = model.state_dict()
    return set(theirs) == set(state_dict) and all(
        torch.equal(theirs[k].cpu(), v.cpu()) for k, v in state_dict.items()
    )


def test_recbole_spec_checkpoint_loads_as_recbole_does(tiny_config: dict) -> None:
    result = run("BPRMF", "checker", config_dict={**tiny_config, "epochs": 2})
    config, model, dataset, train, valid, test = load_data_and_model(result["checkpoint"])
    assert config["model"] == "BPRMF" and type(model).__name__ == "BPRMF"
    assert dataset.inter_num == result["data"].inter_num
    assert len(train.dataset) + len(valid.dataset) + len(test.dataset) == dataset.inter_num
    assert _same_weights(model, torch.load(result["checkpoint"])["state_dict"])
    assert _recbole_test(config, model, test) == pytest.approx(result["test_result"])


def test_run_recbole_checkpoint_of_this_process_loads(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recbole.quick_start import run_recbole

    monkeypatch.setattr(sys, "argv", ["run_recbole.py"])  # RecBole reads --key=value from argv
    result = run_recbole(model="BPR", dataset="checker", config_dict=tiny_config)
    (checkpoint,) = Path(tiny_config["checkpoint_dir"]).glob("BPR-*.pth")
    config, model, _, _, _, test = load_data_and_model(checkpoint)
    assert type(model).__name__ == "BPR"
    assert _recbole_test(config, model, test) == pytest.approx(dict(result["test_result"]))


def test_foreign_pickled_checkpoint_needs_the_opt_in(tmp_path: Path) -> None:
    foreign = tmp_path / "BPR-foreign.pth"
    torch.save({"config": Namespace(model="BPR"), "state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="allow_recbole_pickle"):
        load_data_and_model(foreign)


def test_the_loader_is_public() -> None:
    """``from recbole_spec import load_data_and_model`` is the documented way in."""
    import recbole_spec
    from recbole_spec.training import restore

    assert recbole_spec.load_data_and_model is restore.load_data_and_model
    assert "load_data_and_model" in recbole_spec.__all__
