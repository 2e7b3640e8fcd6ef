"""recbole_spec: spectrum-balancing recommenders and embedding-collapse diagnostics for RecBole.

DirectSpec, DirectSpec+, CL-uniformity and the stable-rank warm start as RecBole models.

Public API::

    run(model, dataset, ...)   train + test through RecBole (plugin or built-in models)
    get_model(name)            resolve a model name, plugin first (``recbole.<Name>`` for built-ins)
    list_models()              the plugin's model names
"""

from __future__ import annotations

from recbole_spec import compat

compat.apply()

from recbole_spec.models import BPRMF, LightGCN  # noqa: E402
from recbole_spec.pipeline import run  # noqa: E402
from recbole_spec.registry import get_model, list_models  # noqa: E402

__version__ = "0.1.0"

__all__ = ["BPRMF", "LightGCN", "__version__", "get_model", "list_models", "run"]
