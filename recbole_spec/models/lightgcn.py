"""LightGCN (He et al., SIGIR 2020) on the plugin's sparse, cached propagation encoder.

Shadows RecBole's built-in ``LightGCN`` (still reachable as ``recbole.LightGCN``); with the same
weights both give the same full-sort scores (a parity test checks it).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives import check_ranking_loss, ranking_objective, ranking_objective_class


class LightGCN(SpecRecommender):
    """LightGCN encoder + ``loss: bpr | ssm`` with ``neg_ratio`` negatives per positive."""

    encoder_name = "lightgcn"

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate ``loss`` and its temperature."""
        check_ranking_loss(config, cls.__name__)

    @classmethod
    def objective_class(cls, config: Any) -> type[nn.Module]:
        """BPR or SSM, as ``loss`` says (both with negatives)."""
        return ranking_objective_class(config)

    def build_objective(self, config: Any, dataset: Any) -> nn.Module:
        """BPR or SSM, as configured."""
        return ranking_objective(config)
