"""``tune(plan)`` end to end without Ray: trials run in-process through a fake backend.

:class:`FakeBackend` has :class:`~recbole_spec.tuning.RayBackend`'s interface and runs each
trial by calling :func:`~recbole_spec.tuning.trial.run_trial` directly (real training on the
tiny ``checker`` dataset), so the orchestration (tables, best configuration, the one test run,
resume, output-folder checks) is checked in the default suite; the real Ray searches of
``tests/test_tuning.py`` and ``tests/test_tune_signals.py`` are ``slow``.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml

from recbole_spec import pipeline
from recbole_spec.tuning import (
    EXPERIMENT,
    SearchPlan,
    TrialRecord,
    TuneFailedError,
    format_table,
    plan_search,
    tune,
)
from recbole_spec.tuning.report import TrialRow, early_stopped
from recbole_spec.tuning.search import _trial_resources
from recbole_spec.tuning.trial import TrialTask, run_trial
from recbole_spec.validation import ConfigError
from tests.tuning_support import CountingRun, search_kwargs, tiny

PACKAGE = Path(__file__).resolve().parent.parent / "recbole_spec"


class FakeSession:
    """What a trial asks its backend, answered in-process; reports become the history."""

    def __init__(self, trial_id: str, metric: str) -> None:
        self.id, self.metric = trial_id, metric
        self.history: list[dict[str, Any]] = []

    def trial_id(self) -> str:
        return self.id

    def trial_cpus(self) -> int:
        return 1

    def trial_gpu_ids(self) -> list[str]:
        return []

    def report(self, metrics: dict[str, Any]) -> None:
        self.history.append({"epoch": metrics["epoch"], self.metric: metrics[self.metric]})


class FakeBackend:
    """RayBackend's interface; trial ``i`` takes the ``i``-th probe of every searched key.

    Its "experiment state" is ``search/fake.json``: finished trials are kept on resume.
    """

    def __init__(self, cpus: float = 2.0, gpus: float = 0.0) -> None:
        self.cpus, self.gpus = cpus, gpus
        self.events: list[str] = []
        self.resources: dict[str, float] = {}
        self.ran: list[str] = []

    def can_restore(self, out_dir: Path) -> bool:
        return (out_dir / EXPERIMENT / "fake.json").is_file()

    def start(self, address: str | None) -> bool:
        self.events.append(f"start {address}")
        return True

    def stop(self) -> None:
        self.events.append("stop")

    def cluster_resources(self) -> tuple[float, float]:
        return self.cpus, self.gpus

    def fit(self, plan: SearchPlan, task: TrialTask, resources: dict[str, float]) -> list:
        self.resources = resources
        state = Path(task.experiment_dir) / "fake.json"
        done = json.loads(state.read_text()) if plan.resume else {}
        for i in range(plan.num_samples):
            trial_id = f"fake_{i:05d}"
            if trial_id in done:
                continue
            config = {k: s.probes()[i % len(s.probes())] for k, s in plan.space.items()}
            session = FakeSession(trial_id, task.metric)
            cwd, status, error = os.getcwd(), "TERMINATED", ""
            try:
                run_trial(config, task, session)
            except Exception as err:  # noqa: BLE001 - as Ray: the trial errors, the search goes on
                status = "ERROR"
                error = traceback.format_exception_only(err)[-1].strip()  # Ray's last line
            finally:
                os.chdir(cwd)
            self.ran.append(trial_id)
            path = Path(task.experiment_dir) / f"trial_{trial_id}"
            record = TrialRecord(trial_id, status, config, session.history, 0, error, str(path))
            done[trial_id] = dataclasses.asdict(record)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps(done))
        return [TrialRecord(**fields) for fields in done.values()]


class ScriptedBackend(FakeBackend):
    """Returns the given records without running anything (stop reasons, failures)."""

    def __init__(self, records: list[TrialRecord]) -> None:
        super().__init__()
        self.records = records

    def fit(self, plan: SearchPlan, task: TrialTask, resources: dict[str, float]) -> list:
        return self.records


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("tune_fake")
    kwargs = search_kwargs(tmp, data_root)
    backend, counter = FakeBackend(), CountingRun()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setattr(pipeline, "run", counter)
        outcome = tune(plan_search(**kwargs, backend=backend), backend)
    return {"outcome": outcome, "calls": counter.calls, "kwargs": kwargs, "backend": backend}


def test_tune_plan_writes_table_best_yaml_and_tests_the_best_once(search: dict) -> None:
    outcome, out = search["outcome"], search["kwargs"]["out_dir"]
    backend = search["backend"]
    assert backend.events == ["start None", "stop"]
    assert backend.resources == {"cpu": 1.0, "gpu": 0.0}  # 2 CPUs shared by 2 concurrent trials
    assert search["calls"] == [False, False, True], "trials never test; the best tests once"
    assert outcome.complete and len(outcome.trials) == 2
    with open(out / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["trial_id"] for row in rows] == [t.trial_id for t in outcome.trials]
    assert {(float(r["tau"]), float(r["alpha"])) for r in rows} == {(2.0, 0.5), (4.0, 1.0)}
    assert {r["stop_reason"] for r in rows} == {"max epochs"}
    assert all(r["epochs"] == "2" and r["evaluations"] == "2" for r in rows)
    values = [float(r["best_ndcg@20"]) for r in rows]
    assert values == sorted(values, reverse=True) and outcome.best.best_value == values[0]
    md = (out / "trials.md").read_text()
    assert md.startswith("# DirectSpecPlus on checker: 2 trials, random search, asha scheduler")
    assert sum(line.startswith("| ") for line in md.splitlines()) == 3

    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["tau"] == outcome.best.params["tau"] and best["epochs"] == 2
    assert "checkpoint_dir" not in best and Path(best["data_path"]).is_absolute()
    record = json.loads((out / "best_test.json").read_text())
    assert record["trial_id"] == outcome.best.trial_id
    assert record["test_result"] == outcome.test_result and "ndcg@20" in outcome.test_result
    assert (out / EXPERIMENT / f"trial_{outcome.best.trial_id}" / "log").is_dir()
    summary = outcome.summary()
    assert f"best trial {outcome.best.trial_id}: valid ndcg@20=" in summary
    assert "best config test: " in summary


def test_resume_of_finished_search_reruns_nothing(search: dict) -> None:
    kwargs, first = search["kwargs"], search["outcome"]
    backend, counter = FakeBackend(), CountingRun()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "run", counter)
        again = tune(plan_search(**kwargs, resume=True, backend=backend), backend)
    assert counter.calls == [] and backend.ran == []
    assert [t.trial_id for t in again.trials] == [t.trial_id for t in first.trials]
    assert again.test_result == first.test_result


def test_out_dir_is_protected_and_resume_must_match(search: dict) -> None:
    kwargs, backend = search["kwargs"], FakeBackend()
    with pytest.raises(ConfigError, match="already holds a search"):
        plan_search(**kwargs, backend=backend)
    other = kwargs["out_dir"].parent / "other.yaml"
    other.write_text("tau: {type: uniform, low: 2.0, high: 3.0}\n")
    with pytest.raises(ConfigError, match="differ from the original search in space"):
        plan_search(**{**kwargs, "space_file": other}, resume=True, backend=backend)
    with pytest.raises(ConfigError, match="nothing to resume"):
        empty = kwargs["out_dir"].parent / "empty"
        plan_search(**{**kwargs, "out_dir": empty}, resume=True, backend=backend)


def record(trial_id: str, status: str, values: list[float], **extra: Any) -> TrialRecord:
    history = [{"epoch": e, "ndcg@20": v} for e, v in enumerate(values)]
    fields = {"config": {"alpha": 0.5}, "failures": 0, "error": "", "path": f"/x/{trial_id}"}
    return TrialRecord(trial_id, status, history=history, **{**fields, **extra})


STOPS = [
    record("full", "TERMINATED", [0.1, 0.2, 0.3, 0.3, 0.3, 0.3]),
    record("flat", "TERMINATED", [0.1, 0.4, 0.4, 0.4]),  # ties reset RecBole's counter (>=)
    record("worse", "TERMINATED", [0.3, 0.2, 0.1]),
    record("failed", "ERROR", [0.05], failures=3, error="CUDA out of | memory"),
]


def scripted_plan(tmp: Path, data_root: Path) -> SearchPlan:
    space = tmp / "space.yaml"
    space.write_text("alpha: {type: choice, values: [0.5, 1.0]}\n")
    settings = {**tiny(data_root), "epochs": 6, "stopping_step": 1}
    return plan_search(
        "DirectSpecPlus",
        "checker",
        space,
        out_dir=tmp / "out",
        config_dict=settings,
        backend=FakeBackend(),
    )


def test_stop_reasons_failures_and_best(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = scripted_plan(tmp_path, data_root)
    fake_result = {"best_valid_result": {}, "test_result": {"ndcg@20": 0.5}, "epochs": 6}
    tested: list[Any] = []
    monkeypatch.setattr(
        pipeline, "run", lambda *a, **kw: tested.append(kw) or {**fake_result, "checkpoint": "c"}
    )
    outcome = tune(plan, ScriptedBackend(STOPS))
    reasons = {t.trial_id: t.stop_reason for t in outcome.trials}
    assert reasons == {
        "full": "max epochs",
        "flat": "scheduler",
        "worse": "early stopping",
        "failed": "error",
    }
    assert [t.trial_id for t in outcome.trials] == ["flat", "full", "worse", "failed"]
    assert outcome.best.trial_id == "flat" and outcome.best.best_epoch == 1
    assert len(tested) == 1 and outcome.test_result == {"ndcg@20": 0.5}
    summary = outcome.summary()
    assert "1 trial(s) failed after retries: failed: CUDA out of | memory" in summary
    md = (plan.out_dir / "trials.md").read_text()
    assert "| failed | ERROR | error | 0.5 | 0.0500 | 0 | 1 | 3 | CUDA out of / memory |" in md


def test_unfinished_search_stops_after_the_tables(tmp_path: Path, data_root: Path) -> None:
    plan = scripted_plan(tmp_path, data_root)
    records = [
        record("done", "TERMINATED", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        record("cut", "RUNNING", [0.1, 0.2]),
        record("queued", "PENDING", []),
    ]
    outcome = tune(plan, ScriptedBackend(records))
    assert not outcome.complete and outcome.best is None and outcome.test_result is None
    assert {t.trial_id: t.stop_reason for t in outcome.trials} == {
        "done": "max epochs",
        "cut": "interrupted",
        "queued": "not started",
    }
    assert "search unfinished (2 trial(s) pending); continue it with --resume" in outcome.summary()
    assert (plan.out_dir / "trials.csv").is_file() and not (plan.out_dir / "best.yaml").exists()


def test_search_without_any_result_fails_after_the_tables(tmp_path: Path, data_root: Path) -> None:
    plan = scripted_plan(tmp_path, data_root)
    backend = ScriptedBackend([record("a", "ERROR", [], failures=3, error="boom")])
    with pytest.raises(TuneFailedError, match="no trial produced a validation ndcg@20"):
        tune(plan, backend)
    assert backend.events == ["start None", "stop"], "the backend is stopped after a failure"
    with open(plan.out_dir / "trials.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["status"] == "ERROR" and row["failures"] == "3" and row["best_ndcg@20"] == ""
    assert not (plan.out_dir / "best.yaml").exists()


def test_early_stop_reason_matches_recbole_trainer(tiny_config: dict) -> None:
    """The stop reason replays the trainer's own decision on the history a trial reported."""
    values: list[float] = []
    settings = {**tiny_config, "epochs": 12, "stopping_step": 0, "learning_rate": 0.05}
    pipeline.run(
        "DirectSpecPlus",
        "checker",
        config_dict=settings,
        saved=False,
        callbacks=[lambda epoch, loss, valid: values.append(valid["ndcg@20"])],
        evaluate_test=False,
    )
    assert early_stopped(values, bigger=True, stopping_step=0) == (len(values) < 12)


