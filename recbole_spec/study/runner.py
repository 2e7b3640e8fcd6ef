"""``study(plan)``: tune every entry on validation, retrain per seed, test once each, tabulate.

1. Tuning: each entry's :class:`~recbole_spec.tuning.plan.SearchPlan` runs through
   :func:`recbole_spec.tuning.tune` with ``test_best=False`` (the search never touches test);
   its selection goes to ``tuned/<entry>.json``. A killed search resumes from Ray's state.
2. Retraining: the selected ``best.yaml`` once per seed (:mod:`~recbole_spec.study.retrain`),
   skipped for every (entry, seed) in the ledger.
3. Results: :mod:`~recbole_spec.study.tables`, :mod:`~recbole_spec.study.plots`, the paired
   tests of :mod:`~recbole_spec.study.significance`.

An entry that fails (no trial with a validation result, or a retraining that raises) gets a row
with the reason; the others go on. Ctrl-C and unfinished searches stop the study, resumable by
rerunning the same command.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recbole_spec.atomic import write_text_atomic
from recbole_spec.pipeline import RunInterrupted
from recbole_spec.study.ledger import LEDGER, Ledger
from recbole_spec.study.plan import STUDY_JSON, StudyPlan
from recbole_spec.study.plots import (
    SPECTRA_PNG,
    VALIDATION_PNG,
    plot_study_spectra,
    plot_validation,
)
from recbole_spec.study.retrain import load_per_user, retrain, run_path
from recbole_spec.study.retune import TUNED_DIR, retune_lines
from recbole_spec.study.significance import choose_reference, p_values
from recbole_spec.study.tables import StudyResults, write_tables
from recbole_spec.tuning import tune


class StudyUnfinished(RuntimeError):
    """A search stopped with trials pending (interrupted): rerun the same command."""


@dataclass
class StudyOutcome:
    """What :func:`study` produced: the tables' content and the written files."""

    results: StudyResults
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> dict[str, str]:
        """Entry -> why it failed."""
        return self.results.failures


def _reason(stage: str, err: BaseException, out_dir: Path) -> str:
    """One line: the stage, the error and its first line, paths relative to the study folder."""
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{stage}: {type(err).__name__}: {first}".replace(f"{out_dir}/", "")[:300]


def _tune_entry(plan: StudyPlan, label: str, backend: Any, echo: Callable[[str], None]) -> dict:
    """The entry's selection, from ``tuned/<entry>.json`` or from its (resumed) search."""
    path = plan.out_dir / TUNED_DIR / f"{label}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    search = plan.searches[label]
    echo(
        f"{label}: tuning, {plan.trials} trials"
        + (f", {plan.time_budget_s:g} s" if plan.time_budget_s else "")
        + " ..."
    )
    start = time.perf_counter()
    outcome = tune(search, backend, test_best=False)
    if not outcome.complete or outcome.best is None:
        raise StudyUnfinished(
            f"the search of {label} stopped with trials pending; rerun the same command"
        )
    best = outcome.best
    selected = {
        "label": label,
        "trial_id": best.trial_id,
        "params": best.params,
        "valid": best.best_value,
        "best_epoch": best.best_epoch,
        "metric": outcome.metric,
        "mode": outcome.mode,
        "trials": len(outcome.trials),
        "failed_trials": sum(t.status == "ERROR" for t in outcome.trials),
        "best_yaml": str(outcome.files["best_yaml"]),
        "history": outcome.histories.get(best.trial_id, []),
        "tune_seconds": time.perf_counter() - start,
    }
    write_text_atomic(path, json.dumps(selected, indent=1, default=str))
    return selected


def _header(plan: StudyPlan, results: StudyResults, metric: str) -> list[str]:
    budget = (
        f"{plan.trials} trials"
        + (f" and {plan.time_budget_s:g} s" if plan.time_budget_s else "")
        + " per model"
    )
    return [
        f"# recbole-spec study: {plan.dataset}",
        "",
        f"- budget: {budget}, the same for every model; selection on validation {metric}",
        f"- seeds: {', '.join(map(str, plan.seeds))} (mean ± sample std over the seeds); each "
        "seed retrains the selected configuration and evaluates test once (`ledger.jsonl`)",
        f"- reference (best baseline by mean test ndcg@20): {results.reference or 'none'}",
        "- p: two-sided Wilcoxon signed-rank test on per-user values (averaged over the seeds) "
        "against the reference",
        f"- overrides: `{' '.join(plan.overrides)}`" if plan.overrides else "- overrides: none",
        "- erank, stable rank: raw [U; I] table; uniformity t = 2; build_seconds: wall time of "
        "building the model (closed forms: EASE's inverse, GF-CF's SVD); train_seconds: wall "
        "time of fit; seconds_to_95: until validation first reached 95% of its best",
        f"- figures: `{VALIDATION_PNG}` (best trial's validation curve), `{SPECTRA_PNG}`",
        *retune_lines(json.loads((plan.out_dir / STUDY_JSON).read_text(encoding="utf-8"))),
    ]


