"""Compatibility shims that let RecBole 1.2.1 run on newer numpy / scipy / torch.

Applied once, by :func:`apply`, when the plugin's RecBole-facing code is first imported
(through :func:`recbole_spec.config.recbole_setup.ensure_recbole`), never at ``import
recbole_spec``. Every shim is chosen by feature detection, never by version strings, and none
edits RecBole's installed files:

* numpy 2 removed ``np.float_``, ``np.complex_``, ``np.unicode_`` (RecBole's ``Config`` aliases
  them) and ``np.bool8`` (Ray 2.6 uses it): restore them as aliases of the surviving types.
* scipy >= 1.12 made ``dok_matrix`` a non-dict and dropped ``_update``, which RecBole's built-in
  LightGCN/NGCF/NCL call to fill their adjacency: add an equivalent ``_update``. The plugin's own
  encoders never use it (they build the adjacency as COO).
* pandas 3 (Copy-on-Write) turns RecBole's chained ``df[col].fillna(..., inplace=True)`` into a
  silent no-op. In ``Dataset._fill_nan`` that left NaN in numeric feature columns (a FLOAT field
  is meant to get the column mean, a TOKEN field the padding id 0) and in ``Dataset._load_feat``
  empty sequence cells stayed NaN (then failing on ``.split``). Where chained in-place filling
  does not reach the frame, ``_load_feat`` reads files through a ``pandas`` proxy that fills
  empty ``token_seq``/``float_seq`` cells with ``""`` as RecBole intended. ``_fill_nan`` is
  replaced on every pandas by the same imputation written as assignments (which also replaces
  its ``np.float``, gone since numpy 1.24, by ``np.float64``).
* pandas 3 made ``Series.agg(len)`` the length of the Series instead of one length per row;
  RecBole's ``_remap`` (every ``token_seq`` field), ``_normalize`` and ``_discretization`` split
  sequence fields with it and fail. While those three methods run, ``Series.agg(len)`` is the
  per-row length again (the rest of pandas is untouched).
* pandas 3 hands out read-only arrays (``Series.values``). RecBole's ``_dataframe_to_interaction``
  wraps them with ``torch.LongTensor(value)``, which shares the memory and warns once per process
  that the tensor is not writable (the stray stderr line on every run). Where ``.values`` is
  read-only, the conversion runs with that one warning silenced and each tensor is then cloned,
  so every tensor owns writable memory, as RecBole expects (under pandas < 3 it shared the
  frame's writable buffer instead; the values are the same).
* torch >= 2.6 loads with ``weights_only=True``. The plugin's own checkpoints are plain tensors
  and values (:mod:`recbole_spec.training.checkpoint`). RecBole's ``Trainer`` pickles its
  ``Config`` into every checkpoint (pickle protocol 4, which torch's ``weights_only`` loader
  cannot read at all) and reloads it with a bare ``torch.load``, so ``run_recbole`` fails at its
  test step. RecBole's trainer module gets a ``torch`` whose ``save`` records the SHA-256 of each
  file it writes and whose ``load`` unpickles a file only when its content is one this process
  wrote (the best checkpoint it is about to test); any other file keeps torch's
  ``weights_only=True``, and ``torch.load`` elsewhere is untouched.

* RecBole's ``sequential_recommender/sine.py`` calls ``torch.autograd.set_detect_anomaly(True)``
  when it is imported, which RecBole's ``get_model`` does for any name that is not a general
  model (a sequential model, or a typo being looked up): every later backward in the process
  then runs under anomaly detection, several times slower. :func:`keep_anomaly_mode` restores
  the mode around such lookups (:func:`recbole_spec.registry.recbole_model`).

The plugin's own hook into RecBole's ``Config`` (its YAML layers for plugin models) is not a
version shim; it lives with the configuration, in :mod:`recbole_spec.config.recbole_setup`.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

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


def chained_inplace_fill_works() -> bool:
    """Whether ``df[col].fillna(..., inplace=True)`` changes ``df`` (False under Copy-on-Write)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": [np.nan]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame["x"].fillna(value=0.0, inplace=True)
    return not bool(frame["x"].isna().any())


def fill_nan(dataset: Any) -> None:
    """RecBole's ``Dataset._fill_nan``, written with assignments so it works under Copy-on-Write.

    TOKEN fields: missing values become 0 (``[PAD]``); FLOAT fields: the column mean; sequence
    fields: an empty array (as RecBole 1.2.1 does).
    """
    import numpy as np
    from recbole.utils import FeatureType, set_color

    dataset.logger.debug(set_color("Filling nan", "green"))
    for feat_name in dataset.feat_name_list:
        feat = getattr(dataset, feat_name)
        for field in feat:
            ftype = dataset.field2type[field]
            if ftype == FeatureType.TOKEN:
                feat[field] = feat[field].fillna(value=0)
            elif ftype == FeatureType.FLOAT:
                feat[field] = feat[field].fillna(value=feat[field].mean())
            else:
                dtype = np.int64 if ftype == FeatureType.TOKEN_SEQ else np.float64
                feat[field] = feat[field].apply(
                    lambda x, dtype=dtype: np.array([], dtype=dtype) if isinstance(x, float) else x
                )


SEQ_TYPES = (":token_seq", ":float_seq")


