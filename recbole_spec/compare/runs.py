"""The runs of ``recbole-spec compare``: one pipeline run per (model, seed), each kept as JSON.

A finished run is written at once, atomically, to ``<out>/runs/<model>-seed<seed>.json``; a rerun
skips runs whose file exists (unless ``force``) after checking they share this comparison's
settings, so an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recbole_spec.atomic import write_text_atomic
from recbole_spec.compare.results import NA, RESULTS_CSV, RESULTS_MD, SPECTRA_PNG, write_results
from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.diagnostics.report import model_report
from recbole_spec.diagnostics.tables import NoEmbeddingError
from recbole_spec.pipeline import RunInterrupted, build_config
from recbole_spec.validation import ConfigError

RESERVED_OVERRIDES = {"seed": "--seeds", "model": "--models", "dataset": "--dataset"}
RUNS_DIR = "runs"


class ComparisonFailed(RuntimeError):
    """Some runs of a comparison failed; the others ran and the results were written.

    ``failures`` maps ``(model, seed)`` to the one-line reason; ``out`` is the output folder.
    """

    def __init__(self, out: Path, failures: dict[tuple[str, int], str]) -> None:
        names = ", ".join(f"{m} seed={s} ({why})" for (m, s), why in failures.items())
        super().__init__(
            f"compare: {len(failures)} run(s) failed: {names}; the other runs and "
            f"{out / RESULTS_MD} were written (the failed runs are retried on a rerun)"
        )
        self.out = out
        self.failures = failures


def failure_reason(err: BaseException) -> str:
    """``<ExceptionType>: <first line of the message>``, the reason a failed run's row shows."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


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


def _diagnose(result: dict[str, Any]) -> dict[str, Any]:
    try:
        report, values = model_report(result["trainer"].model, result["test_data"])
    except NoEmbeddingError as err:
        return {"diagnostics": None, "singular_values": None, "no_embedding_reason": str(err)}
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
        "build_seconds": result.get("build_seconds"),
        "train_seconds": result["train_seconds"],
        "seconds_per_epoch": result["seconds_per_epoch"],
        "checkpoint": result["checkpoint"],
        "n_users": result["n_users"],
        "n_items": result["n_items"],
        **_diagnose(result),
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


def run_and_record(
    model: str,
    dataset: str,
    seed: int,
    *,
    config_file_list: Sequence[str | os.PathLike] | None,
    config_dict: dict[str, Any],
    overrides: Sequence[str],
    settings: dict,
    callbacks: Sequence[Any] = (),
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train and test one (model, seed) through the pipeline; the run record ``compare`` keeps.

    The record holds the test and best-validation metrics, epochs, times, the collapse report of
    the trained tables and their singular values, and the :class:`SpectrumMonitor` history.
    ``callbacks`` are further epoch callbacks and ``on_result`` sees the pipeline's result
    (trainer, test loader) before it is dropped (``recbole-spec study`` uses both).
    """
    from recbole_spec.pipeline import run

    monitor = SpectrumMonitor()
    result = run(
        model,
        dataset,
        config_file_list=config_file_list,
        config_dict={**config_dict, "seed": seed},
        overrides=overrides,
        callbacks=[monitor, *callbacks],
    )
    record = _record(result, model, seed, settings, monitor.history)
    if on_result is not None:
        on_result(result)
    del result
    return record


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

    A run that fails (any exception but Ctrl-C) gets a row with its reason in the results
    (``error`` column) and no run file, so a rerun retries it; the later runs still go on.

    Raises:
        ConfigError: bad model names, seeds or overrides (before anything is trained), or an
            existing run file made with other settings (without ``force``).
        ComparisonFailed: after writing the results, when some runs failed.
    """
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
    failures: dict[tuple[str, int], str] = {}
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
                try:
                    record = run_and_record(
                        model,
                        dataset,
                        seed,
                        config_file_list=config_file_list,
                        config_dict=base,
                        overrides=overrides,
                        settings=settings,
                    )
                except RunInterrupted:
                    raise
                except Exception as err:  # noqa: BLE001 - any failure is this run's row
                    reason = failures[(model, seed)] = failure_reason(err)
                    records[model].append({"model": model, "seed": seed, "error": reason})
                    echo(f"{prefix}: FAILED: {reason}")
                    continue
                write_text_atomic(path, json.dumps(record, indent=1))
                seconds = time.perf_counter() - start
                echo(f"{prefix}: done in {seconds:.0f} s: {_summary(record, valid_metric)}")
            records[model].append(record)
    write_results(records, out, dataset=dataset, seeds=seeds, overrides=overrides, echo=echo)
    echo(f"results: {out / RESULTS_MD}, {out / RESULTS_CSV}, {out / SPECTRA_PNG}")
    if failures:
        raise ComparisonFailed(out, failures)
    return out
