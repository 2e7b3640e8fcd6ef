"""Training objectives; each takes ``(user, item, neg, batch)`` rows and returns a scalar.

Each objective owns its settings (:class:`~recbole_spec.objectives.base.ConfiguredObjective`):
``check_config(config, owner)`` validates its keys before data loads and
``from_config(config, dataset)`` builds it.
"""

from __future__ import annotations

from recbole_spec.objectives.base import Batch, ConfiguredObjective, Objective
from recbole_spec.objectives.bpr import BPRObjective, bpr_loss
from recbole_spec.objectives.ranking import RANKING_LOSSES, RankingLoss
from recbole_spec.objectives.softmax import SoftmaxObjective, sampled_softmax_loss

__all__ = [
    "RANKING_LOSSES",
    "BPRObjective",
    "Batch",
    "ConfiguredObjective",
    "Objective",
    "RankingLoss",
    "SoftmaxObjective",
    "bpr_loss",
    "sampled_softmax_loss",
]
