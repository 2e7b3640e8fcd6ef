"""The run sequence: config -> data -> model -> trainer -> fit -> test, as public steps.

:func:`build_config`, :func:`load_data`, :func:`build_model` and :func:`build_trainer` are the
steps; :func:`run` composes them. The CLI, the comparison, the tuning trainable, the spectrum
command and the benchmarks call these, so every model (plugin or RecBole built-in) goes through
the same steps.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Sequence
from logging import getLogger
from pathlib import Path
from typing import Any

import torch

from recbole_spec.config import SpecConfig
from recbole_spec.data.checks import cold_start_line
from recbole_spec.diagnostics.monitor import SpectrumMonitor
from recbole_spec.training.checkpoint import (
    CheckpointError,
    CheckpointWriteError,
    load_checkpoint,
)
from recbole_spec.training.lean_loader import make_lean
from recbole_spec.training.progress import (
    ConsoleProgress,
    console,
    format_duration,
    setup_console,
)
from recbole_spec.training.resume import check_resume_config
from recbole_spec.training.stopping import stopping_rule
from recbole_spec.training.trainer import (
    LAST_SUFFIX,
    EpochCallback,
    trainer_class,
    unique_checkpoint_file,
)
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


class RunFailed(ConfigError):
    """A run that cannot go on, with a one-line reason and the fix (e.g. diverged at once)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's ``KeyboardInterrupt`` would be.

    Batch schedulers (SLURM, Kubernetes) stop jobs with SIGTERM; the command line installs the
    handler that raises this, so such a job ends like Ctrl-C (exit status 143).
    """

    signal_name = "SIGTERM"
    exit_code = 143


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM during training, with the last checkpoint to resume from.

    ``checkpoint`` is that file (or None); ``signal_name`` (``SIGINT``/``SIGTERM``) and
    ``exit_code`` (130/143) say which signal it was.
    """

    def __init__(
        self,
        checkpoint: str | None,
        epoch: int | None,
        signal_name: str = "SIGINT",
        exit_code: int = 130,
    ) -> None:
        super().__init__("interrupted")
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.signal_name = signal_name
        self.exit_code = exit_code


def stop_wording(err: BaseException) -> str:
    """How a stop reads on the console: ``terminated (SIGTERM)`` or ``interrupted`` (Ctrl-C)."""
    return "terminated (SIGTERM)" if getattr(err, "signal_name", "") == "SIGTERM" else "interrupted"


def _quiet_recbole_warnings() -> None:
    """Hide the FutureWarnings RecBole's own code triggers (not ours), narrowly by module."""
    for message in (
        r".*torch\.cuda\.amp\.GradScaler.*",
        r".*chained assignment using an inplace method.*",
        r".*Downcasting object dtype arrays on \.fillna.*",
    ):
        warnings.filterwarnings(
            "ignore", message=message, category=FutureWarning, module=r"recbole(\.|$)"
        )


def build_config(
    model: str | type,
    dataset: str,
    config_file_list: Sequence[str | os.PathLike] | None = None,
    config_dict: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
) -> SpecConfig:
    """Build and validate the configuration without touching any data.

    With ``resume_from``, the checkpoint must exist, load safely and belong to a run with the
    same model, dataset, split and parameter-shaping settings
    (:mod:`~recbole_spec.training.resume`).
    """
    config = SpecConfig(model, dataset, config_file_list, config_dict, overrides)
    _check_no_pickled_cache(config)
    resume = config["resume_from"]
    if resume:
        if not Path(str(resume)).is_file():
            raise ConfigError(
                f"'resume_from' checkpoint '{resume}' does not exist; pass the '*{LAST_SUFFIX}' "
                "file that the interrupted run wrote next to its best checkpoint"
            )
        try:
            saved = load_checkpoint(str(resume)).get("config") or {}
        except CheckpointError as err:
            raise ConfigError(f"cannot resume: {err}") from None
        check_resume_config(config.to_plain_dict(), saved, str(resume))
    return config


