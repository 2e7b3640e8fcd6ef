"""Model name resolution: plugin models first, then RecBole's built-ins.

Plugin models are found, not listed: every class defined in a module of
:mod:`recbole_spec.models` that subclasses one of :func:`plugin_bases` (``SpecRecommender``, or
``TrainingFreeRecommender`` for models computed without training) is a model named after its
class, with its defaults in ``properties/model/<Name>.yaml``. A researcher's own methods live in
folders named by ``$RECBOLE_SPEC_PLUGINS`` (separated like ``PATH``): each ``*.py`` file there is
imported (the folder is put on ``sys.path``, so a model file imports its objective file by module
name), its subclasses of those bases become models, and ``<folder>/<Name>.yaml`` holds a model's
defaults.

Names are matched case-insensitively. A plugin model that shadows a built-in (``LightGCN``) leaves
the built-in reachable as ``recbole.LightGCN``. Unknown names raise a one-line error that lists
the valid choices and suggests the closest one.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType

from recbole_spec.validation import ConfigError, suggest

RECBOLE_PREFIX = "recbole."
PLUGINS_ENV = "RECBOLE_SPEC_PLUGINS"
"""Environment variable naming folders of user models (``os.pathsep`` separated)."""


class UnknownModelError(ConfigError):
    """Raised for a model name that is neither a plugin model nor a RecBole model."""


def plugin_bases() -> tuple[type, ...]:
    """The base classes of plugin models.

    ``SpecRecommender`` (trained) and ``TrainingFreeRecommender`` (computed once, e.g. GF-CF).
    """
    from recbole_spec.models.base import SpecRecommender
    from recbole_spec.models.training_free import TrainingFreeRecommender

    return (SpecRecommender, TrainingFreeRecommender)


def _models_of(module: ModuleType) -> dict[str, type]:
    """The plugin-model classes defined (not merely imported) in ``module``."""
    bases = plugin_bases()
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, bases)
        and obj not in bases
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    }


def _merge(tables: Iterable[dict[str, type]], where: str) -> dict[str, type]:
    merged: dict[str, type] = {}
    for table in tables:
        for name, cls in table.items():
            clash = next((n for n in merged if n.lower() == name.lower()), None)
            if clash is not None and merged[clash] is not cls:
                raise ConfigError(
                    f"two plugin models are named '{name}' ({merged[clash].__module__} and "
                    f"{cls.__module__}, {where}); rename one class"
                )
            merged[name] = cls
    return merged


@cache
def package_models() -> dict[str, type]:
    """The models shipped in :mod:`recbole_spec.models`, found by scanning its modules."""
    from recbole_spec import models

    modules = [
        importlib.import_module(f"{models.__name__}.{info.name}")
        for info in pkgutil.iter_modules(models.__path__)
        if not info.name.startswith("_")
    ]
    return _merge((_models_of(m) for m in modules), "in recbole_spec/models")


@cache
def _folder_models(folder: str) -> dict[str, type]:
    """The models defined in the ``*.py`` files of one user folder (imported once)."""
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"${PLUGINS_ENV} names '{folder}', which is not a folder of model files")
    if folder not in sys.path:
        sys.path.append(folder)
    tables = []
    for file in sorted(path.glob("*.py")):
        if file.stem.startswith("_"):
            continue
        module = importlib.import_module(file.stem)
        origin = getattr(module, "__file__", None)
        if origin is None or Path(origin).resolve() != file.resolve():
            raise ConfigError(
                f"plugin file '{file}' has the name of another module, '{file.stem}' "
                f"({origin or 'built in'}); rename the file"
            )
        tables.append(_models_of(module))
    return _merge(tables, f"in {folder}")


def plugin_folders() -> list[str]:
    """The user model folders named by ``$RECBOLE_SPEC_PLUGINS``, resolved, in order."""
    value = os.environ.get(PLUGINS_ENV, "")
    return [str(Path(p).expanduser().resolve()) for p in value.split(os.pathsep) if p.strip()]


def _plugin_models() -> dict[str, type]:
    tables = [package_models(), *(_folder_models(f) for f in plugin_folders())]
    return _merge(tables, f"the package and ${PLUGINS_ENV}")


def model_yaml(cls: type) -> Path:
    """Where plugin model ``cls`` keeps its defaults (the file may not exist).

    ``properties/model/<Name>.yaml`` for the package's models, ``<Name>.yaml`` next to the
    model's file for any other (a ``$RECBOLE_SPEC_PLUGINS`` folder).
    """
    from recbole_spec.paths import properties_dir

    if cls.__module__.split(".")[0] == "recbole_spec":
        return properties_dir() / "model" / f"{cls.__name__}.yaml"
    module = sys.modules.get(cls.__module__)
    return Path(inspect.getfile(module or cls)).resolve().parent / f"{cls.__name__}.yaml"


@cache
def _recbole_general_models() -> dict[str, type]:
    from recbole_spec.config.recbole_setup import ensure_recbole

    ensure_recbole()
    from recbole.model.abstract_recommender import AbstractRecommender

    module = importlib.import_module("recbole.model.general_recommender")
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, AbstractRecommender)
    }


def list_models() -> list[str]:
    """Names of the plugin's models: the package's and those in ``$RECBOLE_SPEC_PLUGINS``."""
    return sorted(_plugin_models())


def list_recbole_models() -> list[str]:
    """Names of RecBole's built-in general recommenders (the comparison baselines)."""
    return sorted(_recbole_general_models())


def _lookup(name: str, table: dict[str, type]) -> type | None:
    lowered = {key.lower(): cls for key, cls in table.items()}
    return lowered.get(name.lower())


def recbole_model(name: str) -> type | None:
    """RecBole's own model class named ``name`` (any case for general models), or None."""
    cls = _lookup(name, _recbole_general_models())
    if cls is not None:
        return cls
    from recbole.utils import get_model as recbole_get_model

    from recbole_spec.compat import keep_anomaly_mode

    try:
        with keep_anomaly_mode():  # importing RecBole's SINE switches anomaly detection on
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
        cls = recbole_model(name[len(RECBOLE_PREFIX) :])
    else:
        cls = _lookup(name, _plugin_models()) or recbole_model(name)
    if cls is None:
        plugin, builtin = list_models(), list_recbole_models()
        raise UnknownModelError(
            f"unknown model '{name}'{suggest(name, plugin + builtin)}. "
            f"Plugin models: {', '.join(plugin)}. RecBole general models: {', '.join(builtin)} "
            f"(prefix with '{RECBOLE_PREFIX}' to force RecBole's version; a model of your own "
            f"goes in a folder named by ${PLUGINS_ENV})."
        )
    return cls


def is_plugin_model(cls: type) -> bool:
    """True for the plugin's models: any subclass of :func:`plugin_bases`, user models included."""
    return inspect.isclass(cls) and issubclass(cls, plugin_bases())
