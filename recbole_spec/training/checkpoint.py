"""Checkpoints that load under ``torch.load(weights_only=True)``.

RecBole pickles its ``Config`` object (with enums and ``torch.device``) into every checkpoint,
which torch >= 2.6 refuses to load by default. We store only tensors and plain Python values:
the configuration as a plain dict, and RecBole's "other parameters" with numpy arrays and scipy
sparse matrices converted to tagged tensors (restored on load). Files are written to a temporary
name and renamed, so an interrupted save never leaves a truncated checkpoint. Loading never
disables ``weights_only``: a file we did not write fails with an explanation.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from recbole_spec.atomic import atomic_path

FORMAT = "recbole_spec/1"
_NUMPY, _CSR = "__numpy__", "__scipy_csr__"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing or was not written by recbole_spec."""


class CheckpointWriteError(CheckpointError):
    """A checkpoint that could not be written (full disk, I/O error); older ones are intact."""


def _write_failure(path: Path, why: str) -> CheckpointWriteError:
    return CheckpointWriteError(
        f"cannot write checkpoint '{path.name}' in '{path.parent}': {why}; the checkpoints "
        "already there are intact (writes go to a temporary file first); free some space or "
        "pass --checkpoint_dir=<another folder>"
    )


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {_NUMPY: torch.from_numpy(np.ascontiguousarray(value))}
    if sp.issparse(value):
        csr = sp.csr_matrix(value)
        return {
            _CSR: {
                "data": torch.from_numpy(csr.data),
                "indices": torch.from_numpy(csr.indices.astype(np.int64)),
                "indptr": torch.from_numpy(csr.indptr.astype(np.int64)),
                "shape": list(csr.shape),
            }
        }
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if _NUMPY in value:
            return value[_NUMPY].numpy()
        if _CSR in value:
            parts = value[_CSR]
            return sp.csr_matrix(
                (parts["data"].numpy(), parts["indices"].numpy(), parts["indptr"].numpy()),
                shape=tuple(parts["shape"]),
            )
        return {k: _decode(v) for k, v in value.items()}
    return value


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Atomically write ``state`` (tensors and plain values only) to ``path``.

    Raises:
        CheckpointWriteError: the write failed (``torch.save``'s ``PytorchStreamWriter``
            RuntimeError on a full disk, or an ``OSError``); ``path`` keeps its old content.
    """
    payload = dict(state, format=FORMAT)
    payload["other_parameter"] = _encode(state.get("other_parameter"))
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
    except OSError as err:
        raise _write_failure(path, err.strerror or str(err)) from None
    except RuntimeError as err:
        if "PytorchStreamWriter" not in str(err) and "inline_container" not in str(err):
            raise
        reason = str(err).rsplit(":", 1)[-1].strip() or "write failed"
        raise _write_failure(path, f"the disk is full or failing (torch: {reason})") from None


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a recbole_spec checkpoint with ``weights_only=True``.

    Raises:
        CheckpointError: when the file is missing or is not a recbole_spec checkpoint (e.g. one
            written by RecBole itself, which needs unsafe unpickling).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError) as err:
        raise CheckpointError(
            f"'{path}' is truncated or corrupted ({str(err).splitlines()[0][:80]}); use another "
            "checkpoint (the run's best '<Model>-<time>.pth' or its '-last.pth')"
        ) from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"'{path}' is not a recbole_spec checkpoint (it needs unsafe unpickling, as files "
            "written by RecBole's own trainer do); re-train with recbole-spec to get a safe one"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a recbole_spec checkpoint (format {FORMAT})")
    state["other_parameter"] = _decode(state.get("other_parameter"))
    return state
