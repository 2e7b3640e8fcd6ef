"""Hyperparameter search with Ray Tune: validation-selected, early-stopped, resumable.

Every trial calls :func:`recbole_spec.pipeline.run` with ``evaluate_test=False`` and reports the
validation metric (``valid_metric``, e.g. ``ndcg@20``) after every evaluation, so the ASHA
scheduler can stop bad trials early. The test split is touched once, after the search, by the
best configuration. RecBole's own ``run_hyper.py`` instead selects on the test set, reports once
and asks one GPU per trial; this package fixes all three::

    from recbole_spec.tuning import plan_search, tune
    outcome = tune(plan_search("DirectSpecPlus", "ml-100k", out_dir="tune/dsp", num_samples=8))

Keys of a search space (:mod:`~recbole_spec.tuning.space`) must be config keys the model knows;
``grid`` values are all run, each repeated ``num_samples`` times, and the ``grid`` search
algorithm turns ``choice`` into ``grid`` and refuses continuous distributions. Every check
(unknown key, empty range, wrong type, a value the model rejects) runs in :func:`plan_search`,
before Ray starts.

Outputs, under ``out_dir``: ``search.json`` (what was searched, checked on ``--resume``),
``search/`` (Ray's experiment: one folder per trial holding RecBole's log), ``trials.csv`` and
``trials.md`` (every trial: status, stop reason, parameters, best validation metric, epochs,
failures, error), ``best.yaml`` (plain YAML for ``--config_files``), ``best/`` (the final run's
log and checkpoint) and ``best_test.json`` (the best configuration's test metrics).

Modules: ``space`` (the format and its checks), ``plan`` (:func:`plan_search`), ``trial`` (one
trial and the backend interface), ``ray_backend`` (:class:`RayBackend`, the only module that
imports ``ray``: it runs on Ray 2.6.3, RecBole 1.2.1's pin, and on current Ray, 2.60 tested),
``report`` (the trials table) and ``search`` (:func:`tune`). ``--address`` joins a running
cluster (``ray start --head``); trials that die with their node are retried (``max_failures``),
and SIGTERM stops a search like Ctrl-C, resumable with ``--resume``. The command line is
:mod:`recbole_spec.commands.tune`.
"""

from __future__ import annotations

from typing import Any

from recbole_spec.tuning.plan import SCHEDULERS, SEARCH_ALGS, SearchPlan, plan_search
from recbole_spec.tuning.report import TrialRow, format_table
from recbole_spec.tuning.search import TuneFailedError, TuneOutcome, tune
from recbole_spec.tuning.space import (
    NOT_SEARCHABLE,
    SPACE_TYPES,
    ParamSpec,
    check_space,
    default_space_file,
    list_spaces,
    load_space,
    parse_space,
    searchable_keys,
)
from recbole_spec.tuning.trial import EXPERIMENT, SearchBackend, TrialRecord

_RAY_NAMES = ("RayBackend", "_trial_dirname")
"""Loaded on first use, so that planning a search and ``--help`` do not import Ray
(``_trial_dirname`` is named in the experiment state of searches started before this package)."""


def __getattr__(name: str) -> Any:
    if name in _RAY_NAMES:
        from recbole_spec.tuning import ray_backend

        return getattr(ray_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXPERIMENT",
    "NOT_SEARCHABLE",
    "SCHEDULERS",
    "SEARCH_ALGS",
    "SPACE_TYPES",
    "ParamSpec",
    "RayBackend",
    "SearchBackend",
    "SearchPlan",
    "TrialRecord",
    "TrialRow",
    "TuneFailedError",
    "TuneOutcome",
    "check_space",
    "default_space_file",
    "format_table",
    "list_spaces",
    "load_space",
    "parse_space",
    "plan_search",
    "searchable_keys",
    "tune",
]
