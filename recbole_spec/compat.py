"""Compatibility shims that let RecBole 1.2.1 run on newer numpy / scipy / torch.

Applied once, by :func:`apply`, before RecBole is imported by the plugin. Every shim is chosen by
feature detection, never by version strings, and none edits RecBole's installed files:

* numpy 2 removed ``np.float_``, ``np.complex_``, ``np.unicode_`` (RecBole's ``Config`` aliases
  them) and ``np.bool8`` (Ray 2.6 uses it): restore them as aliases of the surviving types.
* scipy >= 1.12 made ``dok_matrix`` a non-dict and dropped ``_update``, which RecBole's built-in
  LightGCN/NGCF/NCL call to fill their adjacency: add an equivalent ``_update``. The plugin's own
  encoders never use it (they build the adjacency as COO).
* torch >= 2.6 loads with ``weights_only=True``; that is handled where checkpoints are written and
  read (:mod:`recbole_spec.training.checkpoint`), not by loosening ``torch.load`` globally.
"""

from __future__ import annotations

_APPLIED = False

_NUMPY_ALIASES = {
    "float_": "float64",
    "complex_": "complex128",
    "unicode_": "str_",
    "bool8": "bool_",
    "object_": "object_",
    "int_": "int_",
}


def _patch_numpy() -> None:
    import numpy as np

    for alias, target in _NUMPY_ALIASES.items():
        if alias not in np.__dict__ and hasattr(np, target):
            setattr(np, alias, getattr(np, target))


def _dok_update(self, mapping) -> None:  # noqa: ANN001 - mirrors scipy's private signature
    """Bulk-assign ``{(row, col): value}`` into a ``dok_matrix`` (scipy >= 1.12 stand-in)."""
    if not mapping:
        return
    keys = list(mapping.keys())
    rows = [k[0] for k in keys]
    cols = [k[1] for k in keys]
    self[rows, cols] = list(mapping.values())


def _patch_scipy() -> None:
    from scipy.sparse import dok_matrix

    if not hasattr(dok_matrix, "_update"):
        dok_matrix._update = _dok_update


def apply() -> None:
    """Install all shims (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _patch_numpy()
    _patch_scipy()
    _APPLIED = True