def load_data(config: SpecConfig) -> tuple[Any, Any, Any, Any]:
    """RecBole's dataset and its train / valid / test loaders for ``config``.

    Seeds with ``config['seed']`` first, so every call gives the same (random) split. Refuses
    RecBole's pickled dataset caches, which would load arbitrary objects. The training loader
    gets :func:`~recbole_spec.training.lean_loader.make_lean` (RecBole's batches and negatives,
    bit for bit, without its per-batch Python loops).

    Returns:
        ``(dataset, train_data, valid_data, test_data)``.
    """
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed

    _check_no_pickled_cache(config)
    stale = Path(config["checkpoint_dir"]) / f"{config['dataset']}-Dataset.pth"
    if stale.exists():
        raise ConfigError(
            f"found a pickled RecBole dataset cache '{stale}', which RecBole would load blindly; "
            "delete it or pass --checkpoint_dir=<another folder>"
        )
    _quiet_recbole_warnings()
    init_seed(config["seed"], config["reproducibility"])  # a random split comes out the same
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    make_lean(train_data)  # RecBole's batches and negatives, vectorised
    return dataset, train_data, valid_data, test_data


def build_model(config: SpecConfig, train_data: Any) -> Any:
    """The configured recommender on ``config['device']``, seeded with ``config['seed']``."""
    from recbole.utils import init_seed

    init_seed(config["seed"], config["reproducibility"])
    return config.model_class(config, train_data._dataset).to(config["device"])


def build_trainer(
    config: SpecConfig,
    model: Any,
    callbacks: Sequence[EpochCallback] = (),
    *,
    saved: bool = True,
) -> Any:
    """The model's trainer with its epoch callbacks bound and, with ``resume_from``, resumed.

    The callbacks are ``callbacks`` followed by the model's own
    (:meth:`~recbole_spec.training.trainer.CheckpointMixin.set_epoch_callbacks`).

    A new run's checkpoint names never collide with an existing file; a resumed run continues
    the checkpoint's own run.
    """
    trainer = trainer_class(config, config.model_class)(config, model)
    trainer.set_epoch_callbacks(callbacks)
    if saved:
        trainer.saved_model_file = unique_checkpoint_file(trainer.saved_model_file)
        trainer.last_checkpoint_file = trainer.saved_model_file.removesuffix(".pth") + LAST_SUFFIX
    if config["resume_from"]:
        trainer.resume_checkpoint(str(config["resume_from"]))
    return trainer


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


def _log_file() -> str | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return None


def _device_line(config: SpecConfig) -> str:
    device = torch.device(config["device"])
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads > 1 else ''})"


