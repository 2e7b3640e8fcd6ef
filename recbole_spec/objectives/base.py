"""The call signature shared by every training objective.

An objective receives the encoder's rows for one training batch and returns a scalar loss:
``objective(user, item, neg, batch)`` with ``user``/``item`` of shape ``[B, d]``, ``neg`` of shape
``[B, k, d]`` (``None`` for positive-only objectives) and ``batch`` carrying the ids, for
objectives that need them (the adaptive temperature of DirectSpec+).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol

from torch import Tensor, nn


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
    model's :attr:`~recbole_spec.models.base.SpecRecommender.objective_class` names the class,
    and RecBole samples negatives for the training batches exactly when it is true.
    """

    uses_negatives: bool

    def __call__(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the scalar loss of one batch."""


class ConfiguredObjective(nn.Module):
    """An objective that owns its settings: it checks its keys and builds itself from a config.

    A model names the class once (``objective_class = ...``); the model's checks call
    :meth:`check_config` before any data is loaded, and the model calls :meth:`from_config`.
    Subclasses declare ``uses_negatives`` and override both classmethods for their keys.
    """

    uses_negatives: bool

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """Validate (and normalise) this objective's keys in ``config``; ``owner`` names the model.

        Raises:
            ConfigError: a bad value, naming ``owner``, the key and the fix.
        """

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> nn.Module:
        """Build the objective from a checked ``config`` (``dataset``: RecBole's training data)."""
        return cls()
