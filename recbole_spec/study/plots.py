"""The study's figures: the validation curve of each entry's best trial, and the spectra.

``validation.png``: the validation metric against the epoch for each entry's selected trial
(its tuning history), drawn like :mod:`recbole_spec.diagnostics.plots` (matplotlib's object API,
Agg canvas, written atomically). ``spectra.png``: the normalised singular values
:math:`s_k / s_1` of each entry's raw ``[U; I]`` table after the first seed's retraining, by
:func:`recbole_spec.diagnostics.plots.plot_spectra`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from recbole_spec.atomic import atomic_path
from recbole_spec.diagnostics.plots import plot_spectra

VALIDATION_PNG, SPECTRA_PNG = "validation.png", "spectra.png"


def plot_validation(
    curves: Mapping[str, Sequence[Mapping[str, Any]]], metric: str, path: Path, title: str
) -> Path | None:
    """Validation ``metric`` per epoch, one line per entry (None when no entry has a curve)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = {label: curve for label, curve in curves.items() if curve}
    if not drawn:
        return None
    figure = Figure(figsize=(8, 5.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    styles = ("-", "--", "-.", ":")
    for index, (label, curve) in enumerate(drawn.items()):
        axes.plot(
            [point["epoch"] + 1 for point in curve],
            [point[metric] for point in curve],
            linestyle=styles[index % len(styles)],
            marker="o",
            markersize=3,
            label=label,
        )
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"validation {metric}")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize="small", framealpha=0.9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def plot_study_spectra(
    records: Mapping[str, Sequence[Mapping[str, Any]]], path: Path, dataset: str
) -> Path | None:
    """Normalised spectra of each entry's first retraining (None when no entry has tables)."""
    curves = {
        label: torch.tensor(runs[0]["singular_values"])
        for label, runs in records.items()
        if runs and runs[0].get("singular_values")
    }
    if not curves:
        return None
    title = f"Singular-value spectra of the raw [U; I] tables on {dataset} (tuned, first seed)"
    return plot_spectra(curves, path, title=title)
