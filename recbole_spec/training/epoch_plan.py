r"""One paper-protocol epoch as one plan: every step's ids drawn at once, no per-step host work.

RecBole's ``Trainer._train_epoch`` builds an ``Interaction`` per step, copies it to the device,
reads every loss term back with ``.item()`` (a host sync per term and step) and checks it for NaN.
Under ``train_sampler: user_uniform`` the whole epoch is known in advance, so
:func:`train_planned_epoch` instead

* draws the epoch's ``[steps, B]`` user and item ids in one call of the sampler (the same
  generator and the same draws as iterating it) and moves them to the training device once;
* runs the steps on plain id tensors, summing the loss terms on the device (float64, like
  RecBole's Python sum of ``.item()`` floats), and checks them for non-finite values once, at
  the end of the epoch;
* takes, for SGD on the MF encoder's sparse rows without an L2 term
  (:class:`~recbole_spec.training.optim.RowSGD`),
  the *row step*: the batch's rows are copied out of the tables as autograd leaves, the loss is
  formed from them (:meth:`~recbole_spec.models.base.SpecRecommender.loss_from_rows`) and the
  update :math:`E_{\mathrm{ids}} \mathrel{-}= \eta \, \partial L / \partial E_{\mathrm{ids}}` is an
  ``index_add_`` (repeated ids add up), with no sparse gradient tensor, ``AccumulateGrad`` or
  optimizer call in between. It is the same arithmetic as ``nn.Embedding(sparse=True)`` +
  ``RowSGD``, so the tables are bit-identical (a test checks it).

Everything else (other optimizers, the LightGCN encoder) runs ``calculate_loss`` ->
``backward`` -> ``optimizer.step`` on the planned ids. RecBole's loop stays what
interaction-batch models, AMP, gradient clipping and distributed training use
(:func:`can_plan`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from recbole_spec.objectives.base import Batch


class NonFiniteLoss(RuntimeError):
    """A planned epoch's summed loss is not finite (checked once per epoch)."""


def can_plan(trainer: Any) -> bool:
    """Whether :func:`train_planned_epoch` reproduces RecBole's loop for this trainer.

    Not with AMP or a gradient scaler, gradient clipping, or distributed training (RecBole's
    loop does per-step work for those).
    """
    config = trainer.config
    return (
        config["single_spec"] is not False
        and not getattr(trainer, "enable_amp", False)
        and not getattr(trainer, "enable_scaler", False)
        and not trainer.clip_grad_norm
    )


