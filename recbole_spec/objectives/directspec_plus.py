r"""DirectSpec+: the self-paced filter with a (fixed or adaptive) temperature.

Peng et al., arXiv 2406.12032; official ``directspec_mf.py`` / ``directspec_gcn.py`` and the
``*_adaptive.py`` variants (github.com/tanatosuu/directspec). Same loss as
:mod:`recbole_spec.objectives.directspec` with the filter

.. math:: f(X) = X - \alpha \, \mathrm{softmax}(\tau X X^\top) X

applied separately to the user batch and the item batch (diagonal included, gradients through
the softmax). With ``tau_mode: adaptive`` the temperature is per pair: :math:`\tau_0` when the two
users (items) share a training item, :math:`\tau_1` otherwise; the mask is computed per batch from
the sparse interaction matrix
(:func:`~recbole_spec.objectives.spectral_filters.shared_interaction_mask`), where the official
code builds dense ``|U| x |U|`` and ``|I| x |I|`` masks.
"""

from __future__ import annotations

from typing import Any, Optional

import scipy.sparse as sp
import torch
from torch import Tensor

from recbole_spec.objectives.base import Batch
from recbole_spec.objectives.directspec import DirectSpecObjective, positive_logsigmoid_loss
from recbole_spec.objectives.spectral_filters import (
    adaptive_temperature,
    self_paced_filter,
    shared_interaction_mask,
)
from recbole_spec.validation import ConfigError, check_choice, check_positive

TAU_MODES = ("fixed", "adaptive")


class FusedSides(torch.autograd.Function):
    r"""Normalise -> self-paced filter -> shrink for stacked sides, with a hand-written backward.

    Forward, for raw rows :math:`R` (``[S, B, d]``: the user and the item batch stacked, so that
    both run in one batched matrix product; a ``[B, d]`` input is one side):
    :math:`X = R / \lVert R \rVert`, :math:`W = \mathrm{softmax}(\tau \odot X X^\top)`,
    :math:`F = X - \alpha W X`, :math:`Z = c \lVert F \rVert F` (or :math:`Z = F` when
    :math:`c = 0`). Backward, per side, given :math:`G_Z`:

    .. math::
        G_F = c (\lVert F \rVert G_Z + F \langle F, G_Z \rangle / \lVert F \rVert), \quad
        G_X = G_F - \alpha W^\top G_F + (M + M^\top) X, \\
        M = -\alpha \, \tau \odot W \odot (G_F X^\top - \langle G_F, W X \rangle \mathbf 1^\top),
        \quad G_R = (G_X - X \langle X, G_X \rangle) / \lVert R \rVert

    (row-wise inner products; the softmax's row sums :math:`\langle G_F, W X \rangle` reuse the
    forward pass's :math:`W X`, a ``B x d`` product instead of a ``B x B`` one). It computes
    exactly what autograd computes through
    :func:`~recbole_spec.objectives.spectral_filters.self_paced_filter` and
    the shrink (a test checks values and gradients against that composition) with 5 instead of
    6 ``B x B x d`` products per side and far fewer element-wise kernels: the paper protocol runs
    thousands of tiny steps per epoch, where per-op overhead dominates, and one batched call for
    both sides halves it again.
    """

    @staticmethod
    def forward(ctx: Any, rows: Tensor, alpha: float, tau: float | Tensor, shrink: float) -> Tensor:
        """Return the filtered, shrunk rows, shaped like ``rows``."""
        single = rows.dim() == 2
        if single:
            rows = rows.unsqueeze(0)
            tau = tau.unsqueeze(0) if isinstance(tau, Tensor) else tau
        norms = torch.linalg.vector_norm(rows, dim=2, keepdim=True).clamp_min_(1e-12)
        x = rows / norms
        if isinstance(tau, Tensor):
            logits = torch.bmm(x, x.mT).mul_(tau)
        else:  # baddbmm applies tau (its alpha) inside the GEMM: no extra B x B pass
            logits = torch.baddbmm(x.new_zeros(1, 1, 1), x, x.mT, beta=0, alpha=tau)
        weights = torch.softmax(logits, dim=2)
        smoothed = torch.bmm(weights, x)
        filtered = torch.add(x, smoothed, alpha=-alpha)
        if shrink > 0:
            filtered_norms = torch.linalg.vector_norm(filtered, dim=2, keepdim=True)
            filtered_norms.clamp_min_(1e-12)
            out = filtered * filtered_norms.mul(shrink)
        else:
            filtered_norms = filtered.new_empty(0)
            out = filtered
        tau_matrix = tau if isinstance(tau, Tensor) else None
        ctx.save_for_backward(x, norms, weights, smoothed, filtered, filtered_norms, tau_matrix)
        ctx.alpha, ctx.shrink, ctx.single = alpha, shrink, single
        ctx.tau = None if isinstance(tau, Tensor) else float(tau)
        return out.squeeze(0) if single else out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Optional[Tensor], None, None, None]:
        """Hand-derived gradient with respect to the raw rows."""
        x, norms, weights, smoothed, filtered, filtered_norms, tau_matrix = ctx.saved_tensors
        alpha, shrink = ctx.alpha, ctx.shrink
        if ctx.single:
            grad_out = grad_out.unsqueeze(0)
        if shrink > 0:
            radial = (filtered * grad_out).sum(2, keepdim=True).div_(filtered_norms)
            grad_f = torch.addcmul(filtered * radial, grad_out, filtered_norms).mul_(shrink)
        else:
            grad_f = grad_out
        grad_x = torch.baddbmm(grad_f, weights.mT, grad_f, alpha=-alpha)
        row_dot = (grad_f * smoothed).sum(2, keepdim=True)  # rowsum(G_F X^T * W)
        grad_s = torch.bmm(grad_f, x.mT).sub_(row_dot).mul_(weights)
        scale = -alpha
        if tau_matrix is None:
            scale *= ctx.tau
        else:
            grad_s.mul_(tau_matrix.to(grad_s.device))
        grad_x.baddbmm_(grad_s + grad_s.mT, x, alpha=scale)
        grad_x.sub_(x * (x * grad_x).sum(2, keepdim=True)).div_(norms)
        return (grad_x.squeeze(0) if ctx.single else grad_x), None, None, None


