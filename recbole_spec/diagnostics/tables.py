"""The user and item tables a trained recommender scores with, for plugin and RecBole models.

Collapse diagnostics need the two tables whose inner products are the model's scores. Where they
live depends on the model, so they are found in this order:

1. plugin models (anything with an ``embedding_tables()`` method): that method, i.e. the
   encoder's scoring tables (propagated for graph encoders);
2. RecBole built-ins with a known extractor in :data:`EXTRACTORS`, matched by class name along the
   MRO (only classes defined under ``recbole.model``, so the plugin's ``LightGCN`` never picks up
   RecBole's recipe):

   ============  ===============================================================================
   BPR, LINE     ``user_embedding.weight``, ``item_embedding.weight`` (scores are ``u . i``)
   LightGCN      ``forward()``: mean of the propagated layers; NGCF's and SpectralCF's are the
   NGCF, DGCF    concatenation of their layers. In eval mode the full-sort cache
   SpectralCF    ``restore_user_e/_item_e`` (equal to ``forward()``) is reused when set
   NCL           ``forward()[:2]`` (the third output is the per-layer list)
   SGL           ``forward(train_graph)`` (the full graph, not the augmented sub-graphs)
   SimpleX       users: ``get_UI_aggregation`` of the user row and its history (the vector that
                 is scored), items: ``item_emb.weight``; SimpleX scores their cosine
   ENMF          ``user_embedding.weight * h``, ``item_embedding.weight`` with ``h`` the
                 ``H_i`` weights, since the score is ``sum_k h_k u_k i_k``
   NeuMF         the GMF branch, ``user_mf_embedding.weight * w_mf``, ``item_mf_embedding``;
                 the MLP branch is not an inner product and is left out
   DMF           ``user_fc_layers(get_user_embedding(u))``, ``get_item_embedding()`` (what
                 its ``i_embedding`` cache holds); DMF scores ``sigmoid(u . i)``
   NCEPLRec      ``user_embeddings`` (Q) and ``item_embeddings.T`` (W^T)
   ============  ===============================================================================

3. models listed in :data:`NO_EMBEDDINGS` (EASE, ItemKNN, Pop, the autoencoders, ...) raise
   :class:`NoEmbeddingError` with the reason;
4. any other model with ``nn.Embedding`` attributes ``user_embedding`` and ``item_embedding``
   (e.g. ConvNCF, NNCF): their weights, the layer-0 tables, which may be only part of how such
   a model scores;
5. otherwise :class:`NoEmbeddingError`.

Extraction never changes the model: gradients are off, built-in models are evaluated with every
module's ``training`` flag cleared directly (so dropout is off) and restored afterwards, without
calling ``train()``/``eval()``, whose overrides have side effects (SGL rebuilds its random
sub-graphs, the plugin's LightGCN encoder drops its cache).

RecBole reserves internal id 0 for padding, so every table has a row 0 that is no user or item.
By default it is dropped: row ``k`` of a returned table is RecBole internal id ``k + 1``
(:func:`interaction_pairs` shifts ids the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

Tables = tuple[Tensor, Tensor]

_USER_BATCH = 1024


class NoEmbeddingError(ValueError):
    """Raised for a model that has no user/item embedding tables (e.g. EASE, ItemKNN, Pop)."""


@contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """No gradients and every ``training`` flag off, restored on exit; no ``train()`` hooks run."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        for module, _ in flags:
            module.training = False
        with torch.no_grad():
            yield
    finally:
        for module, flag in flags:
            module.training = flag


def _weights(user: nn.Embedding, item: nn.Embedding) -> Tables:
    return user.weight, item.weight


def _bpr(model: Any) -> Tables:
    return _weights(model.user_embedding, model.item_embedding)


def _forward(model: Any) -> Tables:
    user, item = model.forward()
    return user, item


def _ncl(model: Any) -> Tables:
    user, item, _ = model.forward()
    return user, item


def _sgl(model: Any) -> Tables:
    return model.forward(model.train_graph)


def _all_users(model: Any) -> Tensor:
    return torch.arange(model.n_users, device=model.device)


