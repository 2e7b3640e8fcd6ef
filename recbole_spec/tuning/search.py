"""The search: ``tune(plan)`` runs a :class:`~recbole_spec.tuning.plan.SearchPlan`, then tests once.

Trials run on the validation split only (:func:`~recbole_spec.tuning.trial.run_trial`); the
best one is chosen on validation, written to ``best.yaml``, trained again and evaluated on the
test split exactly once (``best_test.json``, reused when a finished search is resumed).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recbole_spec.atomic import write_text_atomic
from recbole_spec.tuning.plan import SearchPlan
from recbole_spec.tuning.report import (
    TrialRow,
    format_table,
    format_value,
    sort_key,
    trial_row,
    write_trial_tables,
)
from recbole_spec.tuning.trial import EXPERIMENT, SearchBackend, TrialRecord, TrialTask
from recbole_spec.validation import ConfigError


class TuneFailedError(RuntimeError):
    """The search produced no trial with a validation result (every trial failed or none ran)."""


@dataclass
class TuneOutcome:
    """What :func:`tune` produced.

    Attributes:
        out_dir: the output folder.
        metric: the validation metric (lower case, e.g. ``ndcg@20``).
        mode: ``max`` or ``min``.
        trials: every trial, best first, failed and unfinished ones last.
        best: the selected trial (None if the search is unfinished or every trial failed).
        best_config: the contents of ``best.yaml``.
        test_result: the best configuration's test metrics (None if no test run was made).
        complete: False when trials are still pending (interrupted: resume it).
        files: the written files by role (``csv``, ``md``, ``best_yaml``, ``best_test``).
        histories: trial id -> its validation history (``{"epoch": e, metric: value}`` per
            evaluation), e.g. for the best trial's validation curve.
    """

    out_dir: Path
    metric: str
    mode: str
    trials: list[TrialRow]
    best: TrialRow | None = None
    best_config: dict[str, Any] = field(default_factory=dict)
    test_result: dict[str, float] | None = None
    complete: bool = True
    files: dict[str, Path] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def summary(self) -> str:
        """The trials table, the best configuration and its test metrics, ready to print."""
        lines = [format_table(self.trials, self.metric)]
        failed = [t for t in self.trials if t.status == "ERROR"]
        if failed:
            lines.append(
                f"{len(failed)} trial(s) failed after retries: "
                + "; ".join(f"{t.trial_id}: {t.error}" for t in failed)
            )
        if not self.complete:
            unfinished = sum(t.status not in ("TERMINATED", "ERROR") for t in self.trials)
            lines.append(
                f"search unfinished ({unfinished} trial(s) pending); continue it with --resume "
                f"--out-dir={self.out_dir}"
            )
        if self.best is not None:
            params = " ".join(f"--{k}={format_value(v)}" for k, v in self.best.params.items())
            lines.append(
                f"best trial {self.best.trial_id}: valid {self.metric}="
                f"{self.best.best_value:.4f} ({params})"
            )
        if "md" in self.files:
            lines.append(f"trials table: {self.files['md']} (and {self.files['csv'].name})")
        if "best_yaml" in self.files:
            lines.append(f"best config: {self.files['best_yaml']}")
        if self.test_result is not None:
            lines.append(
                "best config test: "
                + "  ".join(f"{k}={v:.4f}" for k, v in self.test_result.items())
            )
        return "\n".join(lines)


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    path.mkdir(parents=True, exist_ok=True)
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _trial_resources(plan: SearchPlan, backend: SearchBackend) -> dict[str, float]:
    """Each trial's CPUs and GPUs: the plan's, or a fair share of the cluster's."""
    cpus_per_trial, gpus_per_trial = plan.cpus_per_trial, plan.gpus_per_trial
    cluster_cpus, cluster_gpus = backend.cluster_resources()
    if cpus_per_trial is None:
        share = cluster_cpus / plan.max_concurrent if plan.max_concurrent else 1.0
        cpus_per_trial = max(1.0, math.floor(share))
    if gpus_per_trial is None:
        gpus_per_trial = 1.0 if cluster_gpus >= 1 else 0.0
    if cpus_per_trial > cluster_cpus:
        raise ConfigError(
            f"tune: --cpus-per-trial={cpus_per_trial} exceeds the cluster's {cluster_cpus:g} "
            "CPUs, so no trial would ever start; lower it"
        )
    if gpus_per_trial > cluster_gpus:
        raise ConfigError(
            f"tune: --gpus-per-trial={gpus_per_trial} but the cluster has {cluster_gpus:g} "
            "GPUs, so no trial would ever start; pass --gpus-per-trial=0"
        )
    return {"cpu": float(cpus_per_trial), "gpu": float(gpus_per_trial)}


def trials_at_once(resources: dict[str, float], cpus: float, gpus: float) -> int:
    """How many trials of ``resources`` fit at once on a cluster of ``cpus`` CPUs, ``gpus`` GPUs.

    Ray packs fractional GPUs: ``--gpus-per-trial=0.25`` runs four trials on one GPU (each
    trial's model must fit in a quarter of its memory), ``floor(gpus / 0.25)`` in all.
    """
    fits = [math.floor(cpus / resources["cpu"] + 1e-9)]
    if resources["gpu"] > 0:
        fits.append(math.floor(gpus / resources["gpu"] + 1e-9))
    return max(min(fits), 0)


