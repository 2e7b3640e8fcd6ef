"""Checkpoints load with weights_only=True; foreign pickles are refused, not loaded unsafely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recbole_spec.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


class _Opaque:
    """Stands for RecBole's pickled Config object."""


def test_round_trip_with_numpy_and_sparse_other_parameters(tmp_path: Path) -> None:
    dense = np.arange(6, dtype=np.float32).reshape(2, 3)
    sparse = sp.random(5, 4, density=0.5, format="csr", random_state=0)
    path = tmp_path / "m.pth"
    save_checkpoint(
        path,
        {"state_dict": {"w": torch.ones(2)}, "other_parameter": {"a": dense, "b": sparse}},
    )
    state = load_checkpoint(path)
    np.testing.assert_array_equal(state["other_parameter"]["a"], dense)
    np.testing.assert_array_equal(state["other_parameter"]["b"].toarray(), sparse.toarray())
    assert not list(tmp_path.glob(".*tmp"))


def test_recbole_style_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "recbole.pth"
    torch.save({"config": _Opaque(), "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="not a recbole_spec checkpoint"):
        load_checkpoint(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth")