def _simplex(model: Any) -> Tables:
    rows = []
    for users in _all_users(model).split(_USER_BATCH):
        history = model.item_emb(model.history_item_id[users])
        rows.append(
            model.get_UI_aggregation(model.user_emb(users), history, model.history_item_len[users])
        )
    return torch.cat(rows), model.item_emb.weight


def _enmf(model: Any) -> Tables:
    weight = model.H_i.weight.reshape(-1)
    return model.user_embedding.weight * weight, model.item_embedding.weight


def _neumf(model: Any) -> Tables:
    if not model.mf_train:
        raise NoEmbeddingError(
            "NeuMF was trained with mf_train=False: only its MLP branch scores, which is not an "
            "inner product of user and item tables"
        )
    weight = model.predict_layer.weight[0, : model.mf_embedding_size]
    return model.user_mf_embedding.weight * weight, model.item_mf_embedding.weight


def _dmf(model: Any) -> Tables:
    rows = [
        model.user_fc_layers(model.get_user_embedding(users))
        for users in _all_users(model).split(_USER_BATCH)
    ]
    return torch.cat(rows), model.get_item_embedding()


def _nceplrec(model: Any) -> Tables:
    return model.user_embeddings, model.item_embeddings.T


EXTRACTORS: dict[str, Callable[[Any], Tables]] = {
    "BPR": _bpr,
    "LINE": _bpr,
    "LightGCN": _forward,
    "NGCF": _forward,
    "DGCF": _forward,
    "SpectralCF": _forward,
    "NCL": _ncl,
    "SGL": _sgl,
    "SimpleX": _simplex,
    "ENMF": _enmf,
    "NeuMF": _neumf,
    "DMF": _dmf,
    "NCEPLRec": _nceplrec,
}
"""RecBole class name -> function returning its ``(user, item)`` scoring tables (padding kept)."""

CACHED = frozenset({"LightGCN", "NGCF", "DGCF", "SpectralCF", "NCL", "SGL"})
"""Models whose ``full_sort_predict`` caches ``forward()`` in ``restore_user_e/_item_e``."""


def _eval_cache(model: Any) -> Tables | None:
    """The full-sort cache, if set and the model is in eval mode.

    RecBole fills it during evaluation and clears it in ``calculate_loss``, so in eval mode it
    equals ``forward()`` for the current weights (also after loading a checkpoint, which stores
    it as an "other parameter"); reusing it saves one propagation per monitored evaluation.
    """
    if model.training:
        return None
    user, item = getattr(model, "restore_user_e", None), getattr(model, "restore_item_e", None)
    return None if user is None or item is None else (user, item)


_ITEM_ITEM = "an item-item model: it scores with an item-item matrix, there is no user table"
_AUTOENCODER = (
    "an autoencoder: users are encoded from their interaction history at scoring time, "
    "there is no user table"
)
NO_EMBEDDINGS: dict[str, str] = {
    "EASE": _ITEM_ITEM,
    "SLIMElastic": _ITEM_ITEM,
    "ADMMSLIM": _ITEM_ITEM,
    "ItemKNN": "a neighbourhood model: it scores with item-item similarities, no embeddings",
    "AsymKNN": "a neighbourhood model: it scores with user/item similarities, no embeddings",
    "Pop": "a popularity baseline: it scores with item counts, no embeddings",
    "Random": "a random baseline: no embeddings",
    "FISM": "an item-based factor model: users are sums of item vectors, there is no user table",
    "NAIS": "an item-based attention model: users are attention pools of items, no user table",
    "MultiVAE": _AUTOENCODER,
    "MultiDAE": _AUTOENCODER,
    "RecVAE": _AUTOENCODER,
    "MacridVAE": _AUTOENCODER,
    "CDAE": _AUTOENCODER,
    "RaCT": _AUTOENCODER,
    "DiffRec": "a diffusion model over interaction vectors: no user or item tables",
    "LDiffRec": "a latent diffusion model over interaction vectors: no user or item tables",
    "GCMC": "a graph auto-encoder with a bilinear decoder per rating level: no single table pair",
}
"""RecBole class name -> why it has no user/item embedding tables."""


def _recbole_name(model: nn.Module, table: dict[str, Any]) -> str | None:
    for cls in type(model).__mro__:
        if cls.__module__.startswith("recbole.model.") and cls.__name__ in table:
            return cls.__name__
    return None


