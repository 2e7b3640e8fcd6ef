r"""The normalised interaction matrix, its truncated SVD and the low-pass filters built on them.

Papers: Shen et al., "How Powerful is Graph Convolution for Recommendation?" (CIKM 2021,
arXiv 2108.07567, code https://github.com/yshenaw/GF_CF) and Choi et al., "Blurring-Sharpening
Process Models for Collaborative Filtering" (SIGIR 2023, arXiv 2211.09324, code
https://github.com/jeongwhanchoi/BSPM). Both filter a user's interaction row :math:`r_u` with

* the linear filter :math:`r_u \tilde R^\top \tilde R`, where
  :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}` (:func:`normalize_interactions`), and
* the ideal low-pass filter :math:`r_u D_I^{-1/2} V V^\top D_I^{1/2}`, where :math:`V` holds the
  top-:math:`k` right singular vectors of :math:`\tilde R` (:func:`top_right_singular_vectors`).

Nothing here builds an :math:`|I| \times |I|` matrix: the filters act on a block of signals, one
column per user (shape ``[n_items, B]``, i.e. :math:`r_u^\top` stacked), as two sparse products
:math:`\tilde R^\top (\tilde R Z)` and two thin dense ones :math:`(D_I^{1/2} V)(V^\top D_I^{-1/2}
Z)`. Where we differ from the official code: an item without training interactions gets
:math:`D_I^{1/2} = 0` (the official ``1 / d_inv`` is infinite there and turns its scores NaN).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import svds
from torch import Tensor

SPARSE_BELOW = 0.25
"""A filter's first product skips the zero rows of its signals when fewer than this share of the
rows hold a non-zero (a block of users' interaction rows: a few hundred items of thousands)."""


def signal_support(signals: Tensor) -> Tensor | None:
    """Indices of the rows of ``signals`` ``[n, B]`` with a non-zero, when there are few of them.

    ``None`` when at least :data:`SPARSE_BELOW` of the rows are non-zero (a dense state, e.g.
    inside BSPM's ODE): then the full product is cheaper than a gather.
    """
    rows = signals.ne(0).any(dim=1).nonzero().squeeze(1)
    return rows if rows.numel() < SPARSE_BELOW * signals.shape[0] else None


def _inv_sqrt(degree: np.ndarray) -> np.ndarray:
    """:math:`d^{-1/2}`, with 0 where :math:`d = 0` (as the official code)."""
    out = np.zeros_like(degree, dtype=np.float64)
    np.divide(1.0, np.sqrt(degree), out=out, where=degree > 0)
    return out


def _csr_tensor(matrix: sp.csr_matrix, device: torch.device | str) -> Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)),
            size=matrix.shape,
            device=device,
            check_invariants=False,
        )


@dataclass(frozen=True)
class NormalizedInteractions:
    r""":math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}` for the filters and the SVD.

    Attributes:
        matrix: :math:`\tilde R` (float64 SciPy CSR, ``[n_users, n_items]``), for the SVD.
        forward: :math:`\tilde R` as float32 SciPy CSR (the filters' products on a CPU).
        backward: :math:`\tilde R^\top` as float32 SciPy CSR ``[n_items, n_users]``.
        item_inv_sqrt: :math:`D_I^{-1/2}` (0 for items without interactions), ``[n_items]``.
        item_sqrt: :math:`D_I^{1/2}`, ``[n_items]``.
    """

    matrix: sp.csr_matrix
    forward: sp.csr_matrix
    backward: sp.csr_matrix
    item_inv_sqrt: np.ndarray
    item_sqrt: np.ndarray

    @property
    def n_items(self) -> int:
        """Number of item columns (the signal length)."""
        return self.matrix.shape[1]


def normalize_interactions(interactions: sp.spmatrix) -> NormalizedInteractions:
    r"""Symmetrically normalise the user-item matrix: :math:`D_U^{-1/2} R D_I^{-1/2}`.

    Args:
        interactions: :math:`R`, ``[n_users, n_items]`` (binary in the papers; any weights work).

    Returns:
        The normalised matrix in the forms the filters and the SVD need.
    """
    r = sp.csr_matrix(interactions, dtype=np.float64)
    user_deg = np.asarray(r.sum(axis=1)).ravel()
    item_deg = np.asarray(r.sum(axis=0)).ravel()
    item_inv_sqrt = _inv_sqrt(item_deg)
    norm = sp.diags(_inv_sqrt(user_deg)) @ r @ sp.diags(item_inv_sqrt)
    norm = sp.csr_matrix(norm)
    norm.sort_indices()
    return NormalizedInteractions(
        matrix=norm,
        forward=norm.astype(np.float32),
        backward=sp.csr_matrix(norm.T, dtype=np.float32),
        item_inv_sqrt=item_inv_sqrt,
        item_sqrt=np.sqrt(item_deg),
    )