def _header(config: SpecConfig, dataset: Any, splits: Sequence[Any]) -> str:
    rows = "/".join(f"{len(split.dataset):,}" if split else "0" for split in splits)
    return (
        f"{config['model']} on {config['dataset']}: {dataset.user_num - 1:,} users, "
        f"{dataset.item_num - 1:,} items, {rows} train/valid/test rows; device "
        f"{_device_line(config)}; log {_log_file()}"
    )


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
        ``test_result``, ``checkpoint``, ``epochs`` (the run's total, resumed epochs included),
        ``build_seconds`` (wall seconds of building the model, where closed forms such as
        EASE's inverse or GF-CF's SVD are computed), ``train_seconds`` (wall seconds of ``fit``
        in this process: training and validation),
        ``seconds_per_epoch``, ``n_users``, ``n_items``, ``config`` (plain dict),
        ``spectrum_history`` (erank / stable rank / uniformity per evaluation when
        ``spectrum_monitor`` is on, the default for plugin models), ``diverged`` (why training
        stopped on a non-finite loss or parameter, else None), and the live ``trainer`` (its
        ``model`` is the trained recommender), ``data`` (RecBole dataset) and ``test_data``.

    Raises:
        ConfigError: bad settings, before any data is read.
        RunFailed: training diverged before any checkpoint was saved, or a checkpoint could not
            be written (full disk; the earlier checkpoints are intact).
        RunInterrupted: Ctrl-C (or SIGTERM, as :class:`Terminated`) during training (the last
            checkpoint is intact).
    """
    from recbole.utils import init_logger, init_seed

    config = build_config(model, dataset, config_file_list, config_dict, overrides)
    console_mode = str(config["console"] or "concise").lower()
    interval = 10.0 if config["console_interval"] is None else config["console_interval"]
    if console_mode not in ("concise", "full"):
        raise ConfigError(f"'console' must be concise or full (got {console_mode!r})")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
        raise ConfigError(f"'console_interval' must be a number >= 0 (got {interval!r})")
    init_seed(config["seed"], config["reproducibility"])
    _reset_root_logger()
    init_logger(config)
    setup_console(console_mode == "concise")
    logger, out = getLogger(), console()
    protocol = config["spec_protocol"] or "recbole"
    if protocol == "paper":
        logger.warning(PAPER_PROTOCOL_WARNING)
    logger.info(config)

    data, train_data, valid_data, test_data = load_data(config)
    logger.info(data)
    out.info(_header(config, data, (train_data, valid_data, test_data)))
    if getattr(config, "settings_line", None):
        out.info(config.settings_line)
    out.info(stopping_rule(config))
    out.info(cold_start_line(config, train_data, valid_data, test_data))
    built = time.perf_counter()
    recommender = build_model(config, train_data)
    build_seconds = time.perf_counter() - built
    logger.info(recommender)

    callbacks = list(callbacks)
    monitor = next((c for c in callbacks if isinstance(c, SpectrumMonitor)), None)
    if monitor is None and config["spectrum_monitor"]:
        monitor = SpectrumMonitor()
        callbacks.append(monitor)
    progress = ConsoleProgress(float(interval), monitor)
    trainer = build_trainer(config, recommender, [*callbacks, progress], saved=saved)
    progress.restart_clock(trainer.start_epoch)

    show_progress = bool(config["show_progress"])
    start = time.perf_counter()
    try:
        best_score, best_result = trainer.fit(
            train_data, valid_data, saved=saved, show_progress=show_progress
        )
    except KeyboardInterrupt as err:
        trainer.tensorboard.close()
        last = trainer.last_checkpoint_file
        if not (last and Path(last).is_file()):
            last = None
        raise RunInterrupted(
            last,
            trainer.last_checkpoint_epoch,
            getattr(err, "signal_name", "SIGINT"),
            getattr(err, "exit_code", 130),
        ) from None
    except CheckpointWriteError as err:
        trainer.tensorboard.close()
        last = trainer.last_checkpoint_file
        resume = f"; then resume with --resume_from={last}" if last and Path(last).is_file() else ""
        raise RunFailed(f"{err}{resume}") from None
    train_seconds = time.perf_counter() - start
    epochs = max(trainer.train_loss_dict, default=trainer.start_epoch - 1) + 1
    if trainer.diverged:
        if evaluate_test and not (saved and Path(trainer.saved_model_file).is_file()):
            trainer.tensorboard.close()
            raise RunFailed(
                f"training diverged ({trainer.diverged}) before any evaluation saved a "
                "checkpoint; lower --learning_rate (or evaluate sooner with a smaller --eval_step)"
            )
        then = f"evaluating the best checkpoint {trainer.saved_model_file} on test"
        then = then if evaluate_test else "stopped"
        out.warning(f"training diverged ({trainer.diverged}); {then}")
    elif progress.best is not None:
        stopped = f" (stopped: {trainer.stop_reason})" if trainer.stop_reason else ""
        out.info(
            f"finished in {format_duration(train_seconds)}: {epochs} epochs{stopped}, best valid "
            f"{progress.metric} {progress.best:.4f} at epoch {progress.best_epoch}"
        )
    test_result = (
        trainer.evaluate(test_data, load_best_model=saved, show_progress=show_progress)
        if evaluate_test
        else None
    )
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
        "build_seconds": build_seconds,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / max(epochs - trainer.start_epoch, 1),
        "n_users": data.user_num - 1,
        "n_items": data.item_num - 1,
        "config": config.to_plain_dict(),
        "spectrum_history": monitor.history if monitor is not None else [],
        "diverged": trainer.diverged,
        "trainer": trainer,
        "data": data,
        "test_data": test_data,
    }
