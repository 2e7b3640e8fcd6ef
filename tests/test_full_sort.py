"""The fast full-sort evaluator computes exactly RecBole's metrics (issue 11, item 1).

Every configured metric and cut-off of ``recbole_spec.training.full_sort`` equals RecBole's
``Trainer.evaluate`` on the same model: plugin and built-in models, validation and test split
(test history includes the validation items), users with fewer positives than ``k``, tied and
constant scores, metrics that need RecBole's own collector (GAUC), and the fallbacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from recbole.data import create_dataset, data_preparation

from recbole_spec.pipeline import build_config
from recbole_spec.training import full_sort
from recbole_spec.training.full_sort import FullSortIndex, topk_indices, users_per_batch
from recbole_spec.training.trainer import trainer_class

N_USERS, N_ITEMS = 90, 1500
TOPK = [1, 5, 10, 20]
RANKING_METRICS = [
    "Recall",
    "NDCG",
    "TruncatedRecall",
    "Precision",
    "Hit",
    "MRR",
    "MAP",
    "ShannonEntropy",
]
"""RecBole's ranking metrics that work in RecBole 1.2.1 (``ItemCoverage``, ``GiniIndex``,
``AveragePopularity`` and ``TailPercentage`` crash in its ``Collector.get_data_struct``, which
calls ``.cpu()`` on the collected int / Counter, whichever evaluator runs)."""


def _pairs(seed: int = 3) -> list[tuple[int, int]]:
    """Popularity-skewed interactions, 4 to 80 per user, so test sets range from 0 to 16 items."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    popularity /= popularity.sum()
    pairs = []
    for user in range(N_USERS):
        size = int(rng.integers(4, 81))
        items = rng.choice(N_ITEMS, size=size, replace=False, p=popularity)
        pairs.extend((user, int(item)) for item in items)
    return pairs


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ``skewed`` dataset (90 users, 1,500 items); RecBole's outputs go to the same folder."""
    root = tmp_path_factory.mktemp("full_sort")
    folder = root / "skewed"
    folder.mkdir()
    lines = ["user_id:token\titem_id:token"] + [f"{u}\t{i}" for u, i in _pairs()]
    (folder / "skewed.inter").write_text("\n".join(lines) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # RecBole's log_tensorboard/ and saved/
        yield root


def _trainer(model: str, data_dir: Path, **settings: object):
    config = build_config(
        model,
        "skewed",
        config_dict={
            "data_path": str(data_dir),
            "checkpoint_dir": str(data_dir / "saved"),
            "embedding_size": 8,
            "n_layers": 2,
            "metrics": RANKING_METRICS,
            "topk": TOPK,
            "metric_decimal_place": 16,
            "eval_batch_size": 4096,  # RecBole: 2 users per batch here
            "state": "WARNING",
            "seed": 11,
            **settings,
        },
    )
    train, valid, test = data_preparation(config, create_dataset(config))
    model_obj = config.model_class(config, train._dataset).to(config["device"])
    trainer = trainer_class(config, config.model_class)(config, model_obj)
    trainer.eval_collector.data_collect(train)  # what fit() does first
    return trainer, train, valid, test


def _quantise(model: torch.nn.Module) -> None:
    """Small-integer embeddings: integer scores, computed exactly in any order, many ties."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "embedding" in name:
                param.copy_(torch.randint(-2, 3, param.shape, dtype=param.dtype))


def _zero(model: torch.nn.Module) -> None:
    """Constant (zero) scores: every item ties."""
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()


def _both(trainer, loader, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    """(fast result, RecBole result) of one trainer on one loader; the fast path must run."""
    calls = []
    real = full_sort.evaluate_full_sort

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result is not None)
        return result

    structs = []
    evaluate = trainer.evaluator.evaluate

    def keep_struct(struct):
        structs.append(struct)
        return evaluate(struct)

    monkeypatch.setattr(full_sort, "evaluate_full_sort", spy)
    monkeypatch.setattr(trainer.evaluator, "evaluate", keep_struct)
    trainer.config["fast_eval"] = True
    fast = dict(trainer.evaluate(loader, load_best_model=False))
    assert calls == [True], "the fast evaluator did not run"
    trainer.config["fast_eval"] = False
    slow = dict(trainer.evaluate(loader, load_best_model=False))
    assert calls == [True], "fast_eval=False must use RecBole's evaluator"
    trainer.config["fast_eval"] = True
    ours, theirs = structs
    for key in ("rec.topk", "rec.items", "rec.meanrank"):
        assert (key in ours) == (key in theirs)
        if key in ours:  # the very tensors RecBole's metrics read, dtype included
            assert ours[key].dtype == theirs[key].dtype
            assert torch.equal(ours[key], theirs[key])
    return fast, slow


@pytest.mark.parametrize(
    ("model", "weights"),
    [
        ("BPRMF", None),
        ("DirectSpecPlus", None),
        ("recbole.BPR", None),
        ("recbole.LightGCN", None),
        ("recbole.BPR", _quantise),
        ("BPRMF", _zero),
    ],
    ids=["BPRMF", "DirectSpecPlus", "BPR", "LightGCN", "BPR-tied", "BPRMF-constant"],
)
def test_metrics_equal_recbole(
    model: str, weights, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer, _, valid, test = _trainer(model, data_dir)
    if weights is not None:
        weights(trainer.model)
    for loader in (valid, test):
        fast, slow = _both(trainer, loader, monkeypatch)
        names = [m.lower().replace("truncatedrecall", "truncated_recall") for m in RANKING_METRICS]
        assert set(fast) == {f"{name}@{k}" for name in names for k in TOPK}
        assert fast == slow


def test_metrics_needing_recbole_collector_equal_recbole(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer, _, valid, test = _trainer("recbole.BPR", data_dir, metrics=["Recall", "NDCG", "GAUC"])
    _quantise(trainer.model)
    for loader in (valid, test):
        fast, slow = _both(trainer, loader, monkeypatch)
        assert "gauc" in fast
        assert fast == slow


def test_small_batches_give_the_same_result(data_dir: Path) -> None:
    trainer, _, _, test = _trainer("recbole.BPR", data_dir)
    _quantise(trainer.model)
    args = (trainer.model, test, trainer.eval_collector, trainer.evaluator, "cpu")
    one_user = full_sort.evaluate_full_sort(*args, budget_bytes=4 * N_ITEMS)
    assert one_user == full_sort.evaluate_full_sort(*args)


def _by_user(loader) -> dict[int, set[int]]:
    inter = loader._dataset.inter_feat
    out: dict[int, set[int]] = {}
    for user, item in zip(inter["user_id"].tolist(), inter["item_id"].tolist(), strict=True):
        out.setdefault(user, set()).add(item)
    return out


def test_history_masks_train_and_for_test_validation_items(data_dir: Path) -> None:
    trainer, train, valid, test = _trainer("BPRMF", data_dir)
    seen, valid_items, test_items = _by_user(train), _by_user(valid), _by_user(test)
    for loader, positives, earlier in (
        (valid, valid_items, [seen]),
        (test, test_items, [seen, valid_items]),
    ):
        index = FullSortIndex.from_loader(loader)
        for row, uid in enumerate(loader.uid_list.tolist()):
            history = index.hist_items[index.hist_ptr[row] : index.hist_ptr[row + 1]].tolist()
            expected = set().union(*(split.get(uid, set()) for split in earlier)) - positives[uid]
            assert sorted(history) == sorted(expected)
            assert int(index.pos_len[row]) == len(positives[uid])
    assert min(len(items) for items in test_items.values()) < max(TOPK)
    assert any(valid_items.get(uid) for uid in test_items)


def test_model_without_full_sort_predict_uses_recbole(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer, _, valid, _ = _trainer("recbole.BPR", data_dir)

    def not_implemented(interaction):
        raise NotImplementedError

    expected = dict(trainer.evaluate(valid, load_best_model=False))
    monkeypatch.setattr(trainer.model, "full_sort_predict", not_implemented)
    args = (trainer.model, valid, trainer.eval_collector, trainer.evaluator, "cpu")
    assert full_sort.evaluate_full_sort(*args) is None
    assert dict(trainer.evaluate(valid, load_best_model=False)) == expected


def test_fast_eval_switch_from_the_command_line(data_dir: Path) -> None:
    on = build_config("BPRMF", "skewed", config_dict={"data_path": str(data_dir)})
    off = build_config(
        "BPRMF", "skewed", config_dict={"data_path": str(data_dir)}, overrides=["--fast_eval=False"]
    )
    assert on["fast_eval"] is True
    assert off["fast_eval"] is False


@pytest.mark.parametrize("kind", ["normal", "quantised", "constant", "masked", "nan", "narrow"])
@pytest.mark.parametrize("k", [1, 20, 50])
def test_topk_indices_equal_torch_topk(kind: str, k: int) -> None:
    generator = torch.Generator().manual_seed(k)
    scores = torch.randn(64, 4001, generator=generator)
    if kind == "quantised":
        scores = (scores * 2).round()
    elif kind == "constant":
        scores[::2] = 0.5
    elif kind == "masked":
        scores[:, : 4001 - k // 2] = -float("inf")  # fewer finite items than k
        scores[1::2, 100:] = -float("inf")
    elif kind == "nan":
        scores[::3, 17] = float("nan")
        scores[1::3, -1] = float("nan")
    elif kind == "narrow":
        scores = scores[:, :300]  # too few columns for the grouped path
    assert torch.equal(topk_indices(scores, k), torch.topk(scores, k, dim=-1).indices)


def test_users_per_batch_respects_the_budget() -> None:
    assert users_per_batch(40_982, 256 * 2**20) == 1637
    assert users_per_batch(40_982, 1) == 1
    assert users_per_batch(10, 400) == 10


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_metrics_equal_recbole_on_cuda(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trainer, _, valid, test = _trainer("recbole.BPR", data_dir, use_gpu=True)
    assert torch.device(trainer.device).type == "cuda"
    for loader in (valid, test):
        fast, slow = _both(trainer, loader, monkeypatch)
        assert fast == slow
