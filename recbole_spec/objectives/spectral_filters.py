r"""Spectral filters of DirectSpec and DirectSpec+ on a batch of L2-normalised embedding rows.

Paper: Peng et al., "Balancing Embedding Spectrum for Recommendation", arXiv 2406.12032.
Official code: https://github.com/tanatosuu/directspec (``directspec_mf.py``, ``directspec_gcn.py``
and their ``*_adaptive.py`` variants).

The filters act on one batch :math:`X \in \mathbb{R}^{B \times d}` (users, or items) whose rows the
caller has already L2-normalised; nothing here normalises. Where we deliberately differ:

- The plain all-pass filter (paper only, not in the released code) divides its Gram term by the
  batch size: :math:`X - \frac{\alpha}{B} X X^\top X`. The paper's exact normalisation could not be
  read; this choice keeps the filter sign-preserving for every :math:`\alpha \le 1` (see
  :func:`allpass_filter`).
- The adaptive temperature of DirectSpec+ needs to know which pairs of in-batch users (items) share
  a training item. The official code builds dense :math:`|U| \times |U|` and
  :math:`|I| \times |I|` masks once; :func:`shared_interaction_mask` computes the
  :math:`B \times B` block per batch from the sparse interaction matrix instead.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

# Above this many 64-bit words (16 MiB) the per-call column bitmap is built on compacted columns.
_MAX_BITMAP_WORDS = 1 << 21


def _check_batch(x: Tensor, name: str = "x") -> int:
    if x.dim() != 2:
        raise ValueError(f"'{name}' must be a 2-D tensor [B, d] (got shape {tuple(x.shape)})")
    return x.shape[0]


def allpass_filter(x: Tensor, alpha: float) -> Tensor:
    r"""DirectSpec's all-pass filter, normalised by the batch size.

    .. math::
        X' = X - \frac{\alpha}{B} X X^\top X

    With :math:`X = U \operatorname{diag}(s) V^\top`, each singular value maps to
    :math:`s \mapsto s \, (1 - \alpha s^2 / B)`: large singular directions (the collapsed ones) are
    shrunk more than small ones, which balances the spectrum.

    Why divide by :math:`B`: the rows are unit-norm, so :math:`\sum_k s_k^2 = \lVert X \rVert_F^2
    = B` and :math:`s^2 / B \in [0, 1]`. The map therefore never flips the sign of a singular
    value for :math:`\alpha \le 1`, whatever the batch size, and the Gram term has the same scale
    as DirectSpec+'s softmax rows, which sum to 1. The filter is one gradient step (step size
    :math:`\alpha`) on the decorrelation loss :math:`\frac{1}{4B} \lVert X^\top X \rVert_F^2`.

    It is computed through the :math:`d \times d` Gram matrix, :math:`X (X^\top X)`, which costs
    :math:`O(B d^2)` instead of the :math:`O(B^2 d)` of :math:`(X X^\top) X`.

    Args:
        x: batch of L2-normalised rows (the caller normalises).
        alpha: filter strength; :math:`0 \le \alpha \le 1` keeps every singular value's sign.

    Returns:
        The filtered batch, differentiable with respect to ``x``.

    Shapes:
        x: ``[B, d]``; returns ``[B, d]``.
    """
    batch = _check_batch(x)
    if batch == 0:
        return x.clone()
    return x - (alpha / batch) * (x @ (x.T @ x))


def self_paced_filter(x: Tensor, alpha: float, tau: float | Tensor) -> Tensor:
    r"""DirectSpec+'s self-paced filter.

    .. math::
        X' = X - \alpha \, \operatorname{softmax}_{\text{row}}\!\left(\tau \odot X X^\top\right) X

    i.e. for each row :math:`x_i' = x_i - \alpha \sum_j \frac{\exp(\tau_{ij} x_i^\top x_j)}
    {\sum_k \exp(\tau_{ik} x_i^\top x_k)} x_j`. As in the official code the diagonal
    (:math:`j = i`) is included and gradients flow through the softmax. Each row is pushed away
    from its most similar in-batch rows, the more so the larger :math:`\tau`; up to the step size
    this is one gradient step of the in-batch log-sum-exp uniformity term with :math:`\tau = 2t`.

    The softmax runs in the dtype of ``tau * (X X^T)`` (float32 at least when ``tau`` is a float32
    tensor) and its weights are cast back to ``x.dtype`` before the product.

    Args:
        x: batch of L2-normalised rows (the caller normalises).
        alpha: filter strength (official settings 0.7 to 1.0).
        tau: temperature multiplying the cosine similarities, a scalar or a ``[B, B]`` tensor of
            per-pair temperatures (adaptive variant, see :func:`adaptive_temperature`).

    Returns:
        The filtered batch, differentiable with respect to ``x`` (and ``tau`` if it requires grad).

    Shapes:
        x: ``[B, d]``; tau: scalar or ``[B, B]``; returns ``[B, d]``.
    """
    batch = _check_batch(x)
    if isinstance(tau, Tensor):
        if tau.dim() != 0 and tuple(tau.shape) != (batch, batch):
            raise ValueError(
                f"'tau' must be a scalar or a [B, B] = [{batch}, {batch}] tensor "
                f"(got shape {tuple(tau.shape)})"
            )
        tau = tau.to(device=x.device)
    weights = torch.softmax(tau * (x @ x.T), dim=1).to(x.dtype)
    return x - alpha * (weights @ x)


def adaptive_temperature(mask: Tensor, tau0: float, tau1: float) -> Tensor:
    r"""Per-pair temperatures of adaptive DirectSpec+.

    .. math::
        \tau_{ab} = \begin{cases} \tau_0 & \text{if } \mathrm{mask}_{ab} \\
        \tau_1 & \text{otherwise} \end{cases}

    With :math:`\tau_0 < \tau_1`, pairs that share a training item (see
    :func:`shared_interaction_mask`) are repelled less than unrelated pairs.

    Args:
        mask: pairs that share an interaction.
        tau0: temperature of sharing pairs (official 2.5 or 3.5).
        tau1: temperature of the other pairs (official 3.0 or 4.0).

    Returns:
        A float tensor (default dtype) on ``mask.device``.

    Shapes:
        mask: ``[B, B]`` bool; returns ``[B, B]``.
    """
    if mask.dtype != torch.bool:
        raise ValueError(f"'mask' must be a bool tensor (got dtype {mask.dtype})")
    dtype = torch.get_default_dtype()
    low = torch.tensor(tau0, dtype=dtype, device=mask.device)
    high = torch.tensor(tau1, dtype=dtype, device=mask.device)
    return torch.where(mask, low, high)


def shared_interaction_mask(ids: Tensor, interactions: sp.spmatrix | sp.sparray | Tensor) -> Tensor:
    r"""Which pairs of batch rows share at least one interaction, from the sparse matrix only.

    .. math::
        M_{ab} = \left[ (R R^\top)_{\mathrm{ids}_a, \mathrm{ids}_b} > 0 \right]
        = \left[ \exists\, c : R_{\mathrm{ids}_a c} \ne 0 \wedge R_{\mathrm{ids}_b c} \ne 0 \right]

    Pass the user x item matrix :math:`R` with user ids, or :math:`R^\top` with item ids. Nothing
    of size :math:`|U| \times |U|`, :math:`|I| \times |I|` or :math:`|U| \times |I|` is built: the
    batch's nonzeros are gathered from the CSR arrays, each column gets a ``B``-bit bitmap of the
    batch rows that touch it, and row :math:`a` of the mask is the OR of the bitmaps of its columns.
    Work and memory are :math:`O(\mathrm{nnz}_{\text{batch}} \cdot B / 64 + n_{\text{cols}}
    \cdot B / 64)` words; above 16 MiB of bitmap the columns are compacted first. Repeated ids are
    fine (sampling with replacement), a row with at least one nonzero shares with itself, a row with
    none shares with nothing, and explicitly stored zeros do not count.

    Speed: scipy CSR matrices / arrays and torch sparse CSR tensors on the CPU are used in place
    (about 0.3 ms for B = 256 on CiteULike's 5.5k x 17k matrix with 166k nonzeros). Other scipy
    formats are converted with ``tocsr()``, torch COO tensors with ``to_sparse_csr()`` and CUDA
    tensors are copied to the CPU on every call, which costs :math:`O(\mathrm{nnz})`: convert once
    up front. The work runs on the CPU and the mask is moved to ``ids.device``.

    Args:
        ids: row ids of the batch (users, or items with the transposed matrix).
        interactions: the sparse interaction matrix, a ``scipy.sparse`` matrix or array, or a
            torch sparse CSR / COO tensor.

    Returns:
        A bool tensor on ``ids.device``, symmetric.

    Shapes:
        ids: ``[B]`` integer; interactions: ``[n_rows, n_cols]``; returns ``[B, B]``.

    Raises:
        TypeError: if ``interactions`` is not sparse.
        ValueError: if ``ids`` is not 1-D integer or holds ids outside ``[0, n_rows)``.
    """
    indptr, indices, values, (n_rows, n_cols) = _csr_arrays(interactions)
    rows = _check_ids(ids, n_rows)
    mask = _shared_mask_csr(rows, indptr, indices, values, n_cols)
    return torch.from_numpy(mask).to(ids.device)


def _check_ids(ids: Tensor, n_rows: int) -> np.ndarray:
    integer = not (ids.dtype == torch.bool or ids.dtype.is_floating_point or ids.dtype.is_complex)
    if ids.dim() != 1 or not integer:
        raise ValueError(
            f"'ids' must be a 1-D integer tensor (got shape {tuple(ids.shape)}, dtype {ids.dtype})"
        )
    rows = ids.detach().cpu().numpy().astype(np.int64, copy=False)
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise ValueError(
            f"'ids' must lie in [0, {n_rows}) for this interaction matrix "
            f"(got min {rows.min()}, max {rows.max()})"
        )
    return rows


def _csr_arrays(
    interactions: sp.spmatrix | sp.sparray | Tensor,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """``(indptr, indices, values, shape)`` of ``interactions`` in CSR form, as numpy arrays."""
    if sp.issparse(interactions):
        csr = interactions if interactions.format == "csr" else interactions.tocsr()
        return csr.indptr, csr.indices, csr.data, csr.shape
    if isinstance(interactions, Tensor):
        if interactions.layout == torch.sparse_coo:
            interactions = interactions.coalesce().to_sparse_csr()
        if interactions.layout == torch.sparse_csr:
            csr = interactions.detach().cpu()
            return (
                csr.crow_indices().numpy(),
                csr.col_indices().numpy(),
                csr.values().numpy(),
                tuple(csr.shape),
            )
    got = type(interactions).__name__
    if isinstance(interactions, Tensor):
        got += f" with layout {interactions.layout}"
    raise TypeError(
        "'interactions' must be a scipy.sparse matrix/array or a torch sparse CSR/COO tensor "
        f"(got {got})"
    )


def _gather_rows(
    rows: np.ndarray, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzeros of ``rows``: batch position and column of each, and the count per position."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1])
    position = np.repeat(np.arange(rows.size), lengths)
    entry = np.arange(total) + np.repeat(starts - ends + lengths, lengths)
    columns = indices[entry]
    stored = values[entry] != 0
    if not stored.all():
        position, columns = position[stored], columns[stored]
        lengths = np.bincount(position, minlength=rows.size)
    return position, columns, lengths


def _shared_mask_csr(
    rows: np.ndarray, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_cols: int
) -> np.ndarray:
    """Bitmap OR-join of :func:`shared_interaction_mask` on CSR arrays; a ``[B, B]`` bool array."""
    batch = rows.size
    if batch == 0:
        return np.zeros((0, 0), dtype=bool)
    position, columns, lengths = _gather_rows(rows, indptr, indices, values)
    if columns.size == 0:
        return np.zeros((batch, batch), dtype=bool)
    words = (batch + 63) >> 6
    if words * n_cols > _MAX_BITMAP_WORDS:
        unique, columns = np.unique(columns, return_inverse=True)
        n_cols = unique.size
    # bitmap[w, c] holds bit (a % 64) for every batch position a in word w = a // 64 touching c.
    bitmap = np.zeros(words * n_cols, dtype=np.uint64)
    bits = np.left_shift(np.uint64(1), (position & 63).astype(np.uint64))
    np.bitwise_or.at(bitmap, (position >> 6) * n_cols + columns, bits)
    per_entry = bitmap.take(np.add.outer(np.arange(0, words * n_cols, n_cols), columns))
    nonempty = lengths > 0
    segment_starts = (np.cumsum(lengths) - lengths)[nonempty]
    joined = np.zeros((words, batch), dtype=np.uint64)
    joined[:, nonempty] = np.bitwise_or.reduceat(per_entry, segment_starts, axis=1)
    as_bytes = np.ascontiguousarray(joined.T, dtype="<u8").view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, count=batch, bitorder="little").view(bool)