class DirectSpecPlusObjective(DirectSpecObjective):
    r"""Self-paced-filtered positive-only loss.

    Args:
        alpha: filter strength :math:`\alpha` (default: 1.0).
        tau: fixed temperature :math:`\tau` (default: 3.0).
        shrink: norm shrink :math:`c`; 0 disables it (default: 0.0).
        interactions: training user x item matrix; given, the temperature is adaptive.
        tau0: temperature of pairs sharing a training interaction (adaptive only).
        tau1: temperature of the other pairs (adaptive only).

    Keys: ``alpha``, ``shrink``, ``tau_mode`` (fixed | adaptive), ``tau`` or ``tau0``/``tau1``.
    """

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """The filter keys; ``tau0`` must not exceed ``tau1``."""
        super().check_config(config, owner)
        config["tau_mode"] = check_choice(config, "tau_mode", owner, TAU_MODES)
        if config["tau_mode"] == "fixed":
            check_positive(config, "tau", owner, example=3.0)
            return
        tau0 = check_positive(config, "tau0", owner, example=2.5)
        tau1 = check_positive(config, "tau1", owner, example=3.0)
        if tau0 > tau1:
            raise ConfigError(
                f"{owner}: 'tau0' must be <= 'tau1' (got tau0={tau0}, tau1={tau1}); pairs that "
                f"share an item get the lower temperature, e.g. --tau0=2.5 --tau1=3.0"
            )

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> DirectSpecPlusObjective:
        """The self-paced objective (adaptive: with the training matrix of ``dataset``)."""
        adaptive = config["tau_mode"] == "adaptive"
        return cls(
            alpha=config["alpha"],
            tau=config["tau"],
            shrink=config["shrink"],
            interactions=dataset.inter_matrix(form="csr") if adaptive else None,
            tau0=config["tau0"],
            tau1=config["tau1"],
        )

    @classmethod
    def describe(cls, config: Any) -> str:
        """``alpha``, then ``tau`` or ``tau0/tau1``, for the run's settings line."""
        tau = (
            f"tau0/tau1 {config['tau0']}/{config['tau1']}"
            if config["tau_mode"] == "adaptive"
            else f"tau {config['tau']}"
        )
        return f"{super().describe(config)}, {tau}"

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
        ids, matrix = (
            (batch.users, self._by_user) if side == "user" else (batch.items, self._by_item)
        )
        return adaptive_temperature(shared_interaction_mask(ids, matrix), self.tau0, self.tau1)

    def filter(self, rows: Tensor, batch: Batch, side: str) -> Tensor:
        """Self-paced filter of one side's normalised rows (the reference composition)."""
        return self_paced_filter(rows, self.alpha, self.temperature(batch, side))

    def forward(self, user: Tensor, item: Tensor, neg: Optional[Tensor], batch: Batch) -> Tensor:
        """Return the loss through :class:`FusedSides` (both sides in one call).

        Same value and gradient as the base class's normalise -> :meth:`filter` -> shrink
        composition, with fewer kernels.
        """
        tau = self.tau
        if self.adaptive:
            tau = torch.stack((self.temperature(batch, "user"), self.temperature(batch, "item")))
        users, items = FusedSides.apply(torch.stack((user, item)), self.alpha, tau, self.shrink)
        return positive_logsigmoid_loss(users, items)
