r"""The momentum-tail series behind :class:`~recbole_spec.training.row_adam.RowAdam`.

A row that skipped ``k`` Adam steps moves by ``m / sqrt(v) * sum_n (-x)^n W_n(s, k)`` (see
:mod:`recbole_spec.training.row_adam`); this module holds the constants of that series
(:class:`SeriesConstants`: horizon ``J``, ratio powers, moment tables) and the re-centring of the
power sums that keeps it accurate (:func:`central_moments`).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor

SERIES_TERMS = 11
"""Power sums kept per step: ``W_0 .. W_10`` (central moments ``M_0 .. M_9`` are summed,
``M_10`` bounds the remainder)."""
SERIES_TOL = 1e-8
"""Rows whose remainder bound exceeds this relative error take the plain series or the sum."""
TAYLOR_RADIUS = 0.05
"""The plain series in ``x`` is used where ``x q_max <= 0.05`` (remainder ``<= 1e-9``)."""
EAGER_V = 0.6
"""Steps while ``beta2^t > EAGER_V`` (511 for beta2 = 0.999) are dense Adam steps on the whole
table: there ``c_t = sqrt(1 - beta2^t)`` changes too fast across a momentum window for the
series, and the term-by-term sum would cost more than the dense step."""
HORIZON_TOL = 1e-16
"""Momentum tails below this fraction of the first term are dropped (defines ``J``)."""


class SeriesConstants:
    """Per-betas constants: horizon ``J``, ratios ``beta1 / beta2^((n+1)/2)`` and their powers."""

    def __init__(self, beta1: float, beta2: float) -> None:
        self.beta1, self.beta2 = beta1, beta2
        ratios = [beta1 / beta2 ** ((n + 1) / 2) for n in range(SERIES_TERMS)]
        top = max(ratios)
        self.horizon = 1 if top == 0 else math.ceil(math.log(HORIZON_TOL) / math.log(top))
        exponents = torch.arange(self.horizon + 1, dtype=torch.float64)
        self.powers = torch.tensor(ratios, dtype=torch.float64).unsqueeze(1) ** exponents
        self.q_max = beta2 ** (-self.horizon / 2)  # largest q_j (c_tau <= 1)
        self.eager_steps = math.ceil(math.log(EAGER_V) / math.log(beta2))
        size = SERIES_TERMS
        self._exponents = torch.tensor(
            [[max(n - k, 0) for k in range(size)] for n in range(size)], dtype=torch.float64
        )
        self._coefficients = torch.tensor(
            [[math.comb(n, k) if k <= n else 0 for k in range(size)] for n in range(size)],
            dtype=torch.float64,
        )
        self._on: dict[torch.device, Tensor] = {}
        self._tables: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def powers_on(self, device: torch.device) -> Tensor:
        """``powers`` (``[SERIES_TERMS, J + 1]``, float64) on ``device``."""
        if device not in self._on:
            self._on[device] = self.powers.to(device)
        return self._on[device]

    def moment_tables(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """``(n - k)`` exponents and binomials ``C(n, k)`` (``[SERIES_TERMS, SERIES_TERMS]``)."""
        if device not in self._tables:
            self._tables[device] = (self._exponents.to(device), self._coefficients.to(device))
        return self._tables[device]

    def decays(self, lag: Tensor) -> Tensor:
        """``[beta1^lag, beta2^lag]`` (``[2, rows]``, float64)."""
        bases = torch.tensor([[self.beta1], [self.beta2]], dtype=torch.float64, device=lag.device)
        return bases ** lag.to(torch.float64).unsqueeze(0)


def central_moments(
    sums: Tensor, consts: SeriesConstants, state: dict[str, Any], last: Tensor, lag: Tensor
) -> tuple[Tensor, Tensor, Optional[Tensor]]:
    r"""Re-centre the power sums ``W_n = sum_j w_j q_j^(n+1)`` at ``q0 = W_1 / W_0``.

    Returns ``q0`` (``[rows]``), the central moments ``M_n = sum_j w_j q_j (q_j - q0)^n``
    (``[SERIES_TERMS - 1, rows]``; the last one only bounds the remainder) and a mask of the
    rows whose series may not reach :data:`SERIES_TOL` (``None`` when there are none). Since
    ``z = x / (1 + x q0) < 1 / q0`` for every ``x >= 0``, the remainder after the moments used
    is at most ``M_K / (q0^K M_0 (1 - rho))`` relative, ``rho = max_j |q_j - q0| / q0``.
    """
    terms = SERIES_TERMS - 1
    w0 = sums[0]
    safe = torch.where(w0 > 0, w0, 1.0)
    centre = torch.where(w0 > 0, sums[1] / safe, 1.0)
    exponents, coefficients = consts.moment_tables(sums.device)
    powers = (-centre).unsqueeze(0) ** exponents.reshape(-1, 1)  # [(n, k), rows]
    moments = (
        (powers.view(SERIES_TERMS, SERIES_TERMS, -1) * coefficients.unsqueeze(-1))
        .mul_(sums.unsqueeze(0))
        .sum(1)
    )
    stacked = moments[:terms]
    raw = state["raw"]
    span = lag.clamp(max=consts.horizon)
    first = (last - state["base"]).clamp(0, raw.shape[1] - 1)
    final = (last - state["base"] + span - 1).clamp(0, raw.shape[1] - 1)
    q_low = raw[1][first] / consts.beta2**0.5
    q_high = raw[1][final] / consts.beta2 ** (span.to(torch.float64) / 2)
    rho = torch.maximum(q_high - centre, centre - q_low).div_(centre)
    bound = moments[terms].abs() / (centre**terms * safe * (1 - rho).clamp_min(1e-12))
    inexact = (w0 > 0) & ((rho >= 0.9) | (bound > SERIES_TOL))
    return centre, stacked, (inexact if bool(inexact.any()) else None)


def exact_displacement(
    state: dict[str, Any],
    consts: SeriesConstants,
    eps: float,
    last: Tensor,
    lag: Tensor,
    m: Tensor,
    root_v: Tensor,
) -> Tensor:
    """Term-by-term momentum displacement of single elements (their rows' ``last``/``lag``).

    ``sum_j a_j beta1^j m / (beta2^(j/2) sqrt(v) / c_j + eps)`` over the skipped steps ``j``.
    """
    horizon = min(consts.horizon, int(lag.max()))
    j = torch.arange(1, horizon + 1, device=m.device, dtype=torch.long)
    total = torch.zeros(m.shape[0], dtype=torch.float64, device=m.device)
    raw = state["raw"]
    for start in range(0, m.shape[0], 2048):
        sl = slice(start, start + 2048)
        steps = j.unsqueeze(0)
        valid = steps <= lag[sl].unsqueeze(1)
        col = (last[sl].unsqueeze(1) - state["base"] + steps - 1).clamp(0, raw.shape[1] - 1)
        size, c = raw[0][col], raw[1][col]
        jf = steps.to(torch.float64)
        numerator = size * consts.beta1**jf * m[sl].double().unsqueeze(1)
        denominator = consts.beta2 ** (jf / 2) * root_v[sl].double().unsqueeze(1) / c + eps
        total[sl] = torch.where(valid, numerator / denominator, 0.0).sum(1)
    return total
