r"""DirectSpec: a positive-only loss on spectrally filtered batch embeddings.

Peng et al., "Balancing Embedding Spectrum for Recommendation", arXiv 2406.12032 (official code:
github.com/tanatosuu/directspec). For the in-batch user rows :math:`X` and positive item rows
:math:`Y`, both L2-normalised per row,

.. math::
    X' = f(X), \quad Y' = f(Y), \quad
    x'' = c \lVert x' \rVert x' \; (c > 0), \quad
    \mathcal L = -\frac{1}{B} \sum_b \log \sigma(x''_b \cdot y''_b)

with the all-pass filter :math:`f(X) = X - \frac{\alpha}{B} X X^\top X`
(:func:`~recbole_spec.objectives.spectral_filters.allpass_filter`; the ``1/B`` is our documented
normalisation) and the optional norm shrink :math:`c` = ``shrink`` (0 disables it). No negatives
are used: the filter itself pushes the batch towards a balanced spectrum. Scoring uses the raw
embeddings.
"""

from __future__ import annotations

from typing import Any, Optional

import torch.nn.functional as F
from torch import Tensor

from recbole_spec.objectives.base import Batch, ConfiguredObjective
from recbole_spec.objectives.spectral_filters import allpass_filter
from recbole_spec.validation import check_number


def shrink_rows(x: Tensor, shrink: float) -> Tensor:
    """Official norm shrink ``x'' = c * ||x'|| * x'`` (identity when ``shrink`` is 0)."""
    if shrink <= 0:
        return x
    return shrink * x.norm(dim=-1, keepdim=True) * x


def positive_logsigmoid_loss(user: Tensor, item: Tensor) -> Tensor:
    """``-mean log sigmoid(<user_b, item_b>)`` over the batch's positive pairs.

    Shapes:
        user, item: ``[B, d]``; returns a scalar.
    """
    return -F.logsigmoid((user * item).sum(-1)).mean()


class DirectSpecObjective(ConfiguredObjective):
    r"""All-pass-filtered positive-only loss.

    Args:
        alpha: filter strength :math:`\alpha` (default: 1.0; key ``alpha``).
        shrink: norm shrink :math:`c`; 0 disables it (default: 0.0; key ``shrink``).
    """

    uses_negatives = False

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``alpha`` and ``shrink`` must be >= 0."""
        check_number(config, "alpha", owner, low=0, example=1.0)
        check_number(config, "shrink", owner, low=0, example=0.03)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> DirectSpecObjective:
        """The all-pass objective with ``alpha`` and ``shrink``."""
        return cls(config["alpha"], config["shrink"])

    @classmethod
    def describe(cls, config: Any) -> str:
        """The filter settings in a few words, for the run's settings line."""
        return f"alpha {config['alpha']}"

    def __init__(self, alpha: float = 1.0, shrink: float = 0.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.shrink = shrink

    def filter(self, rows: Tensor, batch: Batch, side: str) -> Tensor:
        """Filter one side's normalised rows (``side`` is ``"user"`` or ``"item"``)."""
        return allpass_filter(rows, self.alpha)

    def forward(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the loss; ``neg`` is ignored (positive-only)."""
        users = shrink_rows(self.filter(F.normalize(user, dim=-1), batch, "user"), self.shrink)
        items = shrink_rows(self.filter(F.normalize(item, dim=-1), batch, "item"), self.shrink)
        return positive_logsigmoid_loss(users, items)
