r"""PNG plot of normalised singular-value spectra, one curve per model.

Each curve is :math:`s_k / s_1` against :math:`k` on a log-scale y axis: a collapsed table drops
steeply after a few directions, a balanced one stays flat. Zero singular values (exact rank
deficiency) cannot be drawn on a log axis and are left out of their curve. The figure is drawn
with matplotlib's object API on an Agg canvas (no pyplot state, no display needed) and written to
a temporary file that is renamed into place, so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from recbole_spec.atomic import atomic_path

DEFAULT_TITLE = "Normalised singular-value spectra"
DEFAULT_YLABEL = r"normalised singular value $s_k / s_1$ (log scale)"


def normalized_spectrum(values: Tensor | np.ndarray) -> np.ndarray:
    r"""Return ``values / values[0]`` as float64 numpy, largest first, zeros dropped.

    Args:
        values: singular values (any order; sorted here, descending).

    Returns:
        :math:`s_k / s_1` for the strictly positive :math:`s_k`; empty when all are 0.
    """
    array = np.sort(np.asarray(torch.as_tensor(values).detach().cpu(), dtype=np.float64))[::-1]
    array = array[array > 0]
    return array / array[0] if array.size else array


def plot_spectra(
    curves: Mapping[str, Tensor | np.ndarray],
    path: str | os.PathLike,
    *,
    title: str = DEFAULT_TITLE,
    xlabel: str = "singular-value index k",
    ylabel: str = DEFAULT_YLABEL,
) -> Path:
    """Plot ``s_k / s_1`` for each model's singular values and write a PNG atomically.

    Args:
        curves: legend label -> singular values of that model's table (e.g. from
            :func:`~recbole_spec.diagnostics.spectrum.singular_values`), in legend order.
        path: destination ``.png`` (parent folders are created).
        title: figure title (default: "Normalised singular-value spectra").
        xlabel: x-axis name (default: "singular-value index k").
        ylabel: y-axis name.

    Returns:
        The written path.

    Raises:
        ValueError: if ``curves`` is empty.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("'curves' is empty: nothing to plot")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(8, 5.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    styles = ("-", "--", "-.", ":")  # cycled, so identical curves stay distinguishable
    for index, (label, values) in enumerate(curves.items()):
        spectrum = normalized_spectrum(values)
        if spectrum.size == 0:
            continue
        axes.plot(
            np.arange(1, spectrum.size + 1),
            spectrum,
            linestyle=styles[index % len(styles)],
            linewidth=1.8,
            label=label,
        )
    axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower left", fontsize="small", framealpha=0.9)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path
