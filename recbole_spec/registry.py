"""Model name resolution: plugin models first, then RecBole's built-ins.

Names are matched case-insensitively. A plugin model that shadows a built-in (``LightGCN``) leaves
the built-in reachable as ``recbole.LightGCN``. Unknown names raise a one-line error that lists
the valid choices and suggests the closest one.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from recbole_spec.validation import ConfigError, suggest

RECBOLE_PREFIX = "recbole."


class UnknownModelError(ConfigError):
    """Raised for a model name that is neither a plugin model nor a RecBole model."""


@cache
def _plugin_models() -> dict[str, type]:
    from recbole_spec import models

    return {cls.__name__: cls for cls in models.MODELS}


@cache
def _recbole_general_models() -> dict[str, type]:
    from recbole.model.abstract_recommender import AbstractRecommender

    module = importlib.import_module("recbole.model.general_recommender")
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, AbstractRecommender)
    }


def list_models() -> list[str]:
    """Names of the plugin's registered models."""
    return sorted(_plugin_models())


def list_recbole_models() -> list[str]:
    """Names of RecBole's built-in general recommenders (the comparison baselines)."""
    return sorted(_recbole_general_models())


def _lookup(name: str, table: dict[str, type]) -> type | None:
    lowered = {key.lower(): cls for key, cls in table.items()}
    return lowered.get(name.lower())


def _recbole_model(name: str) -> type | None:
    cls = _lookup(name, _recbole_general_models())
    if cls is not None:
        return cls
    from recbole.utils import get_model as recbole_get_model

    try:
        return recbole_get_model(name)
    except (ValueError, ImportError, AttributeError):
        return None


def get_model(name: str | type) -> type:
    """Resolve ``name`` to a model class: plugin first, then RecBole (``recbole.<Name>`` forces it).

    Args:
        name: a model name such as ``"DirectSpecPlus"``, ``"lightgcn"`` or ``"recbole.LightGCN"``,
            or a model class (returned unchanged).

    Returns:
        The recommender class.

    Raises:
        UnknownModelError: listing the valid names when nothing matches.
    """
    if isinstance(name, type):
        return name
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError(f"model name must be a non-empty string (got {name!r})")
    name = name.strip()
    if name.lower().startswith(RECBOLE_PREFIX):
        cls = _recbole_model(name[len(RECBOLE_PREFIX) :])
    else:
        cls = _lookup(name, _plugin_models()) or _recbole_model(name)
    if cls is None:
        plugin, builtin = list_models(), list_recbole_models()
        raise UnknownModelError(
            f"unknown model '{name}'{suggest(name, plugin + builtin)}. "
            f"Plugin models: {', '.join(plugin)}. RecBole general models: {', '.join(builtin)} "
            f"(prefix with '{RECBOLE_PREFIX}' to force RecBole's version)."
        )
    return cls


def is_plugin_model(cls: type) -> bool:
    """True for classes registered by this plugin."""
    return cls in _plugin_models().values()
