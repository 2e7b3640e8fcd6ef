"""Reading the user's settings: ``--key=value`` overrides and YAML config files.

Both raise a one-line :class:`~recbole_spec.validation.ConfigError` naming the argument or file
and the fix. No RecBole import: the command-line front checks its arguments with these before any
heavy import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from recbole_spec.validation import ConfigError


def parse_overrides(args: Sequence[str]) -> dict[str, str]:
    """Turn ``["--key=value", ...]`` into ``{key: value}`` (strings, converted later by RecBole).

    Raises:
        ConfigError: for an argument that is not of the form ``--key=value``.
    """
    overrides: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if not key or not sep:
            raise ConfigError(f"cannot parse argument '{arg}': expected --key=value")
        if key in overrides and overrides[key] != value:
            raise ConfigError(f"argument '--{key}' given twice with different values")
        overrides[key] = value
    return overrides


def read_config_file(path: Path, loader: Any) -> dict[str, Any]:
    """Parse one user config file, or raise a one-line :class:`ConfigError` naming the problem."""
    if not path.exists():
        raise ConfigError(f"config file '{path}' does not exist")
    if path.is_dir():
        raise ConfigError(
            f"config file '{path}' is a directory; pass YAML files (comma separated), e.g. "
            f"--config_files={path / 'run.yaml'}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"config file '{path}' is not a text file (binary data); pass a YAML file of "
            "`key: value` lines"
        ) from None
    except OSError as err:
        raise ConfigError(f"config file '{path}' cannot be read ({err.strerror})") from None
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(
            f"config file '{path}' is not valid YAML{where} ({problem}); it must hold "
            "`key: value` lines"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file '{path}' must hold `key: value` lines (a YAML mapping), not a "
            f"{type(data).__name__}; is it the right file?"
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"config file '{path}': key {bad[0]!r} is not a name")
    return data
