"""Issue 7: Ray Tune search selected on validation, tested once, resumable, checked before Ray.

The search tests (marked ``slow``) run a real 2-trial Ray search on the tiny ``checker`` dataset
on CPU (2 epochs); ``tests/test_tuning_fake.py`` runs the same orchestration in the default suite
through an in-process backend. The validation tests assert that Ray was never started.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from recbole_spec import pipeline
from recbole_spec.tuning import (
    TuneFailedError,
    list_spaces,
    load_space,
    parse_space,
    plan_search,
    tune,
)
from recbole_spec.validation import ConfigError

ray = pytest.importorskip("ray", reason="tuning needs Ray (absent from the GPU image)")
from recbole_spec.tuning import RayBackend  # noqa: E402 - after the skip: it imports Ray
from tests.tuning_support import SPACE, CountingRun, search_kwargs, tiny  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent
OUTSIDE = {
    "~/ray_results": Path.home() / "ray_results",
    "~/.ray/auth_token": Path.home() / ".ray" / "auth_token",
    "log/ in the checkout": CHECKOUT / "log",
    "log_tensorboard/ in the checkout": CHECKOUT / "log_tensorboard",
}


class SessionDir:
    """Wraps RayBackend.start in the driver: records the Ray session folder it opened."""

    def __init__(self) -> None:
        self.real = RayBackend.start
        self.paths: list[str] = []

    def __call__(self, address: str | None) -> bool:
        started = self.real(address)
        self.paths.append(ray._private.worker._global_node.get_session_dir_path())
        return started


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("tune")
    kwargs = search_kwargs(tmp, data_root)
    counter = CountingRun()
    session = SessionDir()
    existed = {name: path.exists() for name, path in OUTSIDE.items()}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setattr(pipeline, "run", counter)
        mp.setattr(RayBackend, "start", staticmethod(session))
        outcome = tune(plan_search(**kwargs))
    assert not ray.is_initialized()
    created = [name for name, path in OUTSIDE.items() if path.exists() and not existed[name]]
    return {
        "outcome": outcome,
        "calls": counter.calls,
        "kwargs": kwargs,
        "tmp": tmp,
        "sessions": session.paths,
        "created": created,
    }


@pytest.mark.slow
def test_two_trial_search_table_best_yaml_and_one_test_run(search: dict[str, Any]) -> None:
    outcome = search["outcome"]
    out = search["kwargs"]["out_dir"]
    assert len(outcome.trials) == 2
    assert outcome.complete and outcome.best is not None

    with open(out / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    for column in ("trial_id", "status", "stop_reason", "tau", "alpha", "best_ndcg@20", "epochs"):
        assert column in rows[0]
    assert {row["status"] for row in rows} == {"TERMINATED"}
    assert all(int(row["epochs"]) >= 1 and float(row["best_ndcg@20"]) > 0 for row in rows)
    assert all(
        2.0 <= float(row["tau"]) <= 4.0 and float(row["alpha"]) in (0.5, 1.0) for row in rows
    )
    best_value = max(float(row["best_ndcg@20"]) for row in rows)
    assert outcome.best.best_value == pytest.approx(best_value)
    md = (out / "trials.md").read_text().splitlines()
    assert sum(line.startswith("| ") for line in md) == 3  # header + 2 trials

    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["tau"] == pytest.approx(outcome.best.params["tau"])
    assert best["alpha"] == outcome.best.params["alpha"]
    assert best["epochs"] == 2 and Path(best["data_path"]).is_absolute()
    config = pipeline.build_config("DirectSpecPlus", "checker", [out / "best.yaml"])
    assert config["tau"] == pytest.approx(best["tau"])

    assert search["calls"] == [True], "the test split must be evaluated exactly once"
    record = json.loads((out / "best_test.json").read_text())
    assert record["trial_id"] == outcome.best.trial_id
    assert set(record["test_result"]) >= {"ndcg@20", "recall@20"}
    assert outcome.test_result == record["test_result"]
    for row in rows:
        header = (Path(row["path"]) / "progress.csv").read_text().splitlines()[0]
        assert "ndcg@20" in header and "test" not in header
        assert Path(row["path"]).parent == out / "search"
        assert (Path(row["path"]) / "log").is_dir(), "RecBole's log belongs in the trial dir"


@pytest.mark.slow
def test_search_writes_only_under_pytest_tmp(search: dict[str, Any]) -> None:
    """Issue 12.9: no ~/ray_results, Ray session folder or log/ outside pytest's folders."""
    assert search["created"] == []
    assert search["sessions"], "the search started no Ray"
    base = Path(os.environ["RAY_TMPDIR"]).resolve()
    for session in search["sessions"]:
        assert Path(session).resolve().is_relative_to(base)
    assert not list(Path(search["tmp"]).glob("log")), "trials must log in their own folders"


