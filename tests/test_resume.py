"""An interrupted run resumes from its last checkpoint and only trains the remaining epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbole_spec import run
from recbole_spec.training.checkpoint import load_checkpoint
from recbole_spec.validation import ConfigError


def test_resume_continues_after_last_completed_epoch(tiny_config: dict) -> None:
    settings = {**tiny_config, "epochs": 3, "stopping_step": 100}
    first = run("BPRMF", "checker", config_dict=settings)
    last = Path(first["checkpoint"].removesuffix(".pth") + "-last.pth")
    state = load_checkpoint(last)
    assert state["epoch"] == 1  # written at the start of epoch 2, after epoch 1 and its evaluation
    assert state["best_model_file"] == first["checkpoint"]

    resumed = run(
        "BPRMF", "checker", config_dict={**settings, "epochs": 5, "resume_from": str(last)}
    )
    assert sorted(resumed["trainer"].train_loss_dict) == [2, 3, 4]
    assert resumed["checkpoint"] == first["checkpoint"]
    assert load_checkpoint(last)["epoch"] == 3


def test_resume_keeps_the_warm_start_switched_off(tiny_config: dict) -> None:
    settings = {
        **tiny_config,
        "epochs": 3,
        "stopping_step": 100,
        "stable_rank_weight": 1.0,
        "warm_start_epochs": 0,
    }
    first = run("BPRMF", "checker", config_dict=settings)
    last = first["checkpoint"].removesuffix(".pth") + "-last.pth"
    resumed = run("BPRMF", "checker", config_dict={**settings, "epochs": 4, "resume_from": last})
    assert resumed["trainer"].model.stable_rank_active is False


def test_missing_resume_file_is_rejected_before_loading(tiny_config: dict) -> None:
    with pytest.raises(ConfigError, match="'resume_from' checkpoint"):
        run("BPRMF", "checker", config_dict={**tiny_config, "resume_from": "nope-last.pth"})


def test_resumed_paper_protocol_run_draws_the_same_batches(tiny_config: dict) -> None:
    """The user-uniform sampler's state is checkpointed: a resumed run equals an unbroken one."""
    settings = {
        **tiny_config,
        "stopping_step": 100,
        "train_sampler": "user_uniform",
        "learner": "sgd",
        "learning_rate": 5.0,
        "sparse_grad": True,
        "shrink": 0.03,
    }
    unbroken = run("DirectSpecPlus", "checker", config_dict={**settings, "epochs": 3})
    losses = unbroken["trainer"].train_loss_dict
    first = run("DirectSpecPlus", "checker", config_dict={**settings, "epochs": 2})
    last = first["checkpoint"].removesuffix(".pth") + "-last.pth"  # after epoch 0
    resumed = run(
        "DirectSpecPlus", "checker", config_dict={**settings, "epochs": 3, "resume_from": last}
    )
    assert sorted(resumed["trainer"].train_loss_dict) == [1, 2]
    for epoch in (1, 2):
        assert resumed["trainer"].train_loss_dict[epoch] == losses[epoch]
