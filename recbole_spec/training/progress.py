"""The console of a run: a few lines a researcher watches, the rest in RecBole's log file.

RecBole logs its configuration dump, one training line, a valid-score line, a result block and a
"Saving" line per epoch, all to the terminal. With ``console: concise`` (the default) RecBole's
INFO lines go to the log file only, and the terminal shows what :func:`console` prints: the
run's header, one line per evaluation (throttled to one every ``console_interval`` seconds, so a
run of quick epochs stays short; every line also reaches the log file; epochs without evaluation
get a line every ``6 x console_interval`` seconds) with the validation
metric, the best so far, erank, seconds per epoch and an upper bound of the remaining time, and
the final summary. Warnings and errors still reach the terminal.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

CONSOLE_LOGGER = "recbole_spec.console"


def console() -> logging.Logger:
    """The logger whose INFO lines reach the terminal (and RecBole's log file)."""
    return logging.getLogger(CONSOLE_LOGGER)


def setup_console(concise: bool = True) -> None:
    """Route RecBole's INFO lines to the log file only, and :func:`console` to the terminal.

    Call after RecBole's ``init_logger`` (which adds a terminal and a file handler to the root
    logger). ``concise=False`` keeps RecBole's full terminal output.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        is_terminal = isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        )
        if is_terminal and concise:
            handler.setLevel(max(handler.level, logging.WARNING))
    logger = console()
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.INFO)
    if concise:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h07m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ConsoleProgress:
    """Epoch callback printing one line per evaluation with the best score and a time estimate.

    The estimate is ``remaining epochs x mean seconds per epoch`` (training and evaluation of
    this run so far): an upper bound, since early stopping usually ends the run sooner.

    Args:
        interval: at least this many seconds between two printed evaluation lines; the first
            evaluation is printed, then at most one evaluation every ``interval`` (default: 10).
            A pace line never hides an evaluation: runs that evaluate every 30 epochs show
            every evaluation.
        monitor: a :class:`~recbole_spec.diagnostics.monitor.SpectrumMonitor` whose latest
            erank goes on the line (optional).
    """

    def __init__(self, interval: float = 10.0, monitor: Any = None) -> None:
        self.interval = float(interval)
        self.monitor = monitor
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.lines = 0
        self._epochs = 0
        self._first_epoch = 0
        self._metric = "ndcg@20"
        self._bigger = True
        self._start = time.perf_counter()
        self._last_print = -float("inf")
        self._last_eval_print = -float("inf")

    @property
    def metric(self) -> str:
        """The validation metric the lines report (RecBole's ``valid_metric``, lower case)."""
        return self._metric

    def bind(self, trainer: Any) -> None:
        """Take the epoch budget, start epoch and validation metric from the trainer."""
        self._epochs = int(trainer.epochs)
        self._first_epoch = int(getattr(trainer, "start_epoch", 0))
        self._metric = str(trainer.valid_metric).lower()
        self._bigger = bool(trainer.valid_metric_bigger)
        self._start = time.perf_counter()

    def state_dict(self) -> dict[str, Any]:
        """The best score and its epoch, kept in checkpoints so a resumed run reports them."""
        return {"console_best": self.best, "console_best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict` (a checkpoint without them leaves the best unset)."""
        if state.get("console_best") is not None:
            self.best = float(state["console_best"])
            self.best_epoch = int(state["console_best_epoch"])

    def restart_clock(self, first_epoch: int) -> None:
        """Count time from now and epochs from ``first_epoch`` (after a resume or data load)."""
        self._first_epoch = int(first_epoch)
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, train_loss: Any = None) -> None:
        """After a training epoch without evaluation: a line at most every ``6 x interval`` s.

        Runs that evaluate rarely (the paper protocols: every 30 epochs) still show their
        pace and time left.
        """
        since = time.perf_counter() - max(self._last_print, self._start)
        if since >= 6 * self.interval:
            if isinstance(train_loss, tuple):
                train_loss = sum(train_loss)
            self._print(epoch, train_loss, None, False)

    def __call__(self, epoch: int, train_loss: Any = None, valid_result: Any = None) -> None:
        """Record the evaluation after ``epoch``; print a line unless one was printed recently."""
        result = {str(k).lower(): float(v) for k, v in (valid_result or {}).items()}
        score = result.get(self._metric)
        improved = score is not None and (
            self.best is None or (score > self.best if self._bigger else score < self.best)
        )
        if improved:
            self.best, self.best_epoch = score, epoch
        if time.perf_counter() - self._last_eval_print < self.interval:
            return
        self._print(epoch, train_loss, score, improved)
        self._last_eval_print = self._last_print

    def _print(self, epoch: int, train_loss: Any, score: float | None, improved: bool) -> None:
        now = time.perf_counter()
        self._last_print = now
        self.lines += 1
        done = max(epoch + 1 - self._first_epoch, 1)
        per_epoch = (now - self._start) / done
        left = max(self._epochs - epoch - 1, 0)
        parts = [f"epoch {epoch:>4}/{self._epochs}"]
        if isinstance(train_loss, (int, float)):
            parts.append(f"loss {train_loss:.6g}")  # positive-only losses move in the 4th digit
        if score is not None:
            mark = " *" if improved else ""
            parts.append(
                f"valid {self._metric} {score:.4f}{mark} (best {self.best:.4f} @{self.best_epoch})"
            )
        history = getattr(self.monitor, "history", None)
        if history and int(history[-1]["epoch"]) == epoch:
            parts.append(f"erank {history[-1]['all_erank']:.1f}")
        parts.append(f"{per_epoch:.1f} s/epoch")
        if left:
            parts.append(f"ETA <= {format_duration(left * per_epoch)}")
        console().info("  ".join(parts))