def test_early_stopping_is_recbole_s() -> None:
    from recbole.utils import early_stopping

    assert not early_stopped([0.1, 0.2, 0.2, 0.2], bigger=True, stopping_step=1)
    assert early_stopped([0.1, 0.2, 0.1, 0.1], bigger=True, stopping_step=1)
    assert early_stopped([0.3, 0.4, 0.5], bigger=False, stopping_step=1)
    assert not early_stopped([0.3, 0.2, 0.1], bigger=False, stopping_step=0)
    best, steps, stop, _ = early_stopping(0.2, 0.2, 0, 0, bigger=True)
    assert (best, steps, stop) == (0.2, 0, False)  # a tie is not a step towards stopping


def test_default_resources_follow_the_cluster() -> None:
    plan = SearchPlan("BPRMF", "x", {}, "", {}, "ndcg@20", "max", Path("/tmp"), max_concurrent=4)
    assert _trial_resources(plan, FakeBackend(16.0, 0.0)) == {"cpu": 4.0, "gpu": 0.0}
    assert _trial_resources(plan, FakeBackend(16.0, 2.0)) == {"cpu": 4.0, "gpu": 1.0}
    with pytest.raises(ConfigError, match="no trial would ever start"):
        _trial_resources(dataclasses.replace(plan, cpus_per_trial=32), FakeBackend(16.0, 0.0))
    with pytest.raises(ConfigError, match="gpus-per-trial=1"):
        _trial_resources(dataclasses.replace(plan, gpus_per_trial=1), FakeBackend(2.0, 0.0))


