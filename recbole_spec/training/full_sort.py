"""Exact, fast full-sort evaluation: RecBole's metrics, many users per batch.

RecBole's full-sort path is slow for reasons that have nothing to do with the arithmetic:
``FullSortEvalDataLoader`` takes ``max(eval_batch_size // n_items, 1)`` users per batch (one user
at a time with the default ``eval_batch_size: 4096`` once a dataset has more than 4,096 items),
its ``collate_fn`` builds every batch's history and positive lists with Python loops, the
``Collector`` scatters a dense ``batch x n_items`` positive matrix per batch and calls
``torch.topk`` once per needed key, and ``DataStruct.update_tensor`` re-concatenates everything
collected so far after every batch (quadratic in the number of batches).

:func:`evaluate_full_sort` computes the same thing, reorganised:

* users in the loader's order, scored by the model's own ``full_sort_predict`` on the loader's
  own user rows, as many per batch as a memory budget allows (never the whole score matrix);
* item 0 and each user's history items set to ``-inf`` exactly as
  ``Trainer._full_sort_batch_eval`` does, from the loader's ``uid2history_item`` (train items for
  validation; train and validation items for test), indexed once per loader (CSR);
* one top-k for the largest ``k`` (:func:`topk_indices`: exactly ``torch.topk``'s indices,
  ties included, at about a third of its cost on a CPU); hits found by binary search in the
  sorted (row, item) keys of the positives, once per evaluation, instead of a dense matrix;
* the collected ``rec.topk`` (hits, then the number of positives; ``int64`` as RecBole's) and
  ``rec.items`` tensors equal what RecBole's ``Collector`` builds, and RecBole's ``Evaluator``
  computes every configured metric from them. Metrics needing anything else (``rec.meanrank``,
  ``rec.score``) get RecBole's own ``Collector.eval_batch_collect`` on each batch.

``tests/test_full_sort.py`` checks equality with RecBole's evaluator; ``fast_eval: False``
returns to it.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

DEFAULT_BUDGET_BYTES = 256 * 2**20
"""Largest score matrix (bytes of float32) scored at once on a GPU."""

CPU_BUDGET_BYTES = 8 * 2**20
"""On a CPU, smaller blocks are faster: they stay in cache and reuse the allocator's memory."""

TOPK_CHUNK = 16
"""Most columns per group in :func:`topk_indices` (measured: 10-16 is fastest for k = 20)."""

_OTHER_KEYS = ("rec.meanrank", "rec.score", "data.label")
"""Collector needs that only RecBole's ``Collector.eval_batch_collect`` computes."""


@dataclass(frozen=True)
class FullSortIndex:
    """One full-sort loader's users, history and positive items, in the loader's user order.

    Attributes:
        users: the loader's ``user_df`` (the rows RecBole passes to ``full_sort_predict``).
        n_items: number of item ids, padding id 0 included (the score matrix width).
        hist_ptr: CSR row pointer of the masked history items, shape ``[n_users + 1]``.
        hist_rows: row of every history entry (for a vectorised scatter), ``[n_hist]``.
        hist_items: history item ids, ``[n_hist]``.
        pos_ptr: CSR row pointer of the positive items, ``[n_users + 1]``.
        pos_keys: ``row * n_items + item`` of every positive pair, sorted, ``[n_pos]``.
        pos_len: number of distinct positives per user, ``[n_users]``.
    """

    users: Any
    n_items: int
    hist_ptr: Tensor
    hist_rows: Tensor
    hist_items: Tensor
    pos_ptr: Tensor
    pos_keys: Tensor
    pos_len: Tensor

    @property
    def n_users(self) -> int:
        """Number of evaluated users."""
        return len(self.pos_len)

    @classmethod
    def from_loader(cls, loader: Any) -> FullSortIndex:
        """Index RecBole's ``FullSortEvalDataLoader`` (its per-user tensors, read once)."""
        uids = loader.uid_list.numpy()
        hist_ptr, hist_rows, hist_items = _csr(loader.uid2history_item[uids])
        pos_ptr, pos_rows, pos_items = _csr(loader.uid2positive_item[uids])
        n_items = int(loader._dataset.item_num)
        pos_keys, _ = torch.sort(pos_rows * n_items + pos_items)
        return cls(
            users=loader.user_df,
            n_items=n_items,
            hist_ptr=hist_ptr,
            hist_rows=hist_rows,
            hist_items=hist_items,
            pos_ptr=pos_ptr,
            pos_keys=pos_keys,
            pos_len=pos_ptr[1:] - pos_ptr[:-1],
        )

    def to(self, device: torch.device | str) -> FullSortIndex:
        """The index tensors on ``device`` (the user rows move per batch)."""
        tensors = {
            name: getattr(self, name).to(device)
            for name in ("hist_ptr", "hist_rows", "hist_items", "pos_ptr", "pos_keys", "pos_len")
        }
        return FullSortIndex(users=self.users, n_items=self.n_items, **tensors)


