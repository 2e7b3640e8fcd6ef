"""RecBole's training data loader without its per-batch Python work, same batches bit for bit.

Measured on ml-100k (BPRMF, batches of 2,048): RecBole's loader spends most of an epoch in
``Interaction.__getitem__`` (the index array becomes a Python list, then a tensor again per
field) and in the negative sampler's rejection test (``v in used`` for every candidate in a
list comprehension). Both are replaced here by vectorised equivalents that make the same draws
from the same generators, so every batch and every number downstream is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from recbole.data.dataloader import TrainDataLoader
from recbole.data.interaction import Interaction
from recbole.sampler import Sampler

BITMAP_BYTES = 64 * 2**20
"""Largest positives bitmap (users x items bits) :class:`FastNegativeSampler` builds; above it
(Gowalla: 153 MB) the rejection test searches the sorted keys instead. On citeulike (94 M pairs,
12 MB) a batch's test takes 16 us instead of 140 us."""


class FastNegativeSampler:
    """RecBole's ``Sampler`` for one phase, with a vectorised rejection test.

    RecBole draws candidates with ``np.random`` and redraws those that are positives of their
    user (``used_ids``: per-user sets) until none is. Here the positives are one bitmap of
    ``user * n_items + item`` (up to :data:`BITMAP_BYTES`; above, one sorted array of those keys)
    and a batch of candidates is checked with one lookup (or one ``np.searchsorted``); every draw
    is the same call RecBole makes, so the global ``np.random`` stream, and hence every negative
    and every later number, is unchanged.

    Args:
        sampler: RecBole's phase sampler (``Sampler.set_phase(...)``) to wrap; it keeps drawing.
    """

    def __init__(self, sampler: Any) -> None:
        self.sampler = sampler
        self.n_items = int(sampler.item_num)
        used = sampler.used_ids
        sizes = np.fromiter((len(s) for s in used), dtype=np.int64, count=len(used))
        users = np.repeat(np.arange(len(used), dtype=np.int64), sizes)
        items = np.fromiter((i for s in used for i in s), dtype=np.int64, count=int(sizes.sum()))
        self.keys = np.unique(users * self.n_items + items)
        pairs = len(used) * self.n_items
        self.bitmap = None
        if pairs <= 8 * BITMAP_BYTES:  # one bit per (user, item): a lookup instead of a search
            self.bitmap = np.zeros((pairs + 7) // 8, dtype=np.uint8)
            np.bitwise_or.at(self.bitmap, self.keys >> 3, (1 << (self.keys & 7)).astype(np.uint8))

    def __getattr__(self, name: str) -> Any:
        if name == "sampler":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.sampler, name)

    def is_used(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Mask of the ``(user, item)`` pairs that are positives (must not be negatives)."""
        keys = users.astype(np.int64) * self.n_items + items.astype(np.int64)
        if self.bitmap is not None:
            return ((self.bitmap[keys >> 3] >> (keys & 7).astype(np.uint8)) & 1).astype(bool)
        at = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        return self.keys[at] == keys if len(self.keys) else np.zeros(len(keys), dtype=bool)

    def sample_by_key_ids(self, key_ids: Any, num: int) -> torch.Tensor:
        """``num`` negatives per key, laid out as RecBole's ``sample_by_key_ids``."""
        key_ids = np.asarray(key_ids, dtype=np.int64)
        total = len(key_ids) * num
        keys = np.tile(key_ids, num)
        values = np.asarray(self.sampler.sampling(total), dtype=np.int64)
        check = np.flatnonzero(self.is_used(keys, values))
        while len(check) > 0:
            values[check] = self.sampler.sampling(len(check))
            check = check[self.is_used(keys[check], values[check])]
        return torch.tensor(values, dtype=torch.long)

    def sample_by_user_ids(self, user_ids: Any, item_ids: Any, num: int) -> torch.Tensor:
        """RecBole's entry point (the positives ``item_ids`` are not needed)."""
        user_ids = np.asarray(user_ids, dtype=np.int64)
        if len(user_ids) and (user_ids.min() < 0 or user_ids.max() >= self.sampler.user_num):
            bad = user_ids[(user_ids < 0) | (user_ids >= self.sampler.user_num)][0]
            raise ValueError(f"user_id [{bad}] not exist.")
        return self.sample_by_key_ids(user_ids, num)


def _uses_negatives(train_data: Any) -> bool:
    sampler = getattr(train_data, "_sampler", None)
    args = getattr(train_data, "neg_sample_args", None) or {}
    return (
        type(sampler) is Sampler
        and not args.get("dynamic", False)
        and args.get("distribution", "none") != "none"
    )


def lean_collate(train_data: Any) -> Callable[[Any], Interaction]:
    """``train_data.collate_fn`` with the rows gathered by one tensor index per field.

    RecBole turns the batch's index array into a Python list and indexes every field with it
    (``Interaction.__getitem__``); the rest (feature join, transform, negatives) is RecBole's.
    """
    dataset = train_data._dataset

    def collate(index: Any) -> Interaction:
        rows = torch.as_tensor(np.asarray(index, dtype=np.int64))
        data = Interaction({k: v[rows] for k, v in dataset.inter_feat.interaction.items()})
        data = train_data.transform(dataset, dataset.join(data))
        return train_data._neg_sampling(data)

    return collate


class _Positions(list):
    """RecBole's ``list(range(n))`` dataset of row positions, fetched a batch at a time.

    torch's map-style fetcher calls ``__getitems__`` with the batch's positions when the dataset
    has one, instead of indexing it once per position in Python (60 ms of a 0.5 s BPRMF epoch on
    citeulike). Here every value equals its position, so the batch is the positions themselves.
    """

    def __getitems__(self, positions: list[int]) -> list[int]:
        return positions


def _fetch_batches_at_once(train_data: Any) -> None:
    """Swap the loader's ``list(range(n))`` for :class:`_Positions` (the same values).

    RecBole's loader answers ``.dataset`` with its own Dataset outside iteration, so torch's
    attribute is read from the instance dict; torch refuses a new ``dataset`` after
    ``__init__``, so it is set past that check (the values are unchanged).
    """
    rows = vars(train_data).get("dataset")
    if type(rows) is list and (not rows or (rows[0] == 0 and rows[-1] == len(rows) - 1)):
        object.__setattr__(train_data, "dataset", _Positions(rows))


def make_lean(train_data: Any) -> Any:
    """Give RecBole's ``TrainDataLoader`` the lean data path; returns ``train_data``.

    The batches (rows, order, negatives) are RecBole's, bit for bit: :func:`lean_collate`
    gathers the same rows, :class:`FastNegativeSampler` draws the same negatives. Other loaders
    (subclasses with their own ``collate_fn``, dynamic or non-uniform-sampler negatives; the
    paper protocol's user-uniform sampler never reaches here) are left as they are.
    """
    if not isinstance(train_data, TrainDataLoader):
        return train_data
    if type(train_data).collate_fn is not TrainDataLoader.collate_fn:
        return train_data  # a loader with its own batches (e.g. knowledge-aware): leave it
    if _uses_negatives(train_data):
        train_data._sampler = FastNegativeSampler(train_data._sampler)
    train_data.collate_fn = lean_collate(train_data)
    _fetch_batches_at_once(train_data)
    return train_data