def test_fractional_gpus_pack_four_trials_on_one_gpu() -> None:
    from recbole_spec.tuning.search import trials_at_once

    plan = SearchPlan("BPRMF", "x", {}, "", {}, "ndcg@20", "max", Path("/tmp"), gpus_per_trial=0.25)
    plan = dataclasses.replace(plan, cpus_per_trial=2)
    resources = _trial_resources(plan, FakeBackend(16.0, 1.0))
    assert resources == {"cpu": 2.0, "gpu": 0.25}
    assert trials_at_once(resources, 16.0, 1.0) == 4  # the GPU is the limit
    assert trials_at_once(resources, 6.0, 1.0) == 3  # the CPUs are
    assert trials_at_once({"cpu": 1.0, "gpu": 0.0}, 16.0, 0.0) == 16
    assert trials_at_once({"cpu": 1.0, "gpu": 0.3}, 16.0, 1.0) == 3


def test_resource_arguments_checked_in_the_plan(tmp_path: Path, data_root: Path) -> None:
    kwargs = search_kwargs(tmp_path, data_root, backend=FakeBackend())
    with pytest.raises(ConfigError, match="'cpus_per_trial' must be a number > 0"):
        plan_search(**kwargs, cpus_per_trial=0)
    with pytest.raises(ConfigError, match="'gpus_per_trial' must be a number >= 0"):
        plan_search(**kwargs, gpus_per_trial=-1)
    plan = plan_search(**kwargs, cpus_per_trial=2, gpus_per_trial=0.5, address="auto")
    assert (plan.cpus_per_trial, plan.gpus_per_trial, plan.address) == (2, 0.5, "auto")
    assert "address" not in plan.identity(), "a resumed search may run on another cluster"


