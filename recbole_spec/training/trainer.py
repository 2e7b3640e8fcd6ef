"""Trainers: RecBole's, with safe checkpoints and a per-evaluation callback.

:class:`CheckpointMixin` is mixed into whichever RecBole trainer a model needs (``Trainer``,
``TraditionalTrainer`` for EASE, ``NCLTrainer``, ...), so built-in baselines get the same safe
checkpoint handling as plugin models. :class:`SpecTrainer` is the plugin models' trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recbole.trainer import Trainer
from recbole.utils import get_trainer
from torch.optim.lr_scheduler import ExponentialLR

from recbole_spec.training.checkpoint import load_checkpoint, save_checkpoint
from recbole_spec.training.optim import RowSGD
from recbole_spec.training.samplers import UserUniformSampler

LAST_SUFFIX = "-last.pth"

EpochCallback = Callable[[int, Any, dict], None]
"""``callback(epoch, train_loss, valid_result)`` after every evaluation; ``train_loss`` is the
epoch's summed training loss (all terms)."""


def _plain_config(config: Any) -> dict:
    to_plain = getattr(config, "to_plain_dict", None)
    return to_plain() if callable(to_plain) else {"model": str(config["model"])}


class CheckpointMixin:
    """Safe checkpoints, resumable runs and an epoch callback for any RecBole trainer.

    Checkpoints load with ``weights_only=True``. Besides RecBole's best-model checkpoint, a
    *last* checkpoint (``last_checkpoint_file``, set by the pipeline) is rewritten atomically at
    the start of every epoch with the complete state after the previous epoch and its
    evaluation, so a killed run resumes from there
    (``--resume_from=<file>``) and loses at most the epoch in progress.
    """

    epoch_callbacks: list[EpochCallback]
    last_checkpoint_file: str | None = None

    def _training_state(self) -> dict[str, Any]:
        """Trainer state beyond RecBole's that a resumed run needs (override to extend)."""
        return {}

    def _restore_training_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_training_state`."""

    def _save_checkpoint(self, epoch: int, verbose: bool = True, **kwargs: Any) -> None:
        path = kwargs.pop("saved_model_file", self.saved_model_file)
        state = {
            "config": _plain_config(self.config),
            "epoch": int(epoch),
            "cur_step": int(self.cur_step),
            "best_valid_score": float(self.best_valid_score),
            "best_model_file": str(self.saved_model_file),
            "state_dict": self.model.state_dict(),
            "other_parameter": self.model.other_parameter(),
            "optimizer": self.optimizer.state_dict(),
            "trainer_state": self._training_state(),
        }
        save_checkpoint(path, state)
        if verbose:
            self.logger.info(f"Saving current: {path}")

    def resume_checkpoint(self, resume_file: str) -> None:
        """Restore model, optimizer and progress from a recbole_spec checkpoint.

        From a *last* checkpoint, training continues with the next epoch and keeps updating the
        run's best checkpoint and last checkpoint files.
        """
        state = load_checkpoint(resume_file, self.device)
        best_file = state.get("best_model_file")
        self.saved_model_file = best_file if best_file else str(resume_file)
        if str(resume_file).endswith(LAST_SUFFIX):
            self.last_checkpoint_file = str(resume_file)
        self.start_epoch = state["epoch"] + 1
        self.cur_step = state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self.model.load_state_dict(state["state_dict"])
        self.model.load_other_parameter(state.get("other_parameter"))
        self.optimizer.load_state_dict(state["optimizer"])
        self._restore_training_state(state.get("trainer_state") or {})
        self.logger.info(f"Checkpoint loaded. Resume training from epoch {self.start_epoch}")

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> Any:
        if self.last_checkpoint_file and epoch_idx > self.start_epoch:
            self._save_checkpoint(
                epoch_idx - 1, verbose=False, saved_model_file=self.last_checkpoint_file
            )
        return super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)

    def evaluate(
        self,
        eval_data: Any,
        load_best_model: bool = True,
        model_file: str | None = None,
        show_progress: bool = False,
    ) -> Any:
        """RecBole's evaluation, loading the best model through :func:`load_checkpoint`."""
        if eval_data and load_best_model:
            path = model_file or self.saved_model_file
            state = load_checkpoint(path, self.device)
            self.model.load_state_dict(state["state_dict"])
            self.model.load_other_parameter(state.get("other_parameter"))
            self.logger.info(f"Loading model structure and parameters from {path}")
        return super().evaluate(eval_data, load_best_model=False, show_progress=show_progress)

    def _valid_epoch(self, valid_data: Any, show_progress: bool = False) -> tuple[float, dict]:
        score, result = super()._valid_epoch(valid_data, show_progress=show_progress)
        epoch = max(self.train_loss_dict, default=-1)
        for callback in getattr(self, "epoch_callbacks", ()):
            callback(epoch, self.train_loss_dict.get(epoch), dict(result))
        return score, result


class SpecTrainer(CheckpointMixin, Trainer):
    """Trainer of the plugin's models: RecBole's loop plus what the paper protocols need.

    * ``train_sampler: user_uniform`` replaces RecBole's interaction batches by
      :class:`~recbole_spec.training.samplers.UserUniformSampler` (official DirectSpec protocol);
    * ``lr_decay: g`` multiplies the learning rate by ``g`` after every epoch (1 = constant);
    * ``learner: sgd`` with ``sparse_grad: True`` uses :class:`~recbole_spec.training.optim.RowSGD`
      (the same update, applied to the touched rows without coalescing);
    * the stable-rank warm start (``stable_rank_weight > 0``) ends after epoch
      ``warm_start_epochs`` or once the validation score has not improved for
      ``warm_start_patience`` evaluations, whichever comes first; the switch is logged.
    """

    def __init__(self, config: Any, model: Any) -> None:
        super().__init__(config, model)
        decay = config["lr_decay"]
        self.scheduler = (
            ExponentialLR(self.optimizer, gamma=float(decay))
            if decay not in (None, 1, 1.0)
            else None
        )
        self._sampler: UserUniformSampler | None = None
        self._sampler_state: dict | None = None  # restored before the sampler exists
        self._warm_best = -float("inf")
        self._warm_stale = 0

    def _training_state(self) -> dict[str, Any]:
        sampler_state = self._sampler.state() if self._sampler is not None else None
        return {
            "warm_start_active": self.warm_start_active,
            "warm_best": float(self._warm_best),
            "warm_stale": int(self._warm_stale),
            "sampler_state": sampler_state or self._sampler_state,
        }

    def _restore_training_state(self, state: dict[str, Any]) -> None:
        if state and not state.get("warm_start_active", True) and self.warm_start_active:
            self.model.end_warm_start()
        self._warm_best = state.get("warm_best", self._warm_best)
        self._warm_stale = state.get("warm_stale", self._warm_stale)
        self._sampler_state = state.get("sampler_state")
        if self._sampler is not None and self._sampler_state is not None:
            self._sampler.set_state(self._sampler_state)

    @property
    def warm_start_active(self) -> bool:
        """Whether the model's stable-rank warm-start term is currently on."""
        return bool(getattr(self.model, "stable_rank_active", False))

    def _end_warm_start(self, epoch: int, reason: str) -> None:
        self.model.end_warm_start()
        self.warm_start_ended_epoch = epoch
        self.logger.info(f"stable-rank warm start ended after epoch {epoch}: {reason}")

    def _build_optimizer(self, **kwargs: Any) -> Any:
        """RecBole's optimizer, except plain SGD on sparse gradients uses :class:`RowSGD`."""
        sparse_sgd = (
            self.config["sparse_grad"]
            and str(kwargs.get("learner", self.config["learner"])).lower() == "sgd"
            and not kwargs.get("weight_decay", self.config["weight_decay"])
        )
        if not sparse_sgd:
            return super()._build_optimizer(**kwargs)
        params = kwargs.get("params", self.model.parameters())
        return RowSGD(params, lr=kwargs.get("learning_rate", self.config["learning_rate"]))

    def _user_uniform(self, train_data: Any) -> UserUniformSampler:
        if self._sampler is None:
            dataset = train_data._dataset
            self._sampler = UserUniformSampler(
                dataset.inter_matrix(form="csr"),
                self.config["train_batch_size"],
                dataset.uid_field,
                dataset.iid_field,
                seed=self.config["seed"],
            )
            if self._sampler_state is not None:
                self._sampler.set_state(self._sampler_state)
        return self._sampler

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> Any:
        if self.config["train_sampler"] == "user_uniform":
            train_data = self._user_uniform(train_data)
        loss = super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
        if self.scheduler is not None:
            self.scheduler.step()
        limit = self.config["warm_start_epochs"]
        if self.warm_start_active and limit is not None and epoch_idx >= limit:
            self._end_warm_start(epoch_idx, f"reached warm_start_epochs={limit}")
        return loss

    def _valid_epoch(self, valid_data: Any, show_progress: bool = False) -> tuple[float, dict]:
        score, result = super()._valid_epoch(valid_data, show_progress=show_progress)
        if self.warm_start_active:
            signed = score if self.valid_metric_bigger else -score
            if signed > self._warm_best:
                self._warm_best, self._warm_stale = signed, 0
            else:
                self._warm_stale += 1
            patience = self.config["warm_start_patience"]
            if self._warm_stale >= patience:
                epoch = max(self.train_loss_dict, default=0)
                self._end_warm_start(epoch, f"no validation improvement in {patience} evaluations")
        return score, result


def trainer_class(config: Any, model_class: type) -> type:
    """The trainer for ``model_class``.

    :class:`SpecTrainer` for plugin models, else RecBole's own trainer for that model with
    :class:`CheckpointMixin` mixed in.
    """
    custom = getattr(model_class, "trainer_class", None)
    if custom is not None:
        return custom
    from recbole_spec.registry import is_plugin_model

    if is_plugin_model(model_class):
        return SpecTrainer
    base = get_trainer(config["MODEL_TYPE"], config["model"])
    if issubclass(base, CheckpointMixin):
        return base
    return type(f"Safe{base.__name__}", (CheckpointMixin, base), {})
