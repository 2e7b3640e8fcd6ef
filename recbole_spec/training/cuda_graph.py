r"""The paper protocol's MF row step as a CUDA graph: ``steps_per_graph`` steps, one launch.

On a GPU a DirectSpec+ step is a few milliseconds of per-step overhead (Python, dozens of small
kernel launches) around microseconds of arithmetic. :class:`CapturedRowSteps` records the row
step of :mod:`recbole_spec.training.epoch_plan` (gather -> filter -> loss -> backward ->
``index_add_`` update) for ``k`` consecutive steps once with :class:`torch.cuda.CUDAGraph` and
replays it: per ``k`` steps the host does one copy of the ids into static buffers and one replay.
The learning rate is a device tensor (LR decay changes it between epochs without a re-capture)
and the loss terms add up in a device buffer read once per epoch.

The captured body is :func:`static_row_steps`, the same function an eager caller runs (tests
check it equals the eager row step on the CPU). It applies where the row step has no host work:
the MF encoder with a fixed temperature, no L2 term and no stable-rank term
(:func:`capture_blocker` says why not otherwise; the trainer then logs the reason once and takes
the eager path). Figures: ``benchmarks/gpu_check.sh`` (unmeasured where no GPU was lent).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from recbole_spec.objectives.base import Batch

WARMUP_STEPS = 3
"""Eager calls before capture (CUDA graphs need the kernels' workspaces allocated first); they
are real training steps, taken on the side stream the capture uses."""


def capture_blocker(model: Any, device: torch.device) -> str | None:
    """Why the row step cannot be captured for ``model`` on ``device``, or ``None``."""
    if device.type != "cuda":
        return f"the device is {device.type}, not CUDA"
    if getattr(model, "reg_weight", 0) > 0:
        return "the L2 term (reg_weight > 0) takes the generic step"
    if getattr(model, "stable_rank", None) is not None:
        return "the stable-rank term finds unique ids (a host sync)"
    if getattr(getattr(model, "objective", None), "adaptive", False):
        return "the adaptive temperature builds its mask on the CPU"
    return None


def static_row_steps(
    model: Any,
    tables: tuple[Tensor, Tensor],
    users: Tensor,
    items: Tensor,
    neg_lr: Tensor,
    totals: Tensor,
) -> None:
    r"""``users.shape[0]`` row steps on the ``[k, B]`` ids, in place, without host syncs.

    Per step: leaf copies of the touched rows, the loss from them, its gradient, and
    :math:`E_{\mathrm{ids}} \mathrel{+}= (-\eta)\, g` with :math:`-\eta` = ``neg_lr`` (a
    one-element tensor); the detached loss terms are added to ``totals`` (float64).
    """
    user_table, item_table = tables
    for step in range(users.shape[0]):
        batch = Batch(users[step], items[step])
        user_rows = user_table.detach()[batch.users].requires_grad_()
        item_rows = item_table.detach()[batch.items].requires_grad_()
        losses = model.loss_from_rows(batch, user_rows, item_rows)
        grads = torch.autograd.grad(sum(losses), (user_rows, item_rows))
        with torch.no_grad():
            user_table.index_add_(0, batch.users, grads[0] * neg_lr)
            item_table.index_add_(0, batch.items, grads[1] * neg_lr)
            totals.add_(torch.stack([loss.detach() for loss in losses]).double())


class CapturedRowSteps:
    """``steps_per_graph`` row steps recorded once and replayed (CUDA only).

    Args:
        model: a plugin MF model (see :func:`capture_blocker`).
        tables: its ``(user, item)`` embedding weights.
        batch_size: ``B``.
        n_terms: how many loss terms the model returns.
        steps_per_graph: ``k``, steps per replay.
    """

    def __init__(
        self,
        model: Any,
        tables: tuple[Tensor, Tensor],
        batch_size: int,
        n_terms: int,
        steps_per_graph: int = 8,
    ) -> None:
        device = tables[0].device
        self.model, self.tables, self.k = model, tables, int(steps_per_graph)
        self.users = torch.zeros(self.k, batch_size, dtype=torch.long, device=device)
        self.items = torch.zeros_like(self.users)
        self.neg_lr = torch.zeros(1, device=device, dtype=tables[0].dtype)
        self.totals = torch.zeros(n_terms, dtype=torch.float64, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None

    def _body(self) -> None:
        static_row_steps(self.model, self.tables, self.users, self.items, self.neg_lr, self.totals)

    def run(self, users: Tensor, items: Tensor, lr: float) -> None:
        """Train on ``[k, B]`` ids: eagerly for the warm-up, by replay afterwards."""
        self.neg_lr.fill_(-lr)
        self.users.copy_(users)
        self.items.copy_(items)
        if self.graph is not None:
            self.graph.replay()
            return
        self._warmups = getattr(self, "_warmups", 0) + 1
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            self._body()
        torch.cuda.current_stream().wait_stream(stream)
        if self._warmups >= WARMUP_STEPS:
            self.graph = torch.cuda.CUDAGraph()
            kept = self.totals.clone()
            # Recording does not execute the kernels: the tables are unchanged by it.
            with torch.cuda.graph(self.graph):
                self._body()
            self.totals.copy_(kept)

    def take_totals(self) -> Tensor:
        """The loss terms summed since the last call (on the device), then reset."""
        out = self.totals.clone()
        self.totals.zero_()
        return out
