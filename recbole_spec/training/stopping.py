r"""Stop when validation stalls: RecBole's ``stopping_step`` with a relative tolerance.

RecBole stops after ``stopping_step`` evaluations in a row that do not reach the best score, so a
curve that creeps up by 0.01% per evaluation trains to the last epoch. With
``stopping_delta: d > 0``, :class:`StallStop` also stops once the best score of the last
``stopping_step`` evaluations (``s``) has not improved on the best before them by a relative
``d``:

.. math:: \max_{j \le k} v_j < (1 + d) \max_{j \le k - s} v_j

(with the inequality reversed for a metric where lower is better). The best checkpoint is kept as
RecBole chose it, so the test split is scored on the best validation epoch either way.
``stopping_delta: 0`` (the default) leaves RecBole's rule alone.
"""

from __future__ import annotations

from typing import Any

from recbole_spec.validation import check_number


class StallStopped(Exception):
    """Raised by the trainer before the next epoch once :class:`StallStop` asks to stop."""


def check_stopping(config: Any, owner: str) -> None:
    """Validate ``stopping_delta`` (a relative tolerance, 0 = off) and ``stopping_step``."""
    check_number(config, "stopping_delta", owner, low=0, high=1, example=0.001)
    check_number(config, "stopping_step", owner, low=0, integer=True, example=3)


def stopping_rule(config: Any) -> str:
    """The rule in force, in words, for a run's first lines."""
    epochs, step = config["epochs"], config["eval_step"] or 1
    patience, delta = config["stopping_step"], float(config["stopping_delta"] or 0.0)
    metric = str(config["valid_metric"]).lower()
    if int(patience) >= int(epochs) // int(step):
        return f"stopping: none, {epochs} epochs evaluated every {step} (best valid {metric} kept)"
    rule = f"{patience} evaluations without a new best valid {metric}"
    if delta > 0:
        rule = (
            f"{patience} evaluations without a new best valid {metric} or the best gaining "
            f"less than {delta:.2%}"
        )
    return f"stopping: at most {epochs} epochs evaluated every {step}, stop after {rule}"


class StallStop:
    """Epoch callback: asks the trainer to stop when the best validation score stalls.

    Args:
        delta: relative tolerance ``d`` (> 0).
        patience: evaluations ``s`` over which the best must gain ``d``.
    """

    def __init__(self, delta: float, patience: int) -> None:
        self.delta, self.patience = float(delta), int(patience)
        self.history: list[float] = []
        self.trainer: Any = None

    def bind(self, trainer: Any) -> None:
        """Read the metric and its direction from ``trainer``."""
        self.trainer = trainer

    def __call__(self, epoch: int, train_loss: Any, valid_result: dict) -> None:
        """Record this evaluation's score; set ``trainer.stop_reason`` once validation stalls."""
        trainer = self.trainer
        self.history.append(float(valid_result[trainer.valid_metric]))
        if len(self.history) <= self.patience:
            return
        sign = 1.0 if trainer.valid_metric_bigger else -1.0
        before = max(sign * v for v in self.history[: -self.patience])
        best = max(sign * v for v in self.history)
        if best < before + self.delta * abs(before):
            trainer.stop_reason = (
                f"valid {trainer.valid_metric} gained less than {self.delta:.2%} over the last "
                f"{self.patience} evaluations"
            )

    def state_dict(self) -> dict[str, Any]:
        """The scores seen so far (a resumed run decides as the unbroken one)."""
        return {"stall_history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        self.history = [float(v) for v in state.get("stall_history", [])]
