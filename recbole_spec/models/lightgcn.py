"""LightGCN (He et al., SIGIR 2020) on the plugin's sparse, cached propagation encoder.

Shadows RecBole's built-in ``LightGCN`` (still reachable as ``recbole.LightGCN``); with the same
weights both give the same full-sort scores (a parity test checks it).
"""

from __future__ import annotations

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.ranking import RankingLoss


class LightGCN(SpecRecommender):
    """LightGCN encoder + ``loss: bpr | ssm`` with ``neg_ratio`` negatives per positive."""

    encoder_name = "lightgcn"
    objective_class = RankingLoss
