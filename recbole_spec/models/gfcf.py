r"""GF-CF: a linear plus an ideal low-pass graph filter, computed without training.

Paper: Shen et al., "How Powerful is Graph Convolution for Recommendation?" (CIKM 2021,
arXiv 2108.07567). Official code: https://github.com/yshenaw/GF_CF (``Table3&4/model.py``,
class ``GF_CF``). The score of user :math:`u` (binary interaction row :math:`r_u`) is

.. math::
    s_u = r_u \tilde R^\top \tilde R + \alpha\, r_u D_I^{-1/2} V V^\top D_I^{1/2},
    \qquad \tilde R = D_U^{-1/2} R D_I^{-1/2},

with :math:`V` the top-``factor_dim`` right singular vectors of :math:`\tilde R` (official:
:math:`k = 256`, :math:`\alpha = 0.3` on Gowalla and Yelp2018, :math:`\alpha = 0` on
Amazon-book). The filters live in :mod:`recbole_spec.spectral.lowpass`.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from recbole_spec.models.training_free import TrainingFreeRecommender
from recbole_spec.spectral.lowpass import LinearFilter
from recbole_spec.validation import check_number, check_positive


class GFCF(TrainingFreeRecommender):
    """GF-CF with ``alpha`` (weight of the ideal filter; 0 skips the SVD) and ``factor_dim``."""

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """``alpha >= 0``, ``factor_dim >= 1`` (below min(#users, #items), checked on the data)."""
        check_number(config, "alpha", cls.__name__, low=0, example=0.3)
        check_positive(config, "factor_dim", cls.__name__, integer=True, example=256)

    def fit(self, config: Any) -> None:
        """The linear filter, and the ideal one when ``alpha > 0``."""
        self.alpha = float(config["alpha"])
        self.linear = LinearFilter(self.norm, self.device)
        self.ideal = (
            self.ideal_filter(int(config["factor_dim"]), int(config["seed"]))
            if self.alpha > 0
            else None
        )

    def score_signals(self, signals: Tensor) -> Tensor:
        r""":math:`\tilde R^\top \tilde R z + \alpha D_I^{1/2} V V^\top D_I^{-1/2} z` per column."""
        scores = self.linear(signals)
        if self.ideal is not None:
            scores = scores + self.alpha * self.ideal(signals)
        return scores
