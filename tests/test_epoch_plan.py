"""Issue 19: the planned paper-protocol epoch trains exactly like RecBole's loop.

The plan draws the same ids from the same generator, and the row step does the same arithmetic
as ``nn.Embedding(sparse=True)`` + ``RowSGD``, so tables and losses are bit-identical; the
generic planned step (Adam, LightGCN) is the same calls without the ``Interaction``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recbole_spec import run
from recbole_spec.pipeline import RunFailed
from recbole_spec.training import epoch_plan
from recbole_spec.training.samplers import UserUniformSampler
from recbole_spec.training.trainer import SpecTrainer

PAPER = {
    "preset": "none",
    "train_sampler": "user_uniform",
    "learner": "sgd",
    "learning_rate": 5.0,
    "lr_decay": 0.9,
    "train_batch_size": 16,
    "shrink": 0.03,
    "init": "glorot_uniform",
    "epochs": 3,
    "stopping_step": 100,
}


def _weights(result: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result["trainer"].model.state_dict().items()}


@pytest.mark.parametrize(
    "extra",
    [
        {},  # fixed tau, row step
        {"tau_mode": "adaptive", "tau0": 2.5, "tau1": 3.0},
        {"stable_rank_weight": 1.0, "warm_start_epochs": 1},
        {"reg_weight": 1e-3},
        {"learner": "adam", "learning_rate": 0.01},  # generic step, fused Adam
        {"encoder": "lightgcn", "n_layers": 2, "sparse_grad": False},  # generic step, GCN
    ],
    ids=["fixed", "adaptive", "stable_rank", "reg", "adam", "lightgcn"],
)
def test_planned_epoch_equals_recbole_loop(
    extra: dict, tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {**tiny_config, **PAPER, **extra}
    planned = run("DirectSpecPlus", "checker", config_dict=settings)
    with monkeypatch.context() as patch:  # RecBole's loop, the same optimizer
        patch.setattr("recbole_spec.training.trainer.can_plan", lambda trainer: False)
        reference = run("DirectSpecPlus", "checker", config_dict=settings)
    for key, value in _weights(reference).items():
        assert torch.equal(_weights(planned)[key], value), key
    assert planned["trainer"].train_loss_dict == reference["trainer"].train_loss_dict


def test_row_step_applies_to_sgd_on_mf_only(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = []
    original = epoch_plan._row_step_tables

    def spy(trainer: SpecTrainer):  # noqa: ANN202
        tables = original(trainer)
        used.append(tables is not None)
        return tables

    monkeypatch.setattr(epoch_plan, "_row_step_tables", spy)
    run("DirectSpecPlus", "checker", config_dict={**tiny_config, **PAPER, "epochs": 1})
    run(
        "DirectSpecPlus",
        "checker",
        config_dict={**tiny_config, **PAPER, "epochs": 1, "learner": "adam", "learning_rate": 0.01},
    )
    assert used == [True, False]


def test_non_finite_loss_is_caught_once_per_epoch(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "recbole_spec.objectives.directspec_plus.positive_logsigmoid_loss",
        lambda users, items: (users * items).sum() * float("nan"),
    )
    expected = r"training diverged \(training loss is nan in epoch 0\)"
    # RecBole's SINE module turns anomaly detection on globally when a test imports it
    with torch.autograd.set_detect_anomaly(False), pytest.raises(RunFailed, match=expected):
        run("DirectSpecPlus", "checker", config_dict={**tiny_config, **PAPER})


def test_plan_draws_what_the_sampler_yields() -> None:
    rng = np.random.default_rng(3)
    matrix = sp.random(40, 30, density=0.2, format="csr", random_state=rng)
    iterated = UserUniformSampler(matrix, 8, "user_id", "item_id", seed=5)
    planned = UserUniformSampler(matrix, 8, "user_id", "item_id", seed=5)
    for _ in range(2):  # two epochs: the generator advances identically
        users, items = epoch_plan.draw_plan(planned, torch.device("cpu"))
        batches = list(iterated)
        assert torch.equal(users, torch.stack([b["user_id"] for b in batches]))
        assert torch.equal(items, torch.stack([b["item_id"] for b in batches]))


def test_plan_draws_users_uniformly_and_items_uniformly_per_user() -> None:
    """Planted degrees 1, 2 and 5: every user a third of the draws, each of its items equally."""
    rows = [0, 1, 1, 2, 2, 2, 2, 2]
    cols = [0, 1, 2, 3, 4, 5, 6, 7]
    matrix = sp.csr_matrix((np.ones(8), (rows, cols)), shape=(3, 8))
    sampler = UserUniformSampler(matrix, 8, "user_id", "item_id", seed=0)
    users, items = [], []
    for _ in range(6000):
        u, i = epoch_plan.draw_plan(sampler, torch.device("cpu"))
        users.append(u.flatten())
        items.append(i.flatten())
    users, items = torch.cat(users).numpy(), torch.cat(items).numpy()
    n = users.size
    assert np.allclose(np.bincount(users, minlength=3) / n, 1 / 3, atol=0.01)
    for user, owned in ((1, [1, 2]), (2, [3, 4, 5, 6, 7])):
        picked = items[users == user]
        assert set(np.unique(picked)) == set(owned)
        share = np.bincount(picked, minlength=8)[owned] / picked.size
        assert np.allclose(share, 1 / len(owned), atol=0.01)
    assert set(items[users == 0]) == {0}


def test_stall_stop_ends_training_when_the_best_gains_less_than_delta(
    tiny_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planted validation curve: +10%, +0.5%, +0.01%, +0.01%: with d = 1% and s = 2 the run
    stops after the 4th evaluation (the best of evaluations 3-4 gains < 1% on evaluation 2)."""
    curve = iter([0.10, 0.11, 0.1105, 0.11051, 0.11052, 0.2, 0.3])
    from recbole_spec.training.trainer import CheckpointMixin

    def planted(self, valid_data, show_progress=False):  # noqa: ANN001, ANN202
        score = next(curve)
        result = {self.valid_metric: score}
        epoch = max(self.train_loss_dict, default=-1)
        for callback in self.epoch_callbacks:
            callback(epoch, self.train_loss_dict.get(epoch), dict(result))
        return score, result

    monkeypatch.setattr(CheckpointMixin, "_valid_epoch", planted)
    settings = {**tiny_config, **PAPER, "epochs": 7, "stopping_step": 2, "stopping_delta": 0.01}
    result = run("DirectSpecPlus", "checker", config_dict=settings, evaluate_test=False)
    assert result["epochs"] == 4
    assert "gained less than 1.00% over the last 2 evaluations" in result["trainer"].stop_reason
    assert result["best_valid_score"] == 0.11051


