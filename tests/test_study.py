"""``recbole-spec study`` on tiny data: one test evaluation per (model, seed), equal budgets,
resume, the paired test against scipy, failure rows; trials through the in-process backend."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from recbole_spec import pipeline
from recbole_spec.study import Ledger, choose_reference, p_values, plan_study, study
from recbole_spec.study.per_user import per_user_values
from recbole_spec.study.plan import variants_dir
from recbole_spec.training.trainer import CheckpointMixin
from recbole_spec.tuning import TrialRecord
from tests.test_tuning_fake import FakeBackend
from tests.tuning_support import tiny

SPACE_DSP = "tau: {type: uniform, low: 2.0, high: 4.0}\nalpha: {type: choice, values: [0.5, 1.0]}\n"
SPACE_BPRMF = "learning_rate: {type: choice, values: [0.001, 0.01]}\n"
TIMINGS = ("build_seconds", "train_seconds", "seconds_to_95", "seconds_per_epoch")


class BudgetBackend(FakeBackend):
    """The fake backend, remembering each search's budget; ``fail`` models' trials all fail."""

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.fail, self.budgets = fail, {}

    def fit(self, plan: Any, task: Any, resources: dict[str, float]) -> list:
        self.budgets[plan.model] = (plan.num_samples, plan.time_budget_s)
        if plan.model in self.fail:
            return [TrialRecord("bad_0", "ERROR", {}, [], 3, "CUDA out of memory", "")]
        return super().fit(plan, task, resources)


class Counter:
    """Counts pipeline runs that test, and test evaluations inside the trainer."""

    def __init__(self, kill_at: int | None = None, fail_model: str | None = None) -> None:
        self.real, self.real_eval = pipeline.run, CheckpointMixin.evaluate
        self.runs = 0
        self.tested: list[str] = []
        self.test_evaluations = 0
        self.kill_at, self.fail_model = kill_at, fail_model

    def run(self, model: Any, *args: Any, **kwargs: Any) -> dict:
        self.runs += 1
        if self.kill_at == self.runs:
            raise KeyboardInterrupt
        if kwargs.get("evaluate_test", True):
            if model == self.fail_model:
                raise RuntimeError("diverged on purpose")
            self.tested.append(str(model))
        return self.real(model, *args, **kwargs)

    def evaluate(self, trainer: Any, eval_data: Any, load_best_model: bool = True, **kw: Any):
        if load_best_model:  # validation passes False; the test evaluation reloads the best
            self.test_evaluations += 1
        return self.real_eval(trainer, eval_data, load_best_model=load_best_model, **kw)


def _plan(tmp: Path, data_root: Path, out: str, backend: Any, models=None) -> Any:
    (tmp / "dsp.yaml").write_text(SPACE_DSP)
    (tmp / "bprmf.yaml").write_text(SPACE_BPRMF)
    models = models or ["DirectSpecPlus", "BPRMF"]
    return plan_study(
        models,
        "checker",
        trials=2,
        seeds=[1, 2],
        out_dir=tmp / out,
        spaces={
            m: str(tmp / ("dsp.yaml" if m == "DirectSpecPlus" else "bprmf.yaml")) for m in models
        },
        config_dict=tiny(data_root),
        backend=backend,
    )


def _run(tmp: Path, data_root: Path, out: str, counter: Counter, backend: Any, models=None):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setattr(pipeline, "run", counter.run)
        mp.setattr(
            CheckpointMixin,
            "evaluate",
            lambda trainer, *args, **kwargs: counter.evaluate(trainer, *args, **kwargs),
        )
        return study(_plan(tmp, data_root, out, backend, models), backend, echo=lambda _: None)


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("study")
    counter, backend = Counter(), BudgetBackend(fail=("BPR",))
    outcome = _run(tmp, data_root, "out", counter, backend, ["DirectSpecPlus", "BPRMF", "BPR"])
    return {"tmp": tmp, "outcome": outcome, "counter": counter, "backend": backend}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as handle:
        return [
            {k: v for k, v in row.items() if not k.startswith(TIMINGS)}
            for row in csv.DictReader(handle)
        ]


def test_test_split_is_evaluated_once_per_model_and_seed(unbroken: dict) -> None:
    counter, out = unbroken["counter"], unbroken["tmp"] / "out"
    assert sorted(counter.tested) == ["BPRMF", "BPRMF", "DirectSpecPlus", "DirectSpecPlus"]
    assert counter.test_evaluations == 2 * 2  # seeds x (models that tuned)
    ledger = Ledger(out)
    assert ledger.count() == {(m, s): 1 for m in ("DirectSpecPlus", "BPRMF") for s in (1, 2)}
    with pytest.raises(RuntimeError, match="already"):
        ledger.record("BPRMF", 1, test_result={})


def test_every_model_gets_the_same_budget(unbroken: dict) -> None:
    budgets = unbroken["backend"].budgets
    assert set(budgets) == {"DirectSpecPlus", "BPRMF", "BPR"}
    assert set(budgets.values()) == {(2, None)}


def test_failed_model_gets_a_row_and_the_others_are_kept(unbroken: dict) -> None:
    out = unbroken["tmp"] / "out"
    rows = {r["model"]: r for r in _rows(out / "results.csv")}
    assert rows["BPR"]["status"] == "failed" and "TuneFailedError" in rows["BPR"]["error"]
    assert rows["DirectSpecPlus"]["status"] == rows["BPRMF"]["status"] == "ok"
    assert float(rows["BPRMF"]["ndcg@20"]) > 0 and rows["BPRMF"]["role"] == "reference"
    assert rows["DirectSpecPlus"]["role"] == "proposed"
    assert 0 <= float(rows["DirectSpecPlus"]["p_ndcg@20"]) <= 1
    md = (out / "results.md").read_text()
    assert "| BPR | baseline |" in md and "failed: tuning: TuneFailedError" in md
    assert "±" in md and r"\pm" in (out / "results.tex").read_text()
    assert (out / "validation.png").stat().st_size and (out / "spectra.png").stat().st_size


def test_timings_include_building_the_model(unbroken: dict) -> None:
    """A closed form (EASE's inverse) is computed while the model is built, not in fit."""
    out = unbroken["tmp"] / "out"
    with open(out / "results.csv") as handle:
        rows = {r["model"]: r for r in csv.DictReader(handle)}
    for model in ("DirectSpecPlus", "BPRMF"):
        assert float(rows[model]["build_seconds"]) > 0 and float(rows[model]["train_seconds"]) > 0
    assert "build_seconds" in (out / "results.md").read_text()


def test_per_user_values_reproduce_the_aggregate(unbroken: dict) -> None:
    out = unbroken["tmp"] / "out"
    for entry in Ledger(out).entries:
        with np.load(out / entry["per_user_file"]) as values:
            for metric in ("ndcg@20", "recall@20"):
                assert round(float(values[metric].mean()), 4) == entry["test_result"][metric]


def test_killed_and_resumed_study_gives_the_same_tables(unbroken: dict, data_root: Path) -> None:
    tmp, models = unbroken["tmp"], ["DirectSpecPlus", "BPRMF", "BPR"]
    backend = BudgetBackend(fail=("BPR",))
    # killed in BPRMF's first trial; then (counting afresh: its 2 trials, DirectSpecPlus's 2
    # seeds) in BPRMF's first retraining
    for kill_at in (3, 5):
        with pytest.raises(KeyboardInterrupt):
            _run(tmp, data_root, "resumed", Counter(kill_at=kill_at), backend, models)
    # the kill in BPRMF's retraining wrote the tables of what was tested: DirectSpecPlus
    partial = {r["model"]: r for r in _rows(tmp / "resumed" / "results.csv")}
    full = {r["model"]: r for r in _rows(tmp / "out" / "results.csv")}
    assert partial["DirectSpecPlus"]["ndcg@20"] == full["DirectSpecPlus"]["ndcg@20"]
    assert partial["BPRMF"]["status"] == "failed" and "interrupted" in partial["BPRMF"]["error"]
    counter = Counter()
    _run(tmp, data_root, "resumed", counter, backend, models)
    assert counter.test_evaluations == 2  # BPRMF's two seeds, which the kills left untested
    assert Ledger(tmp / "resumed").count() == Ledger(tmp / "out").count()
    assert _rows(tmp / "resumed" / "results.csv") == _rows(tmp / "out" / "results.csv")
    again = Counter()
    _run(tmp, data_root, "resumed", again, backend, models)
    assert again.runs == 0 and again.test_evaluations == 0


def test_retraining_failure_is_a_row(tmp_path: Path, data_root: Path) -> None:
    counter = Counter(fail_model="BPRMF")
    outcome = _run(tmp_path, data_root, "out", counter, BudgetBackend())
    assert "retraining seed 1: RuntimeError: diverged on purpose" in outcome.failed["BPRMF"]
    rows = {r["model"]: r for r in _rows(tmp_path / "out" / "results.csv")}
    assert rows["DirectSpecPlus"]["status"] == "ok" and rows["BPRMF"]["status"] == "failed"
    assert rows["DirectSpecPlus"]["role"] == "reference"  # no baseline left: the best overall


def test_retune_searches_one_entry_again_on_the_record(tmp_path: Path, data_root: Path) -> None:
    from recbole_spec.validation import ConfigError

    backend = BudgetBackend()
    _run(tmp_path, data_root, "out", Counter(), backend)
    out = tmp_path / "out"
    before = Ledger(out).entries
    changed = tmp_path / "bprmf2.yaml"
    changed.write_text("learning_rate: {type: choice, values: [0.002, 0.02]}\n")

    def rerun(counter: Counter, retune: tuple[str, ...] = ()) -> Any:
        plan = plan_study(
            ["DirectSpecPlus", "BPRMF"],
            "checker",
            trials=2,
            seeds=[1, 2],
            out_dir=out,
            spaces={"DirectSpecPlus": str(tmp_path / "dsp.yaml"), "BPRMF": str(changed)},
            config_dict=tiny(data_root),
            backend=backend,
            retune=retune,
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(tmp_path)
            mp.setattr(pipeline, "run", counter.run)
            return plan, study(plan, backend, echo=lambda _: None)

    with pytest.raises(ConfigError, match=r"the space of BPRMF changed; --retune=BPRMF searches"):
        rerun(Counter())
    with pytest.raises(ConfigError, match="--retune names"):
        rerun(Counter(), ("BPR",))
    counter = Counter()
    plan, _ = rerun(counter, ("BPRMF",))
    assert plan.retuned == {"BPRMF": 2}
    assert counter.tested == ["BPRMF", "BPRMF"]  # DirectSpecPlus's tests are kept, not redone
    lines = (out / "ledger.discarded.jsonl").read_text().splitlines()
    discarded = [json.loads(line) for line in lines]
    assert [(e["model"], e["seed"]) for e in discarded] == [("BPRMF", 1), ("BPRMF", 2)]
    assert all(e["discarded"] for e in discarded)
    assert Ledger(out).count() == {(m, s): 1 for m in ("DirectSpecPlus", "BPRMF") for s in (1, 2)}
    kept = [e for e in Ledger(out).entries if e["model"] == "DirectSpecPlus"]
    assert kept == [e for e in before if e["model"] == "DirectSpecPlus"]
    saved = json.loads((out / "study.json").read_text())
    assert saved["retuned"][0]["label"] == "BPRMF" and saved["retuned"][0]["discarded_tests"] == 2
    bprmf = next(e for e in saved["entries"] if e["label"] == "BPRMF")
    assert bprmf["space"]["learning_rate"]["values"] == [0.002, 0.02]
    selected = json.loads((out / "tuned" / "BPRMF.json").read_text())
    assert selected["params"]["learning_rate"] in (0.002, 0.02)
    assert (
        "retuned after its space changed: BPRMF (2 earlier test evaluations discarded)"
        in (out / "results.md").read_text()
    )
    again = Counter()
    rerun(again)  # the same command without --retune resumes: nothing left to run
    assert again.runs == 0


def test_wilcoxon_matches_scipy_on_planted_per_user_metrics() -> None:
    rng = np.random.default_rng(0)
    users = np.arange(1, 51)
    planted = {
        name: [
            {"users": rng.permutation(users), "ndcg@20": None, "recall@20": None} for _ in range(3)
        ]
        for name in ("A", "B")
    }
    truth: dict[str, dict[str, np.ndarray]] = {}
    for name, shift in (("A", 0.05), ("B", 0.0)):
        truth[name] = {}
        for metric in ("ndcg@20", "recall@20"):
            table = rng.random((3, 51)) * 0.5 + shift
            for seed, run in enumerate(planted[name]):
                run[metric] = table[seed, run["users"]]
            truth[name][metric] = table[:, 1:].mean(0)  # per-user mean over the seeds
    got = p_values(planted, "B")
    for metric in ("ndcg@20", "recall@20"):
        want = stats.wilcoxon(truth["A"][metric], truth["B"][metric]).pvalue
        assert got["A"][metric] == pytest.approx(want, rel=1e-12)
    assert set(got) == {"A"}
    assert choose_reference({"A": 0.3, "B": 0.2, "C": 0.25}, {"A": True, "B": False, "C": False})
    assert choose_reference({"A": 0.3, "C": 0.25}, {"A": True, "C": False}) == "C"
    assert choose_reference({"A": 0.3, "D": 0.4}, {"A": True, "D": True}) == "D"


def test_per_user_values_are_recboles_metrics() -> None:
    topk = np.array([[1, 0, 1, 3], [0, 0, 0, 1], [0, 1, 0, 1]])
    values = per_user_values(topk, 3)
    idcg2 = 1 + 1 / np.log2(3)
    assert values["ndcg@3"] == pytest.approx([(1 + 0.5) / (idcg2 + 0.5), 0.0, 1 / np.log2(3)])
    assert values["recall@3"] == pytest.approx([2 / 3, 0.0, 1.0])


def test_bad_input_is_refused_before_training(tmp_path: Path, data_root: Path) -> None:
    from recbole_spec.validation import ConfigError

    backend = BudgetBackend()
    grid = tmp_path / "grid.yaml"
    grid.write_text("tau: {type: grid, values: [2.0, 3.0, 4.0]}\n")
    common = {"seeds": [1], "config_dict": tiny(data_root), "backend": backend}
    with pytest.raises(ConfigError, match="not a multiple of the 3 grid points"):
        plan_study(
            ["DirectSpecPlus"],
            "checker",
            trials=2,
            out_dir=tmp_path / "a",
            spaces={"DirectSpecPlus": str(grid)},
            **common,
        )
    with pytest.raises(ConfigError, match="no variant space"):
        plan_study(["DirectSpecPlus@nope"], "checker", trials=2, out_dir=tmp_path / "b", **common)
    with pytest.raises(ConfigError, match="'--seed=' is not an override"):
        plan_study(
            ["BPRMF"], "checker", trials=2, out_dir=tmp_path / "c", overrides=["--seed=3"], **common
        )
    plan_study(["BPRMF"], "checker", trials=2, out_dir=tmp_path / "d", **common)
    with pytest.raises(ConfigError, match="holds a study with other trials"):
        plan_study(["BPRMF"], "checker", trials=4, out_dir=tmp_path / "d", **common)


SHIPPED = sorted(p.stem for p in (variants_dir().parent).glob("*.yaml")) + sorted(
    p.stem for p in variants_dir().glob("*.yaml")
)


@pytest.mark.parametrize("entry", SHIPPED)
def test_shipped_spaces_plan_with_a_budget_of_nine(tmp_path: Path, data_root: Path, entry: str):
    plan = plan_study(
        [entry],
        "checker",
        trials=9,
        seeds=[1],
        out_dir=tmp_path / "s",
        config_dict=tiny(data_root),
        backend=BudgetBackend(),
    )
    search = plan.searches[entry]
    assert search.space and search.metric == "ndcg@20"
    source = plan.entries[0].space_file.read_text()
    assert "Source" in source or "source" in source or "official" in source


def test_cli_study_on_ml100k_with_ray(tmp_path: Path, ray_root: Path) -> None:
    """End to end: two tiny models, 2 trials, 2 epochs, 2 seeds, real Ray (~1 minute)."""
    from tests.conftest import ray_env

    command = [
        sys.executable,
        "-m",
        "recbole_spec",
        "study",
        "--models=BPR,BPRMF",
        "--dataset=ml-100k",
        "--trials=2",
        "--epochs=2",
        "--seeds=1,2",
        f"--out={tmp_path / 'out'}",
        "--max-concurrent=2",
        "--embedding_size=16",
        "--train_batch_size=4096",
        "--state=WARNING",
    ]
    env = {**__import__("os").environ, **ray_env(ray_root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = tmp_path / "out"
    assert Ledger(out).count() == {(m, s): 1 for m in ("BPR", "BPRMF") for s in (1, 2)}
    rows = {r["model"]: r for r in _rows(out / "results.csv")}
    assert rows["BPR"]["status"] == rows["BPRMF"]["status"] == "ok"
    assert json.loads((out / "tuned" / "BPR.json").read_text())["trials"] == 2


def test_trial_resources_reach_every_search(tmp_path: Path, data_root: Path) -> None:
    """``--cpus-per-trial=1`` (one torch thread per trial on a busy machine) and fractional
    GPUs reach each model's search, as with ``tune``."""
    plan = plan_study(
        ["BPRMF", "DirectSpecPlus"],
        "checker",
        trials=2,
        seeds=[1],
        out_dir=tmp_path / "s",
        config_dict=tiny(data_root),
        cpus_per_trial=1,
        gpus_per_trial=0.25,
        backend=BudgetBackend(),
    )
    assert {(s.cpus_per_trial, s.gpus_per_trial) for s in plan.searches.values()} == {(1, 0.25)}


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '{"model": "BPRMF"}'], ids=["garbled", "a list", "no seed"]
)
def test_a_hand_edited_ledger_line_is_one_line_error(tmp_path: Path, text: str) -> None:
    """Issue 22: a corrupted or hand-edited ledger names the file and line, never a traceback."""
    from recbole_spec.validation import ConfigError

    (tmp_path / "ledger.jsonl").write_text('{"model": "BPRMF", "seed": 1}\n' + text + "\n")
    with pytest.raises(ConfigError, match=r"ledger\.jsonl line 2"):
        Ledger(tmp_path)


@pytest.mark.parametrize("text", ["", "{oops", "[]"], ids=["empty", "garbled", "a list"])
def test_a_damaged_study_json_is_one_line_error(tmp_path: Path, data_root: Path, text: str) -> None:
    from recbole_spec.validation import ConfigError

    common = {"seeds": [1], "config_dict": tiny(data_root), "backend": BudgetBackend()}
    plan_study(["BPRMF"], "checker", trials=2, out_dir=tmp_path / "s", **common)
    (tmp_path / "s" / "study.json").write_text(text)
    with pytest.raises(ConfigError, match=r"study\.json cannot be read"):
        plan_study(["BPRMF"], "checker", trials=2, out_dir=tmp_path / "s", **common)
