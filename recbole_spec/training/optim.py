"""Plain SGD that applies sparse gradients row by row, without coalescing them.

``torch.optim.SGD`` accepts the sparse gradients of ``nn.Embedding(sparse=True)`` but coalesces
(sorts and merges) them at every step: about 0.3 ms of a 1.5 ms DirectSpec+ step on CiteULike
here. ``index_add_`` applies the uncoalesced rows directly (repeated rows simply add up), which
is the same update. Dense gradients take the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Optional

import torch
from torch import Tensor
from torch.optim import Optimizer


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
