"""Issue 22.8: a trial that diverges is reported as diverged, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbole_spec.tuning import plan_search, tune
from tests.test_tuning_fake import FakeBackend
from tests.tuning_support import tiny


def test_trial_diverging_before_its_first_evaluation_is_reported_as_diverged(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {type: choice, values: [1.0e+30, 0.001]}\n")
    backend = FakeBackend()
    plan = plan_search(
        "BPRMF",
        "checker",
        space,
        out_dir=tmp_path / "out",
        num_samples=2,
        config_dict={**tiny(data_root), "learner": "sgd"},
        verbose=0,
        backend=backend,
    )
    outcome = tune(plan, backend)
    rows = {row.params["learning_rate"]: row for row in outcome.trials}
    blown = rows[1e30]
    assert blown.status == "ERROR" and blown.stop_reason == "diverged"
    assert "diverged" in blown.error and "epoch 0" in blown.error and blown.best_value is None
    assert rows[0.001].stop_reason == "max epochs" and outcome.best is rows[0.001]
    markdown = (plan.out_dir / "trials.md").read_text()
    assert "| diverged |" in markdown and "epoch 0" in markdown
    assert "diverged" in outcome.summary()


def test_ctrl_c_interrupts_again_after_a_search() -> None:
    """Ray Tune leaves its own SIGINT handler installed after a search, and ray.init a SIGTERM
    handler calling sys.exit: a study's retrainings then swallowed Ctrl-C ('Stop signal
    received ... ending Ray Tune run', training went on) and died silently on SIGTERM. Stopping
    the backend restores the handlers from before Ray."""
    import signal

    from recbole_spec.tuning import ray_backend

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ray_backend._save_signals()  # what RayBackend.start does before ray.init
    try:
        signal.signal(signal.SIGTERM, lambda signum, frame: None)  # what ray.init installs
        ray_backend._shutdown_on_signals()
        signal.signal(signal.SIGINT, lambda signum, frame: None)  # what Ray Tune installs
    finally:
        ray_backend._restore_signals()
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_importing_the_ray_backend_keeps_the_sigterm_handler() -> None:
    """``import ray`` installs a SIGTERM handler calling sys.exit, which replaced the command
    line's (one line + resume command, exit 143) for the rest of the process."""
    import subprocess
    import sys

    code = (
        "import signal\n"
        "def mine(signum, frame): pass\n"
        "signal.signal(signal.SIGTERM, mine)\n"
        "import recbole_spec.tuning.ray_backend\n"
        "assert signal.getsignal(signal.SIGTERM) is mine, signal.getsignal(signal.SIGTERM)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
