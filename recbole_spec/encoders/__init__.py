"""Encoders: how user and item representations are computed from parameters."""

from __future__ import annotations

from typing import Any

from recbole_spec.encoders.base import INIT_SCHEMES, Encoder, init_embedding
from recbole_spec.encoders.lightgcn import LightGCNEncoder, normalized_adjacency
from recbole_spec.encoders.mf import MFEncoder

ENCODERS = ("mf", "lightgcn")

__all__ = [
    "ENCODERS",
    "INIT_SCHEMES",
    "Encoder",
    "LightGCNEncoder",
    "MFEncoder",
    "build_encoder",
    "init_embedding",
    "normalized_adjacency",
]


def build_encoder(name: str, config: Any, dataset: Any) -> MFEncoder | LightGCNEncoder:
    """Build the encoder ``name`` (``mf`` or ``lightgcn``) for a RecBole dataset.

    Reads ``embedding_size``, ``init``, ``n_layers`` and ``sparse_grad`` from ``config``.
    """
    size, init = config["embedding_size"], config["init"]
    if name == "mf":
        return MFEncoder(
            dataset.user_num, dataset.item_num, size, init, bool(config["sparse_grad"])
        )
    if name == "lightgcn":
        matrix = dataset.inter_matrix(form="coo").astype("float32")
        return LightGCNEncoder(matrix, size, config["n_layers"], init)
    raise ValueError(f"unknown encoder '{name}'; choose one of {ENCODERS}")
