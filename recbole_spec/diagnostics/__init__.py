"""Diagnostics of embedding collapse that work on plain tensors from any model.

- :mod:`~recbole_spec.diagnostics.spectrum`: singular values, effective rank, stable rank,
  energy fractions, and a one-call report for a user and an item table.
- :mod:`~recbole_spec.diagnostics.align_uniform`: DirectAU's alignment and uniformity, per batch
  (differentiable) and for whole tables.
"""

from __future__ import annotations

from recbole_spec.diagnostics.align_uniform import alignment, table_uniformity, uniformity
from recbole_spec.diagnostics.spectrum import (
    effective_rank,
    energy_fraction,
    singular_values,
    spectrum_report,
    stable_rank,
)

__all__ = [
    "alignment",
    "effective_rank",
    "energy_fraction",
    "singular_values",
    "spectrum_report",
    "stable_rank",
    "table_uniformity",
    "uniformity",
]
