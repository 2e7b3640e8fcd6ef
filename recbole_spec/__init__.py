"""recbole_spec: spectrum-balancing recommenders and embedding-collapse diagnostics for RecBole.

DirectSpec, DirectSpec+, CL-uniformity and the stable-rank warm start as RecBole models.

Public API::

    run(model, dataset, ...)   train + test through RecBole (plugin or built-in models)
    get_model(name)            resolve a model name, plugin first (``recbole.<Name>`` for built-ins)
    list_models()              the plugin's model names
    effective_rank, stable_rank, singular_values, spectrum_report, alignment, uniformity
                               collapse diagnostics on plain tensors (any model's tables)
    embedding_tables(model)    the scoring tables of a plugin or RecBole model
    load_data_and_model(file)  RecBole's (config, model, dataset, train, valid, test) from a
                               checkpoint of recbole-spec or of RecBole in this process

The names are imported on first use, so ``import recbole_spec.validation`` (or any light
submodule) imports neither RecBole nor torch. RecBole is made ready for the plugin (compat shims,
metrics, RecBole's ``Config(model=<plugin model>)`` hook) by
:func:`recbole_spec.config.recbole_setup.ensure_recbole`, which the modules that import RecBole
call first; touching a model class (``from recbole_spec import DirectSpecPlus``) is enough.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

if importlib.util.find_spec("recbole") is None:
    raise ImportError(
        "recbole-spec needs RecBole 1.2.1, which is not installed. Python 3.10/3.11: "
        "pip install -e '.[pinned]' (RecBole with its pins, Ray 2.6.3); Python 3.12+ or a current "
        "stack: pip install -e '.[modern]' && pip install --no-deps recbole==1.2.1"
    )

__version__ = "0.1.0"

_EXPORTS = {
    **dict.fromkeys(
        (
            "alignment",
            "effective_rank",
            "embedding_tables",
            "singular_values",
            "spectrum_report",
            "stable_rank",
            "uniformity",
        ),
        "recbole_spec.diagnostics",
    ),
    **dict.fromkeys(
        ("BPRMF", "CLUniformity", "DirectSpec", "DirectSpecPlus", "LightGCN"),
        "recbole_spec.models",
    ),
    "run": "recbole_spec.pipeline",
    "load_data_and_model": "recbole_spec.training.restore",
    "get_model": "recbole_spec.registry",
    "list_models": "recbole_spec.registry",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if "recbole" in sys.modules:  # RecBole is loaded already: make it ready for the plugin now
    from recbole_spec.config.recbole_setup import ensure_recbole

    ensure_recbole()