class _SeqFilledPandas:
    """``pandas`` as RecBole's dataset module sees it, with empty sequence cells filled.

    ``read_csv`` fills the columns named ``<field>:token_seq`` / ``<field>:float_seq`` with ``""``.
    """

    def __init__(self, pandas: Any) -> None:
        self._pandas = pandas

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pandas, name)

    def read_csv(self, *args: Any, **kwargs: Any) -> Any:
        frame = self._pandas.read_csv(*args, **kwargs)
        for column in frame.columns:
            if str(column).endswith(SEQ_TYPES):
                frame[column] = frame[column].fillna("")
        return frame


def len_agg_is_per_row() -> bool:
    """Whether ``Series.agg(len)`` gives one length per row (pandas < 3) or the Series' length."""
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lengths = pd.Series([np.zeros(2), np.zeros(1)]).agg(len)
    return not np.isscalar(lengths)


@contextlib.contextmanager
def keep_anomaly_mode() -> Iterator[None]:
    """Within the block, importing RecBole's models cannot leave autograd anomaly mode changed."""
    import torch

    enabled, check_nan = torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()
    try:
        yield
    finally:
        torch.autograd.set_detect_anomaly(enabled, check_nan)


@contextlib.contextmanager
def per_row_len_agg() -> Iterator[None]:
    """Within the block, ``Series.agg(len)`` / ``Series.aggregate(len)`` return ``map(len)``."""
    import pandas as pd

    original = pd.Series.agg

    def agg(self: Any, func: Any = None, *args: Any, **kwargs: Any) -> Any:
        if func is len and not args and not kwargs:
            return self.map(len)
        return original(self, func, *args, **kwargs)

    pd.Series.agg = pd.Series.aggregate = agg
    try:
        yield
    finally:
        pd.Series.agg = pd.Series.aggregate = original


def _with_per_row_len_agg(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with per_row_len_agg():
            return method(*args, **kwargs)

    wrapper._recbole_spec_shim = True  # type: ignore[attr-defined]
    return wrapper


LEN_AGG_METHODS = ("_remap", "_normalize", "_discretization")
"""RecBole ``Dataset`` methods that split sequence fields with ``Series.agg(len)``."""


READ_ONLY_WARNING = "The given NumPy array is not writable"
"""The start of torch's warning for a tensor made from a read-only NumPy array."""


def series_values_are_read_only() -> bool:
    """Whether ``Series.values`` is a read-only view (pandas 3, Copy-on-Write)."""
    import pandas as pd

    return not pd.Series([0]).values.flags.writeable


def _with_owned_tensors(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=READ_ONLY_WARNING, category=UserWarning)
            interaction = method(*args, **kwargs)
        for field, tensor in interaction.interaction.items():
            interaction.interaction[field] = tensor.clone()
        return interaction

    wrapper._recbole_spec_shim = True  # type: ignore[attr-defined]
    return wrapper


def _patch_recbole_dataset() -> None:
    """Install :func:`fill_nan` (every pandas) and the pandas 3 shims where they are needed."""
    import recbole.data.dataset.dataset as module

    module.Dataset._fill_nan = fill_nan
    if not chained_inplace_fill_works() and not isinstance(module.pd, _SeqFilledPandas):
        module.pd = _SeqFilledPandas(module.pd)
    if not len_agg_is_per_row():
        for name in LEN_AGG_METHODS:
            method = getattr(module.Dataset, name)
            if not getattr(method, "_recbole_spec_shim", False):
                setattr(module.Dataset, name, _with_per_row_len_agg(method))
    convert = module.Dataset._dataframe_to_interaction
    if series_values_are_read_only() and not getattr(convert, "_recbole_spec_shim", False):
        module.Dataset._dataframe_to_interaction = _with_owned_tensors(convert)


def _digest(path: Any) -> str | None:
    import hashlib
    import os

    digest = hashlib.sha256()
    try:
        with open(os.fspath(path), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, TypeError):  # a file object, or nothing there
        return None
    return digest.hexdigest()


class _TrustedWritesTorch:
    """``torch`` as RecBole's trainer module sees it: ``load`` unpickles its own writes.

    ``save`` records the SHA-256 of every file it writes; ``load`` passes
    ``weights_only=False`` only for a path whose content still has a digest this process
    wrote, and leaves every other file to torch's default (``weights_only=True``).
    """

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        self.written: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def save(self, obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        result = self._torch.save(obj, f, *args, **kwargs)
        digest = _digest(f)
        if digest is not None:
            self.written[digest] = str(f)
        return result

    def load(self, f: Any, *args: Any, **kwargs: Any) -> Any:
        if "weights_only" not in kwargs and _digest(f) in self.written:
            kwargs["weights_only"] = False  # bytes this process pickled itself
        return self._torch.load(f, *args, **kwargs)


def _patch_recbole_trainer() -> None:
    from recbole.trainer import trainer as module

    if not isinstance(module.torch, _TrustedWritesTorch):
        module.torch = _TrustedWritesTorch(module.torch)


def apply() -> None:
    """Install all shims (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _patch_numpy()
    _patch_scipy()
    _patch_recbole_dataset()
    _patch_recbole_trainer()
    _APPLIED = True
