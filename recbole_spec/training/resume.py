"""What a resumed run must match and restore: settings, parameter shapes and random states.

A run continued from ``--resume_from=<file>`` writes into that file's run (its best and last
checkpoints), so the checkpoint must belong to the same model, data split and parameter shapes;
anything else is refused in one line before data is loaded. The random states that shape the
batches (torch, numpy, Python and the data loader's generator) travel in every last checkpoint,
so a resumed run draws exactly the batches the unbroken run would have drawn.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from recbole_spec.validation import ConfigError

RESUME_KEYS = (
    "model",
    "dataset",
    "benchmark_filename",
    "eval_args",
    "spec_protocol",
    "embedding_size",
    "encoder",
    "learner",
    "sparse_grad",
    "train_sampler",
)
"""Settings a resumed run must share with its checkpoint: identity, split, parameter shapes,
optimizer state and batch sampler."""


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, Mapping):
        return {str(k): _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def check_resume_config(current: Mapping[str, Any], saved: Mapping[str, Any], path: str) -> None:
    """Refuse a checkpoint whose run differs from this one in a :data:`RESUME_KEYS` setting.

    Raises:
        ConfigError: naming the first differing setting, both values and the fix.
    """
    for key in RESUME_KEYS:
        if key not in saved:
            continue
        mine, theirs = current.get(key), saved.get(key)
        if _norm(mine) != _norm(theirs):
            raise ConfigError(
                f"'{path}' belongs to another run: its {key} is {theirs!r}, this run's is "
                f"{mine!r}; resume with the same --{key} or start a new run without --resume_from"
            )


def check_parameter_shapes(
    saved: Mapping[str, torch.Tensor], current: Mapping[str, torch.Tensor], path: str
) -> None:
    """Refuse a checkpoint whose parameter names or shapes differ from the built model's.

    Raises:
        ConfigError: naming the first differing parameter (e.g. another embedding size).
    """
    missing = sorted(set(current) - set(saved))
    extra = sorted(set(saved) - set(current))
    if missing or extra:
        raise ConfigError(
            f"'{path}' holds another model's parameters (missing {missing[:3]}, unexpected "
            f"{extra[:3]}); start a new run without --resume_from"
        )
    for name, tensor in current.items():
        if tuple(saved[name].shape) != tuple(tensor.shape):
            raise ConfigError(
                f"'{path}': parameter '{name}' has shape {tuple(saved[name].shape)} there and "
                f"{tuple(tensor.shape)} in this run (other embedding_size or dataset?); resume "
                "with the checkpoint's settings or start a new run"
            )


def get_rng_state(train_data: Any = None) -> dict[str, Any]:
    """Every random state that shapes the next epoch's batches, as tensors and plain values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    generator = getattr(train_data, "generator", None)
    if isinstance(generator, torch.Generator):
        state["loader"] = generator.get_state()
    return state


def set_rng_state(state: Mapping[str, Any], train_data: Any = None) -> None:
    """Inverse of :func:`get_rng_state` (``train_data``: the loader whose generator to restore)."""
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["kind"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["gauss"],
        )
    )
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator = getattr(train_data, "generator", None)
    if "loader" in state and isinstance(generator, torch.Generator):
        generator.set_state(state["loader"])
