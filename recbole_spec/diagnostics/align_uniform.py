r"""Alignment and uniformity of L2-normalised embeddings (Wang and Isola; DirectAU).

DirectAU: Wang et al., "Towards Representation Alignment and Uniformity in Collaborative
Filtering", KDD 2022 (arXiv 2206.12811), official code https://github.com/THUwangcy/DirectAU.
The official code writes uniformity as ``torch.pdist(x).pow(2).mul(-t).exp().mean().log()``; here
the pairwise squared distances come from one matrix product,
:math:`\lVert a - b \rVert^2 = \lVert a \rVert^2 + \lVert b \rVert^2 - 2 a^\top b`, and the
log-mean-exp is a ``logsumexp``, which is faster, has a cheaper backward and cannot underflow to
``log(0)`` for a large ``t``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def alignment(x: Tensor, y: Tensor, alpha: float = 2) -> Tensor:
    r"""Mean distance between paired rows after L2 normalisation (DirectAU's alignment).

    .. math::
        \ell_{\text{align}} = \frac{1}{B} \sum_{i=1}^{B} \lVert \hat x_i - \hat y_i \rVert_2^\alpha,
        \qquad \hat x_i = x_i / \lVert x_i \rVert_2

    Args:
        x: one side of the positive pairs (e.g. users).
        y: the other side, row ``i`` paired with ``x[i]`` (e.g. their positive items).
        alpha: exponent of the distance, > 0 (default: 2).

    Returns:
        A differentiable scalar in :math:`[0, 2^\alpha]`.

    Shapes:
        x: ``[B, d]``; y: ``[B, d]``; returns ``[]``.

    Raises:
        ValueError: if the shapes differ or are not 2-D, or ``alpha`` is not > 0.
    """
    if x.dim() != 2 or x.shape != y.shape:
        raise ValueError(
            f"'x' and 'y' must be 2-D with the same shape (got {tuple(x.shape)} and "
            f"{tuple(y.shape)})"
        )
    if not alpha > 0:
        raise ValueError(f"'alpha' must be > 0 (got {alpha})")
    squared = (F.normalize(x, dim=1) - F.normalize(y, dim=1)).square().sum(dim=1)
    return squared.pow(alpha / 2).mean()


def uniformity(x: Tensor, t: float = 2.0) -> Tensor:
    r"""Log of the mean Gaussian potential over distinct pairs of normalised rows.

    .. math::
        \ell_{\text{unif}} = \log \frac{2}{B(B-1)} \sum_{i<j}
        \exp\!\left(-t \lVert \hat x_i - \hat x_j \rVert_2^2\right)

    computed as a ``logsumexp`` over the off-diagonal entries of the :math:`B \times B` distance
    matrix (each unordered pair appears twice, which leaves the mean unchanged). Lower is more
    uniform: rows spread evenly over a high-dimensional sphere give about :math:`-2t`, identical
    rows give 0.

    Args:
        x: a batch of rows (e.g. the in-batch users, or items); normalised here.
        t: temperature of the Gaussian potential, > 0 (default: 2.0, as in DirectAU).

    Returns:
        A differentiable scalar in :math:`[-4t, 0]`.

    Shapes:
        x: ``[B, d]`` with :math:`B \ge 2`; returns ``[]``.

    Raises:
        ValueError: if ``x`` is not 2-D with at least two rows, or ``t`` is not > 0.
    """
    rows = _check_rows(x, t)
    unit = F.normalize(x, dim=1)
    logits = _neg_scaled_distances(unit, unit, t)
    diagonal = torch.eye(rows, dtype=torch.bool, device=x.device)
    logits = logits.masked_fill(diagonal, float("-inf"))
    return torch.logsumexp(logits.flatten(), dim=0) - math.log(rows * (rows - 1))


@torch.no_grad()
def table_uniformity(
    x: Tensor,
    t: float = 2.0,
    max_rows: int = 10000,
    seed: int = 0,
    *,
    chunk_rows: int = 256,
) -> float:
    r"""Uniformity of a whole embedding table, blockwise and without gradients.

    The same quantity as :func:`uniformity`, over all distinct pairs of rows when the table has
    at most ``max_rows`` rows. A larger table is first subsampled: ``max_rows`` distinct rows drawn
    uniformly without replacement by ``torch.randperm`` with a ``torch.Generator`` seeded with
    ``seed``, so repeated calls (and runs) see the same rows. The distance matrix is built
    ``chunk_rows`` rows at a time and reduced by ``logsumexp`` per chunk, so memory stays
    :math:`O(\text{chunk\_rows} \times n)`. Computed in the table's dtype (at least float32).

    Args:
        x: an embedding table; rows are normalised here.
        t: temperature of the Gaussian potential, > 0 (default: 2.0).
        max_rows: largest number of rows used exactly, >= 2 (default: 10000).
        seed: seed of the row subsample (default: 0).
        chunk_rows: rows per block, >= 1 (default: 256).

    Returns:
        The uniformity as a Python float.

    Shapes:
        x: ``[n, d]`` with :math:`n \ge 2`.

    Raises:
        ValueError: if ``x`` has fewer than two rows, or ``t``, ``max_rows`` or ``chunk_rows``
            is out of range.
    """
    _check_rows(x, t)
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
        raise ValueError(f"'max_rows' must be an integer >= 2 (got {max_rows!r})")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"'chunk_rows' must be an integer >= 1 (got {chunk_rows!r})")
    table = x.detach()
    if table.shape[0] > max_rows:
        generator = torch.Generator().manual_seed(seed)
        keep = torch.randperm(table.shape[0], generator=generator)[:max_rows]
        table = table[keep.to(table.device)]
    dtype = torch.promote_types(table.dtype, torch.float32)
    unit = F.normalize(table.to(dtype), dim=1)
    rows = unit.shape[0]
    partial = []
    for start in range(0, rows, chunk_rows):
        block = _neg_scaled_distances(unit[start : start + chunk_rows], unit, t)
        local = torch.arange(block.shape[0], device=unit.device)
        block[local, local + start] = float("-inf")
        partial.append(torch.logsumexp(block.flatten(), dim=0))
    total = torch.logsumexp(torch.stack(partial), dim=0)
    return float(total) - math.log(rows * (rows - 1))


def _check_rows(x: Tensor, t: float) -> int:
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"'x' must be 2-D with at least two rows (got shape {tuple(x.shape)})")
    if not t > 0:
        raise ValueError(f"'t' must be > 0 (got {t})")
    return x.shape[0]


def _neg_scaled_distances(a: Tensor, b: Tensor, t: float) -> Tensor:
    r""":math:`-t \lVert a_i - b_j \rVert^2` for all pairs, from one matrix product."""
    squared = a.square().sum(dim=1, keepdim=True) + b.square().sum(dim=1) - 2 * (a @ b.T)
    return squared.clamp_min(0).mul(-t)
