r"""CL-uniformity: DirectAU's alignment + uniformity, no negatives.

Wang et al., "Towards Representation Alignment and Uniformity in Collaborative Filtering",
KDD 2022 (arXiv 2206.12811; official code github.com/THUwangcy/DirectAU). On L2-normalised rows,

.. math::
    \mathcal L = \underbrace{\frac{1}{B}\sum_b \lVert \hat x_b - \hat y_b \rVert^2}_{\text{align}}
    + \gamma \, \frac{\ell_{\text{unif}}(\hat X) + \ell_{\text{unif}}(\hat Y)}{2}, \qquad
    \ell_{\text{unif}}(\hat X) = \log \frac{1}{\binom{B}{2}} \sum_{a<b} e^{-t \lVert \hat x_a -
    \hat x_b \rVert^2}

with ``t = 2``, over the in-batch users and, separately, the in-batch positive items. One gradient
step of the uniformity term is the DirectSpec+ filter with ``tau = 2t`` (DirectSpec paper, Sec. 5).
"""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor

from recbole_spec.diagnostics.align_uniform import alignment, uniformity
from recbole_spec.objectives.base import Batch, ConfiguredObjective
from recbole_spec.validation import check_number, check_positive


class AlignUniformObjective(ConfiguredObjective):
    """DirectAU loss.

    Args:
        gamma: weight of the uniformity term (default: 1.0; DirectAU: 0.5 Beauty, 5 Gowalla,
            1 Yelp2018; key ``gamma``).
        t: uniformity temperature (default: 2.0; key ``uniformity_t``).
    """

    uses_negatives = False

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``gamma`` must be >= 0 and ``uniformity_t`` > 0."""
        check_number(config, "gamma", owner, low=0, example=1.0)
        check_positive(config, "uniformity_t", owner, example=2.0)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> AlignUniformObjective:
        """Alignment + uniformity with ``gamma`` and ``uniformity_t``."""
        return cls(config["gamma"], config["uniformity_t"])

    def __init__(self, gamma: float = 1.0, t: float = 2.0) -> None:
        super().__init__()
        self.gamma, self.t = gamma, t

    def forward(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return ``align + gamma * (unif_users + unif_items) / 2``."""
        spread = (uniformity(user, self.t) + uniformity(item, self.t)) / 2
        return alignment(user, item) + self.gamma * spread