def _model_name(model: nn.Module) -> str:
    return type(model).__name__


def has_embedding_tables(model_class: type) -> bool:
    """Whether :func:`embedding_tables` can be expected to work for ``model_class``.

    Decided from the class alone (before any data is loaded): ``False`` only for the models
    listed in :data:`NO_EMBEDDINGS`.
    """
    if callable(getattr(model_class, "embedding_tables", None)):
        return True
    return not any(
        cls.__module__.startswith("recbole.model.") and cls.__name__ in NO_EMBEDDINGS
        for cls in model_class.__mro__
    )


def no_embedding_reason(model_class: type) -> str | None:
    """Why ``model_class`` has no embedding tables, or ``None`` when it may have some."""
    for cls in model_class.__mro__:
        if cls.__module__.startswith("recbole.model.") and cls.__name__ in NO_EMBEDDINGS:
            return NO_EMBEDDINGS[cls.__name__]
    return None


def _extract(model: nn.Module) -> Tables:
    method = getattr(model, "embedding_tables", None)
    if callable(method):
        with torch.no_grad():
            return method()
    name = _recbole_name(model, EXTRACTORS)
    if name is not None:
        cached = _eval_cache(model) if name in CACHED else None
        if cached is not None:
            return cached
        with _inference(model):
            return EXTRACTORS[name](model)
    reason = no_embedding_reason(type(model))
    if reason is not None:
        raise NoEmbeddingError(f"{_model_name(model)} has no embedding tables: it is {reason}")
    user, item = getattr(model, "user_embedding", None), getattr(model, "item_embedding", None)
    if isinstance(user, nn.Embedding) and isinstance(item, nn.Embedding):
        return _weights(user, item)
    raise NoEmbeddingError(
        f"{_model_name(model)} has no embedding tables that recbole-spec knows how to read: no "
        "embedding_tables() method, no entry in recbole_spec.diagnostics.tables.EXTRACTORS and no "
        "nn.Embedding attributes user_embedding/item_embedding"
    )


def embedding_tables(model: nn.Module, *, drop_padding: bool = True) -> Tables:
    """Return the ``(user, item)`` tables ``model`` scores with, detached, float32, on the CPU.

    See the module docstring for where each model's tables come from.

    Args:
        model: a plugin model or a RecBole general recommender.
        drop_padding: drop row 0 (RecBole's padding id) of both tables (default: ``True``).

    Returns:
        ``(user, item)``; with ``drop_padding`` row ``k`` is internal id ``k + 1``.

    Shapes:
        returns ``[n_users, d]`` and ``[n_items, d]`` (``n`` counting padding when kept).

    Raises:
        NoEmbeddingError: naming the model and why it has no tables (EASE, ItemKNN, Pop, ...).
    """
    user, item = _extract(model)
    if user.dim() != 2 or item.dim() != 2 or user.shape[1] != item.shape[1]:
        raise NoEmbeddingError(
            f"{_model_name(model)}: extracted tables have shapes {tuple(user.shape)} and "
            f"{tuple(item.shape)}, not [n_users, d] and [n_items, d]"
        )
    user, item = (t.detach().to("cpu", torch.float32) for t in (user, item))
    if drop_padding:
        user, item = user[1:], item[1:]
    return user, item


def interaction_pairs(dataset: Any, *, drop_padding: bool = True) -> Tables:
    """The ``(users, items)`` id pairs of a RecBole dataset split, as row indices of the tables.

    Args:
        dataset: a RecBole ``Dataset`` (e.g. ``test_data.dataset``) or a dataloader holding one
            in ``.dataset`` / ``._dataset``.
        drop_padding: shift ids by -1 to index tables from :func:`embedding_tables` with
            ``drop_padding=True`` (default: ``True``).

    Returns:
        Two int64 CPU tensors of equal length.
    """
    for attribute in ("_dataset", "dataset"):
        inner = getattr(dataset, attribute, None)
        if inner is not None and hasattr(inner, "inter_feat"):
            dataset = inner
            break
    feat = dataset.inter_feat
    users = feat[dataset.uid_field].to("cpu", torch.int64)
    items = feat[dataset.iid_field].to("cpu", torch.int64)
    shift = 1 if drop_padding else 0
    return users - shift, items - shift
