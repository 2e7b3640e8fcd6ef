"""Hyperparameter search with Ray Tune: validation-selected, early-stopped, resumable.

Every trial calls :func:`recbole_spec.pipeline.run` with ``evaluate_test=False`` and reports the
validation metric (``valid_metric``, e.g. ``ndcg@20``) after every evaluation, so the ASHA
scheduler can stop bad trials early. The test split is touched once, after the search, by the
best configuration. RecBole's own ``run_hyper.py`` instead selects on the test set, reports once
and asks one GPU per trial; this module fixes all three.

Search-space files (``properties/tune/<Model>.yaml`` by default) map a config key to a
distribution, one key per line::

    tau: {type: uniform, low: 2.0, high: 5.0}             # float in [low, high]
    learning_rate: {type: loguniform, low: 1.0e-4, high: 1.0e-2}   # log-uniform, low > 0
    n_layers: {type: randint, low: 1, high: 4}            # integer in [low, high], both included
    shrink: {type: choice, values: [0.0, 0.02, 0.03]}     # one value drawn per trial
    alpha: {type: grid, values: [0.5, 0.75, 1.0]}         # every value (x num_samples)

Keys must be config keys the model knows (its properties YAML, the plugin's and RecBole's
defaults); ``grid`` values are all run, each repeated ``num_samples`` times, and the ``grid``
search algorithm turns ``choice`` into ``grid`` and refuses continuous distributions. Every check
(unknown key, empty range, wrong type, a value the model rejects) runs before Ray starts.

Outputs, under ``out_dir``: ``search.json`` (what was searched, checked on ``--resume``),
``search/`` (Ray's experiment: one folder per trial holding RecBole's log), ``trials.csv`` and
``trials.md`` (every trial: status, stop reason, parameters, best validation metric, epochs,
failures, error), ``best.yaml`` (plain YAML for ``--config_files``), ``best/`` (the final run's
log and checkpoint) and ``best_test.json`` (the best configuration's test metrics).

All Ray calls sit in :class:`RayBackend`, which runs on Ray 2.6.3 (the version RecBole 1.2.1 pins)
and on current Ray (2.60 tested), so a Ray upgrade touches that class only. ``--address`` joins a
running cluster (``ray start --head``); trials that die with their node are retried
(``max_failures``), and SIGTERM stops a search like Ctrl-C, resumable with ``--resume``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recbole_spec.atomic import write_text_atomic
from recbole_spec.plain import to_plain
from recbole_spec.validation import ConfigError, suggest

SPACE_TYPES = ("uniform", "loguniform", "randint", "choice", "grid")
SEARCH_ALGS = ("random", "grid", "optuna", "hyperopt")
SCHEDULERS = ("asha", "fifo")
EXPERIMENT = "search"
"""Name of Ray's experiment folder inside ``out_dir``."""

NOT_SEARCHABLE = {
    "data_path": "trials read the dataset the driver resolved",
    "checkpoint_dir": "set once for the whole search",
    "gpu_id": "Ray assigns each trial its GPUs",
    "use_gpu": "Ray assigns each trial its GPUs",
    "epochs": "it is the scheduler's time axis",
    "eval_step": "it is the scheduler's time axis",
    "valid_metric": "it is what the search optimises",
    "valid_metric_bigger": "it is what the search optimises",
    "metrics": "it defines the metric the search optimises",
    "topk": "it defines the metric the search optimises",
    "eval_args": "changing the split makes trials incomparable",
    "benchmark_filename": "changing the split makes trials incomparable",
}
_KEYS = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "randint": ("low", "high"),
    "choice": ("values",),
    "grid": ("values",),
}


class TuneFailedError(RuntimeError):
    """The search produced no trial with a validation result (every trial failed or none ran)."""


