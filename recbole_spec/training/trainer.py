"""Trainers: RecBole's, with safe checkpoints and a per-evaluation callback.

:class:`~recbole_spec.training.safe_trainer.CheckpointMixin` (its own module) is mixed into
whichever RecBole trainer a model needs, so built-in baselines get the same safe checkpoint
handling as plugin models. :class:`SpecTrainer` is the plugin models' trainer,
:class:`TrainingFreeTrainer` that of the plugin's training-free models; :func:`trainer_class`
picks one.
"""

from __future__ import annotations

from typing import Any

from recbole.trainer import TraditionalTrainer, Trainer
from recbole.utils import get_trainer
from torch import nn
from torch.optim.lr_scheduler import ExponentialLR

from recbole_spec.training import optim
from recbole_spec.training.epoch_plan import NonFiniteLoss, can_plan, train_planned_epoch
from recbole_spec.training.safe_trainer import (
    LAST_SUFFIX,
    CheckpointMixin,
    EpochCallback,
    TrainingDiverged,
    unique_checkpoint_file,
)
from recbole_spec.training.samplers import UserUniformSampler

__all__ = [
    "LAST_SUFFIX",
    "CheckpointMixin",
    "EpochCallback",
    "SpecTrainer",
    "TrainingDiverged",
    "trainer_class",
    "unique_checkpoint_file",
]


class SpecTrainer(CheckpointMixin, Trainer):
    """Trainer of the plugin's models: RecBole's loop plus what the paper protocols need.

    * ``train_sampler: user_uniform`` replaces RecBole's interaction batches by
      :class:`~recbole_spec.training.samplers.UserUniformSampler` (official DirectSpec protocol);
    * ``lr_decay: g`` multiplies the learning rate by ``g`` after every epoch (1 = constant);
    * ``learner: sgd`` with ``sparse_grad: True`` uses :class:`~recbole_spec.training.optim.RowSGD`
      (the same update, applied to the touched rows without coalescing);
    * epoch callbacks with ``state_dict`` (e.g. the stable-rank warm start's schedule, which
      the model supplies) have that state saved in and restored from checkpoints.
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
        self.set_epoch_callbacks()  # the model's own, also when built without the pipeline

    def _training_state(self) -> dict[str, Any]:
        sampler_state = self._sampler.state() if self._sampler is not None else None
        return {**super()._training_state(), "sampler_state": sampler_state or self._sampler_state}

    def _restore_training_state(self, state: dict[str, Any]) -> None:
        super()._restore_training_state(state)
        self._sampler_state = state.get("sampler_state")
        if self._sampler is not None and self._sampler_state is not None:
            self._sampler.set_state(self._sampler_state)

    def _build_optimizer(self, **kwargs: Any) -> Any:
        """RecBole's optimizer, except for Adam and for the MF encoder's sparse gradients.

        With ``sparse_grad``, a table that every step touches widely (a batch of more than
        :data:`~recbole_spec.training.optim.DENSE_ABOVE` of its rows) gets dense gradients from
        the start (:func:`~recbole_spec.training.optim.densify_wide_tables`). Adam on dense
        gradients only is torch's fused Adam (:func:`~recbole_spec.training.optim.dense_adam`).
        On sparse rows, ``learner: sgd`` uses :class:`~recbole_spec.training.optim.RowSGD` and
        ``learner: adam`` :class:`~recbole_spec.training.optim.RowAdam` (dense Adam computed on
        the rows a batch touches, with read hooks on the embeddings); both give dense SGD's /
        Adam's parameters. ``fast_train: False`` keeps the reference path: RecBole's Adam, and
        RowAdam's per-step dense conversion.
        """
        learner = str(kwargs.get("learner", self.config["learner"])).lower()
        decay = kwargs.get("weight_decay", self.config["weight_decay"])
        params = kwargs.get("params", self.model.parameters())
        lr = kwargs.get("learning_rate", self.config["learning_rate"])
        fast = self.config["fast_train"] is not False
        if fast and learner == "adam" and self.config["sparse_grad"] and not decay:
            optim.densify_wide_tables(self.model, int(self.config["train_batch_size"]))
        sparse = any(isinstance(m, nn.Embedding) and m.sparse for m in self.model.modules())
        if fast and learner == "adam" and not sparse:
            return optim.dense_adam(params, lr=lr, weight_decay=float(decay or 0.0))
        if not sparse or decay or learner not in ("sgd", "adam"):
            return super()._build_optimizer(**kwargs)
        if learner == "sgd":
            return optim.RowSGD(params, lr=lr)
        optimizer = optim.RowAdam(params, lr=lr, dense_above=optim.DENSE_ABOVE)
        for handle in getattr(self, "_row_sync_hooks", ()):
            handle.remove()
        self._row_sync_hooks = optim.attach_row_sync(self.model, optimizer)
        return optimizer

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

    def _run_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any, show_progress: bool
    ) -> Any:
        """The planned epoch under the paper protocol (:mod:`~recbole_spec.training.epoch_plan`).

        RecBole's loop otherwise, with a custom ``loss_func``, and with ``fast_train: False``
        (the reference path the faster one is checked against).
        """
        planned = isinstance(train_data, UserUniformSampler) and loss_func is None
        if planned and self.config["fast_train"] is not False and can_plan(self):
            try:
                return train_planned_epoch(self, train_data, epoch_idx, show_progress)
            except NonFiniteLoss as err:
                raise TrainingDiverged(str(err)) from None
        return super()._run_epoch(train_data, epoch_idx, loss_func, show_progress)

    def _train_epoch(
        self, train_data: Any, epoch_idx: int, loss_func: Any = None, show_progress: bool = False
    ) -> Any:
        if self.config["train_sampler"] == "user_uniform":
            train_data = self._user_uniform(train_data)
        loss = super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
        catch_up = getattr(self.optimizer, "catch_up", None)
        if callable(catch_up):  # RowAdam: every row up to date for evaluation and checkpoints
            catch_up()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss


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


class TrainingFreeTrainer(CheckpointMixin, TraditionalTrainer):
    """Trainer of the plugin's training-free models (GF-CF, BSPM): one pass, always validated.

    RecBole's ``TraditionalTrainer`` sets ``epochs = 1`` after ``Trainer.__init__`` computed
    ``eval_step = min(config eval_step, config epochs)``, so with ``--eval_step=2`` or more its
    single epoch is never validated, no checkpoint is written and the test evaluation finds no
    model file. Here the single epoch is always validated (``eval_step = 1``): the model is
    computed in its constructor, and the validation of that one epoch selects it.
    """

    def __init__(self, config: Any, model: Any) -> None:
        super().__init__(config, model)
        self.eval_step = 1
