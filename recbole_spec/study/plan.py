"""A study resolved and checked before anything trains: :class:`StudyPlan` and :func:`plan_study`.

Every model entry gets a :class:`~recbole_spec.tuning.plan.SearchPlan` from the ``tune``
machinery with the same budget: the same number of trials (``num_samples`` is ``trials`` over
the number of grid points of its space, which must divide it) and the same time budget. An
entry is a model name (``BPR``, ``recbole.LightGCN``) or ``<Model>@<variant>``, whose space is
``properties/tune/variants/<Model>@<variant>.yaml`` (``DirectSpecPlus@grid``: the tau x alpha
grid); ``spaces`` (``--space=<entry>=FILE``) overrides any of them. The output folder's
``study.json`` holds what was planned; a rerun must plan the same study, or it is refused.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recbole_spec.atomic import write_text_atomic
from recbole_spec.study.retune import discard_entry, record_retune
from recbole_spec.tuning import SearchPlan, default_space_file, load_space, plan_search
from recbole_spec.validation import ConfigError

STUDY_JSON = "study.json"
TUNE_DIR = "tune"
RESERVED = {"seed": "--seeds", "model": "--models", "dataset": "--dataset"}
PROPOSED_CLASSES = ("DirectSpec", "DirectSpecPlus", "CLUniformity")
"""The spectrum-balancing methods the study is about; with the stable-rank warm start (an entry
whose space sets a nonzero ``stable_rank_weight``) they are the "proposed" models, every other
entry is a baseline (see :mod:`recbole_spec.study.significance`)."""


@dataclass(frozen=True)
class StudyEntry:
    """One row of the study: its label, the model it trains and its search space."""

    label: str
    model: str
    space_file: Path
    proposed: bool


@dataclass
class StudyPlan:
    """The checked study: entries, budget, seeds and one search plan per entry."""

    dataset: str
    entries: list[StudyEntry]
    trials: int
    time_budget_s: float | None
    seeds: list[int]
    out_dir: Path
    overrides: list[str]
    config_files: list[str]
    config_dict: dict[str, Any]
    searches: dict[str, SearchPlan] = field(default_factory=dict)
    retuned: dict[str, int] = field(default_factory=dict)
    """Entries retuned by this plan (``retune``), each with its discarded test evaluations."""

    def identity(self) -> dict[str, Any]:
        """What a rerun must share with the original study (``study.json``)."""
        return {
            "dataset": self.dataset,
            "entries": [
                {
                    "label": e.label,
                    "model": e.model,
                    "space": {k: s.to_dict() for k, s in load_space(e.space_file).items()},
                }
                for e in self.entries
            ],
            "trials": self.trials,
            "time_budget_s": self.time_budget_s,
            "seeds": self.seeds,
            "overrides": self.overrides,
            "config_files": self.config_files,
            "config_dict": self.config_dict,
        }


def variants_dir() -> Path:
    """``properties/tune/variants``: the spaces of ``<Model>@<variant>`` entries."""
    from recbole_spec.paths import properties_dir

    return properties_dir() / "tune" / "variants"


def _entry(label: str, spaces: Mapping[str, str]) -> StudyEntry:
    model, _, variant = label.partition("@")
    if label in spaces:
        space = Path(spaces[label]).expanduser()
        if not space.is_file():
            raise ConfigError(f"study: --space for {label}: no such file {space}")
    elif variant:
        space = variants_dir() / f"{label}.yaml"
        if not space.is_file():
            shipped = sorted(p.stem for p in variants_dir().glob(f"{model}@*.yaml"))
            raise ConfigError(
                f"study: no variant space {space.name} for {label}; shipped for {model}: "
                f"{', '.join(shipped) or 'none'}; pass --space={label}=<file>"
            )
    else:
        space = default_space_file(model)
    from recbole_spec.registry import get_model

    name = get_model(model).__name__
    warm = load_space(space).get("stable_rank_weight")
    proposed = name in PROPOSED_CLASSES or bool(warm and any(v > 0 for v in warm.probes()))
    return StudyEntry(label, model, space, proposed)


def grid_points(space_file: Path) -> int:
    """Trials one repeat of a space's grid runs: the product of its ``grid`` value counts."""
    return math.prod(len(s.values) for s in load_space(space_file).values() if s.kind == "grid")


def _check(models: Sequence[str], seeds: Sequence[int], trials: Any, budget: Any) -> None:
    if not models:
        raise ConfigError("study: no models given; pass e.g. --models=DirectSpecPlus,BPR,EASE")
    if len(set(models)) != len(models):
        raise ConfigError(f"study: a model is listed twice in {list(models)}")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"study: --seeds must be distinct integers, e.g. 1,2,3 (got {seeds})")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"study: --trials must be an integer >= 1 (got {trials!r})")
    if budget is not None and (not isinstance(budget, (int, float)) or budget <= 0):
        raise ConfigError(f"study: --time-budget-s must be a number > 0 (got {budget!r})")


