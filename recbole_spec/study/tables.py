"""``results.csv``, ``results.md`` and ``results.tex`` of a study.

The statistics are ``compare``'s (:func:`recbole_spec.compare.results.aggregate`: per-entry mean
and sample std over the seeds, with the study's timings as extra columns); this module adds the
role of each entry, the p-values against the reference and a row, with the reason, for every
entry that failed. The CSV holds every aggregated column at full precision; the markdown and
LaTeX tables show the test metrics, erank, stable rank, uniformity, the timings and p-values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from recbole_spec.atomic import write_text_atomic
from recbole_spec.compare.results import NA, aggregate
from recbole_spec.reporting import csv_text, markdown_table
from recbole_spec.study.retrain import TIMING_KEYS
from recbole_spec.study.significance import METRICS

RESULTS_CSV, RESULTS_MD, RESULTS_TEX = "results.csv", "results.md", "results.tex"
SHOWN_DIAGNOSTICS = ("all_erank", "all_stable_rank", "user_uniformity", "item_uniformity")


@dataclass
class StudyResults:
    """What the tables show: the runs, failures, roles, reference and p-values."""

    records: dict[str, list[dict[str, Any]]]
    failures: dict[str, str]
    proposed: dict[str, bool]
    order: list[str]
    reference: str | None
    p_values: dict[str, dict[str, float]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)


def _role(results: StudyResults, label: str) -> str:
    if label == results.reference:
        return "reference"
    return "proposed" if results.proposed[label] else "baseline"


def _frame(results: StudyResults) -> tuple[pd.DataFrame, list[str]]:
    """One row per entry in order: role, status, error, stats columns, p-values."""
    stats = aggregate(results.records, TIMING_KEYS) if results.records else None
    columns = list(dict.fromkeys(c for c, _ in stats.columns)) if stats is not None else []
    rows = []
    for label in results.order:
        row: dict[str, Any] = {"model": label, "role": _role(results, label)}
        if label in results.failures:
            row.update(status="failed", error=results.failures[label], n_seeds=0)
        else:
            row.update(status="ok", error="", n_seeds=len(results.records[label]))
            for column in columns:
                row[column] = stats.loc[label, (column, "mean")]
                row[f"{column}_std"] = stats.loc[label, (column, "std")]
            for metric in METRICS:
                row[f"p_{metric}"] = results.p_values.get(label, {}).get(metric)
        rows.append(row)
    return pd.DataFrame(rows), columns


def _shown(columns: Sequence[str]) -> list[str]:
    metrics = [c for c in columns if "@" in c]
    return [*metrics, *[c for c in SHOWN_DIAGNOSTICS if c in columns], *TIMING_KEYS]


def _cell(mean: Any, std: Any, digits: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return NA
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _p_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def display_table(results: StudyResults) -> pd.DataFrame:
    """The table people read (markdown and LaTeX): text cells, one row per entry."""
    frame, columns = _frame(results)
    shown = _shown(columns)
    cells = []
    for _, row in frame.iterrows():
        cell = {"model": row["model"], "role": row["role"]}
        for column in shown:
            digits = 1 if column in TIMING_KEYS else 2 if "rank" in column else 4
            cell[column] = (
                NA if row["status"] != "ok" else _cell(row[column], row[f"{column}_std"], digits)
            )
        for metric in METRICS:
            cell[f"p {metric}"] = _p_cell(row.get(f"p_{metric}"))
        cell["status"] = "ok" if row["status"] == "ok" else f"failed: {row['error']}"
        cells.append(cell)
    return pd.DataFrame(cells)


def latex_table(table: pd.DataFrame, caption: str) -> str:
    """``table`` as a LaTeX ``tabular`` (booktabs), special characters escaped."""

    def escape(text: Any) -> str:
        text = str(text)
        for char, repl in (
            ("\\", r"\textbackslash{}"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("_", r"\_"),
            ("#", r"\#"),
            ("$", r"\$"),
            ("{", r"\{"),
            ("}", r"\}"),
            ("~", r"\textasciitilde{}"),
            ("^", r"\^{}"),
        ):
            text = text.replace(char, repl)
        return text.replace("±", r"$\pm$")

    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape(caption)}}}",
        r"\begin{tabular}{" + "l" * len(table.columns) + "}",
        r"\toprule",
        " & ".join(escape(c) for c in table.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(escape(v) for v in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def write_tables(results: StudyResults, out: Path, caption: str) -> dict[str, Path]:
    """Write the three tables into ``out``; returns their paths by format."""
    frame, _ = _frame(results)
    table = display_table(results)
    paths = {"csv": out / RESULTS_CSV, "md": out / RESULTS_MD, "tex": out / RESULTS_TEX}
    write_text_atomic(paths["csv"], csv_text(frame, missing=NA))
    md = "\n".join([*results.header, "", markdown_table(table, missing=NA), ""])
    write_text_atomic(paths["md"], md)
    write_text_atomic(paths["tex"], latex_table(table, caption))
    return paths


def failure_lines(failures: Mapping[str, str]) -> list[str]:
    """One line per failed entry, for the console."""
    return [f"{label}: failed: {reason}" for label, reason in failures.items()]
