"""Safe checkpoints, resumable runs and epoch callbacks for any RecBole trainer.

:class:`CheckpointMixin` is mixed into whichever RecBole trainer a model needs (``Trainer``,
``TraditionalTrainer`` for EASE, ``NCLTrainer``, ...), so built-in baselines get the same safe
checkpoint handling as plugin models (:mod:`recbole_spec.training.trainer` picks the trainer).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from recbole.trainer import Trainer

from recbole_spec.atomic import atomic_path
from recbole_spec.training.checkpoint import load_checkpoint, save_checkpoint
from recbole_spec.training.resume import check_parameter_shapes, get_rng_state, set_rng_state
from recbole_spec.training.stopping import StallStop, StallStopped
from recbole_spec.validation import ConfigError

LAST_SUFFIX = "-last.pth"

EpochCallback = Callable[[int, Any, dict], None]
"""``callback(epoch, train_loss, valid_result)`` after every evaluation; ``train_loss`` is the
epoch's summed training loss (all terms)."""


class TrainingDiverged(RuntimeError):
    """A non-finite loss or parameter: training stops and the best checkpoint stays as it was."""


def _plain_config(config: Any) -> dict:
    to_plain = getattr(config, "to_plain_dict", None)
    return to_plain() if callable(to_plain) else {"model": str(config["model"])}


def unique_checkpoint_file(path: str) -> str:
    """``path``, or ``<stem>-2.pth``, ``<stem>-3.pth``, ... if a file of that name exists.

    RecBole names checkpoints ``<Model>-<time to the second>.pth``: two runs started in the
    same second in one folder would otherwise write into each other's file.
    """
    stem, n = path.removesuffix(".pth"), 2
    while os.path.exists(path) or os.path.exists(path.removesuffix(".pth") + LAST_SUFFIX):
        path, n = f"{stem}-{n}.pth", n + 1
    return path


