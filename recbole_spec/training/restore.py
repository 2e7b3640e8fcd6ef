"""A trained model back from its checkpoint, with the test split it was evaluated on.

Each checkpoint written by recbole-spec loads with ``weights_only=True`` and stores the run's
final configuration. From it the model is rebuilt exactly as :func:`recbole_spec.pipeline.run`
built it: the same config layering (:func:`~recbole_spec.pipeline.build_config`), the same seed
before ``create_dataset`` and ``data_preparation`` (:func:`~recbole_spec.pipeline.load_data`, so
the same random split), the model on the training split
(:func:`~recbole_spec.pipeline.build_model`), then the saved weights and "other parameters".

Checkpoints written by RecBole's own ``Trainer`` (``run_recbole``, ``Trainer.fit``) pickle its
``Config`` object, so they are refused unless the caller opts in (:data:`RECBOLE_PICKLE_RISK`),
which unpickles them (:func:`load_recbole_checkpoint`); :func:`load_data_and_model` also
unpickles, without the opt-in, a file this process's RecBole trainer wrote.

:func:`load_data_and_model` is RecBole's ``recbole.quick_start.load_data_and_model`` for both
kinds of checkpoints (RecBole's own function fails on both with the plugin installed: torch's
``weights_only`` default refuses RecBole's pickle, and a recbole-spec checkpoint stores its
config as a plain dict).

A plugin model and a RecBole built-in can share a class name (``LightGCN``), and the stored
``model`` key is only that name; the plugin's models keep every parameter under ``encoder.``,
so a state dict without that prefix is read as RecBole's (``recbole.LightGCN``).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from recbole_spec.config.plain import to_plain
from recbole_spec.diagnostics.tables import NoEmbeddingError, no_embedding_reason
from recbole_spec.pipeline import build_config, build_model, load_data
from recbole_spec.registry import RECBOLE_PREFIX, get_model, is_plugin_model
from recbole_spec.training.checkpoint import CheckpointError, load_checkpoint

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


def load_recbole_checkpoint(path: str | Path, *, this_process_only: bool = False) -> dict[str, Any]:
    """Read a checkpoint written by RecBole's ``Trainer`` into the plugin's checkpoint form.

    Unpickles the file (``weights_only=False``; see :data:`RECBOLE_PICKLE_RISK`), then keeps
    plain values only: the final config (without class objects), the state dict, the "other
    parameters" and the epoch. With ``this_process_only``, it reads through RecBole's trainer
    module's ``torch`` (:mod:`recbole_spec.compat`), which unpickles only files whose content
    this process's RecBole trainer wrote.

    Raises:
        CheckpointError: the file is not a checkpoint of RecBole's ``Trainer``, or (with
            ``this_process_only``) another process wrote it.
    """
    if this_process_only:
        from recbole.trainer import trainer as recbole_trainer

        try:
            raw = recbole_trainer.torch.load(path, map_location="cpu")
        except pickle.UnpicklingError:
            raise CheckpointError(
                f"'{path}' was written by RecBole's own trainer in another process (a pickled "
                f"Config); pass allow_recbole_pickle=True to load it: {RECBOLE_PICKLE_RISK}"
            ) from None
    else:
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
    """A model rebuilt from a checkpoint, with the split it was tested on.

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
    if getattr(cls, "encoder_name", None) is None:  # training-free plugin models: no encoder
        return name
    if is_plugin_model(cls) and not any(k.startswith(PLUGIN_PARAMETER_PREFIX) for k in state_dict):
        return RECBOLE_PREFIX + name
    return name


def rebuild_config(name: str, stored: Mapping[str, Any]) -> Any:
    """The :class:`~recbole_spec.config.SpecConfig` of a run, from its stored final config."""
    return build_config(name, str(stored["dataset"]), config_dict=stored_overrides(stored))


def _rebuilt_config(path: str | Path, state: Mapping[str, Any]) -> tuple[str, Any]:
    stored = state.get("config") or {}
    if "model" not in stored or "dataset" not in stored:
        raise CheckpointError(f"'{path}' stores no model/dataset in its config")
    name = model_reference(str(stored["model"]), state["state_dict"])
    return name, rebuild_config(name, stored)


def _with_weights(model: nn.Module, state: Mapping[str, Any]) -> nn.Module:
    model.load_state_dict(state["state_dict"])
    model.load_other_parameter(state.get("other_parameter"))
    return model


def load_data_and_model(
    model_file: str | Path, *, allow_recbole_pickle: bool = False
) -> tuple[Any, nn.Module, Any, Any, Any, Any]:
    """RecBole's ``quick_start.load_data_and_model`` for recbole-spec and RecBole checkpoints.

    The configuration is rebuilt from the stored one (:func:`rebuild_config`), then data and
    model exactly as the run built them (same seed, so the same split), with the saved weights.
    A checkpoint RecBole's ``Trainer`` wrote loads when this process wrote it (e.g. right after
    ``run_recbole``) or with ``allow_recbole_pickle`` (see :data:`RECBOLE_PICKLE_RISK`).

    Returns:
        ``(config, model, dataset, train_data, valid_data, test_data)``, as RecBole's function.

    Raises:
        CheckpointError: missing, truncated or foreign file; a RecBole checkpoint from another
            process without ``allow_recbole_pickle``.
    """
    try:
        state = load_checkpoint(model_file)
    except CheckpointError as err:
        if "unsafe unpickling" not in str(err):
            raise
        state = load_recbole_checkpoint(model_file, this_process_only=not allow_recbole_pickle)
    _, config = _rebuilt_config(model_file, state)
    dataset, train_data, valid_data, test_data = load_data(config)
    model = _with_weights(build_model(config, train_data), state)
    return config, model, dataset, train_data, valid_data, test_data


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
    state = dict(state) if state is not None else load_checkpoint(path)
    name, config = _rebuilt_config(path, state)
    reason = no_embedding_reason(config.model_class)
    if reason is not None:
        raise NoEmbeddingError(f"{path}: {config['model']} has no embedding tables: it is {reason}")
    _, train_data, _, test_data = load_data(config)
    model = _with_weights(build_model(config, train_data), state)
    model.eval()
    return RestoredModel(name, model, config, test_data, int(state.get("epoch", -1)))
