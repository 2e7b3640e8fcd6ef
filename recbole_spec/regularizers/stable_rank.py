r"""Stable-rank regulariser for a warm start of collaborative filtering.

Paper: Loveland et al., "Understanding and Scaling Collaborative Filtering Optimization from the
Perspective of Matrix Rank", arXiv 2410.23300. Official code:
https://github.com/snap-research/StableRankReg (``losses.py``, ``stable_rank``).

The penalty is the official one: minus the stable rank of the row-normalised unique in-batch
users (or items), divided by the width :math:`d`, added to the loss as
:math:`\gamma (R(U) + R(I)) / 2` during the first epochs. Beyond the official exact spectral norm
we offer a power iteration on the :math:`d \times d` Gram matrix, which avoids an SVD per step.
"""

from __future__ import annotations

import difflib
import math
from logging import getLogger
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recbole_spec.validation import check_number, check_positive

METHODS = ("exact", "power")


def stable_rank_penalty(z: Tensor, *, method: str = "exact", n_iter: int = 30) -> Tensor:
    r"""Negative stable rank of the row-normalised rows, divided by the width.

    .. math::
        R(Z) = -\frac{1}{d} \frac{\lVert \hat Z \rVert_F^2}{\lVert \hat Z \rVert_2^2},
        \qquad \hat z_i = z_i / \lVert z_i \rVert_2

    Minimising :math:`R` raises the stable rank towards :math:`d` (:math:`R \in [-1, -1/d]` for
    :math:`n \ge d`), which spreads the rows over more directions.

    ``method="exact"`` takes :math:`\lVert \hat Z \rVert_2` from ``torch.linalg.matrix_norm(ord=2)``
    (an SVD, as in the official code). ``method="power"`` runs ``n_iter`` power-iteration steps on
    the Gram matrix :math:`G = \hat Z^\top \hat Z` without gradients, from a fixed start vector,
    and takes :math:`\lVert \hat Z \rVert_2^2 = v^\top G v` at the final unit vector :math:`v`;
    the gradient flows through :math:`G` in that Rayleigh quotient, which at convergence is the
    exact gradient of :math:`\lambda_{\max}(G)`. Its accuracy depends on the eigengap
    :math:`\lambda_2 / \lambda_1`.

    Args:
        z: rows to regularise, e.g. the unique in-batch users; normalised here. At least one row
            must be nonzero.
        method: ``"exact"`` or ``"power"``, case-insensitive (default: ``"exact"``).
        n_iter: power-iteration steps, >= 1; ignored by ``"exact"`` (default: 30).

    Returns:
        A differentiable scalar.

    Shapes:
        z: ``[n, d]``; returns ``[]``.

    Raises:
        ValueError: if ``z`` is not 2-D and non-empty, ``method`` is unknown or ``n_iter`` < 1.
    """
    method = _check_method(method, "stable_rank_penalty")
    _check_n_iter(n_iter, "stable_rank_penalty")
    if z.dim() != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(
            f"stable_rank_penalty: 'z' must be a non-empty 2-D tensor [n, d] "
            f"(got shape {tuple(z.shape)})"
        )
    unit = F.normalize(z, dim=1)
    frobenius_sq = unit.square().sum()
    if method == "exact":
        spectral_sq = torch.linalg.matrix_norm(unit, ord=2).square()
    else:
        spectral_sq = _top_eigenvalue(unit.T @ unit, n_iter)
    return -(frobenius_sq / spectral_sq) / z.shape[1]


