"""CLUniformity: DirectAU-style alignment + uniformity on the MF or LightGCN encoder.

Presets with the DirectAU paper's settings: ``--preset=directau_gowalla`` (gamma 5),
``directau_yelp2018`` (gamma 1), ``directau_beauty`` (gamma 0.5).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.align_uniform import AlignUniformObjective
from recbole_spec.validation import check_number, check_positive


class CLUniformity(SpecRecommender):
    """Keys: ``encoder`` (mf | lightgcn), ``gamma`` (>= 0), ``uniformity_t`` (> 0)."""

    configurable_encoder = True

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate ``gamma`` and ``uniformity_t``."""
        check_number(config, "gamma", cls.__name__, low=0, example=1.0)
        check_positive(config, "uniformity_t", cls.__name__, example=2.0)

    @classmethod
    def objective_class(cls, config: Any) -> type[nn.Module]:
        """Alignment + uniformity (no negatives: uniformity spreads the batch instead)."""
        return AlignUniformObjective

    def build_objective(self, config: Any, dataset: Any) -> nn.Module:
        """The alignment + uniformity objective."""
        return AlignUniformObjective(config["gamma"], config["uniformity_t"])
