"""The encoder interface shared by all plugin models.

An encoder owns the embedding parameters and turns them into user and item representations.
Objectives never see the encoder, only the rows it returns, so any objective runs on any encoder.
"""

from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn


class Encoder(Protocol):
    """What a plugin model needs from its encoder."""

    embedding_size: int

    def forward(self) -> tuple[Tensor, Tensor]:
        """Full user and item tables used for scoring (propagated for graph encoders)."""

    def ego(self) -> tuple[Tensor, Tensor]:
        """Layer-0 parameter tables (what L2 penalties act on)."""

    def rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Representations of ``users`` (shape ``[B]``) and ``items`` (any shape ``[...]``)."""

    def ego_rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Layer-0 rows of ``users`` and ``items``."""


def lookup(embedding: nn.Embedding, ids: Tensor) -> Tensor:
    """Rows ``ids`` of ``embedding``; on the CPU, dense tables gather with ``index_select``.

    The same rows and the same gradient (``index_add_`` in order of occurrence, as
    ``nn.Embedding``'s dense backward; a test compares the two bit for bit), faster forward and
    backward on one thread (CiteULike's 16,981 x 64 item table, 4,096 ids: 0.44 vs 0.68 ms,
    ``benchmarks/bench_propagation.py``). Sparse tables keep ``nn.Embedding`` (sparse
    gradients), and CUDA tables too (its ``index_add_`` is atomic, so duplicate rows would sum in
    a varying order).
    """
    if embedding.sparse or embedding.weight.device.type != "cpu":
        return embedding(ids)
    return embedding.weight.index_select(0, ids.reshape(-1)).view(*ids.shape, -1)


def init_embedding(embedding: nn.Embedding, scheme: str) -> None:
    """Initialise an embedding table in place.

    Args:
        embedding: the table, ``n x d``.
        scheme: ``xavier_uniform`` (= ``glorot_uniform``, bound ``sqrt(6 / (n + d))``, the
            official DirectSpec init and RecBole LightGCN's), ``xavier_normal`` (RecBole BPR's) or
            ``normal`` (std 0.1, the original LightGCN code's).
    """
    weight = embedding.weight
    if scheme in ("xavier_uniform", "glorot_uniform"):
        nn.init.xavier_uniform_(weight)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(weight)
    elif scheme == "normal":
        nn.init.normal_(weight, std=0.1)
    else:
        raise ValueError(f"unknown init scheme '{scheme}'; choose one of {INIT_SCHEMES}")


INIT_SCHEMES = ("xavier_uniform", "glorot_uniform", "xavier_normal", "normal")
