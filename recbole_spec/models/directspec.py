"""DirectSpec (Peng et al., arXiv 2406.12032): all-pass spectral filter, positive-only loss.

Encoder ``mf`` or ``lightgcn``; scoring uses the raw (unfiltered) embeddings. The all-pass
filter's normalisation (``1/B``) is ours: see
:func:`recbole_spec.objectives.spectral_filters.allpass_filter`. On a checksum-verified import of
one of the paper's datasets it runs with that paper's preset by default
(:data:`~recbole_spec.config.presets.PAPER_PRESETS`).
"""

from __future__ import annotations

from recbole_spec.config.presets import OTHER_SPLIT_PRESETS, PAPER_PRESETS
from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.directspec import DirectSpecObjective


class DirectSpec(SpecRecommender):
    """Keys: ``encoder``, ``alpha`` (>= 0), ``shrink`` (>= 0, 0 disables)."""

    configurable_encoder = True
    objective_class = DirectSpecObjective
    paper_presets = PAPER_PRESETS
    other_split_presets = OTHER_SPLIT_PRESETS
