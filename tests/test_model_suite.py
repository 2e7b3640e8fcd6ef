"""One suite for every registered plugin model (a new model is covered without editing this file).

Each model of :func:`recbole_spec.registry.list_models` is trained once per module on the planted
two-block checkerboard (``tests/conftest.py``) and must then:

- rank its users' own block above the other block (a wrong model fails: random gives 0.5);
- lower its training loss and record itself in its checkpoint;
- score pairs with ``predict`` exactly as ``full_sort_predict`` does, and both as ``U I^T`` of
  its scoring tables computed by hand;
- reload from the run's checkpoint into a freshly built model with identical full-sort scores.

Every model and every variant (encoder x loss x stable-rank term) gets finite, non-zero
gradients after one training batch, negatives in its batches exactly when its objective declares
``uses_negatives``, ``predict``/``full_sort_predict`` agreement and a
``save_checkpoint``/``load_checkpoint`` round trip, without a training run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from recbole.utils import init_seed

from recbole_spec.models.base import SpecRecommender
from recbole_spec.pipeline import build_config, build_model, load_data, run
from recbole_spec.registry import get_model, list_models
from recbole_spec.training.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import N_ITEMS, N_USERS, tiny_settings

TRAIN = {"epochs": 15, "learning_rate": 0.02, "eval_step": 15, "stopping_step": 100}
"""Planted-structure training: 15 epochs (every model scores 1.0 after 10), one evaluation."""

MODEL_SETTINGS: dict[str, dict[str, Any]] = {
    # alpha 1 (the default) keeps suppressing the dominant direction, which on two planted
    # blocks is the block signal itself: the own-block share falls as training goes on (0.93
    # after 15 epochs, 0.81 after 30, d = 16); alpha 0.3 keeps it at 1.0.
    "DirectSpecPlus": {"alpha": 0.3},
}
"""Per-model departures from the defaults for the planted test; every other model uses none."""

WARM = {"stable_rank_weight": 1.0, "warm_start_epochs": 0, "warm_start_patience": 5}

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("BPRMF", {"loss": "ssm", "neg_ratio": 4}),
    ("BPRMF", WARM),
    ("LightGCN", {"loss": "ssm", "neg_ratio": 2}),
    ("LightGCN", WARM),
    ("DirectSpec", {"encoder": "lightgcn", "n_layers": 2}),
    ("DirectSpecPlus", {"encoder": "lightgcn", "n_layers": 2, **WARM}),
    ("DirectSpecPlus", {"tau_mode": "adaptive", "tau0": 2.5, "tau1": 3.0}),
    ("CLUniformity", {"encoder": "lightgcn", "n_layers": 2}),
    ("CLUniformity", WARM),
]
"""Non-default configurations that get the checks that need no training run."""

TRAINED = [m for m in list_models() if issubclass(get_model(m), SpecRecommender)]
"""The trained plugin models; the training-free ones (GF-CF, BSPM: no loss, no gradients, no
embedding tables) are checked against a dense reference in ``tests/test_spectral_baselines.py``."""

CASES = [(model, {}) for model in TRAINED] + VARIANTS


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    model, settings = case
    return "-".join([model, *(f"{k}={v}" for k, v in settings.items())])


@pytest.fixture(scope="module")
def base_config(
    tmp_path_factory: pytest.TempPathFactory, data_root: Path
) -> Iterator[dict[str, Any]]:
    """``tiny_config`` for module-scoped fixtures, run from a module-scoped temporary folder."""
    workdir = tmp_path_factory.mktemp("suite")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)  # RecBole writes log/ and log_tensorboard/ to the working directory
        yield tiny_settings(data_root, workdir)


@pytest.fixture(scope="module", params=TRAINED)
def trained(request: pytest.FixtureRequest, base_config: dict[str, Any]) -> dict[str, Any]:
    """One planted-structure training run per model (``run()``'s result)."""
    model = request.param
    settings = {**base_config, **TRAIN, **MODEL_SETTINGS.get(model, {})}
    return run(model, "checker", config_dict=settings)


@pytest.fixture(scope="module", params=CASES, ids=_case_id)
def built(request: pytest.FixtureRequest, base_config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``(config, train_data, untrained model)`` of one model or variant."""
    model, settings = request.param
    config = build_config(model, "checker", config_dict={**base_config, **settings})
    train_data = _load_train(config)
    return config, train_data, build_model(config, train_data)


def _load_train(config: Any) -> Any:
    """The training loader of ``config``'s split, seeded as ``run()`` seeds it.

    ``load_data`` does not seed; RecBole's random split (and so LightGCN's graph) depends on it.
    """
    init_seed(config["seed"], config["reproducibility"])
    return load_data(config)[1]


def _full_sort(model: Any, users: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval().full_sort_predict({model.USER_ID: users}).view(len(users), -1)


def _all_users(model: Any) -> torch.Tensor:
    return torch.arange(1, model.n_users)


def own_block_share(model: Any, dataset: Any, k: int = 5) -> float:
    """Share of each user's top-k items that lie in the user's own block (random: 0.5)."""
    users = _all_users(model)
    scores = _full_sort(model, users)
    scores[:, 0] = -torch.inf  # padding item
    top = scores.topk(k, dim=1).indices
    user_low = torch.tensor([int(t) < N_USERS // 2 for t in dataset.id2token("user_id", users)])
    item_tokens = dataset.id2token("item_id", top.flatten()).reshape(top.shape)
    item_low = torch.tensor([[int(t) < N_ITEMS // 2 for t in row] for row in item_tokens])
    return (item_low == user_low.unsqueeze(1)).float().mean().item()


def assert_predict_matches_full_sort(model: Any) -> None:
    """``predict`` on all (user, item) pairs == ``full_sort_predict`` == hand-computed ``U I^T``."""
    users = _all_users(model)
    items = torch.arange(1, model.n_items)
    full = _full_sort(model, users)
    pair_users = users.repeat_interleave(len(items))
    pair_items = items.repeat(len(users))
    with torch.no_grad():
        pairs = model.predict({model.USER_ID: pair_users, model.ITEM_ID: pair_items})
        user_table, item_table = model.embedding_tables()
    assert pairs.shape == (len(users) * len(items),)
    torch.testing.assert_close(pairs.view(len(users), -1), full[:, 1:], rtol=1e-5, atol=1e-6)
    reference = user_table[users].double() @ item_table[items].double().t()
    torch.testing.assert_close(full[:, 1:].double(), reference, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- trained once per model


def test_ranks_own_block_first(trained: dict[str, Any]) -> None:
    assert own_block_share(trained["trainer"].model, trained["data"]) > 0.9


def test_loss_falls_and_checkpoint_names_the_model(trained: dict[str, Any]) -> None:
    losses = trained["trainer"].train_loss_dict
    assert sorted(losses) == list(range(TRAIN["epochs"])) == list(range(trained["epochs"]))
    assert losses[TRAIN["epochs"] - 1] < losses[0]
    assert set(trained["test_result"]) == {"recall@10", "recall@20", "ndcg@10", "ndcg@20"}
    state = load_checkpoint(trained["checkpoint"])  # weights_only=True inside
    assert state["config"]["model"] == trained["model"]


def test_trained_predict_matches_full_sort(trained: dict[str, Any]) -> None:
    assert_predict_matches_full_sort(trained["trainer"].model)


def test_run_checkpoint_reloads_with_identical_scores(trained: dict[str, Any]) -> None:
    model = trained["trainer"].model  # run() reloaded the best checkpoint for its test pass
    config = trained["trainer"].config
    fresh = build_model(config, _load_train(config))
    users = _all_users(model)
    assert not torch.allclose(_full_sort(fresh, users), _full_sort(model, users))
    state = load_checkpoint(trained["checkpoint"])
    fresh.load_state_dict(state["state_dict"])
    fresh.load_other_parameter(state.get("other_parameter"))
    torch.testing.assert_close(_full_sort(fresh, users), _full_sort(model, users), rtol=0, atol=0)


# ------------------------------------------------------ every model and variant, untrained


def test_finite_gradients_after_one_batch(built: tuple[Any, Any, Any]) -> None:
    _, train_data, model = built
    model.train()
    batch = next(iter(train_data))
    losses = model.calculate_loss(batch)
    losses = losses if isinstance(losses, tuple) else (losses,)
    assert all(torch.isfinite(term) for term in losses)
    sum(losses).backward()
    grads = []
    for name, param in model.named_parameters():
        if param.grad is None:
            continue
        grad = param.grad.coalesce().values() if param.grad.is_sparse else param.grad
        assert torch.isfinite(grad).all(), name
        grads.append(grad)
    assert grads and any(grad.abs().sum() > 0 for grad in grads)
    model.zero_grad(set_to_none=True)


def test_negatives_are_sampled_exactly_when_the_objective_declares_them(
    built: tuple[Any, Any, Any],
) -> None:
    _, train_data, model = built
    batch = next(iter(train_data))
    assert (model.NEG_ITEM_ID in batch) is model.objective.uses_negatives


def test_objective_other_than_the_declared_kind_is_refused(base_config: dict[str, Any]) -> None:
    """``uses_negatives`` comes from ``objective_class``: what it builds must agree."""
    from recbole_spec.models import BPRMF
    from recbole_spec.objectives import RankingLoss
    from recbole_spec.objectives.directspec import DirectSpecObjective

    class PositiveOnly(RankingLoss):
        @classmethod
        def from_config(cls, config: Any, dataset: Any) -> Any:
            return DirectSpecObjective()

    class Mislabelled(BPRMF):
        objective_class = PositiveOnly

    config = build_config("BPRMF", "checker", config_dict=base_config)
    with pytest.raises(TypeError, match="built a DirectSpecObjective, whose uses_negatives"):
        Mislabelled(config, _load_train(config)._dataset)


def test_untrained_predict_matches_full_sort(built: tuple[Any, Any, Any]) -> None:
    assert_predict_matches_full_sort(built[2])


def test_save_checkpoint_round_trip(built: tuple[Any, Any, Any], tmp_path: Path) -> None:
    config, train_data, model = built
    model = copy.deepcopy(model)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param))  # differ from a fresh, seeded model
    path = tmp_path / "model.pth"
    save_checkpoint(
        path,
        {
            "config": {"model": config["model"]},
            "state_dict": model.state_dict(),
            "other_parameter": model.other_parameter(),
        },
    )
    state = load_checkpoint(path)
    fresh = build_model(config, train_data)
    users = _all_users(model)
    assert not torch.allclose(_full_sort(fresh, users), _full_sort(model, users))
    fresh.load_state_dict(state["state_dict"])
    fresh.load_other_parameter(state.get("other_parameter"))
    torch.testing.assert_close(_full_sort(fresh, users), _full_sort(model, users), rtol=0, atol=0)
    assert os.listdir(tmp_path) == ["model.pth"]
