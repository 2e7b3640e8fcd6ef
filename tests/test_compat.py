"""The compat shims restore what RecBole needs on newer numpy / scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recbole_spec import compat


def test_numpy_aliases_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(np, "float_", raising=False)
    monkeypatch.delattr(np, "bool8", raising=False)
    compat._patch_numpy()
    assert np.float_ is np.float64
    assert np.bool8 is np.bool_


def test_dok_update_fills_matrix_like_dict_update() -> None:
    matrix = sp.dok_matrix((3, 4), dtype=np.float32)
    compat._dok_update(matrix, {(0, 1): 1.0, (2, 3): 2.0})
    expected = np.zeros((3, 4), dtype=np.float32)
    expected[0, 1], expected[2, 3] = 1.0, 2.0
    np.testing.assert_array_equal(matrix.toarray(), expected)