class StableRankRegularizer(nn.Module):
    r"""Stable-rank warm-start term on unique in-batch users and items.

    .. math::
        \text{forward}(U, I) = w \cdot \frac{R(U) + R(I)}{2}

    with :math:`R` from :func:`stable_rank_penalty`. The caller passes the embeddings of the
    UNIQUE in-batch users and items (negatives included) and decides for how many epochs to add
    the term; this module does not deduplicate rows.

    Args:
        weight: :math:`w` (the paper's :math:`\gamma`), finite and >= 0 (default: 1.0).
        method: ``"exact"`` or ``"power"``, case-insensitive (default: ``"exact"``).
        n_iter: power-iteration steps for ``"power"``, >= 1 (default: 30).

    Shapes:
        user_rows: ``[n_users, d]``; item_rows: ``[n_items, d]``; returns ``[]``.

    Raises:
        ValueError: if an argument is out of range.
    """

    def __init__(self, weight: float = 1.0, method: str = "exact", n_iter: int = 30) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f"{owner}: 'weight' must be a number >= 0 (got {weight!r})")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{owner}: 'weight' must be finite and >= 0 (got {weight})")
        self.weight = float(weight)
        self.method = _check_method(method, owner)
        self.n_iter = _check_n_iter(n_iter, owner)

    @classmethod
    def check_config(cls, config: Any, owner: str) -> None:
        """Check ``stable_rank_weight`` (>= 0) and the warm start's integer keys.

        ``warm_start_epochs`` must be >= 0 and ``warm_start_patience`` > 0.
        """
        check_number(config, "stable_rank_weight", owner, low=0, example=1.0)
        check_number(config, "warm_start_epochs", owner, low=0, integer=True, example=5)
        check_positive(config, "warm_start_patience", owner, integer=True, example=2)

    @classmethod
    def from_config(cls, config: Any, dataset: Any = None) -> StableRankRegularizer | None:
        """The term with weight ``stable_rank_weight``, or None when the weight is 0 (off)."""
        weight = float(config["stable_rank_weight"] or 0.0)
        return cls(weight) if weight > 0 else None

    def forward(self, user_rows: Tensor, item_rows: Tensor) -> Tensor:
        """Weighted mean of the user and item penalties; see the class docstring."""
        user = stable_rank_penalty(user_rows, method=self.method, n_iter=self.n_iter)
        item = stable_rank_penalty(item_rows, method=self.method, n_iter=self.n_iter)
        return self.weight * (user + item) / 2

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``print(module)``."""
        return f"weight={self.weight}, method={self.method!r}, n_iter={self.n_iter}"


def _top_eigenvalue(gram: Tensor, n_iter: int) -> Tensor:
    """Largest eigenvalue of a PSD ``gram`` by power iteration; differentiable in ``gram``."""
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(gram.shape[0], generator=generator, dtype=torch.float64)
    vector = start.to(device=gram.device, dtype=gram.dtype)
    tiny = torch.finfo(gram.dtype).tiny
    with torch.no_grad():
        fixed = gram.detach()
        vector = vector / vector.norm()
        for _ in range(n_iter):
            product = fixed @ vector
            vector = product / product.norm().clamp_min(tiny)
    return vector @ (gram @ vector)


def _check_method(method: str, owner: str) -> str:
    name = method.lower() if isinstance(method, str) else method
    if name not in METHODS:
        close = difflib.get_close_matches(str(method).lower(), METHODS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{owner}: 'method' must be one of {list(METHODS)} (got {method!r}){hint}")
    return name


def _check_n_iter(n_iter: int, owner: str) -> int:
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"{owner}: 'n_iter' must be an integer >= 1 (got {n_iter!r})")
    return n_iter


class WarmStartSchedule:
    """Ends the stable-rank warm start on schedule (an epoch callback the model supplies).

    The term goes off after epoch ``epochs`` or once the validation score has not improved for
    ``patience`` evaluations, whichever comes first (the switch is logged). ``on_epoch_end``
    runs after each training epoch, ``__call__`` after each evaluation; the model hands the
    schedule to the trainer (:meth:`SpecRecommender.epoch_callbacks`), so the trainer knows
    nothing about warm starts, and ``state_dict``/``load_state_dict`` travel in its checkpoints,
    so a resumed run ends it where the unbroken run would.

    Args:
        model: has ``stable_rank_active`` and ``end_warm_start()``.
        epochs: last warm-start epoch (``None``: no limit).
        patience: evaluations without improvement that end it.
    """

    def __init__(self, model: Any, epochs: int | None, patience: int) -> None:
        self.model, self.epochs, self.patience = model, epochs, patience
        self.best, self.stale = -math.inf, 0
        self.ended_epoch: int | None = None
        self.metric, self.bigger = None, True

    @property
    def active(self) -> bool:
        """Whether the warm-start term is on."""
        return bool(self.model.stable_rank_active)

    def bind(self, trainer: Any) -> None:
        """Read which validation metric decides and whether bigger is better."""
        self.metric, self.bigger = trainer.valid_metric, trainer.valid_metric_bigger

    def end(self, epoch: int, reason: str) -> None:
        """Switch the term off after ``epoch`` and log why."""
        self.model.end_warm_start()
        self.ended_epoch = epoch
        getLogger().info(f"stable-rank warm start ended after epoch {epoch}: {reason}")

    def on_epoch_end(self, epoch: int, loss: Any) -> None:
        """The epoch limit."""
        if self.active and self.epochs is not None and epoch >= self.epochs:
            self.end(epoch, f"reached warm_start_epochs={self.epochs}")

    def __call__(self, epoch: int, train_loss: Any, valid_result: dict) -> None:
        """The patience rule, on the score the trainer selects checkpoints by."""
        if not self.active or self.metric not in valid_result:
            return
        score = float(valid_result[self.metric])
        signed = score if self.bigger else -score
        if signed > self.best:
            self.best, self.stale = signed, 0
        else:
            self.stale += 1
        if self.stale >= self.patience:
            self.end(epoch, f"no validation improvement in {self.patience} evaluations")

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (the keys older checkpoints used, so they still resume)."""
        return {"warm_start_active": self.active, "warm_best": self.best, "warm_stale": self.stale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        if not state.get("warm_start_active", True) and self.active:
            self.model.end_warm_start()
        self.best = float(state.get("warm_best", self.best))
        self.stale = int(state.get("warm_stale", self.stale))
