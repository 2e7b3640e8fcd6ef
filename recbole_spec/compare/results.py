"""The results of ``recbole-spec compare``: per-model statistics over seeds, tables and a plot.

``results.csv`` (full-precision floats, ``n/a`` where a model lacks a value) and ``results.md``
(``mean ± std`` to a fixed number of decimals, below a header stating the protocol) are written
through :mod:`recbole_spec.reporting`; ``spectra.png`` through
:func:`~recbole_spec.diagnostics.plots.plot_spectra`.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from recbole_spec.atomic import write_text_atomic
from recbole_spec.diagnostics.plots import plot_spectra
from recbole_spec.diagnostics.report import HEADLINE_KEYS
from recbole_spec.pipeline import PAPER_PROTOCOL_WARNING
from recbole_spec.reporting import csv_text, markdown_table

PROTOCOLS = {
    "recbole": "RecBole's split from eval_args, full-sort ranking over all items",
    "holdout": "imported fixed train/test split, validation carved from train",
    "paper": "imported fixed split, validation = test, as in the official scripts",
}
"""What each ``spec_protocol`` means, for the results header."""

NA = "n/a"
RESULTS_CSV, RESULTS_MD, SPECTRA_PNG = "results.csv", "results.md", "spectra.png"


def _columns(records: list[dict[str, Any]], extra: Sequence[str] = ()) -> list[str]:
    metrics: list[str] = []
    for record in records:
        metrics += [k for k in record.get("test_result") or {} if k not in metrics]
    return ["epochs", "seconds_per_epoch", *extra, *metrics, *HEADLINE_KEYS]


def run_table(
    records: dict[str, list[dict[str, Any]]], extra: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per run: its model, then every table column as a float (NaN: n/a).

    The columns are epochs, seconds per epoch, every test metric and the headline diagnostics
    (:data:`~recbole_spec.diagnostics.report.HEADLINE_KEYS`); models without embedding tables
    have no diagnostics, and failed runs (an ``error`` record) no values at all. ``extra`` names
    further numeric fields of the records, placed after the seconds per epoch (``recbole-spec
    study`` adds its timings).
    """
    columns = _columns([r for runs in records.values() for r in runs], extra)
    rows = [
        {
            "model": model,
            **(record.get("diagnostics") or {}),
            **(record.get("test_result") or {}),
            "epochs": record.get("epochs"),
            "seconds_per_epoch": record.get("seconds_per_epoch"),
            **{key: record.get(key) for key in extra},
        }
        for model, runs in records.items()
        for record in runs
    ]
    frame = pd.DataFrame(rows).reindex(columns=["model", *columns])
    return frame.astype({column: float for column in columns})


def aggregate(
    records: dict[str, list[dict[str, Any]]], extra: Sequence[str] = ()
) -> pd.DataFrame:
    r"""Per-model mean and sample standard deviation of every column over its seeds.

    :math:`\bar x = \frac1n \sum_s x_s` and
    :math:`\sigma = \sqrt{\frac{1}{n-1} \sum_s (x_s - \bar x)^2}` (pandas' ``std``, ``ddof=1``;
    NaN for a single seed).

    Args:
        records: model -> its run records (one per seed), in table order.
        extra: further numeric record fields to aggregate (see :func:`run_table`).

    Returns:
        A frame indexed by model (in ``records`` order) with the columns ``(column, "mean")``
        and ``(column, "std")``; both NaN (n/a) where any seed lacks the value.
    """
    runs = run_table(records, extra)
    grouped = runs.groupby("model", sort=False)
    stats = grouped.agg(["mean", "std"])
    complete = grouped.count().eq(grouped.size(), axis=0)
    return stats.where(complete.reindex(columns=stats.columns, level=0))


def errors(records: dict[str, list[dict[str, Any]]], n_seeds: int) -> dict[str, str]:
    """Model -> why its failed runs failed; models without a failed run are left out.

    With several seeds each reason starts with ``seed <s>: ``.
    """
    reasons = {}
    for model, runs in records.items():
        failed = [r for r in runs if r.get("error")]
        if failed:
            reasons[model] = "; ".join(
                f"seed {r['seed']}: {r['error']}" if n_seeds > 1 else r["error"] for r in failed
            )
    return reasons