def _csr(per_user: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
    """``(ptr, rows, values)`` of a sequence of 1-D int64 tensors (RecBole's per-user lists)."""
    lengths = torch.tensor([len(t) for t in per_user], dtype=torch.int64)
    ptr = torch.zeros(len(per_user) + 1, dtype=torch.int64)
    torch.cumsum(lengths, 0, out=ptr[1:])
    values = torch.cat(list(per_user)) if len(per_user) else torch.zeros(0, dtype=torch.int64)
    rows = torch.repeat_interleave(torch.arange(len(per_user)), lengths)
    return ptr, rows, values.to(torch.int64)


_INDEX_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def full_sort_index(loader: Any, device: torch.device | str = "cpu") -> FullSortIndex:
    """:class:`FullSortIndex` of ``loader`` on ``device``, built once per loader and device."""
    per_device = _INDEX_CACHE.setdefault(loader, {})
    key = str(device)
    if key not in per_device:
        cpu = per_device.get("cpu") or FullSortIndex.from_loader(loader)
        per_device["cpu"] = cpu
        per_device[key] = cpu.to(device)
    return per_device[key]


def is_full_sort_loader(eval_data: Any) -> bool:
    """Whether ``eval_data`` is RecBole's (non-sequential) full-sort evaluation loader."""
    from recbole.data.dataloader import FullSortEvalDataLoader

    return isinstance(eval_data, FullSortEvalDataLoader) and not eval_data.is_sequential


def users_per_batch(n_items: int, budget_bytes: int, itemsize: int = 4) -> int:
    """Users scored at once so that the ``users x n_items`` score block fits ``budget_bytes``."""
    return max(1, int(budget_bytes) // (itemsize * max(int(n_items), 1)))


def default_budget(device: torch.device | str) -> int:
    """Score-block budget in bytes for ``device``."""
    return DEFAULT_BUDGET_BYTES if torch.device(device).type != "cpu" else CPU_BUDGET_BYTES


def topk_indices(scores: Tensor, k: int, chunk: int = TOPK_CHUNK) -> Tensor:
    r"""Exactly ``torch.topk(scores, k, dim=-1).indices``, ties and NaN included, faster on CPU.

    On a CPU, ``torch.topk`` costs about as much as computing the scores. Here the columns are
    split into ``m = n // chunk`` interleaved groups (column ``j`` in group ``j mod m``, the last
    ``n - m * chunk`` columns kept apart); the ``k`` groups with the largest maxima plus the
    leftover columns hold the top ``k`` of the row, and ``torch.topk`` runs on those
    ``k * chunk + leftover`` candidates only. The answer is unique, and so equals
    ``torch.topk``'s whatever its tie rule, when the top ``k + 1`` candidate values are strictly
    decreasing and the ``k``-th is larger than the ``(k+1)``-th largest group maximum (an upper
    bound of every non-candidate). Rows failing that test (ties at or above the cut-off, ``-inf``
    in the top ``k``, NaN: every comparison with NaN is false) are recomputed with
    ``torch.topk`` on the full row, so the result is always ``torch.topk``'s.

    Args:
        scores: score matrix.
        k: number of indices per row.
        chunk: most columns per group (default: :data:`TOPK_CHUNK`); fewer when that leaves
            under ``64 (k + 1)`` groups.

    Returns:
        Indices of the ``k`` largest scores of each row, largest first.

    Shapes:
        ``scores``: ``[B, n]``; result: ``[B, k]`` (int64).
    """
    rows, n = scores.shape
    # at least 64 (k + 1) groups: torch.topk then takes its cheaper partial-sort path
    groups = n // max(min(chunk, n // (64 * (k + 1))), 2)
    if scores.device.type != "cpu" or groups < 4 * (k + 1) or scores.stride(1) != 1:
        return torch.topk(scores, k, dim=-1).indices
    chunk = n // groups
    group_max = scores.as_strided((rows, chunk, groups), (scores.stride(0), groups, 1)).amax(1)
    group_top, group_idx = torch.topk(group_max, k + 1, dim=-1)
    offsets = groups * torch.arange(chunk, device=scores.device)
    cols = (group_idx[:, :k, None] + offsets).view(rows, k * chunk)
    if n > groups * chunk:
        rest = torch.arange(groups * chunk, n, device=scores.device).expand(rows, -1)
        cols = torch.cat((cols, rest), dim=1)
    cand_top, cand_idx = torch.topk(scores.gather(1, cols), k + 1, dim=-1)
    unique = (cand_top[:, :-1] > cand_top[:, 1:]).all(1) & (cand_top[:, k - 1] > group_top[:, k])
    result = cols.gather(1, cand_idx[:, :k])
    redo = (~unique).nonzero().view(-1)
    if len(redo):
        result[redo] = torch.topk(scores[redo], k, dim=-1).indices
    return result


@torch.no_grad()
def evaluate_full_sort(
    model: Any,
    eval_data: Any,
    collector: Any,
    evaluator: Any,
    device: torch.device | str,
    *,
    budget_bytes: int | None = None,
    show_progress: bool = False,
) -> OrderedDict | None:
    """RecBole's full-sort evaluation of ``model`` on ``eval_data``, computed in large batches.

    Args:
        model: a RecBole recommender with ``full_sort_predict``.
        eval_data: RecBole's ``FullSortEvalDataLoader`` (validation or test).
        collector: the trainer's ``Collector`` (already holding ``data.*`` from training data).
        evaluator: the trainer's ``Evaluator`` (the configured metrics).
        device: where scores are computed (the model's device).
        budget_bytes: largest float32 score block scored at once (default:
            :func:`default_budget` of ``device``).
        show_progress: show a progress bar over the batches.

    Returns:
        The evaluator's result (same keys and values as ``Trainer.evaluate``), or ``None`` when
        the model's ``full_sort_predict`` raises ``NotImplementedError`` (nothing collected; use
        RecBole's path).
    """
    index = full_sort_index(eval_data, device)
    budget = default_budget(device) if budget_bytes is None else budget_bytes
    step = users_per_batch(index.n_items, budget)
    register = collector.register
    need_items = register.need("rec.items")
    need_topk = register.need("rec.topk")
    recbole_collect = any(register.need(key) for key in _OTHER_KEYS)
    max_k = max(collector.topk)

    model.eval()
    item_parts: list[Tensor] = []
    starts = range(0, index.n_users, step)
    if show_progress:
        from tqdm import tqdm

        starts = tqdm(starts, total=len(starts), ncols=100, desc="Evaluate (fast)")
    for start in starts:
        stop = min(start + step, index.n_users)
        users = index.users[start:stop].to(device)
        try:
            scores = model.full_sort_predict(users)
        except NotImplementedError:
            if start == 0:
                return None
            raise
        scores = scores.view(-1, index.n_items)
        _mask_history(scores, index, start, stop)
        if recbole_collect:
            pos_u, pos_i = _positive_pairs(index, start, stop)
            collector.eval_batch_collect(scores, users, pos_u, pos_i)
        elif need_items or need_topk:
            item_parts.append(topk_indices(scores, max_k))
    if item_parts:
        top_items = torch.cat(item_parts)
        if need_items:
            collector.data_struct.update_tensor("rec.items", top_items.cpu())
        if need_topk:
            collector.data_struct.update_tensor(
                "rec.topk", _hits_and_lengths(index, top_items).cpu()
            )
    collector.model_collect(model)
    return evaluator.evaluate(collector.get_data_struct())


def _mask_history(scores: Tensor, index: FullSortIndex, start: int, stop: int) -> None:
    """``scores[:, 0] = -inf`` and ``-inf`` at each user's history items, in place."""
    scores[:, 0] = -np.inf
    lo, hi = int(index.hist_ptr[start]), int(index.hist_ptr[stop])
    if hi > lo:
        rows = index.hist_rows[lo:hi] - start
        scores.view(-1).index_fill_(0, rows * index.n_items + index.hist_items[lo:hi], -np.inf)


def _hits_and_lengths(index: FullSortIndex, top_items: Tensor) -> Tensor:
    """RecBole's ``rec.topk`` rows: 1 where a top-k item is positive, then the positive count."""
    rows = torch.arange(index.n_users, device=top_items.device).unsqueeze(1)
    query = rows * index.n_items + top_items
    found = torch.searchsorted(index.pos_keys, query).clamp_(max=len(index.pos_keys) - 1)
    hits = (index.pos_keys[found] == query).to(torch.int64)
    return torch.cat((hits, index.pos_len.unsqueeze(1)), dim=1)


def _positive_pairs(index: FullSortIndex, start: int, stop: int) -> tuple[Tensor, Tensor]:
    """Batch-local ``(positive_u, positive_i)`` as RecBole's loader returns them."""
    lo, hi = int(index.pos_ptr[start]), int(index.pos_ptr[stop])
    keys = index.pos_keys[lo:hi]
    return keys // index.n_items - start, keys % index.n_items
