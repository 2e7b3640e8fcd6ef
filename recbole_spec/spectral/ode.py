r"""Fixed-grid ODE solvers for BSPM's blurring and sharpening processes.

BSPM (Choi et al., SIGIR 2023, https://github.com/jeongwhanchoi/BSPM) integrates
:math:`\dot y = f(y)` from :math:`t = 0` to :math:`T` on ``torch.linspace(0, T, K + 1)`` with
``torchdiffeq.odeint``'s fixed-grid methods. The same steps are computed here without
torchdiffeq (which RecBole's stack does not ship), for :math:`h = T / K`:

* ``euler``: :math:`y_{n+1} = y_n + h f(y_n)`;
* ``rk4``: torchdiffeq's ``rk4`` (its ``rk4_alt_step_func``, Kutta's 3/8 rule):
  :math:`k_1 = f(y)`, :math:`k_2 = f(y + h k_1 / 3)`, :math:`k_3 = f(y + h (k_2 - k_1 / 3))`,
  :math:`k_4 = f(y + h (k_1 - k_2 + k_3))`,
  :math:`y_{n+1} = y_n + h (k_1 + 3 k_2 + 3 k_3 + k_4) / 8`.

BSPM's right-hand sides do not depend on :math:`t`, so none is passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from torch import Tensor

SOLVERS = ("euler", "rk4")

Field = Callable[[Tensor], Tensor]


def _euler(f: Field, y: Tensor, h: float) -> Tensor:
    return y + h * f(y)


def _rk4(f: Field, y: Tensor, h: float) -> Tensor:
    k1 = f(y)
    k2 = f(y + (h / 3.0) * k1)
    k3 = f(y + h * (k2 - k1 / 3.0))
    k4 = f(y + h * (k1 - k2 + k3))
    return y + (h / 8.0) * (k1 + 3.0 * (k2 + k3) + k4)


_STEPS = {"euler": _euler, "rk4": _rk4}


def solve_path(f: Field, y0: Tensor, t_end: float, steps: int, method: str) -> Iterator[Tensor]:
    r"""Yield :math:`y(t_1), \dots, y(t_K)` on the grid ``linspace(0, t_end, steps + 1)``.

    Args:
        f: the right-hand side, :math:`y \mapsto \dot y`.
        y0: the state at :math:`t = 0` (not yielded).
        t_end: terminal time :math:`T`.
        steps: number of steps :math:`K \ge 1`.
        method: one of :data:`SOLVERS`.

    Returns:
        An iterator over the ``steps`` states after ``y0`` (the last one is :math:`y(T)`).
    """
    if method not in _STEPS:
        raise ValueError(f"unknown ODE solver {method!r}; choose one of {list(SOLVERS)}")
    step, h, y = _STEPS[method], float(t_end) / int(steps), y0
    for _ in range(int(steps)):
        y = step(f, y, h)
        yield y