def _succeeded(records: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    ok = {model: [r for r in runs if not r.get("error")] for model, runs in records.items()}
    return {model: runs for model, runs in ok.items() if runs}


def _decimals(column: str) -> int:
    if column == "epochs":
        return 1
    if column == "seconds_per_epoch" or "erank" in column or "stable_rank" in column:
        return 2
    return 4


def csv_table(
    stats: pd.DataFrame, n_seeds: int, failed: dict[str, str] | None = None
) -> pd.DataFrame:
    """The ``results.csv`` table of :func:`aggregate`'s statistics (NaN: n/a).

    Columns: ``model``, ``n_seeds``, then each column's mean and, with several seeds, its
    ``<column>_std``; with failed runs (``failed``: model -> reason) a last ``error`` column.
    """
    columns = list(dict.fromkeys(column for column, _ in stats.columns))
    table = pd.DataFrame({"model": stats.index, "n_seeds": n_seeds})
    for column in columns:
        table[column] = stats[(column, "mean")].to_numpy()
        if n_seeds > 1:
            table[f"{column}_std"] = stats[(column, "std")].to_numpy()
    if failed:
        table["error"] = [failed.get(model) for model in stats.index]
    return table


def markdown_results(
    stats: pd.DataFrame, n_seeds: int, failed: dict[str, str] | None = None
) -> str:
    """The ``results.md`` table of :func:`aggregate`'s statistics, as markdown.

    Cells are ``mean ± std`` (one seed: the mean) to each column's decimals (1 for epochs, 2 for
    seconds and ranks, 4 otherwise), ``n/a`` where missing; with failed runs (``failed``:
    model -> reason) a last ``error`` column.
    """
    columns = list(dict.fromkeys(column for column, _ in stats.columns))
    cells = {"model": list(stats.index)}
    for column in columns:
        digits = _decimals(column)
        pairs = zip(stats[(column, "mean")], stats[(column, "std")], strict=True)
        cells[column] = [
            NA
            if math.isnan(mean)
            else f"{mean:.{digits}f} ± {std:.{digits}f}"
            if n_seeds > 1
            else f"{mean:.{digits}f}"
            for mean, std in pairs
        ]
    if failed:
        columns.append("error")
        cells["error"] = [
            failed[model].replace("|", "\\|") if model in failed else None for model in stats.index
        ]
    return markdown_table(pd.DataFrame(cells, columns=["model", *columns]), missing=NA)


def _markdown_text(
    stats: pd.DataFrame,
    records: dict[str, list[dict[str, Any]]],
    *,
    dataset: str,
    seeds: Sequence[int],
    overrides: Sequence[str],
    protocol: str,
) -> str:
    n_seeds = len(seeds)
    first = {model: runs[0] for model, runs in _succeeded(records).items()}
    sizes = next(iter(first.values()), {"n_users": NA, "n_items": NA})
    lines = [f"# recbole-spec compare: {dataset}", ""]
    if protocol == "paper":
        lines += [f"> **WARNING: {PAPER_PROTOCOL_WARNING}**", ""]
    lines += [
        f"- protocol: `{protocol}` ({PROTOCOLS.get(protocol, 'see the dataset YAML')})",
        f"- seeds: {', '.join(str(s) for s in seeds)}"
        + (" (mean ± sample std)" if n_seeds > 1 else ""),
        f"- overrides: `{' '.join(overrides)}`" if overrides else "- overrides: none",
        f"- users / items: {sizes['n_users']} / {sizes['n_items']}",
        f"- written {datetime.now(timezone.utc).isoformat(timespec='seconds')}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "- metrics are on the test split (best-validation checkpoint); `seconds_per_epoch` is "
        "the fit time (training plus the per-epoch validation) over the epochs run; `erank` and "
        "`stable_rank` are of the raw stacked [U; I] scoring table (`_rownorm`: rows "
        "L2-normalised), uniformity t = 2, alignment on the test pairs",
        "",
    ]
    failed = errors(records, n_seeds)
    lines += [markdown_results(stats, n_seeds, failed), "", f"Spectra: `{SPECTRA_PNG}`", ""]
    missing = {
        m: r["no_embedding_reason"] for m, r in first.items() if r.get("no_embedding_reason")
    }
    if missing:
        lines += ["n/a: models without embedding tables:", ""]
        lines += [f"- {model}: {reason}" for model, reason in missing.items()]
        lines.append("")
    return "\n".join(lines)


def _plot(records: dict[str, list[dict[str, Any]]], path: Path, dataset: str) -> Path | None:
    curves = {}
    for model, runs in _succeeded(records).items():
        values = runs[0].get("singular_values")
        if values:
            erank = statistics.fmean(r["diagnostics"]["all_erank"] for r in runs)
            curves[f"{model} (erank {erank:.1f})"] = values
    if not curves:
        return None
    return plot_spectra(
        {label: torch.tensor(values) for label, values in curves.items()},
        path,
        title=f"Singular-value spectra of the raw [U; I] tables on {dataset}",
    )


def write_results(
    records: dict[str, list[dict[str, Any]]],
    out: Path,
    *,
    dataset: str,
    seeds: Sequence[int],
    overrides: Sequence[str] = (),
    echo: Callable[[str], None] = print,
) -> None:
    """Write ``results.csv``, ``results.md`` and ``spectra.png`` from the run records."""
    stats = aggregate(records)
    protocols = {r["protocol"] for runs in _succeeded(records).values() for r in runs}
    protocol = "paper" if "paper" in protocols else ", ".join(sorted(protocols)) or NA
    if protocol == "paper":
        echo(f"WARNING: {PAPER_PROTOCOL_WARNING}")
    failed = errors(records, len(seeds))
    table = csv_table(stats, len(seeds), failed)
    write_text_atomic(out / RESULTS_CSV, csv_text(table, missing=NA))
    write_text_atomic(
        out / RESULTS_MD,
        _markdown_text(
            stats,
            records,
            dataset=dataset,
            seeds=seeds,
            overrides=overrides,
            protocol=protocol,
        ),
    )
    _plot(records, out / SPECTRA_PNG, dataset)