# --------------------------------------------------------------------------------------------
# Search spaces
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    """One searched key: a distribution (``uniform``, ``loguniform``, ``randint``) or a list.

    Args:
        name: the config key.
        kind: one of :data:`SPACE_TYPES`.
        low: lower end (distributions; ``randint`` includes it).
        high: upper end (distributions; ``randint`` includes it).
        values: the candidate values (``choice`` and ``grid``).
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    values: tuple[Any, ...] = ()

    def probes(self) -> list[Any]:
        """Values worth checking before the search: both ends, or every listed value."""
        return list(self.values) if self.values else [self.low, self.high]

    def to_dict(self) -> dict[str, Any]:
        """The YAML form (as written in a space file)."""
        if self.kind in ("choice", "grid"):
            return {"type": self.kind, "values": list(self.values)}
        return {"type": self.kind, "low": self.low, "high": self.high}


def _is_number(value: Any, integer: bool = False) -> bool:
    kinds = int if integer else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def parse_space(raw: Any, source: str = "search space") -> dict[str, ParamSpec]:
    """Parse a search-space mapping (the YAML content) into :class:`ParamSpec` objects.

    Checks the form only (types, ranges, duplicates); :func:`check_space` checks the keys and
    values against the model.

    Args:
        raw: ``{key: {type: ..., ...}}`` as loaded from YAML.
        source: the file name, used in error messages.

    Returns:
        The parameters, in file order.

    Raises:
        ConfigError: naming the file, the key, the problem and the fix.
    """
    example = "tau: {type: uniform, low: 2.0, high: 5.0}"
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            f"{source}: expected a mapping of config keys to distributions (got {raw!r}); "
            f"write one key per line, e.g. `{example}`"
        )
    space: dict[str, ParamSpec] = {}
    for name, spec in raw.items():
        where = f"{source}: '{name}'"
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{where} must be a mapping with a 'type' (got {spec!r}); e.g. `{example}`; "
                "fix a key for every trial with --key=value instead"
            )
        kind = spec.get("type")
        if not isinstance(kind, str) or kind.lower() not in SPACE_TYPES:
            raise ConfigError(
                f"{where}: 'type' must be one of {list(SPACE_TYPES)} (got {kind!r})"
                f"{suggest(str(kind), SPACE_TYPES)}"
            )
        kind = kind.lower()
        wanted = _KEYS[kind]
        extra = sorted(set(spec) - {"type", *wanted})
        missing = [k for k in wanted if k not in spec]
        if extra or missing:
            raise ConfigError(
                f"{where}: type '{kind}' takes exactly {', '.join(wanted)} "
                f"(missing: {missing or 'none'}, unexpected: {extra or 'none'})"
            )
        space[str(name)] = _parse_one(str(name), kind, spec, where)
    return space


def _parse_one(name: str, kind: str, spec: Mapping[str, Any], where: str) -> ParamSpec:
    if kind in ("choice", "grid"):
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{where}: 'values' must be a non-empty list (got {values!r}); "
                f"e.g. {{type: {kind}, values: [1, 2]}}"
            )
        unique = {json.dumps(v, sort_keys=True, default=str) for v in values}
        if len(unique) != len(values):
            raise ConfigError(f"{where}: 'values' has duplicates ({values}); list each value once")
        if any(isinstance(v, Mapping) for v in values):
            raise ConfigError(f"{where}: 'values' must be scalars or lists, not mappings")
        return ParamSpec(name, kind, values=tuple(values))
    low, high = spec["low"], spec["high"]
    integer = kind == "randint"
    for end, value in (("low", low), ("high", high)):
        if not _is_number(value, integer=integer):
            wanted = "an integer" if integer else "a number"
            raise ConfigError(f"{where}: '{end}' must be {wanted} (got {value!r})")
    if low == high:
        raise ConfigError(
            f"{where}: empty range (low = high = {low}); widen it or fix the key for every "
            f"trial with --{name}={low}"
        )
    if low > high:
        raise ConfigError(
            f"{where}: 'low' must be < 'high' (got low={low}, high={high}); swap them"
        )
    if kind == "loguniform" and low <= 0:
        raise ConfigError(
            f"{where}: loguniform needs low > 0 (got low={low}); use uniform for ranges that "
            "include 0"
        )
    return ParamSpec(name, kind, low=low, high=high)


def list_spaces() -> list[str]:
    """Models with a shipped search space (``properties/tune/<Model>.yaml``)."""
    from recbole_spec.paths import properties_dir

    return sorted(p.stem for p in (properties_dir() / "tune").glob("*.yaml"))


def default_space_file(model: str | type) -> Path:
    """The shipped search space of ``model``: ``properties/tune/<Model>.yaml``.

    Raises:
        ConfigError: if none is shipped, listing those that are.
    """
    from recbole_spec.paths import properties_dir
    from recbole_spec.registry import get_model

    name = get_model(model).__name__
    path = properties_dir() / "tune" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"no shipped search space for {name} (properties/tune/{name}.yaml); shipped: "
            f"{', '.join(list_spaces()) or 'none'}; pass --space=<your file>"
        )
    return path


def load_space(path: str | os.PathLike) -> dict[str, ParamSpec]:
    """Read and parse a search-space YAML file (see the module docstring for the format).

    Raises:
        ConfigError: for a missing or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search space file '{path}' does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"search space {path}: not valid YAML ({err})") from err
    return parse_space(raw, source=f"search space {path}")


def searchable_keys(config: Any) -> set[str]:
    """Config keys a search may vary: the model's, the plugin's and RecBole's defaults.

    Args:
        config: a built :class:`~recbole_spec.config.SpecConfig` (its default layers are used,
            not the user's additions, so a typo cannot create a new key).
    """
    from recbole_spec.paths import properties_dir

    keys = set(config.internal_config_dict)
    for preset in (properties_dir() / "preset").glob("*.yaml"):
        keys.update((yaml.safe_load(preset.read_text()) or {}).keys())
    return keys - set(NOT_SEARCHABLE)


