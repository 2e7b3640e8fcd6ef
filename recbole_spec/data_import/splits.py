"""Split policy of an import: duplicates, overlaps, the carved validation split, cold start.

The policies are stated in :mod:`recbole_spec.data_import` and recorded in the dataset YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recbole_spec.data.checks import ColdStart, cold_mask, split_cold_start
from recbole_spec.data_import.readers import InteractionPairs, LoadedSource

SPLITS = ("train", "valid", "test")


@dataclass
class Splits:
    """The rows to write per split and what the policies dropped or counted on the way."""

    out: dict[str, InteractionPairs]
    duplicates: dict[str, int]
    overlap: dict[str, int]
    valid_source: str
    cold_start: ColdStart | None = None


def build_splits(
    sources: Mapping[str, LoadedSource], protocol: str, fraction: float, seed: int
) -> Splits:
    """Deduplicate each file, drop pairs an earlier split holds, then make the valid split."""
    deduped: dict[str, InteractionPairs] = {}
    duplicates: dict[str, int] = {}
    for split, source in sources.items():
        deduped[split], duplicates[split] = _drop_duplicates(source.pairs)
    train, test = deduped["train"], deduped["test"]
    overlap = {"valid": 0, "test": 0}
    valid = deduped.get("valid") if protocol == "holdout" else None
    if valid is not None:
        valid, overlap["valid"] = _drop_seen(valid, train)
        test, overlap["test"] = _drop_seen(test, train, valid)
        return Splits({"train": train, "valid": valid, "test": test}, duplicates, overlap, "file")
    test, overlap["test"] = _drop_seen(test, train)
    if protocol == "paper":
        return Splits(
            {"train": train, "valid": test, "test": test}, duplicates, overlap, "test-copy"
        )
    carved = carve_mask(train.users, fraction, seed)
    out = {"train": train.take(~carved), "valid": train.take(carved), "test": test}
    return Splits(out, duplicates, overlap, "carved")


def carve_mask(users: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick ``max(1, floor(fraction * n))`` random rows (at most n - 1) of each user with n >= 2."""
    codes, _ = pd.factorize(users)
    counts = np.bincount(codes)
    wanted = np.floor(counts * fraction + 1e-9).astype(np.int64)
    wanted = np.where(counts >= 2, np.clip(wanted, 1, counts - 1), 0)
    noise = np.random.default_rng(seed).random(users.shape[0])
    order = np.lexsort((noise, codes))
    group_start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(users.shape[0], dtype=np.int64)
    rank[order] = np.arange(users.shape[0]) - group_start[codes[order]]
    return rank < wanted[codes]


def apply_cold_start(splits: Splits, policy: str) -> Splits:
    """Count valid/test rows with a user or item absent from train; drop them if asked."""
    train = splits.out["train"]

    def count(pairs: InteractionPairs) -> Any:
        return split_cold_start(train.users, train.items, pairs.users, pairs.items)

    splits.cold_start = ColdStart(count(splits.out["valid"]), count(splits.out["test"]), policy)
    if policy == "drop":
        for split in ("valid", "test"):
            pairs = splits.out[split]
            cold_user, cold_item = cold_mask(train.users, train.items, pairs.users, pairs.items)
            splits.out[split] = pairs.take(~(cold_user | cold_item))
    return splits


def check_not_empty(splits: Splits, cold_start: str) -> None:
    """RecBole cannot train or evaluate on an empty split: say why one is empty instead."""
    why = {
        "train": "the train file has no rows left",
        "valid": "no user has 2 or more train rows to carve from (try a source valid file)",
        "test": "every test row is also a train row",
    }
    if cold_start == "drop":
        why["test"] += " or has a user or item without train rows (--cold-start=drop)"
        why["valid"] += " or every valid row was cold (--cold-start=drop)"
    for split in SPLITS:
        if not len(splits.out[split]):
            raise ValueError(f"the {split} split would be empty: {why[split]}; nothing was written")


def _pair_keys(*parts: InteractionPairs) -> list[np.ndarray]:
    """One int64 key per row, equal across splits exactly when (user, item) is equal."""
    users, user_uniques = pd.factorize(np.concatenate([p.users for p in parts]))
    items, item_uniques = pd.factorize(np.concatenate([p.items for p in parts]))
    keys = users.astype(np.int64) * max(len(item_uniques), 1) + items
    return np.split(keys, np.cumsum([len(p) for p in parts])[:-1])


def _drop_duplicates(pairs: InteractionPairs) -> tuple[InteractionPairs, int]:
    (keys,) = _pair_keys(pairs)
    keep = ~pd.Series(keys).duplicated(keep="first").to_numpy()
    return pairs.take(keep), int((~keep).sum())


def _drop_seen(pairs: InteractionPairs, *earlier: InteractionPairs) -> tuple[InteractionPairs, int]:
    keys = _pair_keys(pairs, *earlier)
    seen = np.isin(keys[0], np.concatenate(keys[1:]))
    return pairs.take(~seen), int(seen.sum())
