"""Training objectives; each takes ``(user, item, neg, batch)`` rows and returns a scalar."""

from __future__ import annotations

from typing import Any

from recbole_spec.objectives.base import Batch, Objective
from recbole_spec.objectives.bpr import BPRObjective, bpr_loss
from recbole_spec.objectives.softmax import SoftmaxObjective, sampled_softmax_loss
from recbole_spec.validation import check_choice, check_positive

RANKING_LOSSES = ("bpr", "ssm")

__all__ = [
    "RANKING_LOSSES",
    "BPRObjective",
    "Batch",
    "Objective",
    "SoftmaxObjective",
    "bpr_loss",
    "check_ranking_loss",
    "ranking_objective",
    "ranking_objective_class",
    "sampled_softmax_loss",
]


def check_ranking_loss(config: Any, owner: str) -> None:
    """Validate ``loss`` (``bpr`` | ``ssm``) and, for SSM, ``ssm_temperature``."""
    config["loss"] = check_choice(config, "loss", owner, RANKING_LOSSES)
    if config["loss"] == "ssm":
        check_positive(config, "ssm_temperature", owner, example=1.0)


def ranking_objective_class(config: Any) -> type[BPRObjective] | type[SoftmaxObjective]:
    """The negative-sampling objective class named by ``config['loss']``."""
    return SoftmaxObjective if config["loss"] == "ssm" else BPRObjective


def ranking_objective(config: Any) -> BPRObjective | SoftmaxObjective:
    """The negative-sampling objective named by ``config['loss']``."""
    if ranking_objective_class(config) is SoftmaxObjective:
        return SoftmaxObjective(config["ssm_temperature"], bool(config["ssm_cosine"]))
    return BPRObjective()
