r"""DirectSpec+: the self-paced filter with a (fixed or adaptive) temperature.

Peng et al., arXiv 2406.12032; official ``directspec_mf.py`` / ``directspec_gcn.py`` and the
``*_adaptive.py`` variants (github.com/tanatosuu/directspec). Same loss as
:mod:`recbole_spec.objectives.directspec` with the filter

.. math:: f(X) = X - \alpha \, \mathrm{softmax}(\tau X X^\top) X

applied separately to the user batch and the item batch (diagonal included, gradients through
the softmax). With ``tau_mode: adaptive`` the temperature is per pair: :math:`\tau_0` when the two
users (items) share a training item, :math:`\tau_1` otherwise; the mask is computed per batch from
the sparse interaction matrix (:func:`~recbole_spec.spectral.shared_interaction_mask`), where the
official code builds dense ``|U| x |U|`` and ``|I| x |I|`` masks.
"""

from __future__ import annotations

from typing import Optional

import scipy.sparse as sp
from torch import Tensor

from recbole_spec.objectives.base import Batch
from recbole_spec.objectives.directspec import DirectSpecObjective
from recbole_spec.spectral import adaptive_temperature, self_paced_filter, shared_interaction_mask


class DirectSpecPlusObjective(DirectSpecObjective):
    """Self-paced-filtered positive-only loss.

    Args:
        alpha: filter strength :math:`\\alpha` (default: 1.0).
        tau: fixed temperature :math:`\\tau` (default: 3.0).
        shrink: norm shrink :math:`c`; 0 disables it (default: 0.0).
        interactions: training user x item matrix; given, the temperature is adaptive.
        tau0: temperature of pairs sharing a training interaction (adaptive only).
        tau1: temperature of the other pairs (adaptive only).
    """

    def __init__(
        self,
        alpha: float = 1.0,
        tau: float = 3.0,
        shrink: float = 0.0,
        interactions: Optional[sp.spmatrix] = None,
        tau0: float = 2.5,
        tau1: float = 3.0,
    ) -> None:
        super().__init__(alpha, shrink)
        self.tau, self.tau0, self.tau1 = tau, tau0, tau1
        self.adaptive = interactions is not None
        if self.adaptive:
            self._by_user = sp.csr_matrix(interactions)
            self._by_item = sp.csr_matrix(self._by_user.T)

    def temperature(self, batch: Batch, side: str) -> float | Tensor:
        """The fixed ``tau``, or the ``[B, B]`` adaptive temperatures of this side's ids."""
        if not self.adaptive:
            return self.tau
        ids, matrix = (batch.users, self._by_user) if side == "user" else (batch.items, self._by_item)
        return adaptive_temperature(shared_interaction_mask(ids, matrix), self.tau0, self.tau1)

    def filter(self, rows: Tensor, batch: Batch, side: str) -> Tensor:
        """Self-paced filter of one side's normalised rows."""
        return self_paced_filter(rows, self.alpha, self.temperature(batch, side))
