"""Matrix-factorisation encoder: one free embedding row per user and per item."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from recbole_spec.encoders.base import INIT_SCHEMES, init_embedding, lookup
from recbole_spec.validation import check_choice


class MFEncoder(nn.Module):
    """User and item embedding tables, returned as they are.

    Args:
        n_users: number of users (RecBole ids, padding id 0 included).
        n_items: number of items.
        embedding_size: dimension ``d``.
        init: initialisation scheme (see :func:`~recbole_spec.encoders.base.init_embedding`).
        sparse_grad: produce sparse gradients, so that SGD updates only the rows a batch touched
            (the paper protocol's large tables); needs an optimizer that accepts sparse gradients.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        embedding_size: int,
        init: str = "xavier_normal",
        sparse_grad: bool = False,
    ) -> None:
        super().__init__()
        self.embedding_size = embedding_size
        self.user_embedding = nn.Embedding(n_users, embedding_size, sparse=sparse_grad)
        self.item_embedding = nn.Embedding(n_items, embedding_size, sparse=sparse_grad)
        init_embedding(self.user_embedding, init)
        init_embedding(self.item_embedding, init)

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """``init`` must be one of :data:`~recbole_spec.encoders.base.INIT_SCHEMES`."""
        config["init"] = check_choice(config, "init", owner, INIT_SCHEMES)

    @classmethod
    def from_config(cls, config: Any, dataset: Any) -> MFEncoder:
        """Tables for ``dataset`` from ``embedding_size``, ``init`` and ``sparse_grad``."""
        return cls(
            dataset.user_num,
            dataset.item_num,
            config["embedding_size"],
            config["init"],
            bool(config["sparse_grad"]),
        )

    def forward(self) -> tuple[Tensor, Tensor]:
        """Return the full ``(user, item)`` tables."""
        return self.user_embedding.weight, self.item_embedding.weight

    def ego(self) -> tuple[Tensor, Tensor]:
        """Return the parameter tables (identical to :meth:`forward` for MF)."""
        return self.forward()

    def rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Look up rows; with ``sparse_grad`` their gradients stay sparse."""
        return lookup(self.user_embedding, users), lookup(self.item_embedding, items)

    def ego_rows(self, users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
        """Layer-0 rows (the same as :meth:`rows` for MF)."""
        return self.rows(users, items)
