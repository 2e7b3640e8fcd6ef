r"""Optimisers that read and write only the embedding rows a batch touches.

:class:`RowSGD`: plain SGD on sparse gradients without coalescing them. ``torch.optim.SGD``
coalesces (sorts and merges) sparse gradients at every step, about 0.3 ms of a 1.5 ms
DirectSpec+ step on CiteULike here; ``index_add_`` applies the uncoalesced rows directly
(repeated rows add up), which is the same update.

:class:`~recbole_spec.training.row_adam.RowAdam`: dense Adam computed on the touched rows
(its own module). :func:`resolve_sparse_grad` decides, before any data is loaded, whether a
model's embeddings produce sparse gradients for these optimisers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from recbole_spec.training.row_adam import DENSE_ABOVE, RowAdam, attach_row_sync

__all__ = [
    "DENSE_ABOVE",
    "dense_adam",
    "densify_wide_tables",
    "ROW_LEARNERS",
    "RowAdam",
    "RowSGD",
    "attach_row_sync",
    "resolve_sparse_grad",
]


class RowSGD(Optimizer):
    r"""``p <- p - lr * grad`` for dense and sparse gradients (no momentum, no weight decay).

    Args:
        params: parameters to optimise.
        lr: learning rate (> 0).
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"RowSGD: 'lr' must be > 0 (got {lr})")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """Apply one update to every parameter that has a gradient."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr = group["lr"]
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    param.index_add_(0, grad._indices()[0], grad._values(), alpha=-lr)
                else:
                    param.add_(grad, alpha=-lr)
        return loss


ROW_LEARNERS = ("adam", "sgd", "sparse_adam", "adagrad")
"""Learners that take the MF encoder's sparse gradients: ``adam`` -> :class:`RowAdam`, ``sgd`` ->
:class:`RowSGD` (both: dense semantics), ``sparse_adam`` -> ``torch.optim.SparseAdam`` (lazy),
``adagrad`` -> ``torch.optim.Adagrad`` (exact: an untouched row's Adagrad update is zero)."""


def resolve_sparse_grad(config: Any, owner: str, encoder: str) -> bool:
    """Resolve ``sparse_grad`` (``auto`` | true | false) to a bool, validating the learner.

    ``auto`` is true for the MF encoder on the CPU when the learner takes sparse gradients and
    there is no weight decay (weight decay gives every row a gradient at every step); else
    false. On a GPU dense Adam is faster for tables of this size (H100, 70k x 64 rows, 512
    rows per step: 0.53 ms vs RowAdam's 2.91 ms, ``benchmarks/gpu_row_adam_check.py``). An
    explicit true needs such a learner and, except for ``sparse_adam`` (which ignores it), no
    weight decay.
    """
    from recbole_spec.validation import ConfigError, check_choice

    value = config["sparse_grad"]
    learner = str(config["learner"]).lower()
    decay = float(config["weight_decay"] or 0.0)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in ("auto", "true", "false"):
            raise ConfigError(
                f"{owner}: 'sparse_grad' must be auto, True or False (got {value!r}); "
                "pass --sparse_grad=auto"
            )
        if lowered == "auto":
            device = config["device"] if "device" in config else None
            on_cpu = device is None or torch.device(device).type == "cpu"
            return encoder == "mf" and (
                learner == "sparse_adam" or (on_cpu and learner in ROW_LEARNERS and decay == 0)
            )
        value = lowered == "true"
    if not value:
        return False
    if learner not in ROW_LEARNERS:
        check_choice(config, "learner", owner, ROW_LEARNERS)
    if decay > 0 and learner != "sparse_adam":
        raise ConfigError(
            f"{owner}: 'sparse_grad: True' updates only the rows a batch touches, but "
            f"weight_decay={decay} gives every row a gradient at every step; pass "
            "--weight_decay=0 (and --reg_weight for an L2 on the batch rows) or "
            "--sparse_grad=False"
        )
    return True


def densify_wide_tables(model: nn.Module, rows_per_step: int) -> list[str]:
    """Turn off sparse gradients of the embedding tables a step touches widely.

    A table of ``n`` rows of which a step reads up to ``rows_per_step`` (the batch) with
    ``rows_per_step > DENSE_ABOVE * n`` would have :class:`RowAdam` convert its sparse gradient
    to a dense one at every step; deciding once, here, gives it a dense gradient from the start
    (the same values). Returns the names of the tables switched.
    """
    switched = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding) and module.sparse:
            if rows_per_step > DENSE_ABOVE * module.num_embeddings:
                module.sparse = False
                switched.append(name)
    return switched


def dense_adam(params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> Optimizer:
    r"""``torch.optim.Adam`` with ``fused=True`` where every parameter allows it.

    The fused kernel computes the same update as the single-tensor step RecBole's trainer uses
    (:math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`p \leftarrow p - \eta \hat m / (\sqrt{\hat v} + \epsilon)`) in one pass over each
    tensor, equal to rounding (a test bounds one step at a relative 1e-5), several times faster
    on the CPU for Gowalla-sized tables.
    """
    params = list(params)
    fusable = all(
        p.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
        and p.device.type in ("cpu", "cuda")
        and not p.is_sparse
        for p in params
    )
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fusable or None)
