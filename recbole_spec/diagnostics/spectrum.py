r"""Spectrum diagnostics of embedding tables: singular values, effective and stable rank, energy.

Effective rank as in the DirectSpec paper (Peng et al., "Balancing Embedding Spectrum for
Recommendation", arXiv 2406.12032): :math:`\exp(H(p))` with :math:`p_k = s_k / \sum_j s_j` over
the singular values of the raw :math:`[U; I]` table, a number between 1 and :math:`d`. A collapsed
table, whose rows span only a few directions, has a low effective rank.

Every function accepts a torch tensor (any device, gradients ignored) or a numpy array, and works
through the :math:`d \times d` Gram matrix :math:`Z^\top Z` in float64, so a 70k x 64 table costs
one 64 x 64 eigendecomposition and nothing :math:`n \times n` is ever built. The price of going
through the Gram matrix: singular values below about :math:`10^{-7} s_{\max}` are not resolved
and read as 0.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

ArrayLike = Union[Tensor, np.ndarray]


def singular_values(z: ArrayLike) -> Tensor:
    r"""Singular values of ``z`` in descending order, through its Gram matrix.

    .. math::
        s_k = \sqrt{\max(\lambda_k(Z^\top Z), 0)}

    computed in float64; eigenvalues below :math:`d \cdot \epsilon_{64} \cdot \lambda_{\max}`
    (round-off) are set to exactly 0, so a rank-:math:`r` matrix has exactly :math:`r` nonzero
    values.

    Args:
        z: an embedding table (torch tensor or numpy array).

    Returns:
        A float64 CPU tensor of the :math:`\min(n, d)` singular values, largest first.

    Shapes:
        z: ``[n, d]``; returns ``[min(n, d)]``.
    """
    table = _as_float64(z)
    return _singular_values_from_gram(_gram(table), table.shape[0])


def effective_rank(z: ArrayLike) -> float:
    r"""Effective rank (Roy and Vetterli), the DirectSpec paper's erank.

    .. math::
        \operatorname{erank}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big), \qquad
        p_k = \frac{s_k}{\sum_j s_j}

    Zero singular values contribute 0 (:math:`0 \log 0 = 0`).

    Args:
        z: an embedding table (torch tensor or numpy array).

    Returns:
        A value in :math:`[1, \min(n, d)]`, or 0.0 for an all-zero table.

    Shapes:
        z: ``[n, d]``.
    """
    return _effective_rank_from(singular_values(z))


def stable_rank(z: ArrayLike) -> float:
    r"""Stable rank, a smooth lower bound on the rank.

    .. math::
        \operatorname{srank}(Z) = \frac{\lVert Z \rVert_F^2}{\lVert Z \rVert_2^2}
        = \frac{\sum_k s_k^2}{s_1^2}

    Args:
        z: an embedding table (torch tensor or numpy array).

    Returns:
        A value in :math:`[1, \min(n, d)]`, or 0.0 for an all-zero table.

    Shapes:
        z: ``[n, d]``.
    """
    return _stable_rank_from(singular_values(z))


def energy_fraction(z: ArrayLike, k: int) -> float:
    r"""Share of the spectral energy held by the top-:math:`k` singular directions.

    .. math::
        E_k(Z) = \frac{\sum_{j \le k} s_j^2}{\sum_j s_j^2}

    Args:
        z: an embedding table (torch tensor or numpy array).
        k: number of leading directions, at least 1; values above :math:`\min(n, d)` give 1.0.

    Returns:
        A value in :math:`[0, 1]` (0.0 for an all-zero table).

    Shapes:
        z: ``[n, d]``.

    Raises:
        ValueError: if ``k`` is not an integer >= 1.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"'k' must be an integer >= 1 (got {k!r})")
    return _energy_from(singular_values(z), int(k))


def spectrum_report(
    user: ArrayLike, item: ArrayLike, *, normalize: bool = False
) -> dict[str, float]:
    r"""Rank and energy diagnostics of the user table, the item table and the stacked table.

    For each prefix ``user``, ``item`` and ``all`` (the stacked :math:`[U; I]` table, whose Gram
    matrix is :math:`U^\top U + I^\top I`, so it is never concatenated), the keys are
    ``{prefix}_erank``, ``{prefix}_stable_rank``, ``{prefix}_energy_top1`` (:math:`E_1`) and
    ``{prefix}_energy_top10pct`` (:math:`E_k` with :math:`k = \max(1, \operatorname{round}(d/10))`,
    6 for :math:`d = 64`).

    Args:
        user: user embedding table.
        item: item embedding table, same width as ``user``.
        normalize: L2-normalise every row first, which measures the directions only
            (default: ``False``, the raw tables as in the DirectSpec paper).

    Returns:
        A flat dict of twelve floats.

    Shapes:
        user: ``[n_users, d]``; item: ``[n_items, d]``.

    Raises:
        ValueError: if the two tables have different widths.
    """
    users, items = _as_float64(user), _as_float64(item)
    if users.shape[1] != items.shape[1]:
        raise ValueError(
            f"'user' and 'item' must have the same width (got {users.shape[1]} and "
            f"{items.shape[1]})"
        )
    if normalize:
        users, items = F.normalize(users, dim=1), F.normalize(items, dim=1)
    gram_user, gram_item = _gram(users), _gram(items)
    tables = {
        "user": (gram_user, users.shape[0]),
        "item": (gram_item, items.shape[0]),
        "all": (gram_user + gram_item, users.shape[0] + items.shape[0]),
    }
    top = max(1, round(users.shape[1] / 10))
    report: dict[str, float] = {}
    for prefix, (gram, n_rows) in tables.items():
        values = _singular_values_from_gram(gram, n_rows)
        report[f"{prefix}_erank"] = _effective_rank_from(values)
        report[f"{prefix}_stable_rank"] = _stable_rank_from(values)
        report[f"{prefix}_energy_top1"] = _energy_from(values, 1)
        report[f"{prefix}_energy_top10pct"] = _energy_from(values, top)
    return report


def _as_float64(z: ArrayLike) -> Tensor:
    table = torch.from_numpy(np.asarray(z)) if isinstance(z, np.ndarray) else z.detach()
    if table.dim() != 2:
        raise ValueError(f"expected a 2-D table [n, d] (got shape {tuple(table.shape)})")
    return table.to(torch.float64)


def _gram(table: Tensor) -> Tensor:
    """``table.T @ table`` on the table's device, returned on the CPU (``[d, d]``, float64)."""
    return (table.T @ table).cpu()


def _singular_values_from_gram(gram: Tensor, n_rows: int) -> Tensor:
    eigenvalues = torch.linalg.eigvalsh(gram).flip(0)
    if eigenvalues.numel() == 0:
        return eigenvalues
    tolerance = eigenvalues[0].clamp_min(0) * gram.shape[0] * torch.finfo(torch.float64).eps
    eigenvalues = torch.where(eigenvalues > tolerance, eigenvalues, torch.zeros_like(eigenvalues))
    return eigenvalues.sqrt()[: min(n_rows, gram.shape[0])]


def _effective_rank_from(values: Tensor) -> float:
    total = values.sum()
    if total <= 0:
        return 0.0
    p = values[values > 0] / total
    return math.exp(float(-(p * p.log()).sum()))


def _stable_rank_from(values: Tensor) -> float:
    if values.numel() == 0 or values[0] <= 0:
        return 0.0
    squared = values.square()
    return float(squared.sum() / squared[0])


def _energy_from(values: Tensor, k: int) -> float:
    squared = values.square()
    total = squared.sum()
    if total <= 0:
        return 0.0
    return float(squared[:k].sum() / total)
