"""Make RecBole ready for the plugin, once, when RecBole-facing code is first imported.

:func:`ensure_recbole` applies the version shims (:mod:`recbole_spec.compat`), registers the
plugin's metrics in RecBole's evaluator and routes RecBole's own ``Config(model=<plugin model>,
...)`` to :class:`~recbole_spec.config.recbole_api.RecBoleAPIConfig`, a
:class:`~recbole_spec.config.spec_config.SpecConfig`: the same layers, presets, unknown-key check
and model checks as ``recbole-spec run``. It is called by the modules that import RecBole (the
configuration, :mod:`recbole_spec.models`, :mod:`recbole_spec.training`), never by ``import
recbole_spec``, which stays cheap. This module itself imports nothing of RecBole until called.
"""

from __future__ import annotations

from typing import Any

_READY = False


def plugin_model_for(model: Any) -> type | None:
    """The plugin model that RecBole's ``Config(model=...)`` names, or None for RecBole's own.

    A plugin model class, or the name of a plugin model that RecBole does not define itself
    (``"DirectSpecPlus"``); a name RecBole knows (``"LightGCN"``, ``"BPR"``) stays RecBole's.
    """
    from recbole_spec import registry

    if isinstance(model, type):
        return model if registry.is_plugin_model(model) else None
    if not isinstance(model, str) or not model.strip():
        return None
    if model.strip().lower().startswith(registry.RECBOLE_PREFIX):
        return None
    if registry.recbole_model(model.strip()) is not None:
        return None
    try:
        cls = registry.get_model(model)
    except registry.UnknownModelError:
        return None
    return cls if registry.is_plugin_model(cls) else None


def _install_config_hook() -> None:
    """``Config(model=<plugin model>, ...)`` builds a ``RecBoleAPIConfig`` (subclasses: as ever)."""
    from recbole.config.configurator import Config

    if getattr(Config.__new__, "_recbole_spec_hook", False):
        return

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        model = args[0] if args else kwargs.get("model")
        if cls is Config and plugin_model_for(model) is not None:
            from recbole_spec.config.recbole_api import RecBoleAPIConfig

            cls = RecBoleAPIConfig
        return object.__new__(cls)

    new._recbole_spec_hook = True  # type: ignore[attr-defined]
    Config.__new__ = staticmethod(new)  # type: ignore[assignment]


def ensure_recbole() -> None:
    """Apply the compat shims, register the metrics, install the ``Config`` hook (idempotent)."""
    global _READY
    if _READY:
        return
    from recbole_spec import compat

    compat.apply()
    from recbole_spec.metrics import register_metrics

    register_metrics()
    _install_config_hook()
    _READY = True