def plan_study(
    models: Sequence[str],
    dataset: str,
    *,
    trials: int,
    seeds: Sequence[int],
    out_dir: str | os.PathLike,
    time_budget_s: float | None = None,
    spaces: Mapping[str, str] | None = None,
    epochs: int | None = None,
    config_file_list: Sequence[str] = (),
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    max_concurrent: int | None = None,
    cpus_per_trial: float | None = None,
    gpus_per_trial: float | None = None,
    backend: Any = None,
    retune: Sequence[str] = (),
) -> StudyPlan:
    """Resolve and check every entry, space, budget and setting before anything trains.

    ``retune`` names entries of an existing study whose space may have changed: their search
    and results are discarded on the record (:mod:`recbole_spec.study.retune`) and searched
    again; every other field must still match ``study.json``.

    Raises:
        ConfigError: an unknown model or variant, a missing or invalid space, a budget that is
            not the same for every entry (trials not a multiple of a grid), a reserved
            override, or an output folder holding a different study.
    """
    from recbole_spec.config import parse_overrides

    models = [m.strip() for m in models if m and m.strip()]
    seeds = list(seeds)
    _check(models, seeds, trials, time_budget_s)
    unknown = sorted(set(spaces or {}) - set(models))
    if unknown:
        raise ConfigError(f"study: --space names {unknown}, which are not in --models")
    retune = list(dict.fromkeys(retune))
    stray = sorted(set(retune) - set(models))
    if stray:
        raise ConfigError(f"study: --retune names {stray}, which are not in --models")
    for key in parse_overrides(overrides):
        if key in RESERVED:
            raise ConfigError(f"study: '--{key}=' is not an override here; use {RESERVED[key]}=")
    out = Path(out_dir).expanduser().resolve()
    settings = dict(config_dict or {})
    if epochs is not None:
        settings["epochs"] = int(epochs)
    files = [str(Path(f).expanduser().resolve()) for f in config_file_list]
    entries = [_entry(label, spaces or {}) for label in models]
    plan = StudyPlan(
        dataset, entries, trials, time_budget_s, seeds, out, list(overrides), files, settings
    )
    grids = {entry.label: grid_points(entry.space_file) for entry in entries}
    for entry in entries:
        points = grids[entry.label]
        if trials % points:
            raise ConfigError(
                f"study: --trials={trials} is not a multiple of the {points} grid points of "
                f"{entry.label}'s space {entry.space_file}; every model gets the same number "
                f"of trials, so pass a multiple of {points}"
            )
    _check_out(plan, retune)
    for entry in entries:
        tune_dir = out / TUNE_DIR / entry.label
        resources = {"cpus_per_trial": cpus_per_trial, "gpus_per_trial": gpus_per_trial}
        plan.searches[entry.label] = _search(
            entry, plan, tune_dir, trials // grids[entry.label], max_concurrent, resources, backend
        )
    return plan


def _search(
    entry: StudyEntry,
    plan: StudyPlan,
    tune_dir: Path,
    num_samples: int,
    max_concurrent: int | None,
    resources: Mapping[str, float | None],
    backend: Any,
) -> SearchPlan:
    """The entry's search, resumed when its folder holds one (a killed study)."""
    if backend is None:
        from recbole_spec.tuning.ray_backend import RayBackend

        backend = RayBackend()
    resume = backend.can_restore(tune_dir)
    stale = tune_dir / "search.json"
    if not resume and stale.exists():  # killed before Ray saved any state: start it again
        stale.unlink()
    return plan_search(
        entry.model,
        plan.dataset,
        entry.space_file,
        out_dir=tune_dir,
        num_samples=num_samples,
        time_budget_s=plan.time_budget_s,
        max_concurrent=max_concurrent,
        resume=resume,
        **resources,
        config_file_list=plan.config_files,
        config_dict=plan.config_dict,
        overrides=plan.overrides,
        verbose=0,
        backend=backend,
    )


def _masked(identity: dict[str, Any], retune: Sequence[str]) -> dict[str, Any]:
    """``identity`` without the spaces of the ``retune`` entries (they may differ)."""
    entries = identity.get("entries")
    if not isinstance(entries, list):
        return identity
    return {
        **identity,
        "entries": [
            {k: v for k, v in e.items() if k != "space"}
            if isinstance(e, dict) and e.get("label") in retune
            else e
            for e in entries
        ],
    }


def _changed_spaces(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Entries whose space alone differs, when both studies list the same entries."""
    old = saved.get("entries")
    same = isinstance(old, list) and [
        (e.get("label"), e.get("model")) if isinstance(e, dict) else None for e in old
    ] == [(e["label"], e["model"]) for e in now["entries"]]
    if not same:
        return []
    return [
        n["label"] for o, n in zip(old, now["entries"], strict=True) if o.get("space") != n["space"]
    ]


def _check_out(plan: StudyPlan, retune: Sequence[str] = ()) -> None:
    """A new study writes ``study.json``; a rerun must plan the very same study.

    The ``retune`` entries of a rerun are discarded on the record and ``study.json`` takes
    their current spaces (:mod:`recbole_spec.study.retune`).
    """
    path = plan.out_dir / STUDY_JSON
    now = json.loads(json.dumps(plan.identity(), default=str))
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            saved, reason = None, str(err)
        else:
            reason = f"a {type(saved).__name__}, not the study's settings"
        if not isinstance(saved, dict):
            raise ConfigError(
                f"study: {path} cannot be read ({reason}); it records which study this folder "
                "holds: restore it, or choose another --out"
            )
        old, new = _masked(saved, retune), _masked(now, retune)
        diff = sorted(k for k in new if old.get(k) != new[k])
        if diff:
            changed = _changed_spaces(saved, now) if diff == ["entries"] else []
            hint = (
                f" (the space of {', '.join(changed)} changed; --retune={','.join(changed)} "
                "searches it again)"
                if changed
                else ""
            )
            raise ConfigError(
                f"study: {plan.out_dir} holds a study with other {', '.join(diff)}{hint} (see "
                f"{path}); rerun it with its original arguments or choose another --out"
            )
        if retune:
            for label in retune:
                found = plan.out_dir / TUNE_DIR / label
                discarded = discard_entry(plan.out_dir, label, found)
                saved = record_retune(saved, label, discarded)
                plan.retuned[label] = discarded
            write_text_atomic(path, json.dumps({**saved, **now}, indent=2) + "\n")
        return
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(now, indent=2) + "\n")
