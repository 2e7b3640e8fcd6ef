r"""RowAdam: dense Adam (``torch.optim.Adam``, no weight decay) computed on the touched rows.

In dense Adam a row that a batch does not touch still moves: its gradient is zero,
so for every skipped step :math:`\tau` its moments decay and it takes a momentum-only step

.. math::
    m \leftarrow \beta_1 m, \quad v \leftarrow \beta_2 v, \quad
    p \leftarrow p - \frac{\eta_\tau}{1-\beta_1^\tau}\,
    \frac{m}{\sqrt{v} / \sqrt{1-\beta_2^\tau} + \epsilon}.

After :math:`k` skipped steps since the row's last update at step :math:`s` the row has moved by

.. math::
    \Delta = \sum_{j=1}^{k} \frac{a_{s+j} \beta_1^j\, m}{\beta_2^{j/2} \sqrt v / c_{s+j} +
    \epsilon}
    = \frac{m}{\sqrt v} \sum_{n \ge 0} (-x)^n W_n(s, k), \qquad
    W_n = \sum_{j=1}^{k} a_{s+j}\, c_{s+j}^{n+1}
          \Big(\frac{\beta_1}{\beta_2^{(n+1)/2}}\Big)^j,

with :math:`a_\tau = \eta_\tau / (1-\beta_1^\tau)`, :math:`c_\tau = \sqrt{1-\beta_2^\tau}` and
:math:`x = \epsilon / \sqrt v`: per row, :math:`m` and :math:`v` are what they were at step
:math:`s`, and the :math:`W_n` are scalars shared by every row last updated at step :math:`s`.
``RowAdam`` keeps :math:`W_n(t-k, k)` for every :math:`k` up to a horizon :math:`J` (a length-J
vector updated in O(J) per step) and :math:`W_n(s, J)` for older :math:`s`; terms beyond
:math:`J` are below :math:`10^{-16}` of the first (:math:`J \approx 360` for the default betas).
When a row is read again (a forward pre-hook on the embedding, so the batch's forward pass sees
exactly the values dense Adam would have) it is brought up to date with :math:`\Delta`,
:math:`m \beta_1^k` and :math:`v \beta_2^k`; the step then applies Adam to the touched rows
exactly as ``torch.optim.Adam`` does. Four terms of the series are used (relative error below
:math:`10^{-8}` where :math:`x\, c / \beta_2^{J/2} \le 0.01`); elements beyond that radius
(tiny :math:`v`) are summed term by term. :meth:`RowAdam.catch_up` brings every row up to date
(before evaluation and checkpoints); the trainer calls it after every epoch.

When a sparse gradient touches more than ``dense_above`` of a table's rows, the row bookkeeping
costs more than the dense step it replaces, so that step is taken densely (every row caught up
once, then torch's update on the whole table: the same arithmetic). Measured with
``benchmarks/bench_epoch.py`` on Gowalla: BPRMF at batches of 2,048 touches about 7% of the
users and 9% of the items per step, and row steps took 41.7 s per epoch against dense Adam's
20.0 s; DirectSpecPlus at batches of 256 touches under 1%, and row steps took 58 s against 115 s.
The trainer uses :data:`DENSE_ABOVE`.

So the parameters equal dense Adam's up to float rounding order (tests compare with
``torch.optim.Adam`` after hundreds of steps, gaps longer than :math:`J` included), while a step
costs :math:`O((B + J) d)` instead of :math:`O((|U| + |I|) d)`.

This is not ``torch.optim.SparseAdam`` (RecBole's ``learner: sparse_adam``), a *lazy* Adam:
an untouched row does not move at all and its moments do not decay, so each gradient drives one
step of size ~ :math:`\eta (1-\beta_1)/\sqrt{1-\beta_2}` instead of dense Adam's momentum tail
worth ~ :math:`1/(1-\beta_1) = 10` such steps: rows touched once per hundreds of steps (every row
of a large table) learn about ten times slower.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from recbole_spec.training.adam_series import (
    SERIES_TERMS,
    TAYLOR_RADIUS,
    SeriesConstants,
    central_moments,
    exact_displacement,
)

DENSE_ABOVE = 0.02
"""Fraction of a table's rows above which the trainer's :class:`RowAdam` steps densely (see the
module docstring for the measurements that put the break-even between 1% and 7%)."""


class RowAdam(Optimizer):
    r"""Dense Adam computed on the rows a batch touches (see the module docstring).

    Sparse gradients (``nn.Embedding(sparse=True)``) update the touched rows and leave the others
    lagging until they are read (:func:`attach_row_sync` installs the read hooks) or
    :meth:`catch_up` is called; dense gradients take torch's Adam step on the whole tensor. No
    weight decay (it would give every row a gradient), no AMSGrad.

    Args:
        params: parameters to optimise (embedding tables: rows along dimension 0).
        lr: learning rate (default: 1e-3).
        betas: ``(beta1, beta2)`` (default: ``(0.9, 0.999)``); ``beta1 < beta2^5.5``.
        eps: term added to the denominator (default: 1e-8).
        dense_above: a sparse step touching more than this fraction of a table's rows is taken
            densely (default: 1.0, never; the trainer passes :data:`DENSE_ABOVE`).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        dense_above: float = 1.0,
    ) -> None:
        beta1, beta2 = (float(b) for b in betas)
        if not lr > 0:
            raise ValueError(f"RowAdam: 'lr' must be > 0 (got {lr})")
        if not (0 <= beta1 < 1 and 0 < beta2 < 1 and beta1 < beta2 ** (SERIES_TERMS / 2)):
            raise ValueError(f"RowAdam: betas must satisfy 0 <= b1 < b2^5.5 < 1 (got {betas})")
        if not eps >= 0:
            raise ValueError(f"RowAdam: 'eps' must be >= 0 (got {eps})")
        if not 0 <= dense_above <= 1:
            raise ValueError(f"RowAdam: 'dense_above' must be in [0, 1] (got {dense_above})")
        super().__init__(params, {"lr": lr, "betas": (beta1, beta2), "eps": float(eps)})
        self.dense_above = float(dense_above)
        self._constants: dict[tuple[float, float], SeriesConstants] = {}
        self._groups: dict[int, dict[str, Any]] = {}

    # ----------------------------------------------------------------------------- state
    def _group_of(self, param: Tensor) -> dict[str, Any]:
        key = id(param)
        if key not in self._groups:
            self._groups = {id(p): g for g in self.param_groups for p in g["params"]}
        return self._groups[key]

    def _consts(self, group: dict[str, Any]) -> SeriesConstants:
        betas = tuple(group["betas"])
        if betas not in self._constants:
            self._constants[betas] = SeriesConstants(*betas)
        return self._constants[betas]

    def _state(self, param: Tensor) -> dict[str, Any]:
        state = self.state[param]
        if not state:
            consts = self._consts(self._group_of(param))
            wide = {"dtype": torch.float64, "device": param.device}
            state["step"] = 0
            state["base"] = 0  # every row is up to date at step `base` or later
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["last"] = torch.zeros(param.shape[0], dtype=torch.long, device=param.device)
            state["window"] = torch.zeros(SERIES_TERMS, consts.horizon + 1, **wide)
            state["tail"] = torch.zeros(SERIES_TERMS, 64, **wide)  # W_n(s, J), s = base + i
            state["raw"] = torch.zeros(2, 64, **wide)  # (a_tau, c_tau), tau = base + 1 + i
        return state

    def state_dict(self) -> dict[str, Any]:
        """Torch's state dict; the row bookkeeping travels bit-exact under ``"row_adam"``.

        (``Optimizer.load_state_dict`` casts every state tensor to the parameter's dtype, which
        would round the float64 series and the int64 row steps.)
        """
        packed = super().state_dict()
        exact: dict[int, dict[str, Tensor]] = {}
        for index, state in list(packed["state"].items()):
            if "window" not in state:
                continue
            used_raw = state["step"] - state["base"]
            used_tail = max(0, used_raw - (state["window"].shape[1] - 1) + 1)
            exact[index] = {
                "last": state["last"].clone(),
                "window": state["window"].clone(),
                "raw": state["raw"][:, :used_raw].clone(),
                "tail": state["tail"][:, :used_tail].clone(),
            }
            packed["state"][index] = {k: v for k, v in state.items() if k not in exact[index]}
        packed["row_adam"] = exact
        return packed

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        exact = state_dict.get("row_adam", {})
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "row_adam"})
        self._groups = {}
        params = [p for group in self.param_groups for p in group["params"]]
        for index, saved in exact.items():
            param = params[int(index)]
            state = self.state[param]
            for key, value in saved.items():
                value = value.to(param.device)
                if key in ("raw", "tail") and value.shape[1] == 0:
                    value = value.new_zeros(value.shape[0], 64)
                state[key] = value.clone()

    # ------------------------------------------------------------------------- catch-up
    def _series(self, state: dict[str, Any], last: Tensor, lag: Tensor) -> Tensor:
        """``W_n(last, lag)`` for each row: ``[SERIES_TERMS, rows]`` float64."""
        window, tail = state["window"], state["tail"]
        horizon = window.shape[1] - 1
        near = window[:, lag.clamp(max=horizon)]
        offset = (last - state["base"]).clamp(0, tail.shape[1] - 1)
        return torch.where(lag > horizon, tail[:, offset], near)

    def _bring_up(self, param: Tensor, rows: Optional[Tensor]) -> None:
        """Apply the skipped momentum-only steps to ``rows`` (all rows when ``None``)."""
        state = self._state(param)
        now = state["step"]
        if state["base"] == now:
            return
        last = state["last"] if rows is None else state["last"][rows]
        lag = now - last
        if rows is not None and not bool((lag > 0).any()):
            return
        group = self._group_of(param)
        consts = self._consts(group)
        eps = group["eps"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        m = exp_avg if rows is None else exp_avg[rows]
        v = exp_avg_sq if rows is None else exp_avg_sq[rows]
        sums = self._series(state, last, lag)  # [SERIES_TERMS, rows] float64
        centre, moments, exact_rows = central_moments(sums, consts, state, last, lag)
        scalars = torch.cat([centre.unsqueeze(0), moments, consts.decays(lag)]).to(param.dtype)
        scalars = scalars.unsqueeze(-1)
        centre, moments, decay1, decay2 = (
            scalars[0],
            scalars[1:SERIES_TERMS],
            scalars[-2],
            scalars[-1],
        )
        # move = m / sqrt(v) * sum_n (-z)^n M_n / (1 + x q0), x = eps / sqrt(v), z = x / (1 + x q0)
        inv_root = v.sqrt().reciprocal_()
        x = inv_root * eps
        denom = torch.addcmul(torch.ones_like(x), x, centre)
        neg_z = torch.div(x, denom).neg_()
        poly = moments[-1].expand_as(neg_z)
        for n in range(SERIES_TERMS - 3, -1, -1):
            poly = torch.addcmul(moments[n], neg_z, poly)
        move = poly.mul_(m).mul_(inv_root).div_(denom)
        move = torch.where(m != 0, move, 0.0)  # v = 0 (row never touched): no momentum
        if exact_rows is not None:
            # Early in training c_tau still varies across the window: there, the plain series
            # in x (sum_n (-x)^n W_n) where x q_max <= TAYLOR_RADIUS, else term by term.
            flagged = exact_rows.unsqueeze(1) & (m != 0)
            small = flagged & (x <= TAYLOR_RADIUS / consts.q_max)
            row_of, col = small.nonzero(as_tuple=True)
            if row_of.numel():
                weights = sums[:, row_of]
                xs = x[row_of, col].to(torch.float64)
                plain = weights[-1]
                for n in range(SERIES_TERMS - 2, -1, -1):
                    plain = weights[n] - xs * plain
                scale = (m[row_of, col] * inv_root[row_of, col]).to(torch.float64)
                move[row_of, col] = (scale * plain).to(param.dtype)
            row_of, col = (flagged & ~small).nonzero(as_tuple=True)
            if row_of.numel():
                move[row_of, col] = exact_displacement(
                    state,
                    consts,
                    eps,
                    last[row_of],
                    lag[row_of],
                    m[row_of, col],
                    v[row_of, col].sqrt(),
                ).to(param.dtype)
        if rows is None:
            param.sub_(move)
            exp_avg.mul_(decay1)
            exp_avg_sq.mul_(decay2)
            self._rebase(state)
        else:
            param.index_copy_(0, rows, param[rows] - move)
            exp_avg.index_copy_(0, rows, m * decay1)
            exp_avg_sq.index_copy_(0, rows, v * decay2)
            state["last"].index_fill_(0, rows, now)

    @staticmethod
    def _rebase(state: dict[str, Any]) -> None:
        """Every row is up to date now: forget the per-step history."""
        state["last"].fill_(state["step"])
        state["base"] = state["step"]
        state["window"].zero_()

    @torch.no_grad()
    def catch_up_rows(self, param: Tensor, ids: Tensor) -> None:
        """Bring the rows ``ids`` (any shape, repeats allowed) of ``param`` up to date."""
        if param in self._param_set():
            self._bring_up(param, torch.unique(ids.reshape(-1)))

    @torch.no_grad()
    def catch_up(self) -> None:
        """Bring every row of every parameter up to date (before evaluation or a checkpoint)."""
        for group in self.param_groups:
            for param in group["params"]:
                if self.state.get(param):
                    self._bring_up(param, None)

    def _param_set(self) -> set[Tensor]:
        if not hasattr(self, "_params_cache") or len(self._params_cache) != sum(
            len(g["params"]) for g in self.param_groups
        ):
            self._params_cache = {p for g in self.param_groups for p in g["params"]}
        return self._params_cache

    # ----------------------------------------------------------------------------- step
    def _record(
        self, state: dict[str, Any], consts: SeriesConstants, size: float, c: float
    ) -> None:
        """Append step ``state['step']``'s scalars to the series window, tail and raw log."""
        now, base, horizon = state["step"], state["base"], consts.horizon
        used = now - base
        for key, rows in (("raw", 2), ("tail", SERIES_TERMS)):
            if state[key].shape[1] < used:
                grown = state[key].new_zeros(rows, 2 * state[key].shape[1] + used)
                grown[:, : state[key].shape[1]] = state[key]
                state[key] = grown
        state["raw"][0, used - 1] = size
        state["raw"][1, used - 1] = c
        window = state["window"]
        scalars = window.new_tensor([size * c ** (n + 1) for n in range(SERIES_TERMS)])
        powers = consts.powers_on(window.device)
        shifted = torch.addcmul(window[:, :-1], scalars.unsqueeze(1), powers[:, 1:])
        window[:, 1:] = shifted
        window[:, 0] = 0.0
        if used >= horizon:
            state["tail"][:, used - horizon] = window[:, horizon]

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One Adam step: touched rows for sparse gradients, the whole tensor for dense ones."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            eps, lr = group["eps"], group["lr"]
            consts = self._consts(group)
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                state = self._state(param)
                if grad.is_sparse:
                    rows, inverse = torch.unique(grad._indices()[0], return_inverse=True)
                    # early, bias correction 2 still moves (see EAGER_V); a wide batch is
                    # cheaper as one dense step than as row bookkeeping
                    if state["step"] < consts.eager_steps or (
                        rows.shape[0] > self.dense_above * param.shape[0]
                    ):
                        grad = grad.to_dense()
                if grad.is_sparse:
                    values = grad._values()
                    grad = values.new_zeros((rows.shape[0], *values.shape[1:]))
                    grad.index_add_(0, inverse, values)
                    self._bring_up(param, rows)
                    exp_avg, exp_avg_sq = state["exp_avg"][rows], state["exp_avg_sq"][rows]
                    target = param[rows]
                else:
                    self._bring_up(param, None)
                    rows = None
                    exp_avg, exp_avg_sq, target = state["exp_avg"], state["exp_avg_sq"], param
                state["step"] += 1
                now = state["step"]
                # torch.optim.Adam's single-tensor update, operation for operation
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1**now
                bias_correction2 = 1 - beta2**now
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2**0.5
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                target.addcdiv_(exp_avg, denom, value=-step_size)
                if rows is None:
                    self._rebase(state)
                    continue
                param.index_copy_(0, rows, target)
                state["exp_avg"].index_copy_(0, rows, exp_avg)
                state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
                state["last"].index_fill_(0, rows, now)
                self._record(state, consts, step_size, bias_correction2_sqrt)
        return loss


def attach_row_sync(model: nn.Module, optimizer: Optimizer) -> list[Any]:
    """Make every sparse embedding lookup read up-to-date rows (a no-op for other optimisers).

    Installs a forward pre-hook on each ``nn.Embedding(sparse=True)`` whose table ``optimizer``
    (a :class:`RowAdam`) updates lazily, so the rows a batch reads carry every momentum step that
    dense Adam would already have applied. Returns the hook handles (``handle.remove()``).
    """
    if not isinstance(optimizer, RowAdam):
        return []
    handles = []
    managed = optimizer._param_set()
    for module in model.modules():
        if isinstance(module, nn.Embedding) and module.sparse and module.weight in managed:

            def sync(mod: nn.Module, args: tuple[Tensor, ...]) -> None:
                optimizer.catch_up_rows(mod.weight, args[0])

            handles.append(module.register_forward_pre_hook(sync))
    return handles
