"""Configuration: RecBole's, the plugin's and the user's settings in one layering, checked early.

Modules (lightest first; only the last two import RecBole):

* :mod:`~recbole_spec.config.keys`: the keys a user may set (RecBole's and the plugin's);
* :mod:`~recbole_spec.config.presets`: named settings files and the paper defaults;
* :mod:`~recbole_spec.config.files`: reading ``--key=value`` overrides and YAML config files;
* :mod:`~recbole_spec.config.layering`: the plugin's layers, in order, written once;
* :mod:`~recbole_spec.config.recbole_setup`: :func:`ensure_recbole` (compat shims, metrics, and
  RecBole's ``Config(model=<plugin model>)`` routed to the same layering);
* :mod:`~recbole_spec.config.spec_config`: :class:`SpecConfig`, used by every command;
* :mod:`~recbole_spec.config.recbole_api`: :class:`RecBoleAPIConfig`, what RecBole's own
  ``Config`` builds for a plugin model.

The public names are re-exported lazily, so ``from recbole_spec.config import parse_overrides``
does not import RecBole while ``from recbole_spec.config import SpecConfig`` does.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SpecConfig": "spec_config",
    "RecBoleAPIConfig": "recbole_api",
    "parse_overrides": "files",
    "read_config_file": "files",
    "ensure_recbole": "recbole_setup",
    "known_keys": "keys",
    "choose_presets": "presets",
    "list_presets": "presets",
    "preset_path": "presets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
