"""``recbole-spec compare``: plugin models against RecBole's built-ins, one table and one plot.

Every (model, seed) goes through :func:`recbole_spec.pipeline.run`, the one pipeline, with the
same dataset, protocol and overrides. Each finished run is written at once, atomically, to
``<out>/runs/<model>-seed<seed>.json`` (test and best-validation metrics, epochs, seconds per
epoch, the collapse report of the trained scoring tables and their singular values), so an
interrupted comparison resumes where it stopped: runs whose JSON exists are skipped unless
``force`` is set. Skipped runs must have been made with the same dataset and settings. Each run
also carries a :class:`~recbole_spec.diagnostics.monitor.SpectrumMonitor`, whose per-evaluation
history (erank, stable rank, uniformity) is kept in the run file. At the end
``results.csv`` (one row per model, means and, with several seeds, ``_std`` columns),
``results.md`` (the same as mean ± std, with the protocol stated) and ``spectra.png`` are
rewritten from all run files.

erank is the DirectSpec paper's effective rank of the stacked raw ``[U; I]`` scoring table (see
:mod:`recbole_spec.diagnostics.tables` for where each model's tables come from); models without
embedding tables (EASE, ItemKNN, Pop, ...) get ``n/a``. The alignment uses the test split, rebuilt
from the run's stored config with the same seed (identical to the pipeline's split) unless the run
result already carries ``test_data``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from recbole_spec.atomic import write_text_atomic
from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.diagnostics.plots import plot_spectra
from recbole_spec.diagnostics.report import HEADLINE_KEYS, collapse_report
from recbole_spec.diagnostics.spectrum import singular_values
from recbole_spec.diagnostics.tables import NoEmbeddingError, embedding_tables, interaction_pairs
from recbole_spec.pipeline import PAPER_PROTOCOL_WARNING, build_config
from recbole_spec.spectrum import build_splits, markdown_table, rebuild_config
from recbole_spec.validation import ConfigError

PROTOCOLS = {
    "recbole": "RecBole's split from eval_args, full-sort ranking over all items",
    "holdout": "imported fixed train/test split, validation carved from train",
    "paper": "imported fixed split, validation = test, as in the official scripts",
}
"""What each ``spec_protocol`` means, for the results header."""

RESERVED_OVERRIDES = {"seed": "--seeds", "model": "--models", "dataset": "--dataset"}
NA = "n/a"
RESULTS_CSV, RESULTS_MD, SPECTRA_PNG, RUNS_DIR = "results.csv", "results.md", "spectra.png", "runs"


def run_filename(model: str, seed: int) -> str:
    """``<model>-seed<seed>.json`` with characters outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', model)}-seed{seed}.json"


def _check_arguments(
    models: Sequence[str], seeds: Sequence[int], overrides: Sequence[str]
) -> tuple[list[str], list[int]]:
    from recbole_spec.config import parse_overrides

    models = [m.strip() for m in models if m and m.strip()]
    if not models:
        raise ConfigError("compare: no models given; pass e.g. --models=DirectSpecPlus,BPR,EASE")
    if len({m.lower() for m in models}) != len(models):
        raise ConfigError(f"compare: a model is listed twice in {models}")
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
        raise ConfigError(f"compare: seeds must be integers, e.g. --seeds=2020,2021 (got {seeds})")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"compare: a seed is listed twice in {seeds}")
    for key in parse_overrides(overrides):
        if key in RESERVED_OVERRIDES:
            raise ConfigError(
                f"compare: '--{key}=' is not a per-run override here; use "
                f"{RESERVED_OVERRIDES[key]}="
            )
    return models, seeds


def _settings(dataset: str, config_dict: dict[str, Any], overrides: Sequence[str]) -> dict:
    """What a skipped run must share with this comparison, as its JSON round trip."""
    settings = {"dataset": dataset, "config_dict": config_dict, "overrides": list(overrides)}
    return json.loads(json.dumps(settings, default=str))


def _test_data(result: dict[str, Any], model: str) -> Any:
    if result.get("test_data") is not None:
        return result["test_data"]
    return build_splits(rebuild_config(model, result["config"]))[2]


