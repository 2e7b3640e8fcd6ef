"""The stable-rank warm start switches off on schedule (every variant's gradients, scores and
checkpoints: tests/test_model_suite.py)."""

from __future__ import annotations

import torch

from recbole_spec import run
from recbole_spec.models.base import _unique_rows
from recbole_spec.regularizers.stable_rank import WarmStartSchedule

WARM = {"stable_rank_weight": 1.0, "warm_start_epochs": 0, "warm_start_patience": 5}


def _ended(trainer: object) -> int | None:
    """The epoch after which the model's warm-start schedule (its epoch callback) ended it."""
    (schedule,) = [c for c in trainer.epoch_callbacks if isinstance(c, WarmStartSchedule)]
    return schedule.ended_epoch


def test_warm_start_ends_after_n_plus_one_epochs_and_logs(tiny_config: dict, caplog) -> None:
    config = {**tiny_config, **WARM, "warm_start_epochs": 2, "epochs": 4, "stopping_step": 100}
    losses = []

    class Spy:
        def bind(self, trainer) -> None:  # noqa: ANN001
            self.trainer = trainer

        def __call__(self, epoch: int, loss: float, valid: dict) -> None:
            losses.append(self.trainer.model.stable_rank_active)

    result = run("BPRMF", "checker", config_dict=config, callbacks=[Spy()])
    assert _ended(result["trainer"]) == 2
    assert losses == [True, True, False, False]


def test_warm_start_ends_on_patience(tiny_config: dict) -> None:
    config = {
        **tiny_config,
        **WARM,
        "warm_start_epochs": 50,
        "warm_start_patience": 1,
        "epochs": 6,
        "learning_rate": 1e-9,  # nothing improves
        "stopping_step": 100,
    }
    result = run("BPRMF", "checker", config_dict=config)
    assert _ended(result["trainer"]) <= 2


def test_a_trainer_built_without_the_pipeline_has_the_schedule(tiny_config: dict) -> None:
    from recbole_spec.pipeline import build_config, build_model, load_data
    from recbole_spec.training.trainer import trainer_class

    config = build_config("BPRMF", "checker", config_dict={**tiny_config, **WARM})
    _, train, _, _ = load_data(config)
    model = build_model(config, train)
    trainer = trainer_class(config, config.model_class)(config, model)
    (schedule,) = [c for c in trainer.epoch_callbacks if isinstance(c, WarmStartSchedule)]
    assert schedule.metric == "ndcg@20" and schedule.model is model


def test_unique_rows_keeps_one_row_per_id() -> None:
    ids = torch.tensor([3, 1, 3, 2, 1])
    rows = torch.tensor([[3.0], [1.0], [3.0], [2.0], [1.0]])
    assert _unique_rows(ids, rows).flatten().tolist() == [1.0, 2.0, 3.0]
