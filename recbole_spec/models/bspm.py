r"""BSPM: blurring-sharpening process models, computed without training.

Paper: Choi et al., "Blurring-Sharpening Process Models for Collaborative Filtering" (SIGIR 2023,
arXiv 2211.09324). Official code: https://github.com/jeongwhanchoi/BSPM (``bspm/model.py``, class
``BSPM``, the CPU version; its ``odeint`` fixed-grid steps are
:mod:`recbole_spec.spectral.ode`). With :math:`L = \tilde R^\top \tilde R` and
:math:`P = D_I^{-1/2} V V^\top D_I^{1/2}` (:mod:`recbole_spec.spectral.lowpass`), a user's row
:math:`r` runs through three processes:

* ideal low-pass: :math:`\dot y = y P - y`, :math:`y(0) = r`, to ``T_idl`` in ``K_idl`` steps
  (Euler with one step of 1: :math:`r P`);
* blurring: :math:`\dot y = y L - y`, :math:`y(0) = r`, to ``T_b`` in ``K_b`` steps;
* sharpening: :math:`\dot y = -y L` to ``T_s`` in ``K_s`` steps, from
  :math:`\beta\, y_{idl}(T) + y_b(T)` (``final_sharpening: True``, early merge) or from
  :math:`y_b(T)` (late merge, :math:`\beta\, y_{idl}(T)` added at the end);

``sharpening_off`` skips the sharpening, and ``t_point_combination`` averages the blurring and
sharpening states at every grid time after 0 instead of taking the last one, as the official code.
:math:`\beta` is ``idl_beta`` (0 skips the SVD: the official Amazon-book setting).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from torch import Tensor

from recbole_spec.models.training_free import TrainingFreeRecommender
from recbole_spec.spectral.lowpass import LinearFilter
from recbole_spec.spectral.ode import SOLVERS, solve_path
from recbole_spec.validation import check_bool, check_choice, check_number, check_positive

_TIMES = (
    ("T_idl", "K_idl", "solver_idl"),
    ("T_b", "K_b", "solver_blr"),
    ("T_s", "K_s", "solver_shr"),
)
_FLAGS = ("final_sharpening", "sharpening_off", "t_point_combination")


class BSPM(TrainingFreeRecommender):
    """BSPM with the official options (see the module docstring and ``BSPM.yaml``)."""

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Times > 0, steps and ``factor_dim`` >= 1, ``idl_beta`` >= 0, solvers, flags."""
        owner = cls.__name__
        check_number(config, "idl_beta", owner, low=0, example=0.2)
        check_positive(config, "factor_dim", owner, integer=True, example=448)
        for t_key, k_key, solver_key in _TIMES:
            check_number(config, t_key, owner, low=0, low_open=True, example=1.0)
            check_positive(config, k_key, owner, integer=True, example=1)
            config[solver_key] = check_choice(config, solver_key, owner, SOLVERS)
        for flag in _FLAGS:
            check_bool(config, flag, owner)

    def fit(self, config: Any) -> None:
        """The linear filter :math:`L`, the ideal one when ``idl_beta > 0``, the ODE settings."""
        self.beta = float(config["idl_beta"])
        self.linear = LinearFilter(self.norm, self.device)
        self.ideal = (
            self.ideal_filter(int(config["factor_dim"]), int(config["seed"]))
            if self.beta > 0
            else None
        )
        self.times = {
            name: (float(config[t]), int(config[k]), str(config[s]))
            for name, (t, k, s) in zip(("idl", "blur", "sharpen"), _TIMES, strict=True)
        }
        self.final_sharpening, self.sharpening_off, self.t_point_combination = (
            bool(config[flag]) for flag in _FLAGS
        )

    def _run(self, name: str, field: Callable[[Tensor], Tensor], start: Tensor) -> list[Tensor]:
        """The states after 0 of process ``name``.

        All of them with ``t_point_combination`` (they are averaged), else only the last one.
        """
        t_end, steps, method = self.times[name]
        states = solve_path(field, start, t_end, steps, method)
        return list(states) if self.t_point_combination else list(deque(states, maxlen=1))

    def score_signals(self, signals: Tensor) -> Tensor:
        """The blurred-then-sharpened signals, merged with the ideal low-pass part."""
        idl = None
        if self.ideal is not None:
            t_end, steps, method = self.times["idl"]
            *_, idl = solve_path(lambda y: self.ideal(y) - y, signals, t_end, steps, method)
        points = self._run("blur", lambda y: self.linear(y) - y, signals)
        if not self.sharpening_off:
            start = points[-1]
            if idl is not None and self.final_sharpening:
                start = self.beta * idl + start
            points = [*points, *self._run("sharpen", lambda y: -self.linear(y), start)]
        merged = (
            sum(points[1:], points[0]) / len(points) if self.t_point_combination else points[-1]
        )
        if idl is not None and (self.sharpening_off or not self.final_sharpening):
            merged = merged + self.beta * idl
        return merged
