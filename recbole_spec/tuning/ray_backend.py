"""The Ray Tune backend: every Ray call of the plugin, for Ray 2.6.3 and current Ray (2.60).

This is the only module of the package that imports ``ray``, so a Ray upgrade touches it alone.
Results come from Ray's public API: each trial's :class:`ray.air.Result` (history, error,
folder) from the ``ResultGrid`` and, through a :class:`ray.tune.Callback`, its final status and
failure count. While this driver holds a local Ray, SIGTERM/SIGHUP stop a search like Ctrl-C and
a watchdog ends the local Ray's processes even after ``kill -9`` of the driver.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

_HANDLED = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_BEFORE_RAY = {signum: signal.getsignal(signum) for signum in _HANDLED}

import ray  # noqa: E402 - importing ray installs a SIGTERM handler that calls sys.exit
from ray import tune  # noqa: E402

if threading.current_thread() is threading.main_thread():  # importing changes nothing
    for _signum, _handler in _BEFORE_RAY.items():
        if _handler is not None:
            signal.signal(_signum, _handler)

from recbole_spec.tuning.space import ParamSpec  # noqa: E402
from recbole_spec.tuning.trial import EXPERIMENT, TrialRecord, TrialTask, run_trial  # noqa: E402

if TYPE_CHECKING:
    from recbole_spec.tuning.plan import SearchPlan


def _modern_tune_api() -> bool:
    """Whether Ray has the ``ray.tune.get_context`` / ``ray.tune.report(dict)`` API (2.7+)."""
    return hasattr(tune, "get_context") and hasattr(tune, "RunConfig")


class RayBackend:
    """All Ray Tune calls of the plugin, for both supported Ray lines.

    Ray 2.6.3 (the version RecBole 1.2.1 pins) reports through ``ray.air.session`` and takes
    ``ray.air.RunConfig``; current Ray (2.7+, 2.60 tested) has ``ray.tune.report``,
    ``ray.tune.get_context`` and ``ray.tune.RunConfig``, and runs each trial in a working
    directory inside Ray's session folder instead of the trial's folder under ``storage_path``.
    The differences are chosen here by feature detection, so the rest of the package is the
    same on both lines. Every trial changes into its folder under ``out_dir/search`` itself, so
    RecBole's ``log/`` lands there on both. The class is also the
    :class:`~recbole_spec.tuning.trial.TrialSession` of the trials it runs.
    """

    OBJECT_STORE_BYTES = 80 * 1024 * 1024
    """Local clusters carry only the trial settings through the object store."""

    @staticmethod
    def can_restore(out_dir: Path) -> bool:
        """Whether ``out_dir`` holds an experiment that can be resumed (no Ray start needed)."""
        return tune.Tuner.can_restore(str(out_dir / EXPERIMENT))

    @staticmethod
    def start(address: str | None) -> bool:
        """Connect to ``address`` or start a small local Ray; False if Ray was already up.

        While this driver holds Ray, SIGTERM and SIGHUP act like Ctrl-C (Ray Tune saves the
        experiment and stops; ``--resume`` continues it) and the local Ray is shut down on the
        way out, so a stopped search leaves no Ray process behind (:func:`_shutdown_on_signals`).
        """
        os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
        if ray.is_initialized():
            return False
        _save_signals()  # before ray.init, which installs its own SIGTERM handler (sys.exit)
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=RayBackend.OBJECT_STORE_BYTES,
            )
            _start_reaper()
        _shutdown_on_signals()
        return True

    @staticmethod
    def stop() -> None:
        """Shut down (or disconnect from) Ray."""
        ray.shutdown()
        _restore_signals()
        _stop_reaper()

    @staticmethod
    def cluster_resources() -> tuple[float, float]:
        """CPUs and GPUs of the cluster this driver is connected to."""
        resources = ray.cluster_resources()
        return float(resources.get("CPU", 0)), float(resources.get("GPU", 0))

    @staticmethod
    def report(metrics: dict[str, Any]) -> None:
        """Report one evaluation from inside a trial."""
        if _modern_tune_api():
            tune.report(metrics)
        else:
            from ray.air import session

            session.report(metrics)

    @staticmethod
    def _context() -> Any:
        if _modern_tune_api():
            return tune.get_context()
        from ray.air import session

        return session

    @staticmethod
    def trial_id() -> str:
        """Ray's id of the calling trial."""
        return str(RayBackend._context().get_trial_id())

    @staticmethod
    def trial_cpus() -> int:
        """CPUs reserved for the calling trial (at least 1)."""
        bundles = RayBackend._context().get_trial_resources().required_resources
        return max(1, int(bundles.get("CPU", 1)))

    @staticmethod
    def trial_gpu_ids() -> list[str]:
        """Physical GPU ids Ray assigned to the calling trial (empty on CPU)."""
        return [str(i) for i in ray.get_gpu_ids()]

    @staticmethod
    def _param_space(space: Mapping[str, ParamSpec], search_alg: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in space.items():
            if spec.kind == "grid" or (spec.kind == "choice" and search_alg == "grid"):
                out[name] = tune.grid_search(list(spec.values))
            elif spec.kind == "choice":
                out[name] = tune.choice(list(spec.values))
            elif spec.kind == "uniform":
                out[name] = tune.uniform(float(spec.low), float(spec.high))
            elif spec.kind == "loguniform":
                out[name] = tune.loguniform(float(spec.low), float(spec.high))
            else:
                out[name] = tune.randint(int(spec.low), int(spec.high) + 1)
        return out

    @staticmethod
    def searcher(search_alg: str, seed: int | None, max_concurrent: int | None) -> Any:
        """The search algorithm, limited to ``max_concurrent`` running trials.

        Ray 2.6 ignores ``TuneConfig.max_concurrent_trials`` when handed a
        ``BasicVariantGenerator`` instance, so the limit is set on the algorithm itself.
        """
        from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter

        if search_alg in ("random", "grid"):
            return BasicVariantGenerator(max_concurrent=max_concurrent or 0, random_state=seed)
        if search_alg == "optuna":
            from ray.tune.search.optuna import OptunaSearch

            searcher = OptunaSearch(seed=seed)
        else:
            from ray.tune.search.hyperopt import HyperOptSearch

            searcher = HyperOptSearch(random_state_seed=seed)
        return ConcurrencyLimiter(searcher, max_concurrent) if max_concurrent else searcher

    @staticmethod
    def _scheduler(name: str, max_t: int, grace_period: int, reduction_factor: float) -> Any:
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        if name == "fifo":
            return FIFOScheduler()
        return ASHAScheduler(
            time_attr="training_iteration",
            max_t=max_t,
            grace_period=min(grace_period, max_t),
            reduction_factor=reduction_factor,
        )

    @staticmethod
    def _run_config(plan: SearchPlan) -> Any:
        if _modern_tune_api():
            from ray.tune import FailureConfig, RunConfig
        else:
            from ray.air import FailureConfig, RunConfig
        return RunConfig(
            name=EXPERIMENT,
            storage_path=str(plan.out_dir),
            failure_config=FailureConfig(max_failures=plan.max_failures),
            verbose=plan.verbose,
            callbacks=[_TrialLedger(str(plan.out_dir / EXPERIMENT))],
        )

    @staticmethod
    def fit(plan: SearchPlan, task: TrialTask, resources: dict[str, float]) -> list[TrialRecord]:
        """Run (or resume) the search of ``plan`` and return every trial's record."""
        trainable = tune.with_resources(tune.with_parameters(_ray_trial, task=task), resources)
        path = plan.out_dir / EXPERIMENT
        if plan.resume:
            # The ledger is restored with the rest of the original run configuration.
            tuner = tune.Tuner.restore(
                str(path),
                trainable,
                resume_unfinished=True,
                resume_errored=False,
                restart_errored=plan.retry_errored,
            )
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=RayBackend._param_space(plan.space, plan.search_alg),
                tune_config=tune.TuneConfig(
                    metric=plan.metric,
                    mode=plan.mode,
                    search_alg=RayBackend.searcher(plan.search_alg, plan.seed, plan.max_concurrent),
                    scheduler=RayBackend._scheduler(
                        plan.scheduler, plan.max_t, plan.grace_period, plan.reduction_factor
                    ),
                    num_samples=plan.num_samples,
                    time_budget_s=plan.time_budget_s,
                    reuse_actors=False,
                    trial_dirname_creator=_trial_dirname,
                ),
                run_config=RayBackend._run_config(plan),
            )
        _LEDGERS.pop(str(path), None)
        grid = tuner.fit()
        ledger = _LEDGERS.pop(str(path), [])
        if len(ledger) != len(grid):
            ledger = [None] * len(grid)  # a search started before the ledger existed
        return [RayBackend._record(grid[i], ledger[i], plan.metric) for i in range(len(grid))]

    @staticmethod
    def _record(result: Any, known: dict[str, Any] | None, metric: str) -> TrialRecord:
        """One trial's record from its public ``Result`` and the ledger's view of it."""
        history: list[dict[str, Any]] = []
        frame = result.metrics_dataframe
        if frame is not None and metric in frame:
            rows = frame.to_dict("records")
            restarts = [i for i, row in enumerate(rows) if row.get("training_iteration") == 1]
            for row in rows[restarts[-1] if restarts else 0 :]:
                history.append({"epoch": int(row["epoch"]), metric: float(row[metric])})
        error = ""
        if result.error is not None:
            lines = [line for line in str(result.error).strip().splitlines() if line.strip()]
            error = lines[-1].strip() if lines else type(result.error).__name__
        metrics = result.metrics or {}
        path = str(result.path or "")
        if known is None:
            done = "TERMINATED" if metrics.get("done") else "PENDING"
            known = {
                "trial_id": metrics.get("trial_id") or Path(path).name.removeprefix("trial_"),
                "status": "ERROR" if result.error is not None else done,
                "config": result.config or {},
                "failures": 0,
            }
        params = {k: v for k, v in known["config"].items() if not k.startswith("__")}
        return TrialRecord(
            trial_id=str(known["trial_id"]),
            status=str(known["status"]),
            config=params,
            history=history,
            failures=int(known["failures"]),
            error=error,
            path=path,
        )


