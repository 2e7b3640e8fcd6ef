"""Collapse diagnostics and singular-value spectra of saved checkpoints (``recbole-spec spectrum``).

Each checkpoint's model is rebuilt with its test split
(:func:`~recbole_spec.training.restore.restore_checkpoint`); the scoring tables come from
:func:`~recbole_spec.diagnostics.tables.embedding_tables`, the metrics from
:func:`~recbole_spec.diagnostics.report.collapse_report` (alignment on the test split), and the
plot from :func:`~recbole_spec.diagnostics.plots.plot_spectra`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recbole_spec.diagnostics.plots import plot_spectra
from recbole_spec.diagnostics.report import HEADLINE_KEYS, model_report
from recbole_spec.diagnostics.tables import NoEmbeddingError, no_embedding_reason
from recbole_spec.registry import get_model
from recbole_spec.training.restore import load_any_checkpoint, model_reference, restore_checkpoint


def spectrum_of_checkpoints(
    paths: Iterable[str | Path],
    *,
    out: str | Path | None = None,
    normalize: bool = False,
    allow_recbole_pickle: bool = False,
) -> list[dict[str, Any]]:
    """Diagnostics and spectra of saved checkpoints, optionally plotted into one PNG.

    Every checkpoint is read and checked first, so a bad path or a model without tables fails
    before any dataset is loaded.

    Args:
        paths: recbole-spec checkpoints.
        out: PNG to write (one curve per checkpoint); ``None`` writes nothing (default).
        normalize: plot the spectra of row-normalised tables instead of the raw ones (the
            metrics hold both variants either way) (default: ``False``).
        allow_recbole_pickle: also read checkpoints written by RecBole's own trainer
            (:func:`~recbole_spec.training.restore.load_recbole_checkpoint`; see
            :data:`~recbole_spec.training.restore.RECBOLE_PICKLE_RISK`) (default: ``False``).

    Returns:
        One dict per checkpoint: ``checkpoint``, ``model``, ``dataset``, ``epoch``, ``label``
        (legend entry), ``metrics`` (:func:`collapse_report`'s dict) and ``singular_values``
        (the plotted table's, float64 tensor).

    Raises:
        CheckpointError: a missing or foreign checkpoint.
        NoEmbeddingError: a model without embedding tables (EASE, ItemKNN, ...).
        ValueError: no paths.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no checkpoints given")
    states = [load_any_checkpoint(path, allow_recbole_pickle) for path in paths]
    for path, state in zip(paths, states, strict=True):
        stored = state.get("config") or {}
        name = model_reference(str(stored.get("model")), state["state_dict"])
        reason = no_embedding_reason(get_model(name))
        if reason is not None:
            raise NoEmbeddingError(f"{path}: {name} has no embedding tables: it is {reason}")
    rows = []
    for path, state in zip(paths, states, strict=True):
        restored = restore_checkpoint(path, state=state)
        metrics, values = model_report(
            restored.model, restored.test_data, normalize_spectrum=normalize
        )
        rows.append(
            {
                "checkpoint": str(path),
                "model": restored.name,
                "dataset": str(restored.config["dataset"]),
                "epoch": restored.epoch,
                "metrics": metrics,
                "singular_values": values,
            }
        )
    _label_rows(rows, "all_erank_rownorm" if normalize else "all_erank")
    if out is not None:
        kind = "row-normalised" if normalize else "raw"
        plot_spectra(
            {row["label"]: row["singular_values"] for row in rows},
            out,
            title=f"Singular-value spectra of the stacked {kind} [U; I] tables",
        )
    return rows


def _label_rows(rows: list[dict[str, Any]], erank_key: str) -> None:
    """Legend entries: the model, its file stem when a model appears twice, and its erank."""
    counts = Counter(row["model"] for row in rows)
    for row in rows:
        label = row["model"]
        if counts[label] > 1:
            label = f"{label} [{Path(row['checkpoint']).stem}]"
        row["label"] = f"{label} (erank {row['metrics'][erank_key]:.1f})"


def spectrum_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`spectrum_of_checkpoints`' rows as one table row each.

    Columns: model, dataset, epoch, :data:`~recbole_spec.diagnostics.report.HEADLINE_KEYS`
    (NaN where the report lacks the key), checkpoint.
    """
    return pd.DataFrame(
        [
            {
                "model": row["model"],
                "dataset": row["dataset"],
                "epoch": row["epoch"],
                **{key: row["metrics"].get(key, float("nan")) for key in HEADLINE_KEYS},
                "checkpoint": row["checkpoint"],
            }
            for row in rows
        ],
        columns=["model", "dataset", "epoch", *HEADLINE_KEYS, "checkpoint"],
    )
