"""Retraining: each entry's selected configuration trained once per seed, tested once.

This is the only place the study touches the test split. Every (entry, seed) goes through
:func:`recbole_spec.compare.runs.run_and_record` (the ``compare`` run and its record) with the
tuned ``best.yaml``, plus two callbacks: :class:`~recbole_spec.study.per_user.PerUserRecorder`
(per-user test NDCG@20 / Recall@20 for the paired test) and :class:`ValidationClock` (time to
95% of the best validation). The run record goes to ``runs/<entry>-seed<seed>.json`` and the
per-user values to ``runs/<entry>-seed<seed>.npz``, both atomically, then the ledger line;
a rerun skips every (entry, seed) the ledger holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from recbole_spec.atomic import atomic_path, write_text_atomic
from recbole_spec.compare.runs import RUNS_DIR, run_and_record, run_filename
from recbole_spec.study.ledger import Ledger
from recbole_spec.study.per_user import PerUserRecorder

TIMING_KEYS = ("build_seconds", "train_seconds", "seconds_to_95")
"""Numeric fields the study tabulates from each run record: wall seconds of building the model
(where a closed form such as EASE's inverse is computed), of ``fit``, and until validation first
reached 95% of its best."""


class ValidationClock:
    """Epoch callback: wall seconds since training began at every validation, and the value."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.start = time.perf_counter()
        self.curve: list[dict[str, float]] = []

    def bind(self, trainer: Any) -> None:
        """Start the clock when the trainer is ready (the pipeline calls it before ``fit``)."""
        self.start = time.perf_counter()

    def __call__(self, epoch: int, train_loss: Any, valid_result: dict) -> None:
        """Keep ``(epoch, seconds, value)`` of this validation."""
        value = valid_result.get(self.metric)
        if value is not None:
            self.curve.append(
                {
                    "epoch": int(epoch),
                    "seconds": time.perf_counter() - self.start,
                    self.metric: float(value),
                }
            )

    def seconds_to(self, fraction: float = 0.95, bigger: bool = True) -> float | None:
        """Seconds until the validation first reached ``fraction`` of its best (None: no curve).

        For a metric to minimise, "reached" is ``value <= best / fraction``.
        """
        values = [point[self.metric] for point in self.curve]
        if not values:
            return None
        best = max(values) if bigger else min(values)
        for point, value in zip(self.curve, values, strict=True):
            if (value >= fraction * best) if bigger else (value <= best / fraction):
                return point["seconds"]
        return None


def run_path(out_dir: Path, label: str, seed: int, suffix: str = ".json") -> Path:
    """``<out>/runs/<entry>-seed<seed><suffix>``."""
    return out_dir / RUNS_DIR / (run_filename(label, seed).removesuffix(".json") + suffix)


def load_per_user(path: Path) -> dict[str, np.ndarray]:
    """The per-user values of one retraining: ``users`` and one array per metric."""
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def retrain(
    *,
    label: str,
    model: str,
    dataset: str,
    seed: int,
    best_yaml: Path,
    metric: str,
    bigger: bool,
    out_dir: Path,
    overrides: list[str],
    settings: dict[str, Any],
    ledger: Ledger,
) -> dict[str, Any]:
    """Train ``best_yaml`` with ``seed``, test once, write the record, then the ledger line."""
    recorder, clock = PerUserRecorder(20), ValidationClock(metric)
    tested: dict[str, np.ndarray] = {}

    def keep_users(result: dict[str, Any]) -> None:
        tested["users"] = result["test_data"].uid_list.numpy().astype(np.int64)

    record = run_and_record(
        model,
        dataset,
        seed,
        config_file_list=[str(best_yaml)],
        config_dict={"checkpoint_dir": str(out_dir / "checkpoints" / label)},
        overrides=overrides,
        settings=settings,
        callbacks=[recorder, clock],
        on_result=keep_users,
    )
    record["label"] = label
    record["seconds_to_95"] = clock.seconds_to(0.95, bigger)
    record["valid_curve"] = clock.curve
    users = tested["users"]
    if len(users) != len(next(iter(recorder.values.values()))):
        raise RuntimeError(f"{label}: per-user values do not match the {len(users)} test users")
    npz = run_path(out_dir, label, seed, ".npz")
    npz.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(npz) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, users=users, **recorder.values)
    path = run_path(out_dir, label, seed)
    write_text_atomic(path, json.dumps(record, indent=1))
    ledger.record(
        label,
        seed,
        test_result=record["test_result"],
        run_file=str(path.relative_to(out_dir)),
        per_user_file=str(npz.relative_to(out_dir)),
    )
    return record
