"""The vectorised negative sampler draws exactly RecBole's negatives, and the pipeline uses it."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from recbole.data import create_dataset, data_preparation
from recbole.sampler import Sampler
from recbole.utils import init_seed

from recbole_spec.pipeline import build_config, load_data
from recbole_spec.training import lean_loader
from recbole_spec.training.lean_loader import FastNegativeSampler

from .conftest import tiny_settings, write_inter


@pytest.fixture(scope="module")
def dense_train(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sampler, np.ndarray, int]:
    """RecBole's train-phase sampler on 30 users x 12 items, users holding 1..10 items.

    Users with 10 of 11 real items force many rejections (one candidate in 11 is free).
    """
    root = tmp_path_factory.mktemp("dense")
    rng = np.random.default_rng(3)
    pairs = []
    for user in range(30):
        items = rng.choice(11, size=1 + user % 10, replace=False)
        pairs += [(user, int(i)) for i in items]
    write_inter(root / "dense" / "dense.inter", pairs)
    config = build_config(
        "BPRMF",
        "dense",
        config_dict=tiny_settings(
            root,
            root,
            eval_args={
                "split": {"RS": [1, 0, 0]},
                "order": "RO",
                "group_by": "user",
                "mode": "full",
            },
        ),
    )
    init_seed(config["seed"], config["reproducibility"])
    train, _, _ = data_preparation(config, create_dataset(config))
    users = train._dataset.inter_feat[config["USER_ID_FIELD"]].numpy()
    return train._sampler, users, train._dataset.item_num


def _draw(sampler: object, users: np.ndarray, num: int, seed: int) -> torch.Tensor:
    np.random.seed(seed)
    return sampler.sample_by_user_ids(users, None, num)


@pytest.mark.parametrize("test", ["bitmap", "sorted keys"])
@pytest.mark.parametrize("num", [1, 3])
def test_same_negatives_as_recbole(
    dense_train: tuple, num: int, test: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recbole, users, _ = dense_train
    if test == "sorted keys":  # the rejection test of datasets above the bitmap's size
        monkeypatch.setattr(lean_loader, "BITMAP_BYTES", 0)
    fast = FastNegativeSampler(copy.copy(recbole))
    assert (fast.bitmap is None) is (test == "sorted keys")
    for seed in range(5):
        batch = np.random.default_rng(seed).choice(users, size=64)
        expected = _draw(recbole, batch, num, seed)
        got = _draw(fast, batch, num, seed)
        assert torch.equal(got, expected)
        # and the global stream is left where RecBole leaves it
        np.random.seed(seed)
        recbole.sample_by_user_ids(batch, None, num)
        after_recbole = np.random.random()
        np.random.seed(seed)
        fast.sample_by_user_ids(batch, None, num)
        assert np.random.random() == after_recbole


def test_one_user_batch_takes_recbole_same_key_branch(dense_train: tuple) -> None:
    recbole, users, _ = dense_train
    fast = FastNegativeSampler(copy.copy(recbole))
    batch = np.full(50, users[users.argmax()])
    assert torch.equal(_draw(fast, batch, 2, 11), _draw(recbole, batch, 2, 11))


def test_negatives_are_never_positives(dense_train: tuple) -> None:
    recbole, users, n_items = dense_train
    fast = FastNegativeSampler(copy.copy(recbole))
    negatives = _draw(fast, users, 4, 0).numpy().reshape(4, -1)
    for row in negatives:
        for user, item in zip(users, row, strict=True):
            assert 1 <= item < n_items and item not in recbole.used_ids[user]


def test_unknown_user_is_named(dense_train: tuple) -> None:
    recbole, _, _ = dense_train
    with pytest.raises(ValueError, match=r"user_id \[999\] not exist"):
        FastNegativeSampler(copy.copy(recbole)).sample_by_user_ids(np.array([1, 999]), None, 1)


def _epoch(train: object, seed: int) -> list[dict[str, torch.Tensor]]:
    init_seed(seed, True)
    return [dict(batch.interaction) for batch in train]


@pytest.mark.parametrize("model", ["BPRMF", "recbole.BPR", "CLUniformity"])
def test_lean_loader_yields_recbole_batches_bit_for_bit(
    data_root: Path, tmp_path: Path, model: str
) -> None:
    config = build_config(model, "checker", config_dict=tiny_settings(data_root, tmp_path))
    init_seed(config["seed"], config["reproducibility"])
    plain, _, _ = data_preparation(config, create_dataset(config))
    _, lean, _, _ = load_data(config)
    assert lean.collate_fn is not plain.collate_fn
    assert isinstance(lean._sampler, FastNegativeSampler) is (model != "CLUniformity")
    assert type(vars(lean)["dataset"]).__name__ == "_Positions"  # batches fetched at once
    for seed in (0, 1):
        expected, got = _epoch(plain, seed), _epoch(lean, seed)
        assert len(got) == len(expected) > 1
        for want, have in zip(expected, got, strict=True):
            assert want.keys() == have.keys()
            assert all(torch.equal(want[k], have[k]) for k in want)


def test_fast_sampler_survives_copy_and_pickle(dense_train: tuple) -> None:
    import pickle

    recbole, users, _ = dense_train
    fast = FastNegativeSampler(copy.copy(recbole))
    for clone in (copy.copy(fast), copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert torch.equal(_draw(clone, users[:20], 2, 5), _draw(fast, users[:20], 2, 5))
