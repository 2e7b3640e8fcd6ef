"""The one run function: config -> dataset -> dataloaders -> model -> trainer -> fit -> test.

The CLI, ``run_recbole_spec.py``, the tests, the comparison and the tuning trainable all call
:func:`run`, so every model (plugin or RecBole built-in) goes through the same steps.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from logging import getLogger
from pathlib import Path
from typing import Any

from recbole_spec.config import SpecConfig
from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.training.trainer import LAST_SUFFIX, EpochCallback, trainer_class
from recbole_spec.validation import ConfigError

PAPER_PROTOCOL_WARNING = (
    "PAPER PROTOCOL: the validation rows ARE the test rows (as in the official scripts); "
    "checkpoint selection and early stopping look at the test set, so test metrics are optimistic."
)


def _check_no_pickled_cache(config: SpecConfig) -> None:
    """Refuse RecBole's pickled dataset/dataloader caches, which load arbitrary objects."""
    for key in ("save_dataset", "save_dataloaders", "dataset_save_path", "dataloaders_save_path"):
        if config[key]:
            raise ConfigError(
                f"'{key}' is set: recbole-spec never loads pickled dataset caches; remove it"
            )


def _build_dataset(config: SpecConfig) -> Any:
    from recbole.data import create_dataset

    stale = Path(config["checkpoint_dir"]) / f"{config['dataset']}-Dataset.pth"
    if stale.exists():
        raise ConfigError(
            f"found a pickled RecBole dataset cache '{stale}', which RecBole would load blindly; "
            "delete it or pass --checkpoint_dir=<another folder>"
        )
    return create_dataset(config)


def build_config(
    model: str | type,
    dataset: str,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
) -> SpecConfig:
    """Build and validate the configuration without touching any data."""
    config = SpecConfig(model, dataset, config_file_list, config_dict, overrides)
    _check_no_pickled_cache(config)
    resume = config["resume_from"]
    if resume and not Path(str(resume)).is_file():
        raise ConfigError(
            f"'resume_from' checkpoint '{resume}' does not exist; pass the '*{LAST_SUFFIX}' file "
            "that the interrupted run wrote next to its best checkpoint"
        )
    return config


def _reset_root_logger() -> None:
    """Close the previous run's log handlers.

    RecBole's ``init_logger`` only adds handlers, so a second run in one process would keep
    writing into the first run's log file.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def _floats(result: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in (result or {}).items()}


def run(
    model: str | type,
    dataset: str,
    *,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    saved: bool = True,
    callbacks: Sequence[EpochCallback] = (),
    evaluate_test: bool = True,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` and evaluate the best checkpoint on the test split.

    Args:
        model: plugin or RecBole model name (``recbole.<Name>`` forces RecBole's) or class.
        dataset: dataset name (ml-100k ships with RecBole; others via ``recbole-spec import``).
        config_file_list: YAML files applied over the defaults.
        config_dict: parameters applied over the files.
        overrides: ``--key=value`` strings applied last.
        saved: keep the best checkpoint (reloaded for the test evaluation) and a last
            checkpoint, rewritten every epoch, from which ``--resume_from=<file>`` continues an
            interrupted run with the same settings.
        callbacks: ``callback(epoch, train_loss, valid_result)`` after every evaluation; a
            callback object with a ``bind(trainer)`` method receives the trainer (and so the
            model) before training starts.
        evaluate_test: evaluate on the test split after training (default: True). Tuning trials
            pass False so that only the selected configuration ever touches the test set; the
            result's ``test_result`` is then None.

    Returns:
        ``model``, ``dataset``, ``protocol``, ``best_valid_score``, ``best_valid_result``,
        ``test_result``, ``checkpoint``, ``epochs`` (trained), ``train_seconds`` (wall seconds of
        ``fit``: training and validation),
        ``seconds_per_epoch``, ``n_users``, ``n_items``, ``config`` (plain dict),
        ``spectrum_history`` (erank / stable rank / uniformity per evaluation when
        ``spectrum_monitor`` is on, the default for plugin models), and the live
        ``trainer`` (its ``model`` is the trained recommender) and ``data`` (RecBole dataset).
    """
    from recbole.data import data_preparation
    from recbole.utils import init_logger, init_seed

    config = build_config(model, dataset, config_file_list, config_dict, overrides)
    init_seed(config["seed"], config["reproducibility"])
    _reset_root_logger()
    init_logger(config)
    logger = getLogger()
    protocol = config["spec_protocol"] or "recbole"
    if protocol == "paper":
        logger.warning(PAPER_PROTOCOL_WARNING)
    logger.info(config)

    data = _build_dataset(config)
    logger.info(data)
    train_data, valid_data, test_data = data_preparation(config, data)

    init_seed(config["seed"], config["reproducibility"])
    recommender = config.model_class(config, train_data._dataset).to(config["device"])
    logger.info(recommender)
    trainer = trainer_class(config, config.model_class)(config, recommender)
    callbacks = list(callbacks)
    monitor = next((c for c in callbacks if isinstance(c, SpectrumMonitor)), None)
    if monitor is None and config["spectrum_monitor"]:
        monitor = SpectrumMonitor()
        callbacks.append(monitor)
    trainer.epoch_callbacks = callbacks
    for callback in callbacks:
        bind = getattr(callback, "bind", None)
        if callable(bind):
            bind(trainer)

    if saved:
        trainer.last_checkpoint_file = trainer.saved_model_file.removesuffix(".pth") + LAST_SUFFIX
    if config["resume_from"]:
        trainer.resume_checkpoint(str(config["resume_from"]))

    show_progress = bool(config["show_progress"])
    start = time.perf_counter()
    best_score, best_result = trainer.fit(
        train_data, valid_data, saved=saved, show_progress=show_progress
    )
    train_seconds = time.perf_counter() - start
    test_result = (
        trainer.evaluate(test_data, load_best_model=saved, show_progress=show_progress)
        if evaluate_test
        else None
    )
    epochs = len(trainer.train_loss_dict)
    trainer.tensorboard.close()
    logger.info(f"best valid: {dict(best_result or {})}")
    logger.info(f"test result: {dict(test_result or {})}")
    if protocol == "paper":
        logger.warning(PAPER_PROTOCOL_WARNING)
    return {
        "model": config["model"],
        "dataset": config["dataset"],
        "protocol": protocol,
        "best_valid_score": float(best_score),
        "best_valid_result": _floats(best_result),
        "test_result": _floats(test_result) if evaluate_test else None,
        "checkpoint": trainer.saved_model_file if saved else None,
        "epochs": epochs,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / max(epochs, 1),
        "n_users": data.user_num - 1,
        "n_items": data.item_num - 1,
        "config": config.to_plain_dict(),
        "spectrum_history": monitor.history if monitor is not None else [],
        "trainer": trainer,
        "data": data,
    }