@pytest.mark.slow
def test_resume_of_finished_search_reruns_nothing(search: dict[str, Any]) -> None:
    kwargs = search["kwargs"]
    out = kwargs["out_dir"]
    progress = {p: p.read_text() for p in out.glob("search/*/progress.csv")}
    counter = CountingRun()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(search["tmp"])
        mp.setattr(pipeline, "run", counter)
        again = tune(plan_search(**kwargs, resume=True))
    assert not ray.is_initialized()
    assert counter.calls == []
    assert [t.trial_id for t in again.trials] == [t.trial_id for t in search["outcome"].trials]
    assert {p: p.read_text() for p in out.glob("search/*/progress.csv")} == progress
    assert again.test_result == search["outcome"].test_result


@pytest.mark.slow
def test_out_dir_is_protected_and_resume_must_match(search: dict[str, Any]) -> None:
    kwargs = search["kwargs"]
    with pytest.raises(ConfigError, match="already holds a search"):
        plan_search(**kwargs)
    other = search["tmp"] / "other.yaml"
    other.write_text("tau: {type: uniform, low: 2.0, high: 3.0}\n")
    with pytest.raises(ConfigError, match="differ from the original search in space"):
        plan_search(**{**kwargs, "space_file": other}, resume=True)
    with pytest.raises(ConfigError, match="nothing to resume"):
        plan_search(**{**kwargs, "out_dir": search["tmp"] / "empty"}, resume=True)
    assert not ray.is_initialized()


