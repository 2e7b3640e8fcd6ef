r"""Sampled softmax (SSM) over ``k`` uniform negatives.

.. math:: \mathcal L = -\frac{1}{B}\sum_u \log
    \frac{\exp(s_{ui}/T)}{\exp(s_{ui}/T) + \sum_{j=1}^{k} \exp(s_{uj}/T)}

with :math:`s` the dot product, or the cosine when ``cosine=True``, and temperature :math:`T`.
No log-Q correction: negatives are uniform, so it is a constant.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from recbole_spec.objectives.base import Batch, ConfiguredObjective
from recbole_spec.validation import check_positive


def sampled_softmax_loss(
    pos_scores: Tensor, neg_scores: Tensor, temperature: float = 1.0
) -> Tensor:
    """Cross-entropy of the positive against its negatives.

    Shapes:
        pos_scores: ``[B]``; neg_scores: ``[B, k]``; returns a scalar.
    """
    logits = torch.cat([pos_scores.unsqueeze(-1), neg_scores], dim=-1) / temperature
    return -F.log_softmax(logits, dim=-1)[:, 0].mean()


class SoftmaxObjective(ConfiguredObjective):
    """Sampled softmax over dot-product or cosine scores.

    Args:
        temperature: softmax temperature ``T`` (default: 1.0; key ``ssm_temperature``).
        cosine: score with cosine similarity instead of the raw dot product (default: False;
            key ``ssm_cosine``).
    """

    uses_negatives = True

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``ssm_temperature`` must be > 0."""
        check_positive(config, "ssm_temperature", owner, example=1.0)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> SoftmaxObjective:
        """SSM with ``ssm_temperature`` and ``ssm_cosine``."""
        return cls(config["ssm_temperature"], bool(config["ssm_cosine"]))

    def __init__(self, temperature: float = 1.0, cosine: bool = False) -> None:
        super().__init__()
        self.temperature = temperature
        self.cosine = cosine

    def forward(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the SSM loss; ``neg`` is ``[B, k, d]``."""
        if self.cosine:
            user, item, neg = (F.normalize(x, dim=-1) for x in (user, item, neg))
        pos_scores = (user * item).sum(-1)
        neg_scores = (user.unsqueeze(1) * neg).sum(-1)
        return sampled_softmax_loss(pos_scores, neg_scores, self.temperature)
