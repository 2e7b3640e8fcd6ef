"""A search resolved and checked before anything runs: :class:`SearchPlan` and :func:`plan_search`.

Every argument, the search space and the configuration are checked here, so a typo fails in a
second, before Ray starts. The output folder is protected too: a new search refuses a folder
that already holds one, and ``resume`` must name the original settings (``search.json``).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recbole_spec.config.plain import to_plain
from recbole_spec.tuning.space import (
    ParamSpec,
    check_space,
    default_space_file,
    is_number,
    load_space,
)
from recbole_spec.validation import ConfigError, suggest

if TYPE_CHECKING:
    from recbole_spec.tuning.trial import SearchBackend

SEARCH_ALGS = ("random", "grid", "optuna", "hyperopt")
SCHEDULERS = ("asha", "fifo")


@dataclass
class SearchPlan:
    """Everything a search needs, resolved and checked before Ray starts (see :func:`plan_search`).

    Build it with :func:`plan_search`; :func:`~recbole_spec.tuning.search.tune` runs it.
    """

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
    cpus_per_trial: float | None = None
    gpus_per_trial: float | None = None
    address: str | None = None

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
    ok = is_number(value, integer=integer) and (value >= 0 if zero else value > 0)
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
    backend: SearchBackend | None = None,
) -> SearchPlan:
    """Resolve and check a search without starting anything; run it with ``tune(plan)``.

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
        backend: what checks ``out_dir`` for a resumable search (default: Ray's).

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
    _check_positive("cpus_per_trial", cpus_per_trial)
    _check_positive("gpus_per_trial", gpus_per_trial, zero=True)
    if not is_number(reduction_factor) or reduction_factor <= 1:
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
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        address=address,
    )
    if backend is None:
        from recbole_spec.tuning.ray_backend import RayBackend

        backend = RayBackend()
    _check_out_dir(plan, backend)
    return plan


def _check_out_dir(plan: SearchPlan, backend: SearchBackend) -> None:
    """A new search needs a fresh folder; a resumed one, its original settings."""
    state = plan.out_dir / "search.json"
    restorable = backend.can_restore(plan.out_dir)
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