BAD_SPACES = [
    ("taux: {type: uniform, low: 2.0, high: 4.0}", r"unknown parameter.*did you mean 'tau'"),
    ("tau: {type: uniform, low: 3.0, high: 3.0}", r"'tau': empty range"),
    ("tau: {type: uniform, low: 4.0, high: 2.0}", r"'low' must be < 'high'"),
    ("tau: {type: uniform, low: two, high: 4.0}", r"'low' must be a number"),
    ("tau: {type: choice, values: []}", r"non-empty list"),
    ("tau: {type: normal, low: 1, high: 2}", r"'type' must be one of"),
    ("tau: [2.0, 3.0]", r"must be a mapping"),
    ("tau: {type: uniform, low: 1.0}", r"missing: \['high'\]"),
    ("n_layers: {type: uniform, low: 1, high: 3}", r"integer key"),
    ("tau_mode: {type: uniform, low: 1, high: 2}", r"str key"),
    (
        "tau: {type: uniform, low: -1.0, high: 4.0}",
        r"rejected by DirectSpecPlus.*'tau' must be > 0",
    ),
    ("epochs: {type: randint, low: 1, high: 5}", r"cannot be searched"),
    ("learning_rate: {type: loguniform, low: 0.0, high: 0.1}", r"low > 0"),
    ("n_layers: {type: grid, values: [2, 2]}", r"duplicates"),
    ("[]", r"expected a mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SPACES)
def test_invalid_space_rejected_before_ray(
    tmp_path: Path, data_root: Path, text: str, message: str
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        tune(
            plan_search(
                "DirectSpecPlus",
                "checker",
                space,
                out_dir=tmp_path / "out",
                num_samples=2,
                config_dict=tiny(data_root),
            )
        )
    assert not ray.is_initialized()
    assert not (tmp_path / "out").exists()


def test_searched_key_also_fixed_and_grid_rules(tmp_path: Path, data_root: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    common = {"out_dir": tmp_path / "out", "config_dict": tiny(data_root)}
    with pytest.raises(ConfigError, match="'tau' is searched but also fixed"):
        plan_search("DirectSpecPlus", "checker", space, overrides=["--tau=3.0"], **common)
    with pytest.raises(ConfigError, match="grid search needs listed values"):
        plan_search("DirectSpecPlus", "checker", space, search_alg="grid", **common)
    with pytest.raises(ConfigError, match="'search_alg' must be one of"):
        plan_search("DirectSpecPlus", "checker", space, search_alg="bayes", **common)
    with pytest.raises(ConfigError, match="'num_samples' must be an integer > 0"):
        plan_search("DirectSpecPlus", "checker", space, num_samples=0, **common)
    grid = tmp_path / "grid.yaml"
    grid.write_text("alpha: {type: choice, values: [0.5, 1.0]}\n")
    plan = plan_search("DirectSpecPlus", "checker", grid, search_alg="grid", **common)
    assert plan.space["alpha"].values == (0.5, 1.0)
    assert not ray.is_initialized()


@pytest.mark.parametrize("model", [*list_spaces(), "recbole.LightGCN"])
def test_shipped_spaces_are_valid(tmp_path: Path, data_root: Path, model: str) -> None:
    plan = plan_search(model, "checker", out_dir=tmp_path / "out", config_dict=tiny(data_root))
    assert plan.space and plan.metric == "ndcg@20" and plan.mode == "max"
    assert Path(plan.fixed["data_path"]).is_absolute()
    assert Path(plan.fixed["checkpoint_dir"]).is_absolute()


def test_directspecplus_space_covers_issue_keys() -> None:
    from recbole_spec.paths import properties_dir

    space = load_space(properties_dir() / "tune" / "DirectSpecPlus.yaml")
    assert {"tau", "alpha", "learning_rate", "reg_weight", "stable_rank_weight"} <= set(space)


def test_parse_space_keeps_order_and_types() -> None:
    space = parse_space(
        {
            "n_layers": {"type": "randint", "low": 1, "high": 3},
            "tau": {"type": "grid", "values": [2]},
        }
    )
    assert list(space) == ["n_layers", "tau"]
    assert space["n_layers"].probes() == [1, 3]


@pytest.mark.slow
def test_failing_trial_is_retried_then_reported(tmp_path: Path, data_root: Path) -> None:
    space = tmp_path / "space.yaml"
    # passes every config check, fails in the trial: 2**40 columns cannot be allocated
    space.write_text("embedding_size: {type: grid, values: [1099511627776]}\n")
    plan = plan_search(
        "DirectSpecPlus",
        "checker",
        space,
        out_dir=tmp_path / "out",
        num_samples=1,
        max_failures=1,
        config_dict={k: v for k, v in tiny(data_root).items() if k != "embedding_size"},
        verbose=0,
    )
    with pytest.raises(TuneFailedError, match="no trial produced"):
        tune(plan)
    assert not ray.is_initialized()
    with open(tmp_path / "out" / "trials.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["status"] == "ERROR" and row["failures"] == "2" and row["error"]
    assert not (tmp_path / "out" / "best.yaml").exists()


def test_run_without_test_evaluation(tiny_config: dict) -> None:
    calls: list[Any] = []
    result = pipeline.run(
        "DirectSpecPlus",
        "checker",
        config_dict=tiny_config,
        saved=False,
        callbacks=[lambda epoch, loss, valid: calls.append(valid)],
        evaluate_test=False,
    )
    assert result["test_result"] is None
    assert calls and "ndcg@20" in calls[-1]


def test_concurrency_limit_reaches_the_search_algorithm() -> None:
    # Ray 2.6 ignores TuneConfig.max_concurrent_trials for a BasicVariantGenerator instance.
    assert RayBackend.searcher("random", 7, 3).max_concurrent == 3
    assert RayBackend.searcher("grid", 7, None).max_concurrent == 0
    assert not ray.is_initialized()
