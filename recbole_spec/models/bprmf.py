"""BPR-MF: matrix factorisation trained with BPR or sampled softmax over uniform negatives.

With the same weights its scores equal RecBole's built-in ``BPR`` (a parity test checks it).
"""

from __future__ import annotations

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.ranking import RankingLoss


class BPRMF(SpecRecommender):
    """MF encoder + ``loss: bpr | ssm`` with ``neg_ratio`` negatives per positive."""

    encoder_name = "mf"
    objective_class = RankingLoss