_LEDGERS: dict[str, list[dict[str, Any]]] = {}
"""Experiment folder -> the trials as Ray ended them (filled by :class:`_TrialLedger`)."""


class _TrialLedger(tune.Callback):
    """Records each trial's final status, failure count and config when the search ends.

    Ray's ``Result`` has the history, error and folder of a trial, not its status or retries.
    Ray pickles this callback with the experiment and restores it on ``--resume``, so it keeps
    no state of its own: it writes into the module's :data:`_LEDGERS`, keyed by folder.
    """

    def __init__(self, experiment_dir: str) -> None:
        self.experiment_dir = experiment_dir

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        _LEDGERS[self.experiment_dir] = [
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                "config": dict(trial.config),
                "failures": trial.num_failures,
            }
            for trial in trials
        ]


_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_saved_handlers: dict[int, Any] = {}


def _as_interrupt(signum: int, frame: Any) -> None:
    """Deliver SIGTERM/SIGHUP as SIGINT: Ray Tune's Ctrl-C path saves state and stops."""
    os.kill(os.getpid(), signal.SIGINT)


def _shutdown_on_signals() -> None:
    """Make SIGTERM/SIGHUP stop the search like Ctrl-C, and shut Ray down at exit.

    Only in the main thread (signal handlers cannot be set elsewhere). ``ray.init`` registers
    ``ray.shutdown`` with :mod:`atexit`, which runs on a normal exit and after Ctrl-C but not
    when Python dies of an unhandled SIGTERM; turning SIGTERM into SIGINT closes that gap. A
    driver killed with SIGKILL cannot run any handler: Ray's own fate sharing (the local
    cluster's processes die with the driver) covers that case.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    _save_signals()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _as_interrupt)
    atexit.register(ray.shutdown)


def _save_signals() -> None:
    """Keep the SIGINT/SIGTERM/SIGHUP handlers from before Ray, for :func:`_restore_signals`.

    ``import ray`` installs a SIGTERM handler that calls ``sys.exit`` (undone at this module's
    import) and Ray Tune leaves its own SIGINT handler after a search; both stayed after
    ``ray.shutdown``, so a study's retrainings ignored Ctrl-C and died silently on SIGTERM (no
    partial tables, no resume line).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _HANDLED:
        _saved_handlers.setdefault(signum, signal.getsignal(signum))