def tune(
    plan: SearchPlan, backend: SearchBackend | None = None, *, test_best: bool = True
) -> TuneOutcome:
    """Run the search of ``plan`` on the validation split, then test the best configuration once.

    Build the plan with :func:`~recbole_spec.tuning.plan.plan_search`, which checks every
    argument before anything starts: ``tune(plan_search("DirectSpecPlus", "ml-100k",
    out_dir="tune/x"))``.

    Args:
        plan: the checked search (model, dataset, space, out_dir, scheduler, resources, ...).
        backend: what runs the trials (default: :class:`~recbole_spec.tuning.RayBackend`).
        test_best: train the best configuration once more and evaluate it on test
            (``best_test.json``); False stops after ``best.yaml``, for a caller that tests the
            configuration itself (``recbole-spec study``, once per seed).

    Returns:
        The :class:`TuneOutcome`; the files are written into ``plan.out_dir`` as they are
        produced.

    Raises:
        ConfigError: for resources the cluster cannot provide.
        TuneFailedError: when no trial produced a validation result (after writing the tables).
    """
    if backend is None:
        from recbole_spec.tuning.ray_backend import RayBackend

        backend = RayBackend()
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if not plan.resume:
        write_text_atomic(
            plan.out_dir / "search.json",
            json.dumps(plan.identity(), indent=2, default=str) + "\n",
        )
    started = backend.start(plan.address)
    try:
        resources = _trial_resources(plan, backend)
        at_once = trials_at_once(resources, *backend.cluster_resources())
        if plan.max_concurrent:
            at_once = min(at_once, plan.max_concurrent)
        print(
            f"tune: {at_once} trial(s) at once, {resources['cpu']:g} CPU and "
            f"{resources['gpu']:g} GPU each",
            flush=True,
        )
        task = TrialTask(
            model=plan.model,
            dataset=plan.dataset,
            fixed=plan.fixed,
            metric=plan.metric,
            experiment_dir=str(plan.out_dir / EXPERIMENT),
        )
        start = time.monotonic()
        records = backend.fit(plan, task, resources)
        budget_spent = bool(plan.time_budget_s) and (
            time.monotonic() - start >= 0.99 * float(plan.time_budget_s or 0)
        )
    finally:
        if started:
            backend.stop()
    return _finish(plan, records, budget_spent, test_best)


def _finish(
    plan: SearchPlan, records: list[TrialRecord], budget_spent: bool, test_best: bool = True
) -> TuneOutcome:
    """Write the tables and ``best.yaml``, then test the best configuration (once).

    A search with unfinished trials (interrupted) stops after the tables, so that ``--resume``
    can finish it; one that ran out of its time budget is complete with what it has.
    """
    rows = [trial_row(r, plan) for r in records]
    rows.sort(key=lambda row: sort_key(row, plan.mode))
    outcome = TuneOutcome(plan.out_dir, plan.metric, plan.mode, rows)
    outcome.histories = {r.trial_id: list(r.history) for r in records}
    outcome.files.update(write_trial_tables(rows, plan))
    unfinished = [r for r in rows if r.status not in ("TERMINATED", "ERROR")]
    outcome.complete = not unfinished or budget_spent
    scored = [r for r in rows if r.best_value is not None]
    if not outcome.complete:
        return outcome
    if not scored:
        raise TuneFailedError(
            f"no trial produced a validation {plan.metric}; see {outcome.files['md']} and the "
            f"trial logs under {plan.out_dir / EXPERIMENT}\n{outcome.summary()}"
        )
    best = scored[0]
    outcome.best = best
    outcome.best_config = {**plan.fixed, **best.params}
    outcome.best_config.pop("checkpoint_dir", None)
    best_yaml = plan.out_dir / "best.yaml"
    header = (
        f"# Best {plan.model} configuration on {plan.dataset}: trial {best.trial_id}, "
        f"validation {plan.metric} = {best.best_value:.4f} (epoch {best.best_epoch}).\n"
        f"# Searched: {', '.join(plan.space)}. Reproduce with:\n# recbole-spec run "
        f"--model={plan.model} --dataset={plan.dataset} --config_files={best_yaml}\n"
    )
    write_text_atomic(best_yaml, header + yaml.safe_dump(outcome.best_config, sort_keys=True))
    outcome.files["best_yaml"] = best_yaml
    if not test_best:
        return outcome
    outcome.test_result = _test_best(plan, best, best_yaml)
    outcome.files["best_test"] = plan.out_dir / "best_test.json"
    return outcome


def _test_best(plan: SearchPlan, best: TrialRow, best_yaml: Path) -> dict[str, float]:
    """Train the best configuration and evaluate it on test, unless that was already done."""
    from recbole_spec import pipeline

    path = plan.out_dir / "best_test.json"
    if path.exists():
        done = json.loads(path.read_text())
        if done.get("trial_id") == best.trial_id and done.get("params") == _jsonable(best.params):
            return done["test_result"]
    with _cwd(plan.out_dir / "best"):
        result = pipeline.run(
            plan.model,
            plan.dataset,
            config_file_list=[str(best_yaml)],
            config_dict={"checkpoint_dir": str(plan.out_dir / "best" / "checkpoints")},
            saved=True,
        )
    record = {
        "model": plan.model,
        "dataset": plan.dataset,
        "trial_id": best.trial_id,
        "params": _jsonable(best.params),
        "metric": plan.metric,
        "search_valid": best.best_value,
        "valid_result": result["best_valid_result"],
        "test_result": result["test_result"],
        "epochs": result["epochs"],
        "checkpoint": result["checkpoint"],
        "config_file": str(best_yaml),
    }
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    return result["test_result"]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