def check_space(
    space: Mapping[str, ParamSpec],
    config: Any,
    fixed: Mapping[str, Any],
    search_alg: str,
    source: str = "search space",
    model: str | type | None = None,
) -> None:
    """Check a parsed space against the model before any trial runs.

    Rejects keys the model does not know (with a close-match suggestion), keys that cannot be
    searched, keys also fixed by the user, distributions of the wrong type for the key's default
    (a float range for an integer key), and values the model's own validation refuses (both
    ends of every range and every listed value are tried by building the config).

    Args:
        space: the parsed space.
        config: the base :class:`~recbole_spec.config.SpecConfig` (user settings, no search).
        fixed: the user's settings applied to every trial.
        search_alg: one of :data:`SEARCH_ALGS` (``grid`` refuses continuous ranges, Optuna and
            HyperOpt refuse ``grid``).
        source: the file name, used in error messages.
        model: the model as the user named it (``recbole.LightGCN`` must not probe the plugin's
            LightGCN; default: ``config["model"]``).

    Raises:
        ConfigError: naming the key, the problem and the fix.
    """
    model = model or config["model"]
    known = searchable_keys(config)
    for name, spec in space.items():
        where = f"{source}: '{name}'"
        if name in NOT_SEARCHABLE:
            raise ConfigError(
                f"{where} cannot be searched ({NOT_SEARCHABLE[name]}); set it for every trial "
                f"with --{name}=..."
            )
        if name not in known:
            raise ConfigError(
                f"{where}: unknown parameter for {model}{suggest(name, known)}; searchable keys "
                f"are those in properties/model/{{_plugin,{model}}}.yaml, properties/overall.yaml "
                "and RecBole's defaults"
            )
        if name in fixed:
            raise ConfigError(
                f"{where} is searched but also fixed to {fixed[name]!r} by your config or "
                f"--{name}=...; drop one of the two"
            )
        _check_type(spec, config.internal_config_dict.get(name), where)
        if search_alg == "grid" and spec.kind not in ("grid", "choice"):
            raise ConfigError(
                f"{where}: the grid search needs listed values, not a {spec.kind} range; use "
                f"{{type: grid, values: [...]}} or --search-alg=random"
            )
        if search_alg in ("optuna", "hyperopt") and spec.kind == "grid":
            raise ConfigError(
                f"{where}: {search_alg} cannot run a grid; use {{type: choice, values: [...]}}"
            )
    _probe(space, model, config["dataset"], fixed, source)


def _check_type(spec: ParamSpec, default: Any, where: str) -> None:
    if default is None:
        return
    floats = spec.kind in ("uniform", "loguniform") or any(
        isinstance(v, float) for v in spec.values
    )
    if isinstance(default, (bool, str)):
        if spec.kind not in ("choice", "grid"):
            raise ConfigError(
                f"{where} is a {type(default).__name__} key (default {default!r}); a {spec.kind} "
                f"range cannot produce it: use {{type: choice, values: [...]}}"
            )
    elif isinstance(default, int) and floats:
        raise ConfigError(
            f"{where} is an integer key (default {default}); a {spec.kind} of floats cannot set "
            "it: use randint or a choice of integers"
        )
    elif isinstance(default, (int, float)) and spec.kind in ("choice", "grid"):
        bad = [v for v in spec.values if not _is_number(v)]
        if bad:
            raise ConfigError(
                f"{where} is a numeric key (default {default}); non-numeric values {bad}"
            )


def _probe(
    space: Mapping[str, ParamSpec],
    model: str | type,
    dataset: str,
    fixed: Mapping[str, Any],
    source: str,
) -> None:
    """Build the config at the ends of every range and at every listed value."""
    from recbole_spec.pipeline import build_config

    base = {name: spec.probes()[0] for name, spec in space.items()}
    points = [dict(base)]
    for name, spec in space.items():
        points += [{**base, name: value} for value in spec.probes()[1:]]
    for point in points:
        try:
            build_config(model, dataset, None, {**fixed, **point})
        except ConfigError as err:
            raise ConfigError(f"{source}: the point {point} is rejected by {model}: {err}") from err


# --------------------------------------------------------------------------------------------
# Ray adapter: every Ray call, for Ray 2.6.3 (RecBole's pin) and current Ray (2.31+)
# --------------------------------------------------------------------------------------------


@dataclass
class TrialRecord:
    """What Ray knows about one trial, in Ray-independent form."""

    trial_id: str
    status: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    failures: int
    error: str
    path: str


def _modern_tune_api() -> bool:
    """Whether Ray has the ``ray.tune.get_context`` / ``ray.tune.report(dict)`` API (2.7+)."""
    from ray import tune

    return hasattr(tune, "get_context") and hasattr(tune, "RunConfig")


