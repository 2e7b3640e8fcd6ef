"""Result tables for people and for programs: one markdown writer and one CSV writer.

Every command that writes a table (``compare``, ``spectrum``, ``tune``) builds a
:class:`pandas.DataFrame` and hands it here, so the three agree on format: GitHub markdown with a
fixed number of decimals for people, CSV with full-precision floats (``repr``) for programs.
Files are written atomically (:mod:`recbole_spec.atomic`): an interrupted run never leaves a
half-written table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recbole_spec.atomic import write_text_atomic

Formatter = Callable[[Any], str]


def cell_text(value: Any, decimals: int = 4, missing: str = "-") -> str:
    """A markdown cell: floats to ``decimals`` places, None/NaN as ``missing``, ``|`` escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value).replace("|", "/")


def markdown_table(
    frame: pd.DataFrame,
    *,
    decimals: int = 4,
    missing: str = "-",
    formatters: Mapping[str, Formatter] | None = None,
) -> str:
    """``frame`` as a GitHub markdown table (columns as headers, the index is not written).

    Args:
        frame: one row per table row.
        decimals: places for float cells without a formatter of their own.
        missing: text of ``None``/NaN cells.
        formatters: column -> function giving that column's cell text.
    """
    formatters = formatters or {}
    headers = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in frame.itertuples(index=False, name=None):
        cells = [
            formatters[c](v) if c in formatters else cell_text(v, decimals, missing)
            for c, v in zip(frame.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_text(frame: pd.DataFrame, missing: str = "") -> str:
    """``frame`` as CSV (no index), floats at full precision, ``None``/NaN as ``missing``."""
    return frame.to_csv(index=False, na_rep=missing, lineterminator="\n")


def write_tables(
    frame: pd.DataFrame,
    stem: str | Path,
    *,
    title: str = "",
    missing_csv: str = "",
    **markdown: Any,
) -> dict[str, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md`` atomically; returns ``{"csv": path, "md": path}``.

    ``title`` (markdown, may span lines) goes above the markdown table; ``markdown`` keywords go
    to :func:`markdown_table`.
    """
    stem = Path(stem)
    csv_path, md_path = stem.with_suffix(".csv"), stem.with_suffix(".md")
    write_text_atomic(csv_path, csv_text(frame, missing_csv))
    head = f"{title.rstrip()}\n\n" if title else ""
    write_text_atomic(md_path, head + markdown_table(frame, **markdown) + "\n")
    return {"csv": csv_path, "md": md_path}
