"""DirectSpec (Peng et al., arXiv 2406.12032): all-pass spectral filter, positive-only loss.

Encoder ``mf`` or ``lightgcn``; scoring uses the raw (unfiltered) embeddings. The all-pass
filter's normalisation (``1/B``) is ours: see
:func:`recbole_spec.objectives.spectral_filters.allpass_filter`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.directspec import DirectSpecObjective
from recbole_spec.validation import check_number


class DirectSpec(SpecRecommender):
    """Keys: ``encoder``, ``alpha`` (>= 0), ``shrink`` (>= 0, 0 disables)."""

    configurable_encoder = True

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate ``alpha`` and ``shrink``."""
        check_number(config, "alpha", cls.__name__, low=0, example=1.0)
        check_number(config, "shrink", cls.__name__, low=0, example=0.03)

    @classmethod
    def objective_class(cls, config: Any) -> type[nn.Module]:
        """The all-pass DirectSpec objective (positive-only)."""
        return DirectSpecObjective

    def build_objective(self, config: Any, dataset: Any) -> nn.Module:
        """The all-pass DirectSpec objective."""
        return DirectSpecObjective(config["alpha"], config["shrink"])