class RayBackend:
    """All Ray Tune calls of the plugin, for both supported Ray lines.

    Ray 2.6.3 (the version RecBole 1.2.1 pins) reports through ``ray.air.session`` and takes
    ``ray.air.RunConfig``; current Ray (2.7+, 2.60 tested) has ``ray.tune.report``,
    ``ray.tune.get_context`` and ``ray.tune.RunConfig``, and runs each trial in a working
    directory inside Ray's session folder instead of the trial's folder under ``storage_path``.
    The differences are chosen here by feature detection, so the rest of the module is the same
    on both lines. Every trial changes into its folder under ``out_dir/search`` itself, so
    RecBole's ``log/`` lands there on both.
    """

    OBJECT_STORE_BYTES = 80 * 1024 * 1024
    """Local clusters carry only the trial settings through the object store."""

    @staticmethod
    def can_restore(out_dir: Path) -> bool:
        """Whether ``out_dir`` holds an experiment that can be resumed (no Ray start needed)."""
        from ray import tune

        return tune.Tuner.can_restore(str(out_dir / EXPERIMENT))

    @staticmethod
    def start(address: str | None) -> bool:
        """Connect to ``address`` or start a small local Ray; False if Ray was already up.

        While this driver holds Ray, SIGTERM and SIGHUP act like Ctrl-C (Ray Tune saves the
        experiment and stops; ``--resume`` continues it) and the local Ray is shut down on the
        way out, so a stopped search leaves no Ray process behind (:func:`_shutdown_on_signals`).
        """
        import ray

        os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")
        if ray.is_initialized():
            return False
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
        import ray

        ray.shutdown()
        _restore_signals()
        _stop_reaper()

    @staticmethod
    def cluster_resources() -> tuple[float, float]:
        """CPUs and GPUs of the cluster this driver is connected to."""
        import ray

        resources = ray.cluster_resources()
        return float(resources.get("CPU", 0)), float(resources.get("GPU", 0))

    @staticmethod
    def report(metrics: dict[str, Any]) -> None:
        """Report one evaluation from inside a trial."""
        if _modern_tune_api():
            from ray import tune

            tune.report(metrics)
        else:
            from ray.air import session

            session.report(metrics)

    @staticmethod
    def _context() -> Any:
        if _modern_tune_api():
            from ray import tune

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
        import ray

        return [str(i) for i in ray.get_gpu_ids()]

    @staticmethod
    def _param_space(space: Mapping[str, ParamSpec], search_alg: str) -> dict[str, Any]:
        from ray import tune

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
        )

    @staticmethod
    def fit(
        plan: SearchPlan, trial_kwargs: dict[str, Any], resources: dict[str, float]
    ) -> list[TrialRecord]:
        """Run (or resume) the search of ``plan`` and return every trial's record."""
        from ray import tune

        kwargs = {**trial_kwargs, "experiment_dir": str(plan.out_dir / EXPERIMENT)}
        trainable = tune.with_resources(tune.with_parameters(_trial, **kwargs), resources)
        path = plan.out_dir / EXPERIMENT
        if plan.resume:
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
        grid = tuner.fit()
        trials = grid._experiment_analysis.trials
        results = list(grid)
        return [
            RayBackend._record(trial, result, plan.metric)
            for trial, result in zip(trials, results, strict=True)
        ]

    @staticmethod
    def _record(trial: Any, result: Any, metric: str) -> TrialRecord:
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
        params = {k: v for k, v in dict(trial.config).items() if not k.startswith("__")}
        # ``path`` is the trial's folder under storage_path on both lines (Ray 2.7+ keeps a
        # separate staging folder in ``local_path``).
        path = getattr(trial, "path", None) or getattr(trial, "local_path", None) or ""
        return TrialRecord(
            trial_id=str(trial.trial_id),
            status=str(trial.status),
            config=params,
            history=history,
            failures=int(getattr(trial, "num_failures", 0)),
            error=error,
            path=str(path),
        )


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
    import atexit
    import threading

    import ray

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _STOP_SIGNALS:
        if signum not in _saved_handlers:
            _saved_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, _as_interrupt)
    atexit.register(ray.shutdown)


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


def _total_loss(train_loss: Any) -> float:
    if isinstance(train_loss, (tuple, list)):
        return float(sum(float(x) for x in train_loss))
    return float(train_loss) if train_loss is not None else float("nan")


def _trial(
    config: dict[str, Any],
    model: str,
    dataset: str,
    fixed: dict[str, Any],
    metric: str,
    experiment_dir: str,
) -> None:
    """One trial: train on train, report ``metric`` after every validation, never test.

    Runs in the trial's folder under ``experiment_dir`` (Ray 2.6.3 starts trials there, current
    Ray in its session folder), so RecBole's ``log/`` is kept with the trial's results.
    """
    import torch

    from recbole_spec import pipeline

    trial_dir = Path(experiment_dir) / f"trial_{RayBackend.trial_id()}"
    trial_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(trial_dir)
    torch.set_num_threads(RayBackend.trial_cpus())
    params = {**fixed, **config, "gpu_id": ",".join(RayBackend.trial_gpu_ids())}

    def report(epoch: int, train_loss: Any, valid_result: dict) -> None:
        RayBackend.report(
            {
                metric: float(valid_result[metric]),
                "epoch": int(epoch),
                "train_loss": _total_loss(train_loss),
            }
        )

    pipeline.run(
        model,
        dataset,
        config_dict=params,
        saved=False,
        callbacks=[report],
        evaluate_test=False,
    )


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------


