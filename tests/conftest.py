"""Shared fixtures: tiny atomic datasets written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

N_USERS, N_ITEMS, PER_USER = 40, 40, 10


def write_inter(path: Path, pairs: list[tuple[int, int]]) -> None:
    """Write RecBole atomic interactions (``user_id:token``/``item_id:token``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token"] + [f"{u}\t{i}" for u, i in pairs]
    path.write_text("\n".join(lines) + "\n")


def checkerboard_pairs(seed: int = 0) -> list[tuple[int, int]]:
    """Two blocks: users 0..19 only use items 0..19, users 20..39 only items 20..39."""
    rng = np.random.default_rng(seed)
    half_u, half_i = N_USERS // 2, N_ITEMS // 2
    pairs = []
    for user in range(N_USERS):
        block = 0 if user < half_u else half_i
        items = rng.choice(half_i, size=PER_USER, replace=False) + block
        pairs.extend((user, int(item)) for item in sorted(items))
    return pairs


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the ``checker`` dataset (one ``.inter`` file, RecBole splits it)."""
    root = tmp_path_factory.mktemp("data")
    write_inter(root / "checker" / "checker.inter", checkerboard_pairs())
    return root


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run inside a temporary folder so RecBole's ``log/`` and ``saved/`` stay out of the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture()
def tiny_config(data_root: Path, workdir: Path) -> dict:
    """Fast settings for runs on the ``checker`` dataset."""
    return {
        "data_path": str(data_root),
        "checkpoint_dir": str(workdir / "saved"),
        "epochs": 1,
        "train_batch_size": 64,
        "eval_batch_size": 256,
        "embedding_size": 16,
        "show_progress": False,
        "state": "WARNING",
        "seed": 7,
    }
