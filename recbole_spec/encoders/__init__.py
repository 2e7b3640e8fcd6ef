"""Encoders: how user and item representations are computed from parameters."""

from __future__ import annotations

from typing import Any

from recbole_spec.encoders.base import INIT_SCHEMES, Encoder, init_embedding
from recbole_spec.encoders.lightgcn import LightGCNEncoder, normalized_adjacency
from recbole_spec.encoders.mf import MFEncoder

ENCODERS: dict[str, type[MFEncoder] | type[LightGCNEncoder]] = {
    "mf": MFEncoder,
    "lightgcn": LightGCNEncoder,
}
"""``encoder`` value -> encoder class; each checks its keys and builds itself from a config."""

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
    """Build the encoder ``name`` (``mf`` or ``lightgcn``) for a RecBole dataset from ``config``."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder '{name}'; choose one of {tuple(ENCODERS)}")
    return ENCODERS[name].from_config(config, dataset)
