r"""Per-evaluation collapse diagnostics: one log line and TensorBoard scalars after each evaluation.

:class:`SpectrumMonitor` is an epoch callback (``callback(epoch, train_loss, valid_result)``, the
trainer's single hook, see :class:`~recbole_spec.training.trainer.CheckpointMixin`). After every
evaluation it reads the model's current scoring tables and records the effective and stable rank
of the user, item and stacked tables (Gram-based, :math:`O(n d^2)`) and the uniformity of each
table on at most ``max_rows`` rows (:math:`O(\text{max\_rows}^2 d)`), so its cost stays far
below one full-sort evaluation, which is :math:`O(n_u n_i d)`.
"""

from __future__ import annotations

import time
from logging import Logger, getLogger
from typing import Any

from torch import nn

from recbole_spec.diagnostics.align_uniform import table_uniformity
from recbole_spec.diagnostics.spectrum import spectrum_report
from recbole_spec.diagnostics.tables import NoEmbeddingError, embedding_tables

LOGGED_KEYS = (
    "all_erank",
    "all_stable_rank",
    "user_erank",
    "item_erank",
    "user_stable_rank",
    "item_stable_rank",
)
"""Keys of :func:`spectrum_report` the monitor keeps (plus ``user/item_uniformity``)."""

TAG_PREFIX = "Spectrum/"


class SpectrumMonitor:
    """Epoch callback logging erank, stable rank and uniformity of the scoring tables.

    Pass it to :func:`recbole_spec.pipeline.run` as a callback (``callbacks=[SpectrumMonitor()]``):
    the pipeline calls :meth:`bind` with the trainer, which supplies the model, RecBole's logger
    and the trainer's TensorBoard writer. Or give them explicitly, or use :func:`attach_monitor`.

    Args:
        model: the recommender being trained (plugin or RecBole model with embedding tables);
            ``None`` until :meth:`bind` (default: ``None``).
        logger: where the one-line summary goes (default: RecBole's root logger).
        tensorboard: a ``SummaryWriter`` (e.g. ``trainer.tensorboard``); ``None`` skips it.
        max_rows: rows per table used for the uniformity (default: 2048).
        every: compute on every ``every``-th evaluation only (default: 1).

    Attributes:
        history: one dict per computed evaluation: ``epoch``, the :data:`LOGGED_KEYS`,
            ``user_uniformity``, ``item_uniformity`` and ``seconds`` (the monitor's own cost).
        disabled_reason: set (and nothing more is computed) when the model has no tables.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        logger: Logger | None = None,
        tensorboard: Any = None,
        *,
        max_rows: int = 2048,
        every: int = 1,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"'every' must be an integer >= 1 (got {every!r})")
        self.model = model
        self._own_logger = logger is None
        self.logger = logger or getLogger()
        self.tensorboard = tensorboard
        self.max_rows = max_rows
        self.every = every
        self.history: list[dict[str, float]] = []
        self.disabled_reason: str | None = None
        self._calls = 0

    def bind(self, trainer: Any) -> None:
        """Take the model, logger and TensorBoard writer from ``trainer`` (called by the pipeline).

        A logger or writer given to the constructor is kept.
        """
        self.model = trainer.model
        if self._own_logger:
            self.logger = getattr(trainer, "logger", None) or self.logger
        if self.tensorboard is None:
            self.tensorboard = getattr(trainer, "tensorboard", None)

    def measure(self) -> dict[str, float]:
        """Diagnostics of the model's current tables (no logging, no history)."""
        if self.model is None:
            raise RuntimeError("SpectrumMonitor has no model: pass one or call bind(trainer)")
        user, item = embedding_tables(self.model)
        report = spectrum_report(user, item)
        values = {key: report[key] for key in LOGGED_KEYS}
        values["user_uniformity"] = table_uniformity(user, max_rows=self.max_rows)
        values["item_uniformity"] = table_uniformity(item, max_rows=self.max_rows)
        return values

    def __call__(self, epoch: int, train_loss: Any = None, valid_result: Any = None) -> None:
        """Measure, log one line, write TensorBoard scalars and append to :attr:`history`."""
        self._calls += 1
        if self.disabled_reason is not None or (self._calls - 1) % self.every:
            return
        start = time.perf_counter()
        try:
            values = self.measure()
        except NoEmbeddingError as err:
            self.disabled_reason = str(err)
            self.logger.warning(f"spectrum monitor disabled: {err}")
            return
        seconds = time.perf_counter() - start
        entry = {"epoch": float(epoch), **values, "seconds": seconds}
        self.history.append(entry)
        summary = " ".join(f"{key}={value:.4f}" for key, value in values.items())
        self.logger.info(f"epoch {epoch} spectrum: {summary} ({seconds * 1000:.1f} ms)")
        if self.tensorboard is not None:
            for key, value in values.items():
                self.tensorboard.add_scalar(f"{TAG_PREFIX}{key}", value, epoch)


def attach_monitor(trainer: Any, **kwargs: Any) -> SpectrumMonitor:
    """Create a :class:`SpectrumMonitor` for ``trainer`` and append it to its epoch callbacks.

    Args:
        trainer: a recbole_spec trainer (uses its ``model``, ``logger``, ``tensorboard`` and
            ``epoch_callbacks``; the list is created when missing).
        **kwargs: passed to :class:`SpectrumMonitor` (``max_rows``, ``every``).

    Returns:
        The attached monitor (read its ``history`` after ``fit``).
    """
    monitor = SpectrumMonitor(**kwargs)
    monitor.bind(trainer)
    callbacks = getattr(trainer, "epoch_callbacks", None)
    if callbacks is None:
        callbacks = trainer.epoch_callbacks = []
    callbacks.append(monitor)
    return monitor
