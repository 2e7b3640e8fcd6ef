"""CLUniformity: DirectAU-style alignment + uniformity on the MF or LightGCN encoder.

Presets with the DirectAU paper's settings: ``--preset=directau_gowalla`` (gamma 5),
``directau_yelp2018`` (gamma 1), ``directau_beauty`` (gamma 0.5).
"""

from __future__ import annotations

from recbole_spec.models.base import SpecRecommender
from recbole_spec.objectives.align_uniform import AlignUniformObjective


class CLUniformity(SpecRecommender):
    """Keys: ``encoder`` (mf | lightgcn), ``gamma`` (>= 0), ``uniformity_t`` (> 0).

    Alignment + uniformity uses no negatives: uniformity spreads the batch instead.
    """

    configurable_encoder = True
    objective_class = AlignUniformObjective
