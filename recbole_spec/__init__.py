"""recbole_spec: spectrum-balancing recommenders and embedding-collapse diagnostics for RecBole.

DirectSpec, DirectSpec+, CL-uniformity and the stable-rank warm start as RecBole models.

Public API::

    run(model, dataset, ...)   train + test through RecBole (plugin or built-in models)
    get_model(name)            resolve a model name, plugin first (``recbole.<Name>`` for built-ins)
    list_models()              the plugin's model names
    effective_rank, stable_rank, singular_values, spectrum_report, alignment, uniformity
                               collapse diagnostics on plain tensors (any model's tables)
    embedding_tables(model)    the scoring tables of a plugin or RecBole model
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("recbole") is None:
    raise ImportError(
        "recbole-spec needs RecBole 1.2.1, which is not installed. Python 3.10/3.11: "
        "pip install -e '.[pinned]' (RecBole with its pins, Ray 2.6.3); Python 3.12+ or a current "
        "stack: pip install -e '.[modern]' && pip install --no-deps recbole==1.2.1"
    )

from recbole_spec import compat  # noqa: E402

compat.apply()

from recbole_spec.diagnostics import (  # noqa: E402
    alignment,
    effective_rank,
    embedding_tables,
    singular_values,
    spectrum_report,
    stable_rank,
    uniformity,
)
from recbole_spec.models import (  # noqa: E402
    BPRMF,
    CLUniformity,
    DirectSpec,
    DirectSpecPlus,
    LightGCN,
)
from recbole_spec.pipeline import run  # noqa: E402
from recbole_spec.registry import get_model, list_models  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BPRMF",
    "CLUniformity",
    "DirectSpec",
    "DirectSpecPlus",
    "LightGCN",
    "__version__",
    "alignment",
    "effective_rank",
    "embedding_tables",
    "get_model",
    "list_models",
    "run",
    "singular_values",
    "spectrum_report",
    "stable_rank",
    "uniformity",
]
