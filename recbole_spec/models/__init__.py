"""The plugin's RecBole models (class name = ``properties/model/<Name>.yaml``).

Nothing here lists them: :mod:`recbole_spec.registry` finds every ``SpecRecommender`` subclass
defined in this package's modules, so a new model is one file here (module = lower-cased class
name). ``from recbole_spec.models import BPRMF`` resolves through that scan.
"""

from __future__ import annotations

from typing import Any

from recbole_spec.config.recbole_setup import ensure_recbole

ensure_recbole()

from recbole_spec.models.base import SpecRecommender  # noqa: E402  (after the compat shims)


def __getattr__(name: str) -> Any:
    from recbole_spec.registry import package_models

    try:
        return package_models()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    from recbole_spec.registry import package_models

    return sorted([*globals(), *package_models()])


__all__ = ["SpecRecommender"]
