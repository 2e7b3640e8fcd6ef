"""Checks on a dataset's splits and atomic files, cheap enough to run before every run.

Cold-start rows. A validation or test user with no training rows, or an item that occurs in no
training row, still gets an id in RecBole's benchmark mode (ids are remapped over all three
files), so it is scored with an embedding no positive pair ever trained. The policy is
RecBole's: such rows are **kept** and count in every metric, which is what published numbers on
fixed splits do. :func:`cold_start_counts` measures them, the importer reports them and records
them in the dataset YAML, the run prints :meth:`ColdStart.line` at its start, and
``recbole-spec import ... --cold-start=drop`` writes a split without them.

Atomic files. An imported dataset's ``.inter`` files may have been edited by hand since the
import; :func:`check_atomic_files` finds the usual damage (a missing split file, a broken or
repeated header, a line with the wrong number of columns) in one pass over the bytes, so the run
stops with the file and line instead of a pandas traceback halfway through loading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from recbole_spec.validation import ConfigError

COLD_START_POLICIES = ("keep", "drop")
"""``keep``: RecBole's behaviour (cold rows are evaluated); ``drop``: the importer removes them."""

FEATURE_TYPES = ("token", "token_seq", "float", "float_seq")
"""RecBole's atomic-file column types (``name:type`` in the header)."""


@dataclass(frozen=True)
class SplitColdStart:
    """Cold-start rows of one evaluation split, relative to the training split.

    Attributes:
        users: Distinct users of the split with no training row.
        user_rows: Rows of those users.
        items: Distinct items of the split that occur in no training row.
        item_rows: Rows of those items.
        rows: Rows of the split that have a cold user or a cold item (or both).
        total_rows: All rows of the split.
    """

    users: int
    user_rows: int
    items: int
    item_rows: int
    rows: int
    total_rows: int

    def describe(self) -> str:
        """E.g. ``3 users without train rows (5 rows), 2 items never in train (2 rows)``."""
        if not self.rows:
            return "none"
        parts = []
        if self.users:
            rows = _n(self.user_rows, "row")
            parts.append(f"{_n(self.users, 'user')} without train rows ({rows})")
        if self.items:
            parts.append(f"{_n(self.items, 'item')} never in train ({_n(self.item_rows, 'row')})")
        return ", ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class ColdStart:
    """Cold-start rows of the validation and test splits.

    Attributes:
        valid: Counts for the validation split.
        test: Counts for the test split.
        policy: ``keep`` (RecBole's behaviour) or ``drop`` (removed at import).
    """

    valid: SplitColdStart
    test: SplitColdStart
    policy: str = "keep"

    @property
    def any(self) -> bool:
        """Whether any validation or test row has a cold user or item."""
        return bool(self.valid.rows or self.test.rows)

    def line(self, dataset: str | None = None, imported: bool = True) -> str:
        """One line for the console and the log, stating the counts and the policy.

        Args:
            dataset: name shown in the line.
            imported: whether the split came from ``recbole-spec import`` (which can drop the
                rows); RecBole's own splits (ml-100k) get no such hint.
        """
        name = f" ({dataset})" if dataset else ""
        if not self.any:
            dropped = " after dropping them at import" if self.policy == "drop" else ""
            return f"cold start{name}: none{dropped}; every valid/test user and item has train rows"
        hint = "; `recbole-spec import ... --cold-start=drop` removes them" if imported else ""
        return (
            f"cold start{name}: test {self.test.describe()}; valid {self.valid.describe()}; "
            f"kept and scored with untrained embeddings (RecBole's behaviour{hint})"
        )

    def as_record(self) -> dict[str, Any]:
        """Plain dict for the dataset YAML's import record."""
        record: dict[str, Any] = {"policy": self.policy}
        for split in ("valid", "test"):
            counts = getattr(self, split)
            record[split] = {
                "users": counts.users,
                "user_rows": counts.user_rows,
                "items": counts.items,
                "item_rows": counts.item_rows,
                "rows": counts.rows,
            }
        return record


