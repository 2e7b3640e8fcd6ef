"""One trial, and the interface a search backend offers, independent of Ray.

:func:`run_trial` trains one configuration on the train split and reports the validation metric
after every evaluation through a :class:`TrialSession`; it never touches the test split. A
:class:`SearchBackend` runs many trials and returns a :class:`TrialRecord` for each.
:class:`~recbole_spec.tuning.ray_backend.RayBackend` is the one used by :func:`tune`; tests use
an in-process backend that calls :func:`run_trial` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from recbole_spec.tuning.plan import SearchPlan

EXPERIMENT = "search"
"""Name of the experiment folder inside ``out_dir`` (one ``trial_<id>`` folder per trial)."""


@dataclass(frozen=True)
class TrialTask:
    """What every trial of a search shares (sent once to each trial)."""

    model: str
    dataset: str
    fixed: dict[str, Any]
    metric: str
    experiment_dir: str


@dataclass
class TrialRecord:
    """What the backend knows about one finished (or stopped) trial, backend-independent.

    Attributes:
        trial_id: the backend's id of the trial.
        status: ``TERMINATED`` (ended normally or stopped by the scheduler), ``ERROR`` (failed
            after its retries) or anything else for a trial that has not ended (``PENDING``).
        config: the searched values of the trial.
        history: ``{"epoch": e, metric: value}`` per validation, of the last attempt.
        failures: attempts that failed (retried or not).
        error: the last line of the last failure, or ``""``.
        path: the trial's folder.
    """

    trial_id: str
    status: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    failures: int
    error: str
    path: str


class TrialSession(Protocol):
    """What a running trial asks its backend."""

    def trial_id(self) -> str:
        """The backend's id of the calling trial."""

    def trial_cpus(self) -> int:
        """CPUs reserved for the calling trial (at least 1)."""

    def trial_gpu_ids(self) -> list[str]:
        """GPU ids assigned to the calling trial (empty on CPU)."""

    def report(self, metrics: dict[str, Any]) -> None:
        """Report one evaluation."""


class SearchBackend(Protocol):
    """What :func:`~recbole_spec.tuning.search.tune` asks of a backend (Ray's or a test's)."""

    def can_restore(self, out_dir: Path) -> bool:
        """Whether ``out_dir`` holds a search that can be resumed."""

    def start(self, address: str | None) -> bool:
        """Start (or join) the cluster; False when it was already running."""

    def stop(self) -> None:
        """Stop what :meth:`start` started."""

    def cluster_resources(self) -> tuple[float, float]:
        """CPUs and GPUs available to trials."""

    def fit(
        self, plan: SearchPlan, task: TrialTask, resources: dict[str, float]
    ) -> list[TrialRecord]:
        """Run (or resume) the search of ``plan``; every trial calls :func:`run_trial`."""


class TrialDiverged(RuntimeError):
    """A trial whose training hit a non-finite loss or parameter; the backend marks it ERROR.

    The trials table gives it the stop reason ``diverged`` and this message as its error.
    """


def _total_loss(train_loss: Any) -> float:
    if isinstance(train_loss, (tuple, list)):
        return float(sum(float(x) for x in train_loss))
    return float(train_loss) if train_loss is not None else float("nan")


def run_trial(config: dict[str, Any], task: TrialTask, session: TrialSession) -> None:
    """One trial: train on train, report ``task.metric`` after every validation, never test.

    Runs in the trial's folder under ``task.experiment_dir`` (Ray 2.6.3 starts trials there,
    current Ray in its session folder), so RecBole's ``log/`` is kept with the trial's results.

    Raises:
        TrialDiverged: training stopped on a non-finite loss or parameter (the evaluations
            reported before it stay in the trial's history).
    """
    import torch

    from recbole_spec import pipeline

    trial_dir = Path(task.experiment_dir) / f"trial_{session.trial_id()}"
    trial_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(trial_dir)
    torch.set_num_threads(session.trial_cpus())
    params = {**task.fixed, **config, "gpu_id": ",".join(session.trial_gpu_ids())}

    def report(epoch: int, train_loss: Any, valid_result: dict) -> None:
        session.report(
            {
                task.metric: float(valid_result[task.metric]),
                "epoch": int(epoch),
                "train_loss": _total_loss(train_loss),
            }
        )

    result = pipeline.run(
        task.model,
        task.dataset,
        config_dict=params,
        saved=False,
        callbacks=[report],
        evaluate_test=False,
    )
    if result["diverged"]:
        raise TrialDiverged(f"training diverged ({result['diverged']})")
