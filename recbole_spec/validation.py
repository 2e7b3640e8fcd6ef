"""Config checks that run before any data is loaded, all raising one style of ``ValueError``.

Each message names the owner (model or component), the key, the bad value, what is allowed and
how to fix it, e.g. ``DirectSpecPlus: 'tau' must be > 0 (got -1.0); pass --tau=3.0 or edit
properties/model/DirectSpecPlus.yaml``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """An invalid configuration value, detected before training starts."""


def _fix(config: Any, owner: str, key: str, example: Any) -> str:
    """The fix part of a message: the value to pass and where the value in force comes from.

    A config that knows its layers (:class:`~recbole_spec.config.SpecConfig`) names the file
    the default comes from and whether the bad value is the user's; a plain mapping gets the
    generic form.
    """
    hint = getattr(config, "fix_hint", None)
    if callable(hint):
        return hint(key, example)
    where = f"properties/model/{owner}.yaml" if owner[:1].isupper() else "your config file"
    return f"pass --{key}={example} or edit {where}"


def _get(config: Mapping[str, Any] | Any, key: str) -> Any:
    try:
        return config[key]
    except KeyError:
        return None


def _example(config: Any, key: str, fallback: Any, valid: Callable[[Any], bool]) -> Any:
    """The default in force for ``key`` when it is itself valid, else ``fallback``."""
    default = getattr(config, "default_value", None)
    if callable(default):
        value = default(key)
        if value is not None and valid(value):
            return value
    return fallback


def _number_ok(
    value: Any, low: float | None, high: float | None, low_open: bool, integer: bool
) -> bool:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if low is not None and (value <= low if low_open else value < low):
        return False
    return high is None or value <= high


def check_number(
    config: Any,
    key: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    example: Any = None,
    required: bool = True,
) -> Any:
    """Check that ``config[key]`` is a number within ``[low, high]`` (``(low, high]`` if open).

    Returns:
        The value, unchanged.
    """
    value = _get(config, key)
    if value is None and not required:
        return None
    if value is not None and _number_ok(value, low, high, low_open, integer):
        return value
    example = example if example is not None else (1 if integer else 1.0)
    example = _example(config, key, example, lambda v: _number_ok(v, low, high, low_open, integer))
    if value is None:
        problem = "is missing"
    elif isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        problem = f"must be {'an integer' if integer else 'a number'} (got {value!r})"
    elif isinstance(value, float) and not math.isfinite(value):
        problem = f"must be a finite number (got {value})"
    elif low is not None and (value <= low if low_open else value < low):
        problem = f"must be {'>' if low_open else '>='} {low} (got {value})"
    else:
        problem = f"must be <= {high} (got {value})"
    raise ConfigError(f"{owner}: '{key}' {problem}; {_fix(config, owner, key, example)}")


def check_positive(config: Any, key: str, owner: str, *, integer: bool = False, **kw: Any) -> Any:
    """Check that ``config[key]`` is a number > 0."""
    return check_number(config, key, owner, low=0, low_open=True, integer=integer, **kw)


def check_choice(config: Any, key: str, owner: str, choices: Iterable[str]) -> str:
    """Check that ``config[key]`` is one of ``choices`` (case-insensitive); return it lowered."""
    choices = list(choices)
    value = _get(config, key)
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    example = _example(
        config, key, choices[0], lambda v: isinstance(v, str) and v.lower() in choices
    )
    raise ConfigError(
        f"{owner}: '{key}' must be one of {choices} (got {value!r}){suggest(str(value), choices)}; "
        f"{_fix(config, owner, key, example)}"
    )


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``name`` (case-insensitive, ``difflib`` ratio >= 0.6), or None."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'X'?)"`` for the closest choice, or an empty string."""
    match = closest(name, choices)
    return f" (did you mean '{match}'?)" if match else ""


def split_names(value: Any) -> list[str]:
    """A comma- or whitespace-separated list (``"a,b c"``) or a sequence, as non-empty strings.

    The one parser of list-valued options: ``--config_files``, ``--models``, ``--seeds``,
    ``--preset``.
    """
    if not value:
        return []
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return [str(v) for v in value]


def check_bool(config: Any, key: str, owner: str) -> bool:
    """Check that ``config[key]`` is ``True`` or ``False``; return it."""
    value = _get(config, key)
    if isinstance(value, bool):
        return value
    example = _example(config, key, True, lambda v: isinstance(v, bool))
    raise ConfigError(
        f"{owner}: '{key}' must be True or False (got {value!r}); "
        f"{_fix(config, owner, key, example)}"
    )
