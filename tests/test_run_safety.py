"""A user's slips never cost a checkpoint: wrong resume files, divergence, Ctrl-C, console noise."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from recbole_spec import cli, run
from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.pipeline import RunFailed, RunInterrupted
from recbole_spec.training.checkpoint import load_checkpoint
from recbole_spec.validation import ConfigError


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture()
def finished(tiny_config: dict) -> dict:
    """A finished 3-epoch BPRMF run: its best and last checkpoints."""
    result = run("BPRMF", "checker", config_dict={**tiny_config, "epochs": 3, "stopping_step": 9})
    best = result["checkpoint"]
    return {"best": best, "last": best.removesuffix(".pth") + "-last.pth", "config": tiny_config}


@pytest.mark.parametrize(
    ("model", "extra", "named"),
    [
        ("DirectSpecPlus", {}, "its model is 'BPRMF'"),
        ("BPRMF", {"embedding_size": 8}, "its embedding_size is 16"),
        ("BPRMF", {"learner": "sgd"}, "its learner is 'adam'"),
    ],
)
def test_resume_refuses_another_runs_checkpoint_and_leaves_it_untouched(
    finished: dict, model: str, extra: dict, named: str
) -> None:
    before = {p: _digest(p) for p in (finished["best"], finished["last"])}
    settings = {**finished["config"], **extra, "epochs": 5, "resume_from": finished["last"]}
    with pytest.raises(ConfigError, match=named) as err:
        run(model, "checker", config_dict=settings)
    assert "\n" not in str(err.value)
    assert {p: _digest(p) for p in before} == before


def test_resume_with_nothing_left_to_train_keeps_the_best_checkpoint(finished: dict) -> None:
    before = _digest(finished["best"])
    settings = {**finished["config"], "epochs": 3, "resume_from": finished["last"]}
    result = run("BPRMF", "checker", config_dict=settings)
    assert result["checkpoint"] == finished["best"]
    assert _digest(finished["best"]) == before
    assert result["epochs"] == 3


def test_truncated_checkpoint_is_refused_in_one_line(finished: dict, workdir: Path) -> None:
    broken = workdir / "broken-last.pth"
    broken.write_bytes(Path(finished["last"]).read_bytes()[:200])
    with pytest.raises(ConfigError, match="cannot resume") as err:
        run("BPRMF", "checker", config_dict={**finished["config"], "resume_from": str(broken)})
    assert "\n" not in str(err.value)


def test_resume_with_recbole_batches_equals_the_unbroken_run(tiny_config: dict) -> None:
    """Shuffling (torch generator) and negatives (numpy) continue exactly after a resume."""
    settings = {**tiny_config, "stopping_step": 100, "neg_ratio": 2}
    unbroken = run("BPRMF", "checker", config_dict={**settings, "epochs": 4})
    first = run("BPRMF", "checker", config_dict={**settings, "epochs": 2})
    last = first["checkpoint"].removesuffix(".pth") + "-last.pth"  # after epoch 0
    resumed = run("BPRMF", "checker", config_dict={**settings, "epochs": 4, "resume_from": last})
    losses = unbroken["trainer"].train_loss_dict
    assert sorted(resumed["trainer"].train_loss_dict) == [1, 2, 3]
    for epoch in (1, 2, 3):
        assert resumed["trainer"].train_loss_dict[epoch] == losses[epoch]
    assert resumed["test_result"] == unbroken["test_result"]
    assert resumed["epochs"] == 4


def test_two_runs_started_in_the_same_second_never_share_a_checkpoint(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recbole.trainer.trainer as recbole_trainer

    monkeypatch.setattr(recbole_trainer, "get_local_time", lambda: "Nov-27-2026_12-00-00")
    first = run("BPRMF", "checker", config_dict=tiny_config)
    second = run("BPRMF", "checker", config_dict=tiny_config)
    assert first["checkpoint"] != second["checkpoint"]
    assert load_checkpoint(first["checkpoint"])["best_model_file"] == first["checkpoint"]


def test_divergence_stops_keeps_the_best_checkpoint_and_still_tests(tiny_config: dict) -> None:
    """A non-finite loss ends training; the diverged weights never become the best model."""

    class Blow:
        """From epoch 2 on the loss is infinite, as when SGD overshoots."""

        epoch = 0

        def bind(self, trainer) -> None:
            original = trainer.model.calculate_loss

            def loss(interaction):
                value = original(interaction)
                if self.epoch < 1:
                    return value
                if isinstance(value, tuple):
                    return (value[0] * math.inf, *value[1:])
                return value * math.inf

            trainer.model.calculate_loss = loss

        def __call__(self, epoch, loss, result) -> None:
            self.epoch = epoch

    settings = {**tiny_config, "epochs": 6, "stopping_step": 100, "valid_metric": "NDCG@10"}
    result = run("BPRMF", "checker", config_dict=settings, callbacks=[SpectrumMonitor(), Blow()])
    assert result["diverged"] and "epoch 2" in result["diverged"]
    assert sorted(result["trainer"].train_loss_dict) == [0, 1]
    best = load_checkpoint(result["checkpoint"])
    assert all(t.isfinite().all() for t in best["state_dict"].values())
    assert all(math.isfinite(v) for v in result["test_result"].values())


def test_divergence_before_any_checkpoint_is_one_clear_error(tiny_config: dict) -> None:
    settings = {**tiny_config, "epochs": 3, "learner": "sgd", "learning_rate": 1e30}
    with pytest.raises(RunFailed, match="diverged .* lower --learning_rate"):
        run("BPRMF", "checker", config_dict=settings)


def test_sgd_blow_up_from_the_issue_ends_cleanly(tiny_config: dict) -> None:
    """BPRMF with SGD at lr 1e3: no raw ValueError, a finite best model, a test evaluation."""
    settings = {**tiny_config, "epochs": 30, "learner": "sgd", "learning_rate": 1e3}
    try:
        result = run("BPRMF", "checker", config_dict=settings)
    except RunFailed:
        return  # diverged before the first evaluation: covered by the test above
    best = load_checkpoint(result["checkpoint"])
    assert all(t.isfinite().all() for t in best["state_dict"].values())
    assert result["test_result"] is not None


def _interrupt_after(epoch_to_stop: int):
    original = SpectrumMonitor.__call__

    def interrupted(self, epoch, *args):
        original(self, epoch, *args)
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt

    return interrupted


def test_ctrl_c_prints_one_line_with_the_resume_command_and_exits_130(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(SpectrumMonitor, "__call__", _interrupt_after(2))
    args = [f"--{k}={v}" for k, v in {**tiny_config, "epochs": 5}.items()]
    code = cli.main(["run", "--model=BPRMF", "--dataset=checker", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130, err
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "after epoch 1" in err[0] and "--resume_from=" in err[0]
    last = err[0].rsplit("--resume_from=", 1)[1]
    assert load_checkpoint(last)["epoch"] == 1
    saved = Path(tiny_config["checkpoint_dir"])
    assert not list(saved.glob(".*.tmp")), "no half-written files"

    monkeypatch.undo()
    resumed = run("BPRMF", "checker", config_dict={**tiny_config, "epochs": 5, "resume_from": last})
    assert sorted(resumed["trainer"].train_loss_dict) == [2, 3, 4]


def test_ctrl_c_in_the_first_epoch_says_there_is_nothing_to_resume(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SpectrumMonitor, "__call__", _interrupt_after(0))
    with pytest.raises(RunInterrupted) as err:
        run("BPRMF", "checker", config_dict={**tiny_config, "epochs": 5})
    assert err.value.checkpoint is None
    assert "nothing to resume" in cli.interrupted_message([], err.value)


def test_console_shows_a_short_summary_and_the_log_keeps_the_rest(
    tiny_config: dict, capsys: pytest.CaptureFixture
) -> None:
    settings = {**tiny_config, "state": "INFO", "epochs": 40, "stopping_step": 100}
    args = [f"--{k}={v}" for k, v in settings.items()]
    assert cli.main(["run", "--model=DirectSpecPlus", "--dataset=checker", *args]) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert len(lines) <= 12, lines
    text = "\n".join(lines)
    assert "DirectSpecPlus on checker" in text and "device cpu" in text
    assert "train_loss" not in text and "gpu_id" not in text and "Warning" not in text
    assert "test:" in text
    log_file = next(Path("log").rglob("*.log"))
    assert "gpu_id" in log_file.read_text()


def test_progress_lines_are_throttled_and_estimate_the_time_left(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from recbole_spec.training import progress

    clock = iter(range(0, 10_000, 5))  # every perf_counter() call is 5 s later
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    bar = progress.ConsoleProgress(interval=10)
    trainer = SimpleNamespace(
        epochs=100, start_epoch=0, valid_metric="NDCG@20", valid_metric_bigger=True
    )
    bar.bind(trainer)
    caplog.set_level("INFO", logger=progress.CONSOLE_LOGGER)
    bar(0, 1.0, {"ndcg@20": 0.1})
    bar(1, 1.0, {"ndcg@20": 0.3})  # 5 s later: throttled, but the best is recorded
    bar.on_epoch_end(2, 1.0)  # 10 s after the last line: below 6 x interval
    bar(3, 1.0, {"ndcg@20": 0.2})
    for epoch in range(4, 16):  # 5 s per call: a pace line once 60 s passed since the last one
        bar.on_epoch_end(epoch, 2.0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "valid ndcg@20 0.1000 *" in lines[0]
    assert "best 0.3000 @1" in lines[1] and " * " not in lines[1]
    # the last line is drawn 30 s after bind, 4 epochs done: 7.5 s/epoch, 96 left -> 12 minutes
    assert "7.5 s/epoch" in lines[1] and "ETA <= 12m00s" in lines[1]
    assert lines[2].startswith("epoch   15/100  loss 2") and "valid" not in lines[2]


def test_a_pace_line_never_hides_an_evaluation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The paper protocols evaluate every 30 epochs: a pace line printed just before an
    evaluation (the CiteULike headline run lost its epoch-29 line that way) must not hide it."""
    from types import SimpleNamespace

    from recbole_spec.training import progress

    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    bar = progress.ConsoleProgress(interval=10)
    bar.bind(
        SimpleNamespace(epochs=300, start_epoch=0, valid_metric="ndcg@20", valid_metric_bigger=True)
    )
    caplog.set_level("INFO", logger=progress.CONSOLE_LOGGER)
    now[0] = 61.0
    bar.on_epoch_end(27, 1.0)  # pace line
    now[0] = 65.0
    bar(29, 1.0, {"ndcg@20": 0.1})  # 4 s later: still printed
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "valid ndcg@20 0.1000 *" in lines[1]


def test_no_pace_line_before_the_first_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from recbole_spec.training import progress

    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    bar = progress.ConsoleProgress(interval=10)
    bar.bind(
        SimpleNamespace(epochs=9, start_epoch=0, valid_metric="ndcg@20", valid_metric_bigger=True)
    )
    now[0] = 5.0
    bar.on_epoch_end(0, 1.0)
    assert bar.lines == 0


@pytest.mark.parametrize(("key", "value"), [("console", "loud"), ("console_interval", -1)])
def test_bad_console_settings_fail_before_loading(tiny_config: dict, key: str, value) -> None:
    with pytest.raises(ConfigError, match=key):
        run("BPRMF", "checker", config_dict={**tiny_config, key: value})
