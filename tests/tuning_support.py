"""What the real-Ray and the fake-backend tuning tests share (no Ray import here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recbole_spec import pipeline

SPACE = "tau: {type: uniform, low: 2.0, high: 4.0}\nalpha: {type: choice, values: [0.5, 1.0]}\n"


def tiny(data_root: Path) -> dict[str, Any]:
    """Two quick epochs on ``checker`` (no checkpoint_dir: a search sets its own)."""
    return {
        "data_path": str(data_root),
        "epochs": 2,
        "train_batch_size": 64,
        "eval_batch_size": 256,
        "embedding_size": 16,
        "state": "WARNING",
        "seed": 7,
    }


def search_kwargs(tmp: Path, data_root: Path, **extra: Any) -> dict[str, Any]:
    """``plan_search`` keywords for a two-trial DirectSpecPlus search over :data:`SPACE`."""
    space = tmp / "space.yaml"
    space.write_text(SPACE)
    return {
        "model": "DirectSpecPlus",
        "dataset": "checker",
        "space_file": space,
        "out_dir": tmp / "out",
        "num_samples": 2,
        "max_concurrent": 2,
        "config_dict": tiny(data_root),
        "verbose": 0,
        **extra,
    }


class CountingRun:
    """Wraps pipeline.run: records every call's ``evaluate_test``."""

    def __init__(self) -> None:
        self.real = pipeline.run
        self.calls: list[bool] = []

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        self.calls.append(kwargs.get("evaluate_test", True))
        return self.real(*args, **kwargs)
