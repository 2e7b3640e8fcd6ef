"""``recbole-spec spectrum``: collapse diagnostics of saved checkpoints, as a table and a plot.

Each checkpoint (written by recbole-spec, so it loads with ``weights_only=True``) stores the run's
final configuration. From it the model is rebuilt exactly as :func:`recbole_spec.pipeline.run`
built it: the same config layering (:func:`~recbole_spec.pipeline.build_config`), the same seed
before ``create_dataset`` and ``data_preparation`` (so the same random split), the model on the
training split, then the saved weights and "other parameters". The scoring tables come from
:func:`~recbole_spec.diagnostics.tables.embedding_tables`, the metrics from
:func:`~recbole_spec.diagnostics.report.collapse_report` (alignment on the test split), and the
plot from :func:`~recbole_spec.diagnostics.plots.plot_spectra`.

Checkpoints written by RecBole's own ``Trainer`` (``run_recbole``, ``Trainer.fit``) pickle its
``Config`` object, so they are refused unless ``--allow-recbole-pickle`` is given
(:data:`RECBOLE_PICKLE_RISK`), which unpickles them (:func:`load_recbole_checkpoint`).

A plugin model and a RecBole built-in can share a class name (``LightGCN``), and the stored
``model`` key is only that name; the plugin's models keep every parameter under ``encoder.``,
so a state dict without that prefix is read as RecBole's (``recbole.LightGCN``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from recbole_spec.diagnostics.plots import plot_spectra
from recbole_spec.diagnostics.report import HEADLINE_KEYS, collapse_report
from recbole_spec.diagnostics.spectrum import singular_values
from recbole_spec.diagnostics.tables import (
    NoEmbeddingError,
    embedding_tables,
    interaction_pairs,
    no_embedding_reason,
)
from recbole_spec.pipeline import build_config, load_data
from recbole_spec.plain import to_plain
from recbole_spec.registry import RECBOLE_PREFIX, get_model, is_plugin_model
from recbole_spec.training.checkpoint import CheckpointError, load_checkpoint
from recbole_spec.validation import ConfigError

DERIVED_KEYS = frozenset(
    {
        "model",
        "dataset",
        "MODEL_TYPE",
        "MODEL_INPUT_TYPE",
        "eval_type",
        "device",
        "single_spec",
        "local_rank",
        "valid_neg_sample_args",
        "test_neg_sample_args",
    }
)
"""Stored config keys that RecBole derives itself; passing them back would confuse it (a
``local_rank`` switches RecBole to distributed mode)."""

PLUGIN_PARAMETER_PREFIX = "encoder."

RECBOLE_PICKLE_RISK = (
    "a checkpoint written by RecBole's own trainer stores its Config as a pickled Python "
    "object, which torch's safe loader refuses; --allow-recbole-pickle loads it with "
    "torch.load(weights_only=False), and unpickling runs any code the file carries: use it only "
    "for files you or RecBole on your machine wrote"
)
"""What ``--allow-recbole-pickle`` does, stated in its help and in the refusal."""


def load_recbole_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by RecBole's ``Trainer`` into the plugin's checkpoint form.

    Unpickles the file (``weights_only=False``; see :data:`RECBOLE_PICKLE_RISK`), then keeps
    plain values only: the final config (without class objects), the state dict, the "other
    parameters" and the epoch.

    Raises:
        CheckpointError: the file is not a checkpoint of RecBole's ``Trainer``.
    """
    raw = torch.load(path, map_location="cpu", weights_only=False)
    config = raw.get("config") if isinstance(raw, dict) else None
    if config is None or not hasattr(config, "final_config_dict") or "state_dict" not in raw:
        raise CheckpointError(f"'{path}' is not a checkpoint written by RecBole's Trainer")
    stored = {
        key: to_plain(value)
        for key, value in config.final_config_dict.items()
        if not isinstance(value, type)
    }
    return {
        "config": stored,
        "state_dict": raw["state_dict"],
        "other_parameter": raw.get("other_parameter"),
        "epoch": int(raw.get("epoch", -1)),
    }


def load_any_checkpoint(path: str | Path, allow_recbole_pickle: bool = False) -> dict[str, Any]:
    """A recbole-spec checkpoint, or (with ``allow_recbole_pickle``) one written by RecBole.

    Raises:
        CheckpointError: missing or foreign file; for RecBole's own checkpoints without the
            opt-in, the message names the flag and its risk.
    """
    try:
        return load_checkpoint(path)
    except CheckpointError as err:
        if "unsafe unpickling" not in str(err):
            raise
        if not allow_recbole_pickle:
            raise CheckpointError(
                f"'{path}' was written by RecBole's own trainer (a pickled Config); to "
                f"diagnose it pass --allow-recbole-pickle: {RECBOLE_PICKLE_RISK}"
            ) from None
    return load_recbole_checkpoint(path)