def _diagnose(result: dict[str, Any], model: str) -> dict[str, Any]:
    try:
        user, item = embedding_tables(result["trainer"].model)
    except NoEmbeddingError as err:
        return {"diagnostics": None, "singular_values": None, "no_embedding_reason": str(err)}
    report = collapse_report(user, item, interaction_pairs(_test_data(result, model)))
    values = singular_values(torch.cat([user, item]))
    return {
        "diagnostics": report,
        "singular_values": [float(v) for v in values],
        "no_embedding_reason": None,
    }


def _record(
    result: dict[str, Any], model: str, seed: int, settings: dict, history: list[dict]
) -> dict[str, Any]:
    return {
        "model": model,
        "model_class": result["model"],
        "seed": seed,
        "dataset": result["dataset"],
        "protocol": result["protocol"],
        "test_result": result["test_result"],
        "best_valid_result": result["best_valid_result"],
        "best_valid_score": result["best_valid_score"],
        "epochs": result["epochs"],
        "train_seconds": result["train_seconds"],
        "seconds_per_epoch": result["seconds_per_epoch"],
        "checkpoint": result["checkpoint"],
        "n_users": result["n_users"],
        "n_items": result["n_items"],
        **_diagnose(result, model),
        "spectrum_history": history or None,
        "settings": settings,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _load_existing(path: Path, settings: dict) -> dict[str, Any]:
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("settings") != settings:
        raise ConfigError(
            f"compare: '{path}' holds a run with other settings ({record.get('settings')}, now "
            f"{settings}); pass --force to rerun or choose another --out"
        )
    return record


def _summary(record: dict[str, Any], valid_metric: str | None) -> str:
    parts = [f"{record['epochs']} epochs", f"{record['seconds_per_epoch']:.2f} s/epoch"]
    test = record["test_result"]
    lowered = {k.lower(): k for k in test}
    key = lowered.get(str(valid_metric).lower(), next(iter(test), None))
    if key is not None:
        parts.append(f"test {key}={test[key]:.4f}")
    diagnostics = record.get("diagnostics")
    parts.append(f"erank={diagnostics['all_erank']:.2f}" if diagnostics else f"erank={NA}")
    return ", ".join(parts)


def _columns(records: list[dict[str, Any]]) -> list[str]:
    metrics: list[str] = []
    for record in records:
        metrics += [k for k in record["test_result"] if k not in metrics]
    return ["epochs", "seconds_per_epoch", *metrics, *HEADLINE_KEYS]


def _value(record: dict[str, Any], column: str) -> float | None:
    if column in ("epochs", "seconds_per_epoch"):
        return float(record[column])
    if column in record["test_result"]:
        return float(record["test_result"][column])
    diagnostics = record.get("diagnostics") or {}
    value = diagnostics.get(column)
    return None if value is None else float(value)


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate(
    records: dict[str, list[dict[str, Any]]],
) -> tuple[list[str], dict[str, dict[str, tuple[float, float] | None]]]:
    """Per-model mean and sample std of every column over its seeds.

    Args:
        records: model -> its run records (one per seed).

    Returns:
        ``(columns, table)`` with ``table[model][column] = (mean, std)`` or ``None`` (n/a).
    """
    columns = _columns([r for runs in records.values() for r in runs])
    table: dict[str, dict[str, tuple[float, float] | None]] = {}
    for model, runs in records.items():
        row: dict[str, tuple[float, float] | None] = {}
        for column in columns:
            values = [_value(r, column) for r in runs]
            row[column] = None if any(v is None for v in values) else _mean_std(values)
        table[model] = row
    return columns, table


def _decimals(column: str) -> int:
    if column == "epochs":
        return 1
    if column == "seconds_per_epoch" or "erank" in column or "stable_rank" in column:
        return 2
    return 4


def _csv_text(columns: list[str], table: dict, n_seeds: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["model", "n_seeds"]
    for column in columns:
        header += [column, f"{column}_std"] if n_seeds > 1 else [column]
    writer.writerow(header)
    for model, row in table.items():
        line: list[Any] = [model, n_seeds]
        for column in columns:
            cell = row[column]
            if cell is None:
                line += [NA, NA] if n_seeds > 1 else [NA]
            else:
                line += [repr(cell[0]), repr(cell[1])] if n_seeds > 1 else [repr(cell[0])]
        writer.writerow(line)
    return buffer.getvalue()


def _markdown_cell(cell: tuple[float, float] | None, column: str, n_seeds: int) -> str:
    if cell is None:
        return NA
    digits = _decimals(column)
    text = f"{cell[0]:.{digits}f}"
    return f"{text} ± {cell[1]:.{digits}f}" if n_seeds > 1 else text


def _markdown_text(
    columns: list[str],
    table: dict,
    records: dict[str, list[dict[str, Any]]],
    *,
    dataset: str,
    seeds: Sequence[int],
    overrides: Sequence[str],
    protocol: str,
) -> str:
    n_seeds = len(seeds)
    first = {model: runs[0] for model, runs in records.items()}
    lines = [f"# recbole-spec compare: {dataset}", ""]
    if protocol == "paper":
        lines += [f"> **WARNING: {PAPER_PROTOCOL_WARNING}**", ""]
    lines += [
        f"- protocol: `{protocol}` ({PROTOCOLS.get(protocol, 'see the dataset YAML')})",
        f"- seeds: {', '.join(str(s) for s in seeds)}"
        + (" (mean ± sample std)" if n_seeds > 1 else ""),
        f"- overrides: `{' '.join(overrides)}`" if overrides else "- overrides: none",
        f"- users / items: {next(iter(first.values()))['n_users']} / "
        f"{next(iter(first.values()))['n_items']}",
        f"- written {datetime.now(timezone.utc).isoformat(timespec='seconds')}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "- metrics are on the test split (best-validation checkpoint); `seconds_per_epoch` is "
        "the fit time (training plus the per-epoch validation) over the epochs run; `erank` and "
        "`stable_rank` are of the raw stacked [U; I] scoring table (`_rownorm`: rows "
        "L2-normalised), uniformity t = 2, alignment on the test pairs",
        "",
    ]
    headers = ["model", *columns]
    body = [
        [model, *(_markdown_cell(row[c], c, n_seeds) for c in columns)]
        for model, row in table.items()
    ]
    lines += [markdown_table(headers, body), "", f"Spectra: `{SPECTRA_PNG}`", ""]
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
    for model, runs in records.items():
        values = runs[0].get("singular_values")
        if values:
            erank = _mean_std([r["diagnostics"]["all_erank"] for r in runs])[0]
            curves[f"{model} (erank {erank:.1f})"] = values
    if not curves:
        return None
    return plot_spectra(
        {label: torch.tensor(values) for label, values in curves.items()},
        path,
        title=f"Singular-value spectra of the raw [U; I] tables on {dataset}",
    )


def compare(
    models: Sequence[str],
    dataset: str,
    *,
    seeds: Sequence[int] = (2020,),
    out_dir: str | os.PathLike = "compare",
    config_dict: dict[str, Any] | None = None,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
    echo: Callable[[str], None] = print,
) -> Path:
    """Run every model with every seed on ``dataset`` and write the comparison.

    Args:
        models: plugin or RecBole names (``recbole.<Name>`` forces RecBole's), in table order.
        dataset: dataset name.
        seeds: one run per seed; each becomes the run's ``seed`` (default: ``(2020,)``).
        out_dir: output folder (``runs/``, ``results.csv``, ``results.md``, ``spectra.png``;
            checkpoints go to ``<out_dir>/checkpoints`` unless ``checkpoint_dir`` is given).
        config_dict: parameters for every run (below ``overrides``).
        config_file_list: YAML files for every run.
        overrides: ``--key=value`` strings for every run (not ``seed``/``model``/``dataset``).
        force: rerun models whose run file exists (default: ``False``, skip them).
        echo: where progress lines go (default: ``print``).

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: bad model names, seeds or overrides (before anything is trained), or an
            existing run file made with other settings (without ``force``).
    """
    from recbole_spec.pipeline import run

    models, seeds = _check_arguments(models, seeds, overrides)
    out = Path(out_dir)
    user_config = dict(config_dict or {})
    settings = _settings(dataset, user_config, overrides)
    base = {"checkpoint_dir": str(out / "checkpoints"), **user_config}
    valid_metric = None
    for model in models:
        config = build_config(model, dataset, config_file_list, base, overrides)
        valid_metric = valid_metric or config["valid_metric"]
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, list[dict[str, Any]]] = {model: [] for model in models}
    total, index = len(models) * len(seeds), 0
    for model in models:
        for seed in seeds:
            index += 1
            prefix = f"[{index}/{total}] {model} seed={seed}"
            path = runs_dir / run_filename(model, seed)
            if path.exists() and not force:
                record = _load_existing(path, settings)
                summary = _summary(record, valid_metric)
                echo(f"{prefix}: skipped, {path} exists (--force reruns): {summary}")
            else:
                echo(f"{prefix}: training ...")
                start = time.perf_counter()
                monitor = SpectrumMonitor()
                result = run(
                    model,
                    dataset,
                    config_file_list=config_file_list,
                    config_dict={**base, "seed": seed},
                    overrides=overrides,
                    callbacks=[monitor],
                )
                record = _record(result, model, seed, settings, monitor.history)
                del result
                write_text_atomic(path, json.dumps(record, indent=1))
                seconds = time.perf_counter() - start
                echo(f"{prefix}: done in {seconds:.0f} s: {_summary(record, valid_metric)}")
            records[model].append(record)
    write_results(records, out, dataset=dataset, seeds=seeds, overrides=overrides, echo=echo)
    echo(f"results: {out / RESULTS_MD}, {out / RESULTS_CSV}, {out / SPECTRA_PNG}")
    return out


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
    columns, table = aggregate(records)
    protocols = {r["protocol"] for runs in records.values() for r in runs}
    protocol = "paper" if "paper" in protocols else ", ".join(sorted(protocols))
    if protocol == "paper":
        echo(f"WARNING: {PAPER_PROTOCOL_WARNING}")
    write_text_atomic(out / RESULTS_CSV, _csv_text(columns, table, len(seeds)))
    write_text_atomic(
        out / RESULTS_MD,
        _markdown_text(
            columns,
            table,
            records,
            dataset=dataset,
            seeds=seeds,
            overrides=overrides,
            protocol=protocol,
        ),
    )
    _plot(records, out / SPECTRA_PNG, dataset)


def _names(text: str) -> list[str]:
    return [part for part in re.split(r"[,\s]+", text) if part]


def add_compare_parser(subparsers: Any) -> None:
    """Register ``compare``; its ``func`` takes ``(namespace, overrides)`` and returns the code.

    Prefix abbreviations are off, so ``--seed=1`` or ``--model=X`` are never taken for
    ``--seeds``/``--models``: they reach :func:`compare` as overrides, which rejects them.
    """
    parser = subparsers.add_parser(
        "compare",
        allow_abbrev=False,
        help="run several models on one dataset and tabulate metrics, time and erank",
        description="Train each model (plugin or RecBole built-in; recbole.<Name> forces "
        "RecBole's) with each seed through the one pipeline, then write results.md, results.csv "
        "and spectra.png. Finished runs are skipped on a rerun unless --force. Any further "
        "--key=value is a config override for every run.",
    )
    parser.add_argument(
        "--models", required=True, help="comma separated, e.g. DirectSpecPlus,BPR,recbole.LightGCN"
    )
    parser.add_argument("--dataset", default="ml-100k", help="dataset name (default: ml-100k)")
    parser.add_argument("--seeds", default="2020", help="comma separated seeds (default: 2020)")
    parser.add_argument("--out", default=None, help="output folder (default: compare/<dataset>)")
    parser.add_argument("--config_files", default="", help="YAML files for every run")
    parser.add_argument("--force", action="store_true", help="rerun models with existing results")
    parser.set_defaults(func=compare_command, accepts_overrides=True)


def compare_command(args: argparse.Namespace, overrides: Sequence[str] = ()) -> int:
    """Run ``compare`` for parsed arguments plus ``--key=value`` overrides; returns 0."""
    try:
        seeds = [int(s) for s in _names(args.seeds)]
    except ValueError as err:
        raise ConfigError(f"compare: --seeds must be integers, e.g. 2020,2021 ({err})") from err
    compare(
        _names(args.models),
        args.dataset,
        seeds=seeds,
        out_dir=args.out or Path("compare") / args.dataset,
        config_file_list=_names(args.config_files),
        overrides=list(overrides),
        force=args.force,
    )
    return 0
