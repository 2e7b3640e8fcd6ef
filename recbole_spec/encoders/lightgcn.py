r"""LightGCN propagation encoder (He et al., "LightGCN", SIGIR 2020, arXiv 2002.02126).

.. math::
    E^{(k+1)} = \hat A E^{(k)}, \qquad
    \hat A = D^{-1/2} A D^{-1/2}, \qquad
    A = \begin{pmatrix} 0 & R \\ R^\top & 0 \end{pmatrix}, \qquad
    E = \frac{1}{K+1} \sum_{k=0}^{K} E^{(k)}

with :math:`R` the binarised user-item training matrix (no self loops). :math:`\hat A` is built
directly as a sparse CSR matrix from the interaction list: no dense ``(|U|+|I|)^2`` matrix, no
``dok_matrix``. With ``n_layers = 0`` this is exactly the MF encoder. The official DirectSpec GCN
variant multiplies by a dense ``I + A + A^2 + A^3`` (20 GB on Gowalla); we propagate sparsely.

On the CPU the products run through torch's CSR kernel when torch has more than one thread
(multi-threaded: 2.8 ms vs scipy's 5.6 ms per ``A @ E`` on CiteULike's graph with 2 threads) and
through scipy's CSR kernel on one thread (as fast, less overhead); both are far faster than
``torch.sparse.mm`` on COO, whose backward is slow (``benchmarks/bench_epoch.py``). On a GPU they
run through ``torch.sparse.mm``. Since :math:`\hat A` is symmetric, the backward pass is the same
product.

A training step reads only the batch's rows of :math:`E`, so on the CPU the last layer is
propagated for those rows alone: :math:`E_B = \frac{1}{K+1}(\sum_{k<K} E^{(k)}_B + \hat A_B
E^{(K-1)})`, with :math:`\hat A_B` the batch's rows of :math:`\hat A` and gradient
:math:`\hat A_B^\top G_B`. The batch's rows hold 38% (CiteULike) and 16% (Gowalla) of the
graph's non-zeros, so a 3-layer step does a fifth to a quarter less sparse work; the earlier
layers are needed almost whole (the batch's 2-hop rows hold 93-99% of the non-zeros;
``benchmarks/bench_propagation.py``). The rows
are the same dot products as the full product's: on one thread the step equals the full
propagation's bit for bit, on more to rounding (a test).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from recbole_spec.encoders.base import INIT_SCHEMES, init_embedding, lookup
from recbole_spec.validation import check_choice, check_number


def normalized_adjacency(interactions: sp.spmatrix, n_users: int, n_items: int) -> sp.csr_matrix:
    r"""Return :math:`D^{-1/2} A D^{-1/2}` of the bipartite graph.

    Args:
        interactions: user-item matrix (``n_users x n_items``); duplicates count once.
        n_users: number of users (rows of ``interactions``).
        n_items: number of items (columns of ``interactions``).

    Returns:
        Symmetric float32 CSR matrix of shape ``(n_users + n_items, n_users + n_items)``.
    """
    coo = sp.coo_matrix(interactions)
    pairs = np.unique(np.stack([coo.row, coo.col]).astype(np.int64), axis=1)
    users, items = pairs[0], pairs[1] + n_users
    rows = np.concatenate([users, items])
    cols = np.concatenate([items, users])
    n = n_users + n_items
    degree = np.bincount(rows, minlength=n).astype(np.float64)
    inv_sqrt = np.zeros_like(degree)
    nonzero = degree > 0
    inv_sqrt[nonzero] = degree[nonzero] ** -0.5
    values = (inv_sqrt[rows] * inv_sqrt[cols]).astype(np.float32)
    return sp.csr_matrix((values, (rows, cols)), shape=(n, n))


class SymmetricAdjacency:
    """A symmetric sparse matrix that multiplies dense tensors on the CPU (scipy) or GPU (torch)."""

    def __init__(self, matrix: sp.csr_matrix) -> None:
        self.matrix = matrix
        self._torch: tuple[tuple[torch.device, torch.dtype], Tensor] | None = None

    def __getstate__(self) -> dict:
        """Copy and pickle without the cached torch matrix (a CSR tensor has no storage to copy).

        The cache is rebuilt from :attr:`matrix` on the next product.
        """
        return {"matrix": self.matrix, "_torch": None}

    @property
    def shape(self) -> tuple[int, int]:
        """Matrix shape."""
        return self.matrix.shape

    def matmul(self, x: Tensor) -> Tensor:
        """Return ``A @ x`` (no autograd; see :class:`_Propagate`)."""
        x = x.detach()
        if x.device.type == "cpu" and torch.get_num_threads() == 1:
            return torch.from_numpy(self.matrix @ x.contiguous().numpy())
        key = (x.device, x.dtype)
        if self._torch is None or self._torch[0] != key:
            self._torch = (key, self._to_torch(x.device, x.dtype))
        matrix = self._torch[1]
        return matrix @ x if matrix.layout == torch.sparse_csr else torch.sparse.mm(matrix, x)

    def _to_torch(self, device: torch.device, dtype: torch.dtype) -> Tensor:
        """CSR on the CPU, coalesced COO on a GPU (``torch.sparse.mm``)."""
        if device.type == "cpu":
            with warnings.catch_warnings():  # "CSR support is in beta": once per run is noise
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
                return torch.sparse_csr_tensor(
                    torch.from_numpy(self.matrix.indptr.astype(np.int64)),
                    torch.from_numpy(self.matrix.indices.astype(np.int64)),
                    torch.from_numpy(self.matrix.data).to(dtype),
                    self.matrix.shape,
                    check_invariants=True,
                )
        coo = self.matrix.tocoo()
        indices = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
        return (
            torch.sparse_coo_tensor(
                indices, torch.from_numpy(coo.data).to(dtype), coo.shape, check_invariants=True
            )
            .coalesce()
            .to(device)
        )


class _BatchRows(torch.autograd.Function):
    r"""Rows ``rows`` (sorted, unique) of the layer mean, with the last layer for them alone.

    Forward: :math:`E^{(k)} = \hat A E^{(k-1)}` for :math:`k < K`, then
    :math:`\frac{1}{K+1}(\sum_{k<K} E^{(k)}_B + \hat A_B E^{(K-1)})`. Backward, with
    :math:`H = G / (K+1)`: :math:`\bar E^{(K-1)} = \hat A_B^\top H + H_B`, then
    :math:`\bar E^{(k)} = \hat A \bar E^{(k+1)} + H_B` down to the ego tables, where
    :math:`+ H_B` adds ``H`` to the batch rows only (autograd would add a dense table of mostly
    zeros: the same sums, so the same bits).
    """

    @staticmethod
    def forward(
        ctx,  # noqa: ANN001
        ego: Tensor,
        adjacency: SymmetricAdjacency,
        rows: Tensor,
        n_layers: int,
    ) -> Tensor:
        layer = ego.detach()
        total = layer.index_select(0, rows)
        for _ in range(n_layers - 1):
            layer = adjacency.matmul(layer)
            total = total + layer.index_select(0, rows)
        block = adjacency.matrix[rows.numpy()]
        last = torch.from_numpy(block @ layer.contiguous().numpy())
        ctx.adjacency, ctx.block, ctx.n_layers = adjacency, block, n_layers
        ctx.save_for_backward(rows)
        return (total + last) / (n_layers + 1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None]:  # noqa: ANN001
        (rows,) = ctx.saved_tensors
        share = grad / (ctx.n_layers + 1)
        layer = torch.from_numpy(ctx.block.T @ share.contiguous().numpy())
        layer.index_add_(0, rows, share)
        for _ in range(ctx.n_layers - 1):
            layer = ctx.adjacency.matmul(layer)
            layer.index_add_(0, rows, share)
        return layer, None, None, None


class _Propagate(torch.autograd.Function):
    """``A @ x`` with gradient ``A @ grad`` (valid because ``A`` is symmetric)."""

    @staticmethod
    def forward(ctx, x: Tensor, adjacency: SymmetricAdjacency) -> Tensor:  # noqa: ANN001
        ctx.adjacency = adjacency
        return adjacency.matmul(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: ANN001
        return ctx.adjacency.matmul(grad), None


class LightGCNEncoder(nn.Module):
    """Embedding tables propagated over the normalised user-item graph.

    The propagated tables are cached while the module is in eval mode (full-sort evaluation
    scores every user batch against the same tables); switching to train mode clears the cache.

    Args:
        interactions: training user-item matrix (scipy sparse, ``n_users x n_items``).
        embedding_size: dimension ``d``.
        n_layers: number of propagation layers ``K`` (0 gives MF).
        init: initialisation scheme of the layer-0 tables.
    """

    def __init__(
        self,
        interactions: sp.spmatrix,
        embedding_size: int,
        n_layers: int = 3,
        init: str = "xavier_uniform",
    ) -> None:
        super().__init__()
        self.n_users, self.n_items = interactions.shape
        self.embedding_size = embedding_size
        self.n_layers = n_layers
        self.user_embedding = nn.Embedding(self.n_users, embedding_size)
        self.item_embedding = nn.Embedding(self.n_items, embedding_size)
        init_embedding(self.user_embedding, init)
        init_embedding(self.item_embedding, init)
        self.adjacency = SymmetricAdjacency(
            normalized_adjacency(interactions, self.n_users, self.n_items)
        )
        self._cache: tuple[Tensor, Tensor] | None = None

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``init`` must be a known scheme and ``n_layers`` an integer >= 0."""
        config["init"] = check_choice(config, "init", owner, INIT_SCHEMES)
        check_number(config, "n_layers", owner, low=0, integer=True, example=3)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> LightGCNEncoder:
        """Propagation over ``dataset``'s training matrix (``embedding_size``, ``n_layers``)."""
        matrix = dataset.inter_matrix(form="coo").astype("float32")
        return cls(matrix, config["embedding_size"], config["n_layers"], config["init"])

    def train(self, mode: bool = True) -> LightGCNEncoder:
        """Switch mode and drop the cached propagation."""
        self._cache = None
        return super().train(mode)

    def ego(self) -> tuple[Tensor, Tensor]:
        """Return the layer-0 parameter tables."""
        return self.user_embedding.weight, self.item_embedding.weight

    def propagate(self) -> tuple[Tensor, Tensor]:
        """Mean of layers ``0..K``, split into ``(user, item)`` tables."""
        layer = torch.cat(self.ego(), dim=0)
        total = layer
        for _ in range(self.n_layers):
            layer = _Propagate.apply(layer, self.adjacency)
            total = total + layer
        mean = total / (self.n_layers + 1)
        return mean[: self.n_users], mean[self.n_users :]

    def forward(self) -> tuple[Tensor, Tensor]:
        """Propagated ``(user, item)`` tables; cached in eval mode."""
        if self.training:
            self._cache = None
            return self.propagate()
        if self._cache is None:
            with torch.no_grad():
                self._cache = self.propagate()
        return self._cache

    def rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Rows of the propagated tables (one propagation per call).

        In training on the CPU the last layer is propagated for the unique batch rows only.
        """
        if not self.training or self.n_layers == 0 or users.device.type != "cpu":
            user_table, item_table = self.forward()
            return user_table[users], item_table[items]
        ids = torch.cat([users, items + self.n_users])
        unique, inverse = torch.unique(ids, return_inverse=True)
        ego = torch.cat(self.ego(), dim=0)
        picked = _BatchRows.apply(ego, self.adjacency, unique, self.n_layers)[inverse]
        return picked[: users.shape[0]], picked[users.shape[0] :]

    def ego_rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Layer-0 rows of ``users`` and ``items`` (what an L2 penalty acts on)."""
        return lookup(self.user_embedding, users), lookup(self.item_embedding, items)