def study(
    plan: StudyPlan, backend: Any = None, echo: Callable[[str], None] = print
) -> StudyOutcome:
    """Run (or resume) ``plan``: tune, retrain per seed, test once each, write the results.

    Raises:
        StudyUnfinished: a search stopped with trials pending (rerun to resume).
        RunInterrupted, KeyboardInterrupt: Ctrl-C (rerun to resume).
    """
    ledger = Ledger(plan.out_dir)
    failures: dict[str, str] = {}
    selected: dict[str, dict] = {}
    tuned = plan.out_dir / TUNED_DIR
    pending = [e for e in plan.entries if not (tuned / f"{e.label}.json").exists()]
    if backend is None and pending:
        from recbole_spec.tuning.ray_backend import RayBackend

        backend = RayBackend()
    started = backend.start(None) if pending else False  # one cluster for every search
    try:
        for entry in plan.entries:
            try:
                selected[entry.label] = _tune_entry(plan, entry.label, backend, echo)
            except (KeyboardInterrupt, RunInterrupted, StudyUnfinished):
                raise
            except Exception as err:  # one model's failure is its row, not the study's end
                failures[entry.label] = _reason("tuning", err, plan.out_dir)
                echo(f"{entry.label}: {failures[entry.label]}")
    finally:
        if started:
            backend.stop()
    records: dict[str, list[dict[str, Any]]] = {}
    per_user: dict[str, list[dict]] = {}
    settings = {"study": str(plan.out_dir / "study.json")}
    previous = Path.cwd()
    (plan.out_dir / "retrain").mkdir(parents=True, exist_ok=True)
    os.chdir(plan.out_dir / "retrain")  # RecBole writes log/ into the working folder
    try:
        for entry in plan.entries:
            if entry.label in failures:
                continue
            choice, runs = selected[entry.label], []
            for seed in plan.seeds:
                if ledger.get(entry.label, seed):
                    path = run_path(plan.out_dir, entry.label, seed)
                    runs.append(json.loads(path.read_text(encoding="utf-8")))
                    echo(f"{entry.label} seed={seed}: tested before ({LEDGER}), skipped")
                    continue
                echo(f"{entry.label} seed={seed}: retraining the selected configuration ...")
                try:
                    runs.append(
                        retrain(
                            label=entry.label,
                            model=entry.model,
                            dataset=plan.dataset,
                            seed=seed,
                            best_yaml=Path(choice["best_yaml"]),
                            metric=choice["metric"],
                            bigger=choice["mode"] == "max",
                            out_dir=plan.out_dir,
                            overrides=plan.overrides,
                            settings=settings,
                            ledger=ledger,
                        )
                    )
                except (KeyboardInterrupt, RunInterrupted):
                    try:
                        _write_partial(plan, selected, records, per_user, failures, echo)
                    except Exception as err:  # never hide the interruption behind it
                        echo(f"partial results not written ({type(err).__name__}: {err})")
                    raise
                except Exception as err:
                    failures[entry.label] = _reason(f"retraining seed {seed}", err, plan.out_dir)
                    echo(f"{entry.label}: {failures[entry.label]}")
                    break
            if entry.label not in failures:
                records[entry.label] = runs
                per_user[entry.label] = [
                    load_per_user(run_path(plan.out_dir, entry.label, s, ".npz"))
                    for s in plan.seeds
                ]
    finally:
        os.chdir(previous)
    return _write(plan, selected, records, per_user, failures)


INTERRUPTED = "not tested yet (the study was interrupted); rerun the same command to resume"


def _write_partial(
    plan: StudyPlan,
    selected: dict[str, dict],
    records: dict[str, list[dict[str, Any]]],
    per_user: dict[str, list[dict]],
    failures: dict[str, str],
    echo: Callable[[str], None],
) -> None:
    """On an interruption during retraining: the tables of the models tested so far.

    Every model not finished gets a row saying it is not tested yet (or why it failed); the
    ledger and the run records are untouched, so the rerun resumes and rewrites the tables.
    """
    pending = {e.label: INTERRUPTED for e in plan.entries if e.label not in records}
    outcome = _write(plan, selected, records, per_user, {**pending, **failures})
    echo("partial results (models tested so far): " + str(outcome.files["md"]))


def _write(
    plan: StudyPlan,
    selected: dict[str, dict],
    records: dict[str, list[dict[str, Any]]],
    per_user: dict[str, list[dict]],
    failures: dict[str, str],
) -> StudyOutcome:
    proposed = {e.label: e.proposed for e in plan.entries}
    mean_ndcg = {
        label: statistics.fmean(r["test_result"]["ndcg@20"] for r in runs)
        for label, runs in records.items()
    }
    reference = choose_reference(mean_ndcg, proposed)
    results = StudyResults(
        records=records,
        failures=failures,
        proposed=proposed,
        order=[e.label for e in plan.entries],
        reference=reference,
        p_values=p_values(per_user, reference) if reference else {},
    )
    metric = next(iter(plan.searches.values())).metric
    results.header = _header(plan, results, metric)
    out = plan.out_dir
    files = write_tables(results, out, f"recbole-spec study on {plan.dataset}")
    curves = {label: s.get("history", []) for label, s in selected.items() if label in records}
    validation = plot_validation(
        curves, metric, out / VALIDATION_PNG, f"Validation {metric} of each best trial"
    )
    spectra = plot_study_spectra(records, out / SPECTRA_PNG, plan.dataset)
    files.update({k: v for k, v in (("validation", validation), ("spectra", spectra)) if v})
    return StudyOutcome(results, files)
