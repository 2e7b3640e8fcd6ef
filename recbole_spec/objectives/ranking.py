"""The negative-sampling ranking loss a config names: ``loss: bpr | ssm``.

BPR-MF and LightGCN train with either loss; :class:`RankingLoss` is the one objective they
declare. It checks ``loss`` (and the chosen loss's own keys) and builds a
:class:`~recbole_spec.objectives.bpr.BPRObjective` or a
:class:`~recbole_spec.objectives.softmax.SoftmaxObjective`; both use negatives.
"""

from __future__ import annotations

from typing import Any

from recbole_spec.objectives.base import ConfiguredObjective
from recbole_spec.objectives.bpr import BPRObjective
from recbole_spec.objectives.softmax import SoftmaxObjective
from recbole_spec.validation import check_choice

RANKING_LOSSES = {"bpr": BPRObjective, "ssm": SoftmaxObjective}
"""``loss`` value -> objective class."""


class RankingLoss:
    """``loss: bpr | ssm``, with ``neg_ratio`` uniform negatives per positive (never built)."""

    uses_negatives = True

    @classmethod
    def chosen(cls, config: Any) -> type[ConfiguredObjective]:
        """The objective class ``config['loss']`` names (after :meth:`check_config`)."""
        return RANKING_LOSSES[str(config["loss"])]

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``loss`` must be ``bpr`` or ``ssm``; then the chosen loss checks its own keys."""
        config["loss"] = check_choice(config, "loss", owner, RANKING_LOSSES)
        cls.chosen(config).check_config(config, owner)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> BPRObjective | SoftmaxObjective:
        """The chosen loss, built from ``config``."""
        return cls.chosen(config).from_config(config, dataset)
