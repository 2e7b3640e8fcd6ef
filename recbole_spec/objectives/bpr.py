r"""Bayesian personalised ranking (Rendle et al., UAI 2009).

.. math:: \mathcal L = -\frac{1}{Bk} \sum_{u}\sum_{j=1}^{k} \log \sigma(s_{ui} - s_{uj})

with :math:`s = u^\top i` and ``k`` uniform negatives per positive (``neg_ratio``).
"""

from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from recbole_spec.objectives.base import Batch, ConfiguredObjective


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Mean ``-log sigmoid(pos - neg)`` over every (positive, negative) pair.

    Shapes:
        pos_scores: ``[B]``; neg_scores: ``[B, k]``; returns a scalar.
    """
    return -F.logsigmoid(pos_scores.unsqueeze(-1) - neg_scores).mean()


class BPRObjective(ConfiguredObjective):
    """BPR over dot-product scores."""

    uses_negatives = True

    def forward(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the BPR loss; ``neg`` is ``[B, k, d]``."""
        pos_scores = (user * item).sum(-1)
        neg_scores = (user.unsqueeze(1) * neg).sum(-1)
        return bpr_loss(pos_scores, neg_scores)