def draw_plan(sampler: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """The epoch's ``[steps, B]`` user and item ids on ``device``.

    One :meth:`~recbole_spec.training.samplers.UserUniformSampler.sample` call of
    ``steps * B`` draws: exactly what iterating the sampler yields, step by step.
    """
    steps, size = len(sampler), sampler.batch_size
    users, items = sampler.sample(steps * size)
    return (
        torch.from_numpy(users).view(steps, size).to(device),
        torch.from_numpy(items).view(steps, size).to(device),
    )


def _row_step_tables(trainer: Any) -> tuple[Tensor, Tensor] | None:
    """The MF tables when the row step applies (RowSGD on sparse MF rows), else ``None``."""
    from recbole_spec.encoders.mf import MFEncoder
    from recbole_spec.training.optim import RowSGD

    model, optimizer = trainer.model, trainer.optimizer
    encoder = getattr(model, "encoder", None)
    if type(optimizer) is not RowSGD or not isinstance(encoder, MFEncoder):
        return None
    if not callable(getattr(model, "loss_from_rows", None)) or model.reg_weight > 0:
        return None  # RecBole's L2 term reads the rows twice: its sum order needs the generic step
    user_table, item_table = encoder.user_embedding.weight, encoder.item_embedding.weight
    covered = {id(p) for group in optimizer.param_groups for p in group["params"]}
    trainable = [p for p in model.parameters() if p.requires_grad]
    if len(trainable) != 2 or {id(p) for p in trainable} != {id(user_table), id(item_table)}:
        return None  # the model trains more than the two tables: take the generic step
    if not {id(user_table), id(item_table)} <= covered or len(optimizer.param_groups) != 1:
        return None
    return user_table, item_table


def _leaf(table: Tensor, ids: Tensor) -> Tensor:
    return table.detach()[ids].requires_grad_()


def _row_step(model: Any, tables: tuple[Tensor, Tensor], batch: Batch, lr: float) -> tuple:
    """One SGD step on the rows ``batch`` touches; returns the detached loss terms."""
    user_table, item_table = tables
    items = model.batch_items(batch)
    user_rows, item_rows = _leaf(user_table, batch.users), _leaf(item_table, items)
    losses = model.loss_from_rows(batch, user_rows, item_rows)
    grads = torch.autograd.grad(sum(losses), (user_rows, item_rows), allow_unused=True)
    with torch.no_grad():
        pairs = zip((user_table, item_table), (batch.users, items), grads, strict=True)
        for table, index, grad in pairs:
            if grad is not None:
                table.index_add_(0, index, grad, alpha=-lr)
    return losses


def _captured_steps(trainer: Any, tables: tuple[Tensor, Tensor] | None, size: int) -> Any:
    """The trainer's :class:`~recbole_spec.training.cuda_graph.CapturedRowSteps`, or ``None``.

    Built on the first epoch; where the step cannot be captured on a CUDA device (e.g. a
    LightGCN encoder, whose propagation is not captured) the reason is logged once and the eager
    step runs.
    """
    if trainer.device.type != "cuda" or trainer.config["cuda_graph"] is False:
        return None
    from recbole_spec.training.cuda_graph import CapturedRowSteps, capture_blocker

    if getattr(trainer, "_captured", None) is None:
        blocker = capture_blocker(trainer.model, trainer.device)
        if tables is None:
            encoder = type(getattr(trainer.model, "encoder", trainer.model)).__name__
            blocker = (
                "only the MF row step (SGD on the two tables of an MF encoder) is captured, "
                f"not this step ({encoder}, {type(trainer.optimizer).__name__})"
            )
        if blocker is not None:
            if not getattr(trainer, "_capture_logged", False):
                trainer.logger.info(f"CUDA graph: eager steps ({blocker})")
                trainer._capture_logged = True
            return None
        # (objective, l2): capture_blocker excludes the stable-rank term
        trainer._captured = CapturedRowSteps(trainer.model, tables, size, n_terms=2)
    return trainer._captured


def train_planned_epoch(trainer: Any, sampler: Any, epoch_idx: int, show_progress: bool) -> Any:
    """Train one epoch on the sampler's plan; returns what RecBole's ``_train_epoch`` returns.

    That is the epoch's summed loss, a tuple of per-term sums when the model returns a tuple.

    Raises:
        NonFiniteLoss: if a loss term summed over the epoch is NaN or infinite.
    """
    model, optimizer = trainer.model, trainer.optimizer
    model.train()
    users, items = draw_plan(sampler, trainer.device)
    uid, iid = sampler.user_field, sampler.item_field
    tables = _row_step_tables(trainer)
    lr = float(optimizer.param_groups[0]["lr"])
    steps = range(users.shape[0])
    if show_progress:
        from tqdm import tqdm

        steps = tqdm(steps, ncols=100, desc=f"Train {epoch_idx:>5}")
    totals: Tensor | None = None
    as_tuple = True
    captured = _captured_steps(trainer, tables, users.shape[1]) if not show_progress else None
    start = 0
    if captured is not None:
        k = captured.k
        start = (users.shape[0] // k) * k
        for chunk in range(0, start, k):
            captured.run(users[chunk : chunk + k], items[chunk : chunk + k], lr)
        totals = captured.take_totals() if start else None
        steps = range(start, users.shape[0])
    for step in steps:
        if tables is not None:
            losses = _row_step(model, tables, Batch(users[step], items[step]), lr)
        else:
            optimizer.zero_grad()
            losses = model.calculate_loss({uid: users[step], iid: items[step]})
            as_tuple = isinstance(losses, tuple)
            if not as_tuple:
                losses = (losses,)
            sum(losses).backward()
            optimizer.step()
        terms = torch.stack([loss.detach() for loss in losses]).double()
        totals = terms if totals is None else totals.add_(terms)
    if tables is not None:
        optimizer.step()  # no gradients: a no-op that tells the LR scheduler the epoch stepped
    if totals is None:
        return None
    values = totals.tolist()  # the epoch's one host sync
    bad = next((v for v in values if v != v or v in (float("inf"), float("-inf"))), None)
    if bad is not None:
        raise NonFiniteLoss(f"training loss is {bad} in epoch {epoch_idx}")
    return tuple(values) if as_tuple else values[0]
