"""Issue 6: the per-evaluation spectrum monitor (log line, TensorBoard scalars, history)."""

from __future__ import annotations

import logging
import math

import pytest
from torch import nn

from recbole_spec.diagnostics.monitor import LOGGED_KEYS, SpectrumMonitor, attach_monitor
from recbole_spec.diagnostics.spectrum import spectrum_report
from recbole_spec.diagnostics.tables import embedding_tables
from recbole_spec.pipeline import build_config, build_model, build_trainer, load_data, run


class _Writer:
    """Stands for a TensorBoard ``SummaryWriter``."""

    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars.append((tag, value, step))


def _trainer(name: str, tiny_config: dict, epochs: int):
    config = build_config(name, "checker", config_dict={**tiny_config, "epochs": epochs})
    _, train_data, valid_data, _ = load_data(config)
    trainer = build_trainer(config, build_model(config, train_data), saved=False)
    return trainer, train_data, valid_data


@pytest.mark.parametrize("name", ["DirectSpecPlus", "recbole.LightGCN"])
def test_monitor_as_pipeline_callback(name: str, tiny_config: dict) -> None:
    writer = _Writer()
    monitor = SpectrumMonitor(tensorboard=writer)
    result = run(name, "checker", config_dict={**tiny_config, "epochs": 3}, callbacks=[monitor])
    assert monitor.model is result["trainer"].model
    assert [entry["epoch"] for entry in monitor.history] == [0.0, 1.0, 2.0]
    for entry in monitor.history:
        assert set(entry) == {
            "epoch",
            *LOGGED_KEYS,
            "user_uniformity",
            "item_uniformity",
            "seconds",
        }
        assert all(math.isfinite(value) for value in entry.values())
        assert 1.0 <= entry["all_erank"] <= 16.0 and entry["user_uniformity"] <= 0.0
    tags = {tag for tag, _, _ in writer.scalars}
    assert "Spectrum/all_erank" in tags and len(writer.scalars) == 3 * len(tags)


def test_attach_monitor_sees_the_last_evaluation(tiny_config: dict) -> None:
    trainer, train_data, valid_data = _trainer("recbole.LightGCN", tiny_config, epochs=2)
    trainer.epoch_callbacks = []
    monitor = attach_monitor(trainer)
    assert monitor.tensorboard is trainer.tensorboard
    trainer.fit(train_data, valid_data, saved=False, show_progress=False)
    assert len(monitor.history) == 2
    last = spectrum_report(*embedding_tables(trainer.model))
    assert monitor.history[-1]["all_erank"] == pytest.approx(last["all_erank"])


def test_monitor_logs_one_line_and_respects_every(tiny_config: dict, caplog) -> None:
    trainer, _, _ = _trainer("BPRMF", tiny_config, epochs=1)
    logger = logging.getLogger("test_monitor")
    monitor = SpectrumMonitor(trainer.model, logger, every=2)
    with caplog.at_level(logging.INFO, logger="test_monitor"):
        for epoch in range(4):
            monitor(epoch, 0.5, {"ndcg@20": 0.1})
    assert [entry["epoch"] for entry in monitor.history] == [0.0, 2.0]
    lines = [r.getMessage() for r in caplog.records if "spectrum" in r.getMessage()]
    assert len(lines) == 2 and "all_erank=" in lines[0]


def test_monitor_disables_itself_without_tables(caplog) -> None:
    monitor = SpectrumMonitor(nn.Linear(2, 2), logging.getLogger("test_monitor"))
    with caplog.at_level(logging.WARNING, logger="test_monitor"):
        monitor(0)
        monitor(1)
    assert monitor.history == [] and "no embedding tables" in monitor.disabled_reason
    assert sum("disabled" in r.getMessage() for r in caplog.records) == 1


def test_every_is_validated_and_model_is_required() -> None:
    with pytest.raises(ValueError, match="every"):
        SpectrumMonitor(nn.Linear(2, 2), every=0)
    with pytest.raises(RuntimeError, match="bind"):
        SpectrumMonitor().measure()
