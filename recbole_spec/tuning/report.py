"""The trials table: one :class:`TrialRow` per trial, written as ``trials.csv`` and ``trials.md``.

Each row says why its trial stopped (``max epochs``, ``early stopping`` as RecBole's own
:func:`recbole.utils.early_stopping` decides it, ``scheduler``, ``diverged`` (a non-finite loss
or parameter), ``error``, ``interrupted``, ``not started``) and its best validation value. The
tables are written by :mod:`recbole_spec.reporting`, like every other table of the plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from recbole_spec.atomic import write_text_atomic
from recbole_spec.reporting import csv_text, markdown_table
from recbole_spec.tuning.trial import TrialDiverged, TrialRecord

if TYPE_CHECKING:
    from recbole_spec.tuning.plan import SearchPlan


@dataclass
class TrialRow:
    """One row of the trials table."""

    trial_id: str
    status: str
    stop_reason: str
    params: dict[str, Any]
    best_value: float | None
    best_epoch: int | None
    epochs: int
    evaluations: int
    failures: int
    error: str
    path: str


def format_value(value: Any) -> str:
    """A searched value as shown to people: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trial_row(record: TrialRecord, plan: SearchPlan) -> TrialRow:
    """The table row of one trial: its best validation value and why it stopped."""
    values = [h[plan.metric] for h in record.history]
    best_value = best_epoch = None
    if values:
        pick = max if plan.mode == "max" else min
        best_value = pick(values)
        best_epoch = record.history[values.index(best_value)]["epoch"]
    trained = record.history[-1]["epoch"] + 1 if record.history else 0
    if record.status == "ERROR":
        reason = "diverged" if TrialDiverged.__name__ in record.error else "error"
    elif record.status != "TERMINATED":
        reason = "interrupted" if record.history else "not started"
    elif trained >= plan.epochs:
        reason = "max epochs"
    elif early_stopped(values, plan.mode == "max", plan.stopping_step):
        reason = "early stopping"
    else:
        reason = "scheduler"
    return TrialRow(
        trial_id=record.trial_id,
        status=record.status,
        stop_reason=reason,
        params={k: record.config.get(k) for k in plan.space},
        best_value=best_value,
        best_epoch=best_epoch,
        epochs=trained,
        evaluations=len(values),
        failures=record.failures,
        error=record.error,
        path=record.path,
    )


def early_stopped(values: Sequence[float], bigger: bool, stopping_step: int) -> bool:
    """Whether RecBole's trainer stops early on these validation values (in order).

    Feeds them to RecBole's own :func:`recbole.utils.early_stopping`, starting where its
    trainer starts (best = -inf for ``bigger``, else +inf; no step taken).
    """
    from recbole.utils import early_stopping

    best, steps = (float("-inf") if bigger else float("inf")), 0
    for value in values:
        best, steps, stop, _ = early_stopping(value, best, steps, stopping_step, bigger=bigger)
        if stop:
            return True
    return False


def sort_key(row: TrialRow, mode: str) -> tuple[int, float]:
    """Best first; trials without a validation value last."""
    if row.best_value is None:
        return (1, 0.0)
    return (0, -row.best_value if mode == "max" else row.best_value)


def _best_text(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "-"


def _error_text(error: str) -> str:
    return error.replace("|", "/")[:120] or "-"


def format_table(rows: Sequence[TrialRow], metric: str) -> str:
    """A markdown table of the trials (one row each, best first)."""
    params = list(rows[0].params) if rows else []
    best = f"best valid {metric}"
    frame = pd.DataFrame(
        [
            [row.trial_id, row.status, row.stop_reason, *(row.params.get(p) for p in params)]
            + [row.best_value, row.best_epoch, row.epochs, row.failures, row.error]
            for row in rows
        ],
        columns=["trial", "status", "stop", *params, best, "best epoch", "epochs"]
        + ["failures", "error"],
        dtype=object,
    )
    formatters = {p: format_value for p in params}
    formatters.update({best: _best_text, "epochs": str, "failures": str, "error": _error_text})
    return markdown_table(frame, missing="-", formatters=formatters)


def write_trial_tables(rows: Sequence[TrialRow], plan: SearchPlan) -> dict[str, Path]:
    """Write ``trials.csv`` (every field, full precision) and ``trials.md`` into ``out_dir``.

    The two tables differ in columns (the CSV adds evaluations and folders), so each is built
    with its own :mod:`recbole_spec.reporting` writer rather than one ``write_tables`` frame.
    """
    params = list(plan.space)
    frame = pd.DataFrame(
        [
            [row.trial_id, row.status, row.stop_reason, *(row.params.get(p) for p in params)]
            + [row.best_value, row.best_epoch, row.epochs, row.evaluations, row.failures]
            + [row.error, row.path]
            for row in rows
        ],
        columns=["trial_id", "status", "stop_reason", *params, f"best_{plan.metric}"]
        + ["best_epoch", "epochs", "evaluations", "failures", "error", "path"],
        dtype=object,
    )
    csv_path, md_path = plan.out_dir / "trials.csv", plan.out_dir / "trials.md"
    write_text_atomic(csv_path, csv_text(frame))
    title = (
        f"# {plan.model} on {plan.dataset}: {len(rows)} trials, {plan.search_alg} search, "
        f"{plan.scheduler} scheduler, selected on validation {plan.metric} ({plan.mode})\n\n"
    )
    write_text_atomic(md_path, title + format_table(rows, plan.metric) + "\n")
    return {"csv": csv_path, "md": md_path}
