"""Issue 11: the MF models' default optimiser updates only the touched rows, with dense Adam's
numbers, under both training protocols, and a resumed run stays bit-identical."""

from __future__ import annotations

import pytest
import torch

from recbole_spec import run
from recbole_spec.config import SpecConfig
from recbole_spec.training.optim import RowAdam, RowSGD
from recbole_spec.validation import ConfigError


@pytest.fixture(autouse=True)
def row_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny tables: every batch touches more than 2% of them, which the trainer would give dense
    gradients and fused Adam (tests/test_dense_adam.py); here the row path itself is tested."""
    monkeypatch.setattr("recbole_spec.training.optim.densify_wide_tables", lambda model, rows: [])


def _weights(result: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result["trainer"].model.state_dict().items()}


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("BPRMF", {}),
        ("DirectSpecPlus", {"preset": "none"}),
        ("DirectSpecPlus", {"preset": "none", "train_sampler": "user_uniform"}),
    ],
)
def test_default_row_adam_trains_like_dense_adam(
    model: str, extra: dict, tiny_config: dict
) -> None:
    settings = {**tiny_config, **extra, "epochs": 3, "stopping_step": 100}
    rows = run(model, "checker", config_dict=settings)
    dense = run(model, "checker", config_dict={**settings, "sparse_grad": False})
    assert isinstance(rows["trainer"].optimizer, RowAdam)
    assert type(dense["trainer"].optimizer) is torch.optim.Adam
    for key, value in _weights(rows).items():
        torch.testing.assert_close(value, _weights(dense)[key], rtol=1e-4, atol=1e-5)
    losses, dense_losses = rows["trainer"].train_loss_dict, dense["trainer"].train_loss_dict
    for epoch, loss in losses.items():
        assert loss == pytest.approx(dense_losses[epoch], rel=1e-4)


def test_sparse_grad_auto_resolution(tiny_config: dict) -> None:
    def resolved(model: str, **keys: object) -> bool:
        return SpecConfig(model, "checker", config_dict={**tiny_config, **keys})["sparse_grad"]

    assert resolved("BPRMF") is True
    assert resolved("LightGCN") is False  # propagation: every row gets a gradient
    assert resolved("CLUniformity") is False  # weight_decay 1e-6 in its defaults
    assert resolved("BPRMF", learner="rmsprop") is False
    assert resolved("BPRMF", sparse_grad=False) is False
    with pytest.raises(ConfigError, match="weight_decay"):
        resolved("BPRMF", sparse_grad=True, weight_decay=1e-4)


def test_row_sgd_for_the_paper_protocol(tiny_config: dict) -> None:
    result = run(
        "DirectSpecPlus",
        "checker",
        config_dict={
            **tiny_config,
            "preset": "none",
            "learner": "sgd",
            "learning_rate": 1.0,
            "train_sampler": "user_uniform",
        },
    )
    assert isinstance(result["trainer"].optimizer, RowSGD)


def test_resumed_row_adam_run_is_bit_identical(tiny_config: dict) -> None:
    settings = {**tiny_config, "stopping_step": 100, "preset": "none"}
    unbroken = run("DirectSpecPlus", "checker", config_dict={**settings, "epochs": 3})
    first = run("DirectSpecPlus", "checker", config_dict={**settings, "epochs": 2})
    last = first["checkpoint"].removesuffix(".pth") + "-last.pth"  # after epoch 0
    resumed = run(
        "DirectSpecPlus", "checker", config_dict={**settings, "epochs": 3, "resume_from": last}
    )
    assert isinstance(resumed["trainer"].optimizer, RowAdam)
    for epoch in (1, 2):
        assert (
            resumed["trainer"].train_loss_dict[epoch] == unbroken["trainer"].train_loss_dict[epoch]
        )
    for key, value in _weights(resumed).items():
        assert torch.equal(value, _weights(unbroken)[key]), key
