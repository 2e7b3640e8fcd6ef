r"""One dictionary of collapse diagnostics for a pair of user and item tables.

Builds on :func:`~recbole_spec.diagnostics.spectrum.spectrum_report` (rank and energy of the user,
item and stacked tables) and adds DirectAU's alignment on held-out pairs and the uniformity of
each table. Key names:

- raw tables (as in the DirectSpec paper): ``{user,item,all}_{erank,stable_rank,energy_top1,
  energy_top10pct}``;
- rows L2-normalised first (directions only, so a few long rows cannot dominate): the same keys
  with the suffix ``_rownorm``;
- ``user_uniformity``, ``item_uniformity``: :func:`table_uniformity` with :math:`t = 2` (it
  normalises the rows itself, so there is no raw variant);
- ``alignment``: mean :math:`\lVert \hat u - \hat i \rVert^2` over the given pairs (rows
  normalised), and ``n_pairs``; absent when no pairs are given;
- ``dim``: the embedding width.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recbole_spec.diagnostics.align_uniform import alignment, table_uniformity
from recbole_spec.diagnostics.spectrum import singular_values, spectrum_report
from recbole_spec.diagnostics.tables import embedding_tables, interaction_pairs

Pairs = Union[tuple[Tensor, Tensor], Tensor, np.ndarray]

ROWNORM_SUFFIX = "_rownorm"

HEADLINE_KEYS = (
    "all_erank",
    "all_stable_rank",
    "all_energy_top1",
    "user_erank",
    "item_erank",
    "all_erank_rownorm",
    "user_uniformity",
    "item_uniformity",
    "alignment",
)
"""The report keys that the ``compare`` and ``spectrum`` tables show (the report holds more)."""

UNIFORMITY_ROWS = 10000
"""Rows used exactly by the report's uniformity; larger tables are subsampled (seed 0)."""


def _split_pairs(pairs: Pairs) -> tuple[Tensor, Tensor]:
    if isinstance(pairs, tuple):
        users, items = pairs
    else:
        table = torch.as_tensor(np.asarray(pairs) if isinstance(pairs, np.ndarray) else pairs)
        if table.dim() != 2 or table.shape[1] != 2:
            raise ValueError(f"'test_pairs' must be [P, 2] (got shape {tuple(table.shape)})")
        users, items = table[:, 0], table[:, 1]
    users, items = torch.as_tensor(users).long().cpu(), torch.as_tensor(items).long().cpu()
    if users.shape != items.shape or users.dim() != 1:
        raise ValueError(
            f"'test_pairs' users and items must be 1-D of equal length (got {tuple(users.shape)} "
            f"and {tuple(items.shape)})"
        )
    return users, items


def pair_alignment(user: Tensor, item: Tensor, pairs: Pairs) -> float:
    r"""Alignment :math:`\frac{1}{P}\sum_p \lVert \hat u_{a_p} - \hat i_{b_p} \rVert_2^2`.

    Args:
        user: user table.
        item: item table.
        pairs: ``(users, items)`` index tensors, or a ``[P, 2]`` array, indexing the tables' rows.

    Returns:
        The alignment as a float in :math:`[0, 4]`.

    Raises:
        ValueError: for malformed pairs, no pairs, or indices outside the tables.
    """
    users, items = _split_pairs(pairs)
    if users.numel() == 0:
        raise ValueError("'test_pairs' is empty")
    for name, ids, table in (("user", users, user), ("item", items, item)):
        if int(ids.min()) < 0 or int(ids.max()) >= table.shape[0]:
            raise ValueError(
                f"{name} ids of 'test_pairs' must lie in [0, {table.shape[0]}) (got "
                f"[{int(ids.min())}, {int(ids.max())}]); were they shifted for the dropped "
                "padding row?"
            )
    with torch.no_grad():
        user_rows = user.detach()[users.to(user.device)].float()
        item_rows = item.detach()[items.to(item.device)].float()
        return float(alignment(user_rows, item_rows))


def collapse_report(
    user: Tensor | np.ndarray,
    item: Tensor | np.ndarray,
    test_pairs: Pairs | None = None,
    *,
    normalize_too: bool = True,
    uniformity_rows: int = UNIFORMITY_ROWS,
) -> dict[str, float]:
    """Spectrum, uniformity and (with pairs) alignment of a user and an item table.

    Args:
        user: user table (e.g. from :func:`~recbole_spec.diagnostics.tables.embedding_tables`).
        item: item table, same width.
        test_pairs: held-out ``(users, items)`` row indices (or ``[P, 2]``) for the alignment;
            ``None`` leaves ``alignment`` out (default: ``None``).
        normalize_too: add the ``_rownorm`` spectrum keys (default: ``True``).
        uniformity_rows: rows used by :func:`table_uniformity` per table (default: 10000).

    Returns:
        A flat ``{name: float}`` dict; see the module docstring for the keys.

    Shapes:
        user: ``[n_users, d]``; item: ``[n_items, d]``.
    """
    user_t = torch.as_tensor(user).detach()
    item_t = torch.as_tensor(item).detach()
    report = spectrum_report(user_t, item_t)
    if normalize_too:
        rownorm = spectrum_report(user_t, item_t, normalize=True)
        report.update({f"{key}{ROWNORM_SUFFIX}": value for key, value in rownorm.items()})
    report["user_uniformity"] = table_uniformity(user_t, max_rows=uniformity_rows)
    report["item_uniformity"] = table_uniformity(item_t, max_rows=uniformity_rows)
    if test_pairs is not None:
        pairs = _split_pairs(test_pairs)
        report["alignment"] = pair_alignment(user_t, item_t, pairs)
        report["n_pairs"] = float(pairs[0].numel())
    report["dim"] = float(user_t.shape[1])
    return report


def model_report(
    model: nn.Module, test_data: Any, *, normalize_spectrum: bool = False
) -> tuple[dict[str, float], Tensor]:
    """:func:`collapse_report` of a trained model and the spectrum of its stacked tables.

    What ``compare`` keeps for every run and ``spectrum`` prints for every checkpoint.

    Args:
        model: plugin or RecBole recommender (its tables: :func:`embedding_tables`).
        test_data: RecBole's test dataloader (or dataset); its pairs give the alignment.
        normalize_spectrum: the singular values of the row-normalised tables instead of the raw
            ones (the report holds both variants either way) (default: ``False``).

    Returns:
        ``(report, values)``: the report dict and the singular values of ``[U; I]`` (float64).

    Raises:
        NoEmbeddingError: the model has no embedding tables (EASE, ItemKNN, ...).
    """
    user, item = embedding_tables(model)
    report = collapse_report(user, item, interaction_pairs(test_data))
    if normalize_spectrum:
        user, item = (F.normalize(t, dim=1) for t in (user, item))
    return report, singular_values(torch.cat([user, item]))