_REAPER = r"""
import os, signal, sys, time
import psutil
driver = psutil.Process(int(sys.argv[1]))
seen = {}
while driver.is_running() and driver.status() != psutil.STATUS_ZOMBIE:
    try:
        for proc in driver.children(recursive=True):
            if proc.pid != os.getpid():
                seen[proc.pid] = proc
    except psutil.Error:
        pass
    time.sleep(0.5)
for sig in (signal.SIGTERM, signal.SIGKILL):
    for proc in seen.values():
        try:
            proc.send_signal(sig)  # psutil checks the creation time: never a reused pid
        except psutil.Error:
            pass
    psutil.wait_procs(list(seen.values()), timeout=5)
"""
"""Watchdog of a local Ray started by this driver: when the driver is gone (even by SIGKILL,
which runs no handler), it ends every process the driver had started. Ray's own fate sharing
ends the GCS and raylet with the driver but, on Ray 2.6, leaves the dashboard agent running."""

_reaper: subprocess.Popen | None = None


def _start_reaper() -> None:
    global _reaper
    if _reaper is None or _reaper.poll() is not None:
        _reaper = subprocess.Popen(
            [sys.executable, "-c", _REAPER, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the terminal's process group spares it
        )


def _stop_reaper() -> None:
    global _reaper
    if _reaper is not None:
        _reaper.kill()
        _reaper.wait()
        _reaper = None


def _restore_signals() -> None:
    for signum, handler in list(_saved_handlers.items()):
        signal.signal(signum, handler)
        del _saved_handlers[signum]


def _trial_dirname(trial: Any) -> str:
    """Folder name of a trial under the experiment (``_trial`` computes the same name)."""
    return f"trial_{trial.trial_id}"


def _ray_trial(config: dict[str, Any], task: TrialTask) -> None:
    """Ray's trainable: :func:`~recbole_spec.tuning.trial.run_trial` with Ray as the session."""
    run_trial(config, task, RayBackend)