def test_trials_markdown_format() -> None:
    rows = [
        TrialRow(
            "t1", "TERMINATED", "max epochs", {"tau": 2.123456, "n": 3}, 0.25, 4, 5, 5, 0, "", ""
        ),
        TrialRow("t2", "ERROR", "error", {"tau": None, "n": 1}, None, None, 0, 0, 2, "a|b", ""),
    ]
    assert format_table(rows, "ndcg@20").splitlines() == [
        "| trial | status | stop | tau | n | best valid ndcg@20 | best epoch | epochs | failures "
        "| error |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| t1 | TERMINATED | max epochs | 2.123 | 3 | 0.2500 | 4 | 5 | 0 | - |",
        "| t2 | ERROR | error | None | 1 | - | - | 0 | 2 | a/b |",
    ]


def test_tune_command_plans_from_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from recbole_spec.commands import tune as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args, extra = parser.parse_known_args(
        ["tune", "--model=DirectSpecPlus", "--num-samples=6", "--max-concurrent=2", "--epochs=20"]
    )
    assert command.PASSTHROUGH and args.num_samples == 6 and extra == ["--epochs=20"]
    assert not hasattr(args, "func")
    seen: dict[str, Any] = {}

    def fake_plan(*a: Any, **kw: Any) -> str:
        seen.update(kw, args=a)
        return "the plan"

    def fake_tune(plan: Any) -> Any:
        assert plan == "the plan"
        raise TuneFailedError("all trials failed")

    monkeypatch.setattr("recbole_spec.tuning.plan_search", fake_plan)
    monkeypatch.setattr("recbole_spec.tuning.tune", fake_tune)
    assert command.main(args, extra) == 1
    assert seen["overrides"] == ["--epochs=20"] and seen["max_concurrent"] == 2
    assert seen["out_dir"].endswith("DirectSpecPlus-ml-100k")


def test_command_choices_match_the_library() -> None:
    from recbole_spec.commands import tune as command
    from recbole_spec.tuning import SCHEDULERS, SEARCH_ALGS

    assert command.SEARCH_ALGS == SEARCH_ALGS and command.SCHEDULERS == SCHEDULERS


def imports_ray(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "ray" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ray":
            return True
    return False


def test_only_the_ray_backend_imports_ray() -> None:
    importers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if imports_ray(p))
    assert importers == ["tuning/ray_backend.py"]
    code = "import sys, recbole_spec.tuning; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "planning a search must not import Ray"
