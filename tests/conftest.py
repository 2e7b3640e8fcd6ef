"""Shared fixtures: tiny atomic datasets written to a temporary folder."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
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


def ray_env(base: Path) -> dict[str, str]:
    """Ray settings that write under ``base`` only (session folders, results, no auth file)."""
    env = {
        "RAY_TMPDIR": str(base / "ray"),  # session folders (Ray's default: /tmp/ray)
        # current Ray turns token auth on for local clusters and saves a new token to
        # ~/.ray/auth_token unless one is given; give it one through the environment.
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
    }
    try:
        ray_version = tuple(int(p) for p in metadata.version("ray").split(".")[:2])
    except metadata.PackageNotFoundError:
        ray_version = (0, 0)
    if ray_version < (2, 7):
        # Ray 2.6 stages results in ~/ray_results (current Ray refuses this variable and
        # writes only to storage_path)
        env["RAY_AIR_LOCAL_CACHE_DIR"] = str(base / "ray_results")
    return env


RAY_SOCKET_ROOM = 66
"""Bytes Ray appends to its temp dir for its longest socket path (``/session_<date>_<time>_<pid>
/sockets/plasma_store``: 61 with a 4-digit pid, 64 with a 7-digit one); the OS allows 107."""


@pytest.fixture(scope="session")
def ray_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A short folder for Ray's session folders: the basetemp, or a fresh one if that is deep.

    A fresh folder (under the system temp) is removed at the end of the session.
    """
    base = tmp_path_factory.getbasetemp()
    if len(str(base)) + len("/ray/s00") + RAY_SOCKET_ROOM <= 107:
        yield base
        return
    short = Path(tempfile.mkdtemp(prefix="rs-"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def isolated_outputs(tmp_path_factory: pytest.TempPathFactory, ray_root: Path) -> Iterator[Path]:
    """Issue 12.9: the suite writes only under pytest's temporary folders.

    Ray's session folders (``ray_root/ray``), Tune's default results folder and RecBole's
    ``log/`` and ``log_tensorboard/`` (written relative to the working directory) go under the
    session's temporary folder.
    """
    base = tmp_path_factory.getbasetemp()
    mp = pytest.MonkeyPatch()
    for key, value in ray_env(base).items():
        mp.setenv(key, value)
    mp.setenv("RAY_TMPDIR", str(ray_root / "ray"))
    cwd = base / "cwd"
    cwd.mkdir(exist_ok=True)
    mp.chdir(cwd)
    try:
        yield base
    finally:
        mp.undo()


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


def tiny_settings(data_root: Path, folder: Path, **extra: object) -> dict:
    """Fast settings for runs on the ``checker`` dataset, checkpoints under ``folder``."""
    return {
        "data_path": str(data_root),
        "checkpoint_dir": str(folder / "saved"),
        "train_batch_size": 64,
        "eval_batch_size": 256,
        "embedding_size": 16,
        "show_progress": False,
        "state": "WARNING",
        "seed": 7,
        **extra,
    }


@pytest.fixture()
def tiny_config(data_root: Path, workdir: Path) -> dict:
    """:func:`tiny_settings` for one epoch in the test's own temporary folder."""
    return tiny_settings(data_root, workdir, epochs=1)
