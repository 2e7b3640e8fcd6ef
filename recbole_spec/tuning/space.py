"""The search-space format and its checks against the model, all before Ray starts.

A space file (``properties/tune/<Model>.yaml`` by default) maps a config key to a distribution,
one key per line::

    tau: {type: uniform, low: 2.0, high: 5.0}             # float in [low, high]
    learning_rate: {type: loguniform, low: 1.0e-4, high: 1.0e-2}   # log-uniform, low > 0
    n_layers: {type: randint, low: 1, high: 4}            # integer in [low, high], both included
    shrink: {type: choice, values: [0.0, 0.02, 0.03]}     # one value drawn per trial
    alpha: {type: grid, values: [0.5, 0.75, 1.0]}         # every value (x num_samples)

:func:`parse_space` checks the form; :func:`check_space` checks the keys and values against the
model (unknown key, key that cannot be searched, wrong type, a value the model rejects).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from recbole_spec.validation import ConfigError, suggest

SPACE_TYPES = ("uniform", "loguniform", "randint", "choice", "grid")
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


def is_number(value: Any, integer: bool = False) -> bool:
    """Whether ``value`` is a number (an integer with ``integer``); booleans are not."""
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
        if not is_number(value, integer=integer):
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

    A RecBole built-in whose name a plugin model shadows (``recbole.LightGCN``) takes
    ``properties/tune/recbole.<Model>.yaml`` where one is shipped: its config keys differ.

    Raises:
        ConfigError: if none is shipped, listing those that are.
    """
    from recbole_spec.paths import properties_dir
    from recbole_spec.registry import RECBOLE_PREFIX, get_model, is_plugin_model

    cls = get_model(model)
    name = cls.__name__
    path = properties_dir() / "tune" / f"{name}.yaml"
    builtin = properties_dir() / "tune" / f"{RECBOLE_PREFIX}{name}.yaml"
    if not is_plugin_model(cls) and builtin.is_file():
        path, name = builtin, f"{RECBOLE_PREFIX}{name}"
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
        bad = [v for v in spec.values if not is_number(v)]
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