def test_paper_preset_on_holdout_adds_the_stall_rule() -> None:
    from recbole_spec.config.presets import PAPER_PRESETS, choose_presets

    holdout, _ = choose_presets(None, PAPER_PRESETS, "gowalla", "holdout")
    paper, _ = choose_presets(None, PAPER_PRESETS, "gowalla", "paper")
    assert holdout == ["directspec_gowalla", "stop_on_stall"]
    assert paper == ["directspec_gowalla"]
    assert choose_presets("none", PAPER_PRESETS, "gowalla", "holdout")[0] == []


def test_fast_train_false_is_the_reference_path(tiny_config: dict) -> None:
    """The paper protocol's SGD path is bit-identical either way; Adam differs by rounding."""
    settings = {**tiny_config, **PAPER}
    fast = run("DirectSpecPlus", "checker", config_dict=settings)
    reference = run("DirectSpecPlus", "checker", config_dict={**settings, "fast_train": False})
    for key, value in _weights(reference).items():
        assert torch.equal(_weights(fast)[key], value), key
    adam = {**settings, "learner": "adam", "learning_rate": 0.01, "fast_train": False}
    optimizer = run("DirectSpecPlus", "checker", config_dict=adam)["trainer"].optimizer
    assert type(optimizer).__name__ == "RowAdam"


def test_captured_body_equals_the_eager_row_step(tiny_config: dict) -> None:
    """What the CUDA graph records (static_row_steps, lr as a tensor) is the eager row step."""
    from recbole_spec.training.cuda_graph import capture_blocker, static_row_steps

    result = run("DirectSpecPlus", "checker", config_dict={**tiny_config, **PAPER, "epochs": 1})
    trainer = result["trainer"]
    model, sampler = trainer.model, trainer._sampler
    tables = epoch_plan._row_step_tables(trainer)
    start = [t.detach().clone() for t in tables]
    users, items = epoch_plan.draw_plan(sampler, torch.device("cpu"))
    eager_totals = torch.zeros(2, dtype=torch.float64)
    for step in range(4):
        losses = epoch_plan._row_step(
            model, tables, epoch_plan.Batch(users[step], items[step]), 5.0
        )
        eager_totals += torch.stack([loss.detach() for loss in losses]).double()
    eager = [t.detach().clone() for t in tables]
    with torch.no_grad():
        for table, value in zip(tables, start, strict=True):
            table.copy_(value)
    totals = torch.zeros(2, dtype=torch.float64)
    static_row_steps(model, tables, users[:4], items[:4], torch.tensor([-5.0]), totals)
    for table, value in zip(tables, eager, strict=True):
        torch.testing.assert_close(table.detach(), value, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(totals, eager_totals)
    assert capture_blocker(model, torch.device("cpu")) == "the device is cpu, not CUDA"
    assert capture_blocker(model, torch.device("cuda")) is None


def test_a_step_that_is_not_captured_says_why_once_on_cuda(tiny_config: dict) -> None:
    """A LightGCN encoder's planned step stays eager on a GPU; the log line says why, once."""
    settings = {**tiny_config, **PAPER, "epochs": 1, "encoder": "lightgcn", "n_layers": 2}
    trainer = run("DirectSpecPlus", "checker", config_dict={**settings, "sparse_grad": False})[
        "trainer"
    ]
    lines: list[str] = []

    class Stub:  # the trainer as seen on a CUDA device; nothing is captured, nothing runs there
        device, config, model = torch.device("cuda"), {"cuda_graph": True}, trainer.model
        optimizer, logger = trainer.optimizer, type("Log", (), {"info": lines.append})()

    stub = Stub()
    assert epoch_plan._row_step_tables(trainer) is None
    for _ in range(2):
        assert epoch_plan._captured_steps(stub, None, 4) is None
    assert len(lines) == 1 and "not this step (LightGCNEncoder" in lines[0]
