"""Diagnostics of embedding collapse that work on plain tensors from any model.

- :mod:`~recbole_spec.diagnostics.spectrum`: singular values, effective rank, stable rank,
  energy fractions, and a one-call report for a user and an item table.
- :mod:`~recbole_spec.diagnostics.align_uniform`: DirectAU's alignment and uniformity, per batch
  (differentiable) and for whole tables.
- :mod:`~recbole_spec.diagnostics.tables`: the scoring tables of plugin and RecBole models.
- :mod:`~recbole_spec.diagnostics.report`: all of the above for one pair of tables, raw and
  row-normalised, or for a trained model and its test split (:func:`model_report`).
- :mod:`~recbole_spec.diagnostics.monitor`: per-evaluation logging (logger and TensorBoard).
- :mod:`~recbole_spec.diagnostics.plots`: singular-value spectra as a PNG.
"""

from __future__ import annotations

from recbole_spec.diagnostics.align_uniform import alignment, table_uniformity, uniformity
from recbole_spec.diagnostics.monitor import SpectrumMonitor, attach_monitor
from recbole_spec.diagnostics.plots import plot_spectra
from recbole_spec.diagnostics.report import collapse_report, model_report
from recbole_spec.diagnostics.spectrum import (
    effective_rank,
    energy_fraction,
    singular_values,
    spectrum_report,
    stable_rank,
)
from recbole_spec.diagnostics.tables import NoEmbeddingError, embedding_tables

__all__ = [
    "NoEmbeddingError",
    "SpectrumMonitor",
    "alignment",
    "attach_monitor",
    "collapse_report",
    "embedding_tables",
    "model_report",
    "plot_spectra",
    "effective_rank",
    "energy_fraction",
    "singular_values",
    "spectrum_report",
    "stable_rank",
    "table_uniformity",
    "uniformity",
]