@dataclass
class SearchPlan:
    """Everything a search needs, resolved and checked before Ray starts."""

    model: str
    dataset: str
    space: dict[str, ParamSpec]
    space_file: str
    fixed: dict[str, Any]
    metric: str
    mode: str
    out_dir: Path
    search_alg: str = "random"
    scheduler: str = "asha"
    num_samples: int = 10
    epochs: int = 1
    stopping_step: int = 10
    max_t: int = 1
    grace_period: int = 1
    reduction_factor: float = 3.0
    max_concurrent: int | None = None
    time_budget_s: float | None = None
    max_failures: int = 2
    seed: int | None = None
    resume: bool = False
    retry_errored: bool = False
    verbose: int = 1

    def identity(self) -> dict[str, Any]:
        """The fields a resumed search must share with the original (``search.json``)."""
        return {
            "model": self.model,
            "dataset": self.dataset,
            "space": {name: spec.to_dict() for name, spec in self.space.items()},
            "fixed": self.fixed,
            "metric": self.metric,
            "mode": self.mode,
            "search_alg": self.search_alg,
            "num_samples": self.num_samples,
            "scheduler": self.scheduler,
        }


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
            params = " ".join(f"--{k}={_fmt(v)}" for k, v in self.best.params.items())
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


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    path.mkdir(parents=True, exist_ok=True)
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _row(record: TrialRecord, plan: SearchPlan) -> TrialRow:
    values = [h[plan.metric] for h in record.history]
    best_value = best_epoch = None
    if values:
        pick = max if plan.mode == "max" else min
        best_value = pick(values)
        best_epoch = record.history[values.index(best_value)]["epoch"]
    trained = record.history[-1]["epoch"] + 1 if record.history else 0
    if record.status == "ERROR":
        reason = "error"
    elif record.status != "TERMINATED":
        reason = "interrupted" if record.history else "not started"
    elif trained >= plan.epochs:
        reason = "max epochs"
    elif _early_stopped(values, plan.mode, plan.stopping_step):
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


def _early_stopped(values: list[float], mode: str, stopping_step: int) -> bool:
    """Replay RecBole's early stopping: stop after ``stopping_step + 1`` flat evaluations."""
    best, steps = None, 0
    for value in values:
        if best is None or (value > best if mode == "max" else value < best):
            best, steps = value, 0
        else:
            steps += 1
            if steps > stopping_step:
                return True
    return False


def _sort_key(row: TrialRow, mode: str) -> tuple[int, float]:
    if row.best_value is None:
        return (1, 0.0)
    return (0, -row.best_value if mode == "max" else row.best_value)