def top_right_singular_vectors(matrix: sp.spmatrix, k: int, seed: int) -> np.ndarray:
    r"""The top-``k`` right singular vectors of ``matrix`` (ARPACK, reproducible for a seed).

    ``scipy.sparse.linalg.svds`` starts its Lanczos iteration from ``v0``; drawing ``v0`` from
    ``seed`` makes the result the same on every run (the official code's ``sparsesvd`` is
    deterministic too). The order and signs of the vectors do not matter: the filters use
    :math:`V V^\top` only.

    Args:
        matrix: ``[n_rows, n_cols]``; ``k`` must be below ``min(n_rows, n_cols)``.
        k: number of singular vectors.
        seed: seed of the starting vector.

    Returns:
        :math:`V`, float64 ``[n_cols, k]`` with orthonormal columns.
    """
    rng = np.random.default_rng(seed)
    v0 = rng.uniform(-1.0, 1.0, size=min(matrix.shape))
    _, _, vt = svds(matrix, k=k, v0=v0, return_singular_vectors="vh")
    return np.ascontiguousarray(vt.T)


class LinearFilter:
    r"""The linear low-pass filter :math:`r \mapsto r \tilde R^\top \tilde R` (no item-item matrix).

    On a CPU the two sparse products run in SciPy (measured 2x faster than torch's CSR kernel
    with one thread); elsewhere in torch, on the device. On a CPU, :math:`\tilde R Z` of signals
    with few non-zero rows (interaction rows) reads only those rows of :math:`\tilde R^\top`:
    :math:`\tilde R Z = (\tilde R^\top)_{S}^\top Z_S` over the support :math:`S`.

    Args:
        norm: the normalised interactions.
        device: where the signals live.

    Shapes:
        ``__call__``: signals ``[n_items, B]`` (one column per user) -> ``[n_items, B]``.
    """

    def __init__(self, norm: NormalizedInteractions, device: torch.device | str = "cpu") -> None:
        self.norm = norm
        self.on_cpu = torch.device(device).type == "cpu"
        if not self.on_cpu:
            self.forward = _csr_tensor(norm.forward, device)
            self.backward = _csr_tensor(norm.backward, device)

    def __call__(self, signals: Tensor) -> Tensor:
        r""":math:`\tilde R^\top (\tilde R Z)`, two sparse-dense products."""
        if self.on_cpu:
            z = signals.detach().numpy()
            rows = signal_support(signals)
            if rows is None:
                middle = self.norm.forward @ z
            else:
                support = rows.numpy()
                middle = self.norm.backward[support].T @ z[support]
            return torch.from_numpy(np.ascontiguousarray(self.norm.backward @ middle))
        return torch.sparse.mm(self.backward, torch.sparse.mm(self.forward, signals))


class IdealLowPassFilter:
    r"""The ideal low-pass filter :math:`r \mapsto r D_I^{-1/2} V V^\top D_I^{1/2}`.

    Computed on columns as :math:`(D_I^{1/2} V)\,((D_I^{-1/2} V)^\top Z)`: two thin products,
    :math:`O(|I| k B)`, never the :math:`|I| \times |I|` matrix; the first reads only the rows
    of :math:`Z` holding a non-zero when they are few (:func:`signal_support`).

    Args:
        norm: the normalised interactions (their item degrees).
        vectors: :math:`V`, ``[n_items, k]`` (:func:`top_right_singular_vectors`).
        device: where the two factors live.

    Shapes:
        ``__call__``: signals ``[n_items, B]`` -> ``[n_items, B]``.
    """

    def __init__(
        self, norm: NormalizedInteractions, vectors: np.ndarray, device: torch.device | str = "cpu"
    ) -> None:
        def factor(scale: np.ndarray) -> Tensor:
            return torch.from_numpy((vectors * scale[:, None]).astype(np.float32)).to(device)

        self.down = factor(norm.item_inv_sqrt)  # D^{-1/2} V
        self.up = factor(norm.item_sqrt)  # D^{1/2} V

    def __call__(self, signals: Tensor) -> Tensor:
        r""":math:`D_I^{1/2} V (V^\top D_I^{-1/2} Z)`."""
        rows = signal_support(signals)
        if rows is None:
            return self.up @ (self.down.t() @ signals)
        return self.up @ (self.down[rows].t() @ signals[rows])


def interaction_signals(
    interactions: sp.csr_matrix, users: np.ndarray, device: torch.device | str = "cpu"
) -> Tensor:
    """The interaction rows of ``users`` as float32 signal columns ``[n_items, len(users)]``."""
    block = interactions[users].T.toarray().astype(np.float32, copy=False)
    return torch.from_numpy(np.ascontiguousarray(block)).to(device)
