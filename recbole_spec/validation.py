"""Config checks that run before any data is loaded, all raising one style of ``ValueError``.

Each message names the owner (model or component), the key, the bad value, what is allowed and
how to fix it, e.g. ``DirectSpecPlus: 'tau' must be > 0 (got -1.0); pass --tau=3.0 or edit
properties/model/DirectSpecPlus.yaml``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """An invalid configuration value, detected before training starts."""


def _fix(owner: str, key: str, example: Any) -> str:
    where = f"properties/model/{owner}.yaml" if owner[:1].isupper() else "your config file"
    return f"pass --{key}={example} or edit {where}"


def _get(config: Mapping[str, Any] | Any, key: str) -> Any:
    try:
        return config[key]
    except KeyError:
        return None


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
    example = example if example is not None else (1 if integer else 1.0)
    if value is None:
        if not required:
            return None
        raise ConfigError(f"{owner}: '{key}' is missing; {_fix(owner, key, example)}")
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = "an integer" if integer else "a number"
        raise ConfigError(
            f"{owner}: '{key}' must be {wanted} (got {value!r}); {_fix(owner, key, example)}"
        )
    if low is not None and (value <= low if low_open else value < low):
        op = ">" if low_open else ">="
        raise ConfigError(
            f"{owner}: '{key}' must be {op} {low} (got {value}); {_fix(owner, key, example)}"
        )
    if high is not None and value > high:
        raise ConfigError(
            f"{owner}: '{key}' must be <= {high} (got {value}); {_fix(owner, key, example)}"
        )
    return value


def check_positive(config: Any, key: str, owner: str, *, integer: bool = False, **kw: Any) -> Any:
    """Check that ``config[key]`` is a number > 0."""
    return check_number(config, key, owner, low=0, low_open=True, integer=integer, **kw)


def check_choice(config: Any, key: str, owner: str, choices: Iterable[str]) -> str:
    """Check that ``config[key]`` is one of ``choices`` (case-insensitive); return it lowered."""
    choices = list(choices)
    value = _get(config, key)
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise ConfigError(
        f"{owner}: '{key}' must be one of {choices} (got {value!r}){suggest(str(value), choices)}; "
        f"{_fix(owner, key, choices[0])}"
    )


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'X'?)"`` for the closest choice, or an empty string."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""