def format_table(rows: Sequence[TrialRow], metric: str) -> str:
    """A markdown table of the trials (one row each, best first)."""
    params = list(rows[0].params) if rows else []
    head = ["trial", "status", "stop", *params, f"best valid {metric}", "best epoch", "epochs"]
    head += ["failures", "error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.trial_id, row.status, row.stop_reason]
        cells += [_fmt(row.params.get(p)) for p in params]
        cells += [
            f"{row.best_value:.4f}" if row.best_value is not None else "-",
            str(row.best_epoch) if row.best_epoch is not None else "-",
            str(row.epochs),
            str(row.failures),
            row.error.replace("|", "/")[:120] or "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_tables(rows: Sequence[TrialRow], plan: SearchPlan) -> dict[str, Path]:
    params = list(plan.space)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["trial_id", "status", "stop_reason", *params, f"best_{plan.metric}", "best_epoch"]
        + ["epochs", "evaluations", "failures", "error", "path"]
    )
    for row in rows:
        writer.writerow(
            [row.trial_id, row.status, row.stop_reason, *(row.params.get(p) for p in params)]
            + [
                "" if row.best_value is None else row.best_value,
                "" if row.best_epoch is None else row.best_epoch,
                row.epochs,
                row.evaluations,
                row.failures,
                row.error,
                row.path,
            ]
        )
    csv_path, md_path = plan.out_dir / "trials.csv", plan.out_dir / "trials.md"
    write_text_atomic(csv_path, buffer.getvalue())
    title = (
        f"# {plan.model} on {plan.dataset}: {len(rows)} trials, {plan.search_alg} search, "
        f"{plan.scheduler} scheduler, selected on validation {plan.metric} ({plan.mode})\n\n"
    )
    write_text_atomic(md_path, title + format_table(rows, plan.metric) + "\n")
    return {"csv": csv_path, "md": md_path}


def _user_keys(config: Any) -> set[str]:
    """Keys the user set through files, the config dict or ``--key=value`` overrides."""
    keys: set[str] = set()
    for attr in ("file_config_dict", "variable_config_dict", "cmd_config_dict"):
        keys.update(getattr(config, attr, None) or {})
    return keys


def _fixed_settings(config: Any, checkpoint_dir: Path) -> dict[str, Any]:
    """The user's settings (files, dict, overrides) as typed values, with absolute paths."""
    fixed = {key: to_plain(config[key]) for key in sorted(_user_keys(config))}
    fixed["data_path"] = str(Path(config["data_path"]).resolve().parent)
    fixed["checkpoint_dir"] = str(
        Path(fixed.get("checkpoint_dir") or checkpoint_dir).expanduser().resolve()
    )
    fixed.setdefault("show_progress", False)
    return fixed


def _check_positive(name: str, value: Any, integer: bool = False, zero: bool = False) -> None:
    if value is None:
        return
    ok = _is_number(value, integer=integer) and (value >= 0 if zero else value > 0)
    if not ok:
        wanted = ("an integer" if integer else "a number") + (" >= 0" if zero else " > 0")
        raise ConfigError(f"tune: '{name}' must be {wanted} (got {value!r})")


def _model_name(model: str | type) -> str:
    from recbole_spec.registry import RECBOLE_PREFIX, get_model, is_plugin_model

    if isinstance(model, str):
        return model
    cls = get_model(model)
    return cls.__name__ if is_plugin_model(cls) else f"{RECBOLE_PREFIX}{cls.__name__}"


def plan_search(
    model: str | type,
    dataset: str,
    space_file: str | os.PathLike | None = None,
    *,
    out_dir: str | os.PathLike,
    num_samples: int = 10,
    search_alg: str = "random",
    scheduler: str = "asha",
    grace_period: int | None = None,
    reduction_factor: float = 3.0,
    max_concurrent: int | None = None,
    time_budget_s: float | None = None,
    max_failures: int = 2,
    resume: bool = False,
    retry_errored: bool = False,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    verbose: int = 1,
) -> SearchPlan:
    """Resolve and check a search without starting Ray (see :func:`tune` for the arguments).

    Raises:
        ConfigError: for any invalid argument, space or configuration.
    """
    from recbole_spec.pipeline import build_config

    search_alg = str(search_alg).lower()
    scheduler = str(scheduler).lower()
    if search_alg not in SEARCH_ALGS:
        raise ConfigError(
            f"tune: 'search_alg' must be one of {list(SEARCH_ALGS)} (got {search_alg!r})"
            f"{suggest(search_alg, SEARCH_ALGS)}"
        )
    if search_alg in ("optuna", "hyperopt") and importlib.util.find_spec(search_alg) is None:
        raise ConfigError(
            f"tune: --search-alg={search_alg} needs the '{search_alg}' package, which is not "
            "installed; install it or use --search-alg=random"
        )
    if scheduler not in SCHEDULERS:
        raise ConfigError(
            f"tune: 'scheduler' must be one of {list(SCHEDULERS)} (got {scheduler!r})"
            f"{suggest(scheduler, SCHEDULERS)}"
        )
    _check_positive("num_samples", num_samples, integer=True)
    _check_positive("max_concurrent", max_concurrent, integer=True)
    _check_positive("time_budget_s", time_budget_s)
    _check_positive("max_failures", max_failures, integer=True, zero=True)
    _check_positive("grace_period", grace_period, integer=True)
    if not _is_number(reduction_factor) or reduction_factor <= 1:
        raise ConfigError(f"tune: 'reduction_factor' must be > 1 (got {reduction_factor!r})")

    files = [str(Path(f).expanduser().resolve()) for f in (config_file_list or [])]
    config = build_config(model, dataset, files, dict(config_dict or {}), overrides)
    out = Path(out_dir).expanduser().resolve()
    fixed = _fixed_settings(config, out / "checkpoints")
    space_path = Path(space_file) if space_file else default_space_file(model)
    space = load_space(space_path)
    source = f"search space {space_path}"
    user_fixed = {k: fixed[k] for k in _user_keys(config)}
    check_space(space, config, user_fixed, search_alg, source, model=model)

    metric = str(config["valid_metric"]).lower()
    computed = {f"{m.lower()}@{k}" for m in config["metrics"] for k in (config["topk"] or [])}
    if metric not in computed:
        raise ConfigError(
            f"tune: valid_metric '{config['valid_metric']}' is not computed (metrics x topk give "
            f"{sorted(computed)}); pass --valid_metric=NDCG@20 or add it to metrics/topk"
        )
    evaluations = int(config["epochs"]) // int(config["eval_step"] or 1)
    if evaluations < 1:
        raise ConfigError(
            f"tune: epochs={config['epochs']} with eval_step={config['eval_step']} gives no "
            "validation result to select on; raise --epochs or lower --eval_step"
        )
    plan = SearchPlan(
        model=_model_name(model),
        dataset=dataset,
        space=space,
        space_file=str(space_path),
        fixed=fixed,
        metric=metric,
        mode="max" if config["valid_metric_bigger"] else "min",
        out_dir=out,
        search_alg=search_alg,
        scheduler=scheduler,
        num_samples=int(num_samples),
        epochs=int(config["epochs"]),
        stopping_step=int(config["stopping_step"]),
        max_t=evaluations,
        grace_period=int(grace_period or max(1, evaluations // 10)),
        reduction_factor=float(reduction_factor),
        max_concurrent=max_concurrent,
        time_budget_s=time_budget_s,
        max_failures=int(max_failures),
        seed=config["seed"],
        resume=resume,
        retry_errored=retry_errored,
        verbose=verbose,
    )
    _check_out_dir(plan)
    return plan


def _check_out_dir(plan: SearchPlan) -> None:
    state = plan.out_dir / "search.json"
    restorable = RayBackend.can_restore(plan.out_dir)
    if not plan.resume:
        if restorable or state.exists():
            raise ConfigError(
                f"tune: {plan.out_dir} already holds a search; continue it with --resume or "
                "choose another --out-dir"
            )
        return
    if not restorable:
        raise ConfigError(
            f"tune: nothing to resume in {plan.out_dir} (no Ray experiment state); drop --resume"
        )
    if state.exists():
        saved = json.loads(state.read_text())
        now = json.loads(json.dumps(plan.identity(), default=str))
        diff = sorted(k for k in now if saved.get(k) != now[k])
        if diff:
            raise ConfigError(
                f"tune: --resume with settings that differ from the original search in "
                f"{', '.join(diff)} (see {state}); rerun with the original arguments"
            )


def _trial_resources(
    plan: SearchPlan, cpus_per_trial: float | None, gpus_per_trial: float | None
) -> dict[str, float]:
    cluster_cpus, cluster_gpus = RayBackend.cluster_resources()
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


def tune(
    model: str | type,
    dataset: str,
    space_file: str | os.PathLike | None = None,
    *,
    out_dir: str | os.PathLike,
    num_samples: int = 10,
    search_alg: str = "random",
    scheduler: str = "asha",
    grace_period: int | None = None,
    reduction_factor: float = 3.0,
    cpus_per_trial: float | None = None,
    gpus_per_trial: float | None = None,
    max_concurrent: int | None = None,
    time_budget_s: float | None = None,
    address: str | None = None,
    resume: bool = False,
    retry_errored: bool = False,
    max_failures: int = 2,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    verbose: int = 1,
) -> TuneOutcome:
    """Search hyperparameters on the validation split, then test the best configuration once.

    Args:
        model: plugin or RecBole model name (or class).
        dataset: dataset name.
        space_file: search-space YAML (default: ``properties/tune/<Model>.yaml``).
        out_dir: output folder (Ray experiment, tables, ``best.yaml``, ``best_test.json``).
        num_samples: trials drawn (random, Optuna, HyperOpt) or grid repetitions (default: 10).
        search_alg: ``random`` | ``grid`` | ``optuna`` | ``hyperopt`` (the last two where
            installed; default: random).
        scheduler: ``asha`` (stops bad trials at validation rungs) | ``fifo`` (default: asha).
        grace_period: evaluations before ASHA may stop a trial (default: a tenth of the
            evaluations ``epochs // eval_step``, at least 1).
        reduction_factor: ASHA's reduction factor (default: 3).
        cpus_per_trial: CPUs per trial (default: the cluster's CPUs / ``max_concurrent``, or 1).
        gpus_per_trial: GPUs per trial, fractions allowed (default: 1 if the cluster has a GPU,
            else 0, so trials start on CPU-only machines).
        max_concurrent: trials running at once (default: as many as the resources allow).
        time_budget_s: stop the search after this many seconds (default: none).
        address: join this Ray cluster (default: start a local Ray, shut down afterwards).
        resume: continue the interrupted search in ``out_dir``; finished trials are kept.
        retry_errored: with ``resume``, rerun trials that had failed (default: keep them).
        max_failures: retries of a failing trial before it is reported as ERROR (default: 2).
        config_file_list: YAML files applied to every trial.
        config_dict: settings applied to every trial.
        overrides: ``--key=value`` settings applied to every trial.
        verbose: Ray's progress output, 0 (silent), 1 or 2 (default: 1).

    Returns:
        The :class:`TuneOutcome`; the files are written into ``out_dir`` as they are produced.

    Raises:
        ConfigError: for an invalid space or argument, before Ray starts.
        TuneFailedError: when no trial produced a validation result (after writing the tables).
    """
    plan = plan_search(
        model,
        dataset,
        space_file,
        out_dir=out_dir,
        num_samples=num_samples,
        search_alg=search_alg,
        scheduler=scheduler,
        grace_period=grace_period,
        reduction_factor=reduction_factor,
        max_concurrent=max_concurrent,
        time_budget_s=time_budget_s,
        max_failures=max_failures,
        resume=resume,
        retry_errored=retry_errored,
        config_file_list=config_file_list,
        config_dict=config_dict,
        overrides=overrides,
        verbose=verbose,
    )
    _check_positive("cpus_per_trial", cpus_per_trial)
    _check_positive("gpus_per_trial", gpus_per_trial, zero=True)
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if not plan.resume:
        write_text_atomic(
            plan.out_dir / "search.json",
            json.dumps(plan.identity(), indent=2, default=str) + "\n",
        )
    started = RayBackend.start(address)
    try:
        resources = _trial_resources(plan, cpus_per_trial, gpus_per_trial)
        trial_kwargs = {
            "model": plan.model,
            "dataset": plan.dataset,
            "fixed": plan.fixed,
            "metric": plan.metric,
        }
        start = time.monotonic()
        records = RayBackend.fit(plan, trial_kwargs, resources)
        budget_spent = bool(plan.time_budget_s) and (
            time.monotonic() - start >= 0.99 * float(plan.time_budget_s or 0)
        )
    finally:
        if started:
            RayBackend.stop()
    return _finish(plan, records, budget_spent)


def _finish(plan: SearchPlan, records: list[TrialRecord], budget_spent: bool) -> TuneOutcome:
    """Write the tables and ``best.yaml``, then test the best configuration (once).

    A search with unfinished trials (interrupted) stops after the tables, so that ``--resume``
    can finish it; one that ran out of its time budget is complete with what it has.
    """
    rows = [_row(r, plan) for r in records]
    rows.sort(key=lambda row: _sort_key(row, plan.mode))
    outcome = TuneOutcome(plan.out_dir, plan.metric, plan.mode, rows)
    outcome.files.update(_write_tables(rows, plan))
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


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_tune_parser(subparsers: Any) -> None:
    """Register the ``tune`` subcommand on an ``argparse`` subparsers object.

    Its ``func`` default takes ``(args, overrides)``, where ``overrides`` are the remaining
    ``--key=value`` settings applied to every trial, and returns an exit code.
    """
    parser = subparsers.add_parser(
        "tune",
        allow_abbrev=False,
        help="search hyperparameters with Ray Tune (validation-selected, ASHA, resumable)",
        description="Search a model's hyperparameters on the validation split with Ray Tune, "
        "then train the best configuration once more and report its test metrics. Any further "
        "--key=value is a config setting applied to every trial.",
    )
    parser.add_argument("--model", required=True, help="e.g. DirectSpecPlus, recbole.LightGCN")
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument(
        "--space", default=None, help="search-space YAML (default: properties/tune/<Model>.yaml)"
    )
    parser.add_argument("--config_files", default="", help="YAML files, comma or space separated")
    options: list[tuple[str, dict[str, Any]]] = [
        ("out-dir", {"help": "output folder (default: tune/<Model>-<dataset>)"}),
        ("num-samples", {"type": int, "default": 10, "help": "trials or grid repeats (10)"}),
        ("search-alg", {"default": "random", "choices": SEARCH_ALGS}),
        ("grace-period", {"type": int, "help": "evaluations before ASHA may stop a trial"}),
        ("cpus-per-trial", {"type": float, "help": "default: CPUs / max-concurrent, or 1"}),
        ("gpus-per-trial", {"type": float, "help": "default: 1 if Ray sees a GPU, else 0"}),
        ("max-concurrent", {"type": int, "help": "default: as many as resources allow"}),
        ("time-budget", {"type": float, "help": "seconds for the whole search"}),
        ("max-failures", {"type": int, "default": 2, "help": "retries of a failing trial (2)"}),
        ("retry-errored", {"action": "store_true", "help": "with --resume: rerun failed trials"}),
    ]
    for name, kwargs in options:
        parser.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kwargs)
    parser.add_argument("--scheduler", default="asha", choices=SCHEDULERS)
    parser.add_argument("--address", default=None, help="join this Ray cluster (e.g. auto)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out-dir")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    parser.set_defaults(func=run_tune_command)


def run_tune_command(args: argparse.Namespace, overrides: Sequence[str]) -> int:
    """Run ``tune`` from parsed arguments: print the summary and return 0 (1 if all failed)."""
    from recbole_spec.registry import get_model

    out_dir = args.out_dir or str(Path("tune") / f"{get_model(args.model).__name__}-{args.dataset}")
    files = [f for f in args.config_files.replace(",", " ").split() if f]
    try:
        outcome = tune(
            args.model,
            args.dataset,
            args.space,
            out_dir=out_dir,
            num_samples=args.num_samples,
            search_alg=args.search_alg,
            scheduler=args.scheduler,
            grace_period=args.grace_period,
            cpus_per_trial=args.cpus_per_trial,
            gpus_per_trial=args.gpus_per_trial,
            max_concurrent=args.max_concurrent,
            time_budget_s=args.time_budget,
            address=args.address,
            resume=args.resume,
            retry_errored=args.retry_errored,
            max_failures=args.max_failures,
            config_file_list=files,
            overrides=list(overrides),
            verbose=args.verbose,
        )
    except TuneFailedError as err:
        print(f"recbole-spec tune: {err}", file=sys.stderr)
        return 1
    print(outcome.summary())
    return 0


__all__ = [
    "EXPERIMENT",
    "SCHEDULERS",
    "SEARCH_ALGS",
    "SPACE_TYPES",
    "ParamSpec",
    "RayBackend",
    "SearchPlan",
    "TrialRow",
    "TuneFailedError",
    "TuneOutcome",
    "add_tune_parser",
    "check_space",
    "default_space_file",
    "format_table",
    "list_spaces",
    "load_space",
    "parse_space",
    "plan_search",
    "run_tune_command",
    "searchable_keys",
    "tune",
]
