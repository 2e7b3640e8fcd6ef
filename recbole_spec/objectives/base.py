"""The call signature shared by every training objective.

An objective receives the encoder's rows for one training batch and returns a scalar loss:
``objective(user, item, neg, batch)`` with ``user``/``item`` of shape ``[B, d]``, ``neg`` of shape
``[B, k, d]`` (``None`` for positive-only objectives) and ``batch`` carrying the ids, for
objectives that need them (the adaptive temperature of DirectSpec+).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

from torch import Tensor


@dataclass(frozen=True)
class Batch:
    """Ids of one training batch (RecBole internal ids).

    Attributes:
        users: ``[B]`` user ids.
        items: ``[B]`` positive item ids.
        negs: ``[B, k]`` negative item ids, or ``None``.
    """

    users: Tensor
    items: Tensor
    negs: Optional[Tensor] = None


class Objective(Protocol):
    """A training loss over encoder rows.

    ``uses_negatives`` is the one declaration of whether the loss needs negative items: a
    model's :meth:`~recbole_spec.models.base.SpecRecommender.objective_class` names the class,
    and RecBole samples negatives for the training batches exactly when it is true.
    """

    uses_negatives: bool

    def __call__(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the scalar loss of one batch."""