def cold_mask(
    train_users: np.ndarray, train_items: np.ndarray, users: np.ndarray, items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``(users, items)``: user not in train, item not in train."""
    return ~np.isin(users, train_users), ~np.isin(items, train_items)


def split_cold_start(
    train_users: np.ndarray, train_items: np.ndarray, users: np.ndarray, items: np.ndarray
) -> SplitColdStart:
    """Count the cold-start rows of one split given as aligned id arrays.

    Shapes:
        ``train_users``, ``train_items``: (n_train,); ``users``, ``items``: (n,).
    """
    cold_user, cold_item = cold_mask(train_users, train_items, users, items)
    return SplitColdStart(
        users=int(np.unique(users[cold_user]).shape[0]),
        user_rows=int(cold_user.sum()),
        items=int(np.unique(items[cold_item]).shape[0]),
        item_rows=int(cold_item.sum()),
        rows=int((cold_user | cold_item).sum()),
        total_rows=int(users.shape[0]),
    )


def _dataset_of(split: Any) -> Any:
    """A RecBole ``Dataset`` itself, or the one a dataloader wraps (``_dataset``/``dataset``)."""
    for attr in ("_dataset", "dataset"):
        inner = getattr(split, attr, None)
        if inner is not None and hasattr(inner, "inter_feat"):
            return inner
    return split


def _ids(split: Any, field: str) -> np.ndarray:
    """The ``field`` column of a RecBole dataset, or of a dataloader's dataset, as numpy."""
    if split is None:
        return np.zeros(0, dtype=np.int64)
    column = _dataset_of(split).inter_feat[field]
    return column.numpy() if hasattr(column, "numpy") else np.asarray(column)


def cold_start_counts(train: Any, valid: Any, test: Any, policy: str | None = None) -> ColdStart:
    """Count the validation and test rows whose user or item has no training row.

    Args:
        train: RecBole's training split: a ``Dataset`` or a dataloader (its ``_dataset``).
        valid: The validation split, same kinds (None counts as empty).
        test: The test split, same kinds (None counts as empty).
        policy: The import's cold-start policy (its ``spec_import.cold_start.policy``);
            default ``keep``.

    Returns:
        The counts; :meth:`ColdStart.line` is the run's one-line report.
    """
    dataset = _dataset_of(train)
    uid, iid = dataset.uid_field, dataset.iid_field
    train_u, train_i = _ids(train, uid), _ids(train, iid)

    def count(split: Any) -> SplitColdStart:
        return split_cold_start(train_u, train_i, _ids(split, uid), _ids(split, iid))

    return ColdStart(count(valid), count(test), policy or "keep")


def cold_start_line(config: Any, train: Any, valid: Any, test: Any) -> str:
    """The line a run prints at its start: cold-start counts and the policy in force.

    Args:
        config: the run's config (reads ``dataset`` and the import record ``spec_import``).
        train: RecBole's training dataloader or dataset.
        valid: the validation dataloader or dataset.
        test: the test dataloader or dataset.
    """
    record = _get(config, "spec_import")
    cold = record.get("cold_start") if isinstance(record, Mapping) else None
    policy = cold.get("policy") if isinstance(cold, Mapping) else None
    counts = cold_start_counts(train, valid, test, policy)
    return counts.line(_get(config, "dataset"), imported=isinstance(record, Mapping))


def _get(config: Any, key: str) -> Any:
    try:
        return config[key]
    except (KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- atomic files


class AtomicFileError(ConfigError):
    """An atomic file is missing or damaged; the message names the file, the line and the fix."""


def _fix_hint(name: str) -> str:
    return f"restore the file or re-import the dataset (`recbole-spec import {name} ... --force`)"


def check_atomic_files(
    folder: str | Path,
    name: str,
    splits: Sequence[str] | None = None,
    separator: str = "\t",
    needed: Sequence[str] = (),
) -> list[Path]:
    """Check the ``.inter`` files RecBole will read for ``name`` in ``folder``.

    One pass over each file's bytes: the header must be ``field:type`` columns with RecBole's
    types and no repeated field, hold the ``needed`` fields, not occur again further down
    (two files pasted together), and every non-blank line must have the header's number of
    columns.

    Args:
        folder: the dataset folder (``<data_path>/<name>``).
        name: dataset name (file prefix).
        splits: ``benchmark_filename`` (e.g. ``[train, valid, test]``), or None for a single
            ``<name>.inter``.
        separator: RecBole's ``field_separator``.
        needed: fields that must be in every header (``USER_ID_FIELD``, ``ITEM_ID_FIELD``).

    Returns:
        The checked files.

    Raises:
        AtomicFileError: naming the file (and line) and the fix.
    """
    folder = Path(folder)
    names = [f"{name}.{s}.inter" for s in splits] if splits else [f"{name}.inter"]
    checked = []
    for filename in names:
        path = folder / filename
        if not path.is_file():
            raise AtomicFileError(
                f"{path}: missing (the dataset's settings list "
                f"{', '.join(names)}); {_fix_hint(name)}"
            )
        stat = path.stat()
        _check_inter_file_cached(
            str(path), stat.st_size, stat.st_mtime_ns, name, separator, tuple(needed)
        )
        checked.append(path)
    return checked


@lru_cache(maxsize=64)
def _check_inter_file_cached(
    path: str, size: int, mtime_ns: int, name: str, separator: str, needed: tuple[str, ...]
) -> None:
    """:func:`_check_inter_file` once per file version (a tuning search builds many configs)."""
    _check_inter_file(Path(path), name, separator.encode(), needed)


def _check_inter_file(path: Path, name: str, sep: bytes, needed: Sequence[str]) -> None:
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    header = head.rstrip(b"\r").decode("utf-8", "replace")
    fields = header.split(sep.decode())
    fail = _failer(path, name)
    names = [f.split(":", 1)[0] for f in fields]
    for field in fields:
        fname, colon, ftype = field.partition(":")
        if not colon or not fname or ftype not in FEATURE_TYPES:
            raise fail(
                1,
                f"header column {field!r} is not `name:type` with type one of "
                f"{', '.join(FEATURE_TYPES)} (header {header!r})",
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise fail(1, f"column {repeated[0]!r} appears twice in the header {header!r}")
    missing = [f for f in needed if f not in names]
    if missing:
        raise fail(1, f"the header {header!r} lacks the column {missing[0]!r}")
    again = body.find(head + b"\n") if head else -1
    if again == 0 or (again > 0 and body[again - 1 : again] == b"\n"):
        raise fail(body.count(b"\n", 0, again) + 2, f"the header {header!r} is repeated")
    _check_columns(body, sep, len(fields), fail)


def _check_columns(body: bytes, sep: bytes, n_fields: int, fail: Any) -> None:
    """Every non-blank line has ``n_fields - 1`` separators (fast path: one count per file)."""
    if not body.strip():
        raise fail(2, "no interaction rows after the header")
    if len(sep) != 1:
        return
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if b"\n\n" not in body and body.count(sep) == lines * (n_fields - 1):
        return
    buf = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.append(newlines, len(body))
    seps = np.bincount(
        np.searchsorted(newlines, np.flatnonzero(buf == sep[0])), minlength=starts.shape[0]
    )
    blank = np.isin(buf, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    filled = np.bincount(
        np.searchsorted(newlines, np.flatnonzero(~blank)), minlength=starts.shape[0]
    )
    bad = np.flatnonzero((filled > 0) & (seps != n_fields - 1))
    if bad.shape[0]:
        index = int(bad[0])
        text = body[starts[index] : ends[index]].rstrip(b"\r").decode("utf-8", "replace")
        raise fail(
            index + 2,
            f"{seps[index] + 1} columns in {text[:60]!r}, the header has {n_fields}",
        )


def _failer(path: Path, name: str) -> Any:
    def fail(line: int, problem: str) -> AtomicFileError:
        return AtomicFileError(f"{path}:{line}: {problem}; {_fix_hint(name)}")

    return fail