@dataclass
class RestoredModel:
    """A model rebuilt from a checkpoint, with the splits it was trained and tested on.

    Attributes:
        name: model reference (``recbole.<Name>`` for a RecBole built-in shadowed by a plugin).
        model: the recommender with the saved weights, in eval mode, on the config's device.
        config: the rebuilt :class:`~recbole_spec.config.SpecConfig`.
        test_data: RecBole's test dataloader.
        epoch: the epoch the checkpoint was saved at.
    """

    name: str
    model: nn.Module
    config: Any
    test_data: Any
    epoch: int


def stored_overrides(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a stored final config that can be passed back as ``config_dict``.

    Drops :data:`DERIVED_KEYS`, turns the final ``data_path`` (RecBole appends the dataset
    folder to it) back into the root that holds that folder, and maps the normalised "no
    negative sampling" form of ``train_neg_sample_args`` (``distribution: none``, which RecBole
    does not accept as input) back to ``None``.
    """
    overrides = {key: value for key, value in stored.items() if key not in DERIVED_KEYS}
    negatives = overrides.get("train_neg_sample_args")
    if isinstance(negatives, Mapping) and str(negatives.get("distribution")).lower() == "none":
        overrides["train_neg_sample_args"] = None
    data_path = overrides.get("data_path")
    if data_path and Path(str(data_path)).name == str(stored.get("dataset")):
        overrides["data_path"] = str(Path(str(data_path)).parent)
    return overrides


def model_reference(name: str, state_dict: Mapping[str, Any]) -> str:
    """Resolve a stored model name to the reference that rebuilds the same class.

    Args:
        name: the checkpoint's ``config['model']`` (a class name).
        state_dict: the checkpoint's ``state_dict``.

    Returns:
        ``name``, or ``recbole.<name>`` when ``name`` is a plugin model but the parameters are
        not a plugin model's (no ``encoder.`` prefix).
    """
    if name.lower().startswith(RECBOLE_PREFIX):
        return name
    cls = get_model(name)
    if is_plugin_model(cls) and not any(k.startswith(PLUGIN_PARAMETER_PREFIX) for k in state_dict):
        return RECBOLE_PREFIX + name
    return name


def build_splits(config: Any) -> tuple[Any, Any, Any]:
    """``(train, valid, test)`` dataloaders exactly as the pipeline builds them for ``config``.

    Seeds with ``config['seed']`` right before loading, as :func:`recbole_spec.pipeline.run`
    does, so a random split comes out identical.
    """
    return load_data(config)[1:]


def rebuild_config(name: str, stored: Mapping[str, Any]) -> Any:
    """The :class:`~recbole_spec.config.SpecConfig` of a run, from its stored final config."""
    return build_config(name, str(stored["dataset"]), config_dict=stored_overrides(stored))


def restore_checkpoint(
    path: str | Path, *, state: Mapping[str, Any] | None = None
) -> RestoredModel:
    """Rebuild the model of a recbole-spec checkpoint with its weights and test split.

    Args:
        path: the checkpoint.
        state: the already loaded checkpoint, to skip reading it again.

    Raises:
        CheckpointError: missing file or not a recbole-spec checkpoint.
        NoEmbeddingError: the model has no embedding tables (checked before loading data).
    """
    from recbole.utils import init_seed

    state = dict(state) if state is not None else load_checkpoint(path)
    stored = state.get("config") or {}
    if "model" not in stored or "dataset" not in stored:
        raise CheckpointError(f"'{path}' stores no model/dataset in its config")
    name = model_reference(str(stored["model"]), state["state_dict"])
    config = rebuild_config(name, stored)
    reason = no_embedding_reason(config.model_class)
    if reason is not None:
        raise NoEmbeddingError(f"{path}: {stored['model']} has no embedding tables: it is {reason}")
    train_data, _, test_data = build_splits(config)
    init_seed(config["seed"], config["reproducibility"])
    model = config.model_class(config, train_data._dataset).to(config["device"])
    model.load_state_dict(state["state_dict"])
    model.load_other_parameter(state.get("other_parameter"))
    model.eval()
    return RestoredModel(name, model, config, test_data, int(state.get("epoch", -1)))


def spectrum_of_checkpoints(
    paths: Iterable[str | Path],
    *,
    out: str | Path | None = None,
    normalize: bool = False,
    allow_recbole_pickle: bool = False,
) -> list[dict[str, Any]]:
    """Diagnostics and spectra of saved checkpoints, optionally plotted into one PNG.

    Every checkpoint is read and checked first, so a bad path or a model without tables fails
    before any dataset is loaded.

    Args:
        paths: recbole-spec checkpoints.
        out: PNG to write (one curve per checkpoint); ``None`` writes nothing (default).
        normalize: plot the spectra of row-normalised tables instead of the raw ones (the
            metrics hold both variants either way) (default: ``False``).
        allow_recbole_pickle: also read checkpoints written by RecBole's own trainer
            (:func:`load_recbole_checkpoint`; see :data:`RECBOLE_PICKLE_RISK`) (default:
            ``False``).

    Returns:
        One dict per checkpoint: ``checkpoint``, ``model``, ``dataset``, ``epoch``, ``label``
        (legend entry), ``metrics`` (:func:`collapse_report`'s dict) and ``singular_values``
        (the plotted table's, float64 tensor).

    Raises:
        CheckpointError: a missing or foreign checkpoint.
        NoEmbeddingError: a model without embedding tables (EASE, ItemKNN, ...).
        ValueError: no paths.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no checkpoints given")
    states = [load_any_checkpoint(path, allow_recbole_pickle) for path in paths]
    for path, state in zip(paths, states, strict=True):
        stored = state.get("config") or {}
        name = model_reference(str(stored.get("model")), state["state_dict"])
        reason = no_embedding_reason(get_model(name))
        if reason is not None:
            raise NoEmbeddingError(f"{path}: {name} has no embedding tables: it is {reason}")
    rows = []
    for path, state in zip(paths, states, strict=True):
        restored = restore_checkpoint(path, state=state)
        user, item = embedding_tables(restored.model)
        metrics = collapse_report(user, item, interaction_pairs(restored.test_data))
        if normalize:
            user, item = (F.normalize(t, dim=1) for t in (user, item))
        rows.append(
            {
                "checkpoint": str(path),
                "model": restored.name,
                "dataset": str(restored.config["dataset"]),
                "epoch": restored.epoch,
                "metrics": metrics,
                "singular_values": singular_values(torch.cat([user, item])),
            }
        )
    _label_rows(rows, "all_erank_rownorm" if normalize else "all_erank")
    if out is not None:
        kind = "row-normalised" if normalize else "raw"
        plot_spectra(
            {row["label"]: row["singular_values"] for row in rows},
            out,
            title=f"Singular-value spectra of the stacked {kind} [U; I] tables",
        )
    return rows


def _label_rows(rows: list[dict[str, Any]], erank_key: str) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["model"]] = counts.get(row["model"], 0) + 1
    for row in rows:
        label = row["model"]
        if counts[label] > 1:
            label = f"{label} [{Path(row['checkpoint']).stem}]"
        row["label"] = f"{label} (erank {row['metrics'][erank_key]:.1f})"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats get 4 decimals, everything else ``str``."""

    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def format_spectrum_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The printed table of :func:`spectrum_of_checkpoints`' rows (:data:`HEADLINE_KEYS`)."""
    headers = ["model", "dataset", "epoch", *HEADLINE_KEYS, "checkpoint"]
    body = [
        [
            row["model"],
            row["dataset"],
            row["epoch"],
            *(row["metrics"].get(key, "n/a") for key in HEADLINE_KEYS),
            row["checkpoint"],
        ]
        for row in rows
    ]
    return markdown_table(headers, body)


def add_spectrum_parser(subparsers: Any) -> None:
    """Register the ``spectrum`` subcommand; its ``func`` takes the namespace, returns the code."""
    parser = subparsers.add_parser(
        "spectrum",
        help="collapse diagnostics and singular-value plot of saved checkpoints",
        description="Rebuild each checkpoint's model, print erank / stable rank / energy / "
        "uniformity / alignment as a markdown table and plot the normalised singular-value "
        "spectra (one curve per checkpoint, log scale).",
    )
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="recbole-spec .pth")
    parser.add_argument("--out", default="spectra.png", help="PNG to write (default spectra.png)")
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="plot the spectra of row-normalised tables (directions only)",
    )
    parser.add_argument(
        "--allow-recbole-pickle",
        action="store_true",
        help=f"also read checkpoints written by RecBole itself: {RECBOLE_PICKLE_RISK}",
    )
    parser.set_defaults(func=spectrum_command)


def spectrum_command(args: argparse.Namespace) -> int:
    """Run ``spectrum`` for parsed arguments; errors are one line on stderr and exit code 2."""
    try:
        rows = spectrum_of_checkpoints(
            args.checkpoints,
            out=args.out,
            normalize=args.normalize,
            allow_recbole_pickle=getattr(args, "allow_recbole_pickle", False),
        )
    except (CheckpointError, NoEmbeddingError, ConfigError) as err:
        print(f"recbole-spec spectrum: error: {err}", file=sys.stderr)
        return 2
    print(format_spectrum_table(rows))
    print(f"plot: {args.out}")
    return 0
