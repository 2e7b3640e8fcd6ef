"""Configuration values as YAML-safe Python primitives, for checkpoints, reports and Ray."""

from __future__ import annotations

from typing import Any


def to_plain(value: Any) -> Any:
    """``value`` with dicts, lists and tuples walked, numpy/torch scalars unboxed, the rest ``str``.

    RecBole's final config holds numpy scalars, enums and tuples; YAML, JSON and Ray's result
    files need plain ``dict``/``list``/``bool``/``int``/``float``/``str``/``None``.
    """
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)