class CheckpointMixin:
    """Safe checkpoints, resumable runs and an epoch callback for any RecBole trainer.

    Checkpoints load with ``weights_only=True``. Besides RecBole's best-model checkpoint, a
    *last* checkpoint (``last_checkpoint_file``, set by the pipeline) is rewritten atomically at
    the start of every epoch with the complete state after the previous epoch and its
    evaluation, so a killed run resumes from there
    (``--resume_from=<file>``) and loses at most the epoch in progress.
    """

    epoch_callbacks: Sequence[EpochCallback] = ()
    last_checkpoint_file: str | None = None
    resumed: bool = False
    diverged: str | None = None
    """Why training stopped early on a non-finite loss or parameter (``None`` otherwise)."""
    last_checkpoint_epoch: int | None = None
    stop_reason: str | None = None
    """Why training stopped before its last epoch on a stalled validation (``None`` otherwise)."""
    _pending_rng: dict[str, Any] | None = None

    def set_epoch_callbacks(self, callbacks: Sequence[EpochCallback] = ()) -> None:
        """Use ``callbacks`` followed by the model's own callbacks, each bound (``bind``).

        The model's own come from ``model.epoch_callbacks(config)`` (e.g. the stable-rank warm
        start's schedule); :class:`SpecTrainer` sets them on construction, so a trainer built
        without the pipeline still ends the warm start.
        """
        own = getattr(self.model, "epoch_callbacks", None)
        self.epoch_callbacks = [*callbacks, *(own(self.config) if callable(own) else ())]
        delta = float(self.config["stopping_delta"] or 0.0)
        if delta > 0:
            self.epoch_callbacks.append(StallStop(delta, int(self.config["stopping_step"])))
        for callback in self.epoch_callbacks:
            bind = getattr(callback, "bind", None)
            if callable(bind):
                bind(self)

    def _training_state(self) -> dict[str, Any]:
        """Trainer state beyond RecBole's that a resumed run needs (override to extend).

        Here: the epoch callbacks' own (``state_dict``), merged into one dict.
        """
        state: dict[str, Any] = {}
        for callback in self.epoch_callbacks:
            if callable(getattr(callback, "state_dict", None)):
                state.update(callback.state_dict())
        return state

    def _restore_training_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_training_state`."""
        for callback in self.epoch_callbacks:
            if callable(getattr(callback, "load_state_dict", None)):
                callback.load_state_dict(state)

    def _save_checkpoint(self, epoch: int, verbose: bool = True, **kwargs: Any) -> None:
        path = kwargs.pop("saved_model_file", self.saved_model_file)
        rng = kwargs.pop("rng_state", None)
        if epoch < 0 and self.resumed:
            # RecBole's fit saves "epoch -1" when nothing is left to train; after a resume that
            # would replace the run's best checkpoint with the last weights.
            return
        state = {
            "config": _plain_config(self.config),
            "epoch": int(epoch),
            "cur_step": int(self.cur_step),
            "best_valid_score": float(self.best_valid_score),
            "best_valid_result": {
                str(k): float(v) for k, v in (self.best_valid_result or {}).items()
            },
            "best_model_file": str(self.saved_model_file),
            "state_dict": self.model.state_dict(),
            "other_parameter": self.model.other_parameter(),
            "optimizer": self.optimizer.state_dict(),
            "trainer_state": self._training_state(),
            "rng_state": rng,
        }
        save_checkpoint(path, state)
        if verbose:
            self.logger.info(f"Saving current: {path}")

    def _resumed_best_file(self, resume_file: str, best_file: str | None) -> str:
        """Where a resumed run keeps its best checkpoint: the recorded name, in today's folder.

        That folder is ``--checkpoint_dir`` when the user gave one, else the resume file's
        folder, so a moved or copied run folder is written in place and never into the old
        path. A best checkpoint kept beside the resume file is copied into another
        ``--checkpoint_dir`` first (the test step loads it); one already there is refused.
        """
        here = Path(resume_file).parent
        user_keys = getattr(self.config, "external_config_dict", None) or {}
        folder = Path(self.config["checkpoint_dir"]) if "checkpoint_dir" in user_keys else here
        target = folder / Path(best_file or resume_file).name
        source = here / target.name
        if folder.resolve() != here.resolve() and source.is_file():
            if target.exists():
                raise ConfigError(
                    f"cannot resume into --checkpoint_dir={folder}: it already holds "
                    f"'{target.name}'; pass another --checkpoint_dir or leave it out"
                )
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
        return str(target)

    def resume_checkpoint(self, resume_file: str) -> None:
        """Restore model, optimizer and progress from a recbole_spec checkpoint.

        From a *last* checkpoint, training continues with the next epoch and keeps updating the
        run's best checkpoint and last checkpoint files.
        """
        state = load_checkpoint(resume_file, self.device)
        check_parameter_shapes(state["state_dict"], self.model.state_dict(), resume_file)
        self.saved_model_file = self._resumed_best_file(resume_file, state.get("best_model_file"))
        if str(resume_file).endswith(LAST_SUFFIX):
            folder = Path(self.saved_model_file).parent
            self.last_checkpoint_file = str(folder / Path(resume_file).name)
            self.last_checkpoint_epoch = int(state["epoch"])
        self.start_epoch = state["epoch"] + 1
        self.cur_step = state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self.best_valid_result = state.get("best_valid_result") or self.best_valid_result
        self.model.load_state_dict(state["state_dict"])
        self.model.load_other_parameter(state.get("other_parameter"))
        self.optimizer.load_state_dict(state["optimizer"])
        self._restore_training_state(state.get("trainer_state") or {})
        self._pending_rng = state.get("rng_state")
        self.resumed = True
        self.logger.info(f"Checkpoint loaded. Resume training from epoch {self.start_epoch}")

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> Any:
        if self.stop_reason is not None:
            raise StallStopped(self.stop_reason)
        if self._pending_rng is not None:
            set_rng_state(self._pending_rng, train_data)
            self._pending_rng = None
        if self.last_checkpoint_file and epoch_idx > self.start_epoch:
            # The random states right here (after the previous epoch and its evaluation) are
            # the ones the next epoch starts from, so a resumed run draws the same batches.
            self._save_checkpoint(
                epoch_idx - 1,
                verbose=False,
                saved_model_file=self.last_checkpoint_file,
                rng_state=get_rng_state(train_data),
            )
            self.last_checkpoint_epoch = epoch_idx - 1
        loss = self._run_epoch(train_data, epoch_idx, loss_func, show_progress)
        bad = next((n for n, p in self.model.named_parameters() if not p.isfinite().all()), None)
        if bad is not None:
            raise TrainingDiverged(f"parameter '{bad}' became non-finite in epoch {epoch_idx}")
        for callback in self.epoch_callbacks:
            on_epoch_end = getattr(callback, "on_epoch_end", None)
            if callable(on_epoch_end):
                on_epoch_end(epoch_idx, loss)
        return loss

    def _run_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any, show_progress: bool
    ) -> Any:
        """The epoch's training steps: RecBole's loop (overridden by :class:`SpecTrainer`)."""
        return super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)

    def _check_nan(self, loss: torch.Tensor) -> None:
        """Stop on an infinite loss too (RecBole checks NaN only, so inf weights became "best")."""
        if not torch.isfinite(loss):
            epoch = max(self.train_loss_dict, default=self.start_epoch - 1) + 1
            raise TrainingDiverged(f"training loss is {loss.item()} in epoch {epoch}")

    def fit(self, train_data: Any, valid_data: Any = None, *args: Any, **kwargs: Any) -> Any:
        """RecBole's ``fit``; on divergence, stop and keep the best checkpoint as it was.

        ``eval_step`` is capped at the epochs trained, as RecBole does with the configured
        epochs: trainers that force one epoch (EASE, Pop: ``TraditionalTrainer``) would otherwise
        never evaluate or save with ``eval_step`` >= 2. A stalled validation
        (:class:`~recbole_spec.training.stopping.StallStop`) ends it before the next epoch, with
        the best checkpoint as RecBole chose it.
        """
        if 0 < self.epochs < self.eval_step:
            self.eval_step = self.epochs
        try:
            return super().fit(train_data, valid_data, *args, **kwargs)
        except StallStopped as stop:
            self.logger.info(f"stopped: {stop}")
            return self.best_valid_score, self.best_valid_result
        except TrainingDiverged as err:
            self.diverged = str(err)
            self.logger.error(f"training diverged: {err}; stopped, best checkpoint kept")
            return self.best_valid_score, self.best_valid_result

    def evaluate(
        self,
        eval_data: Any,
        load_best_model: bool = True,
        model_file: str | None = None,
        show_progress: bool = False,
    ) -> Any:
        """RecBole's evaluation, loading the best model through :func:`load_checkpoint`.

        With ``fast_eval: True`` (the default), a full-sort evaluation of a model with
        ``full_sort_predict`` runs :func:`~recbole_spec.training.full_sort.evaluate_full_sort`:
        RecBole's metrics on the same ranking, many users per batch. Anything else, or
        ``fast_eval: False``, runs RecBole's ``Trainer.evaluate``.
        """
        from recbole.utils import EvaluatorType

        from recbole_spec.training.full_sort import evaluate_full_sort, is_full_sort_loader

        if eval_data and load_best_model:
            path = model_file or self.saved_model_file
            state = load_checkpoint(path, self.device)
            self.model.load_state_dict(state["state_dict"])
            self.model.load_other_parameter(state.get("other_parameter"))
            self.logger.info(f"Loading model structure and parameters from {path}")
        mro = type(self).__mro__
        base = next(c for c in mro[mro.index(CheckpointMixin) + 1 :] if "evaluate" in vars(c))
        if (
            eval_data
            and self.config["fast_eval"] is not False
            and base is Trainer
            and is_full_sort_loader(eval_data)
            and self.config["eval_type"] == EvaluatorType.RANKING
            and self.config["single_spec"] is not False
        ):
            result = evaluate_full_sort(
                self.model,
                eval_data,
                self.eval_collector,
                self.evaluator,
                self.device,
                show_progress=show_progress,
            )
            if result is not None:
                self.wandblogger.log_eval_metrics(result, head="eval")
                return result
        return super().evaluate(eval_data, load_best_model=False, show_progress=show_progress)

    def _valid_epoch(self, valid_data: Any, show_progress: bool = False) -> tuple[float, dict]:
        score, result = super()._valid_epoch(valid_data, show_progress=show_progress)
        epoch = max(self.train_loss_dict, default=-1)
        for callback in self.epoch_callbacks:
            callback(epoch, self.train_loss_dict.get(epoch), dict(result))
        return score, result
