"""Convert the papers' fixed train/test splits into RecBole atomic files.

The published splits come as CSV (``user,item`` with a header, DirectSpec), LightGCN text (one
line per user ``u i1 i2 ...``) or plain TSV (``user<TAB>item``, no header). The importer validates
them (vectorised over the whole file, errors name the file, the 1-based line and the fix), applies
the policies below and writes, under ``<out_root>/<name>/``::

    <name>.train.inter  <name>.valid.inter  <name>.test.inter  <name>.yaml

The ``.inter`` files are tab-separated with header ``user_id:token<TAB>item_id:token`` and keep the
ORIGINAL integer ids as tokens, so everything RecBole reports refers to the source ids. The YAML
holds the dataset-level RecBole settings (``benchmark_filename: [train, valid, test]`` etc.) and a
``spec_import`` record (source files with sha256, format, rows per split, rows dropped, protocol,
validation fraction, seed, date). Output is written to a temporary folder beside the destination
and renamed into place at the end, so a failed import leaves nothing behind.

Policies (also recorded in the YAML):

* Duplicates: a (user, item) pair repeated inside one file is kept once (first occurrence).
  CiteULike train loses 22 rows this way; the LightGCN Gowalla/Yelp2018 files have none.
* Overlap: a test pair that also occurs in train (or in the source's own valid file) is dropped
  from test, and a source-valid pair that occurs in train is dropped from valid. Such a pair is
  not a held-out interaction. Under RecBole's full-sort evaluation (history = used items minus the
  split's positives) it would stay unmasked and count as a free hit, whereas the official
  DirectSpec code masks every train item, which makes it an unreachable miss. Dropping it is the
  only choice without a spurious hit or miss. CiteULike: 11 test pairs dropped, no test user lost.
  Gowalla, Yelp2018 and ML-1M: none.
* Protocols. ``holdout`` (default): the validation split is carved from each user's TRAIN rows.
  Each user with n >= 2 train rows gives ``max(1, floor(fraction * n))`` rows, at most n - 1,
  which is how RecBole rounds its ``RS`` split. Users with fewer than 2 train rows keep everything.
  Rows are chosen with ``numpy.random.default_rng(seed)``, so the same files and seed give
  byte-identical ``.inter`` files. Test is untouched. If the source has its own valid file
  (ML-1M), that file is the validation split and nothing is carved. ``paper``: nothing is carved,
  ``valid.inter`` is an exact copy of the test rows (the official scripts select checkpoints on
  test), and a source valid file is ignored. RecBole still masks only the train items of each test
  user, because with valid == test the positives are removed from the history.
* Cold start: valid/test rows whose user has no train row, or whose item occurs in no train row,
  are counted (summary and YAML record ``cold_start``) and, by default, kept: RecBole's
  behaviour, under which they are scored with embeddings no positive pair trained.
  ``cold_start="drop"`` (``--cold-start=drop``) removes them from valid and test. The run prints
  the same counts at its start (:mod:`recbole_spec.data_checks`).
* Names: a name under which RecBole ships data or settings (``ml-100k``, ``sample``; see
  :func:`~recbole_spec.known_datasets.recbole_bundled_datasets`) is refused, because every run
  would use RecBole's copy. A name RecBole can download (``yelp``, ``ml-1m``) is accepted and
  the import wins (RecBole downloads only into an empty folder); the summary says so.
* Safety: an existing import is replaced only with ``overwrite`` (``--force``), and never a
  folder that holds no import record; free disk space is checked before writing, and a full disk
  or a concurrent import of the same name leaves the previous state untouched.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd
import yaml

from recbole_spec import paths
from recbole_spec.data_checks import COLD_START_POLICIES, ColdStart, cold_mask, split_cold_start
from recbole_spec.known_datasets import (
    KNOWN_DATASETS,
    SOURCE_ENV,
    MissingSourceError,
    UnknownDatasetError,
    recbole_bundled_datasets,
    recbole_downloadable_datasets,
    resolve_source,
)

__all__ = [
    "FORMATS",
    "PROTOCOLS",
    "ChecksumMismatchError",
    "DatasetExistsError",
    "DiskSpaceError",
    "ImportFormatError",
    "ImportReport",
    "MissingSourceError",
    "Pairs",
    "UnknownDatasetError",
    "add_import_parser",
    "detect_format",
    "import_known",
    "import_split",
    "read_pairs",
    "run_import_command",
]

PathLike = Union[str, "os.PathLike[str]"]

FORMATS = ("auto", "csv", "tsv", "lightgcn")
PROTOCOLS = ("holdout", "paper")
SPLITS = ("train", "valid", "test")
INTER_HEADER = ("user_id:token", "item_id:token")

_USER_HEADERS = {"user", "user_id", "userid", "uid", "u"}
_ITEM_HEADERS = {"item", "item_id", "itemid", "iid", "i"}
_MAX_DIGITS = 18
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NL, _CR, _SPACE, _TAB, _COMMA, _MINUS = 10, 13, 32, 9, 44, 45
_DIGITS_ONLY = bytes(b if 48 <= b <= 57 else _SPACE for b in range(256))
_ID_FIX = "ids must be non-negative integers; map string ids to integers before importing"
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
_FORMAT_NAMES = {"tsv": "TSV", "lightgcn": "LightGCN text", "csv": "CSV"}


class ImportFormatError(ValueError):
    """A source file is malformed; the message names the file, the 1-based line and the fix."""

    def __init__(self, path: PathLike, line: int | None, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}; fix: {fix}")


class ChecksumMismatchError(ImportFormatError):
    """A source file's sha256 differs from the published one."""

    def __init__(self, path: PathLike, expected: str, actual: str, origin: str | None) -> None:
        self.expected = expected
        self.actual = actual
        source = f" from {origin}" if origin else ""
        super().__init__(
            path,
            None,
            f"sha256 mismatch: expected {expected}, actual {actual}",
            f"re-obtain the original file{source}, or import your copy under a new name with "
            "--train/--test (no checksum is checked then)",
        )


class DatasetExistsError(FileExistsError):
    """The destination already holds an imported dataset and overwriting was not requested."""


class DiskSpaceError(OSError):
    """Not enough free space to write the import; nothing was written."""


@dataclass(frozen=True)
class Pairs:
    """Interaction rows of one split as two aligned int64 arrays (original ids, file order)."""

    users: np.ndarray
    items: np.ndarray

    def take(self, mask: np.ndarray) -> Pairs:
        """Return the rows selected by a boolean mask, in file order."""
        return Pairs(self.users[mask], self.items[mask])

    def __len__(self) -> int:
        return int(self.users.shape[0])


@dataclass(frozen=True)
class ImportReport:
    """What an import produced.

    Attributes:
        name: Dataset name (folder and file prefix).
        out_dir: Folder holding the atomic files and the YAML.
        protocol: ``holdout`` or ``paper``.
        fmt: Detected or given source format per source split.
        valid_source: ``carved`` (from train), ``file`` (source valid file) or ``test-copy``.
        valid_fraction: Fraction carved per user, or None when nothing was carved.
        seed: Seed of the carve-out generator.
        rows_read: Rows per source file as read (duplicates included).
        rows: Rows written per split.
        duplicates_dropped: Repeated pairs dropped within each source file.
        overlap_dropped: Pairs dropped from ``valid``/``test`` because an earlier split holds them.
        users: Distinct users over the written splits.
        items: Distinct items over the written splits.
        seconds: Wall time of the import.
        cold_start: Valid/test rows whose user or item has no train row (counted before the
            ``drop`` policy removes them), and the policy.
        notes: Lines the summary adds (e.g. a RecBole dataset of the same name).
    """

    name: str
    out_dir: Path
    protocol: str
    fmt: Mapping[str, str]
    valid_source: str
    valid_fraction: float | None
    seed: int
    rows_read: Mapping[str, int]
    rows: Mapping[str, int]
    duplicates_dropped: Mapping[str, int]
    overlap_dropped: Mapping[str, int]
    users: int
    items: int
    seconds: float
    cold_start: ColdStart | None = None
    notes: tuple[str, ...] = ()

    @property
    def yaml_path(self) -> Path:
        """Path of the dataset YAML written next to the atomic files."""
        return self.out_dir / f"{self.name}.yaml"

    def summary(self) -> str:
        """Return a short human-readable report (a few lines)."""
        rows = ", ".join(f"{s} {self.rows[s]:,}" for s in SPLITS)
        dups = ", ".join(f"{s} {n:,}" for s, n in self.duplicates_dropped.items())
        over = ", ".join(f"{s} {n:,}" for s, n in self.overlap_dropped.items())
        return "\n".join(
            [
                f"imported '{self.name}' into {self.out_dir} in {self.seconds:.2f} s",
                f"  protocol: {self.protocol} (valid split: {self.valid_source})",
                f"  rows: {rows} ({self.users:,} users, {self.items:,} items)",
                f"  duplicates dropped: {dups}; pairs already in an earlier split dropped: {over}",
                *([f"  {self._cold_line()}"] if self.cold_start is not None else []),
                f"  use it with RecBole data_path={self.out_dir.parent} dataset={self.name}",
                *(f"  note: {note}" for note in self.notes),
            ]
        )

    def _cold_line(self) -> str:
        cold = self.cold_start
        assert cold is not None
        counts = f"test {cold.test.describe()}; valid {cold.valid.describe()}"
        if not cold.any:
            return "cold start: none (every valid/test user and item has train rows)"
        if cold.policy == "drop":
            return f"cold start: {counts}; dropped (--cold-start=drop)"
        return (
            f"cold start: {counts}; kept, as RecBole does: they are scored with untrained "
            "embeddings (--cold-start=drop removes them)"
        )


# ----------------------------------------------------------------------------------- readers


def detect_format(path: PathLike, head: bytes | None = None) -> str:
    """Guess a file's format from its extension, else from its first line.

    ``.csv`` is CSV and ``.tsv`` is TSV; otherwise a first line holding a comma means CSV, a tab
    means TSV, anything else LightGCN text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".tsv":
        return "tsv"
    if head is None:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if b"," in first:
        return "csv"
    if b"\t" in first:
        return "tsv"
    return "lightgcn"


def read_pairs(path: PathLike, fmt: str = "auto") -> Pairs:
    """Read and validate one source file.

    Args:
        path: CSV, LightGCN text or TSV file.
        fmt: One of :data:`FORMATS`.

    Returns:
        The file's rows in file order (duplicates kept).

    Raises:
        ImportFormatError: the file is empty or malformed.
    """
    path = Path(path)
    data = path.read_bytes()
    return _parse(path, data, detect_format(path, data) if fmt == "auto" else fmt)


class _Body:
    """Bytes of a file's data lines with helpers to turn byte offsets into line numbers."""

    def __init__(self, path: Path, data: bytes, first_line: int) -> None:
        self.path = path
        self.data = data
        self.first_line = first_line
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.newlines = np.flatnonzero(self.buf == _NL)

    @property
    def n_lines(self) -> int:
        return int(self.newlines.shape[0]) + 1

    def line_index(self, positions: np.ndarray) -> np.ndarray:
        """0-based line index (within the body) of each byte offset."""
        return np.searchsorted(self.newlines, positions)

    def text(self, index: int) -> str:
        start = 0 if index == 0 else int(self.newlines[index - 1]) + 1
        end = int(self.newlines[index]) if index < len(self.newlines) else len(self.data)
        line = self.data[start:end].rstrip(b"\r").decode("utf-8", "replace")
        return line if len(line) <= 80 else line[:77] + "..."

    def fail(self, index: int, problem: str, fix: str) -> ImportFormatError:
        return ImportFormatError(
            self.path, self.first_line + index, f"{problem} in {self.text(index)!r}", fix
        )


def _parse(path: Path, data: bytes, fmt: str) -> Pairs:
    if fmt not in FORMATS or fmt == "auto":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS[1:])}")
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise ImportFormatError(
            path, 1, "empty file", "check that this is the right, complete file"
        )
    first_line = 1
    if fmt == "csv":
        data, first_line = _strip_csv_header(path, data)
    else:
        _refuse_header(path, data, fmt)
    body = _Body(path, data, first_line)
    sep = {"csv": _COMMA, "tsv": _TAB, "lightgcn": None}[fmt]
    starts, values = _tokens(body, sep)
    if starts.shape[0] == 0:
        raise ImportFormatError(
            path, first_line, "no interaction rows", "check that this is the right, complete file"
        )
    lines = body.line_index(starts)
    if sep is None:
        return _lightgcn_rows(values, lines)
    _check_two_columns(body, starts, lines, sep)
    return Pairs(values[0::2].copy(), values[1::2].copy())


def _strip_csv_header(path: Path, data: bytes) -> tuple[bytes, int]:
    """Check the CSV header line and return the data after it (with its first line number)."""
    head, _, rest = data.partition(b"\n")
    text = head.rstrip(b"\r").decode("utf-8", "replace")
    fields = [f.strip().lower() for f in text.split(",")]
    if all(f.isdigit() for f in fields):
        raise ImportFormatError(
            path,
            1,
            f"missing header: line {text!r} is data",
            "add the header line `user,item` (or use --format tsv for a header-less tab file)",
        )
    if len(fields) != 2 or fields[0] not in _USER_HEADERS or fields[1] not in _ITEM_HEADERS:
        raise ImportFormatError(
            path, 1, f"unexpected header {text!r}", "the first line must be `user,item`"
        )
    return rest, 2


def _refuse_header(path: Path, data: bytes, fmt: str) -> None:
    """TSV and LightGCN files have no header: name a header-like first line as such.

    A first line holding letters followed by a second line of plain integers is a header (a
    file whose every line holds letters has string ids instead, and gets the id message).
    """
    lines = data.split(b"\n", 2)
    first = lines[0].rstrip(b"\r")
    second = lines[1].rstrip(b"\r") if len(lines) > 1 else b""
    if not re.search(rb"[A-Za-z]", first):
        return
    if second.strip() and re.fullmatch(rb"[\d\s]+", second) is None:
        return
    text = first.decode("utf-8", "replace")
    raise ImportFormatError(
        path,
        1,
        f"{_FORMAT_NAMES[fmt]} files have no header, but line 1 {text[:60]!r} is one",
        "delete the first line, or pass a CSV file whose first line is `user,item`",
    )


def _tokens(body: _Body, sep: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the bytes and return each id's start offset and value."""
    buf = body.buf
    digit = (buf >= 48) & (buf <= 57)
    newline = buf == _NL
    crlf = (buf == _CR) & np.append(newline[1:], False)
    blank = (buf == _SPACE) | ((buf == _TAB) & (sep != _TAB))
    separator = buf == sep if sep is not None else np.zeros_like(digit)
    bad = np.flatnonzero(~(digit | newline | crlf | blank | separator))
    if bad.shape[0]:
        _raise_bad_byte(body, int(bad[0]), digit, sep)
    previous = np.concatenate(([False], digit[:-1]))
    following = np.concatenate((digit[1:], [False]))
    starts = np.flatnonzero(digit & ~previous)
    ends = np.flatnonzero(digit & ~following) + 1
    too_long = np.flatnonzero(ends - starts > _MAX_DIGITS)
    if too_long.shape[0]:
        index = int(body.line_index(starts[too_long[:1]])[0])
        raise body.fail(index, f"id longer than {_MAX_DIGITS} digits", _ID_FIX)
    text = body.data.translate(_DIGITS_ONLY).decode("ascii")
    values = np.fromstring(text, dtype=np.int64, sep=" ") if starts.shape[0] else starts
    if values.shape[0] != starts.shape[0]:
        raise ImportFormatError(body.path, None, "could not parse the ids", _ID_FIX)
    return starts, values.astype(np.int64, copy=False)


def _raise_bad_byte(body: _Body, pos: int, digit: np.ndarray, sep: int | None) -> None:
    index = int(body.line_index(np.array([pos]))[0])
    byte = int(body.buf[pos])
    if byte == _MINUS and pos + 1 < digit.shape[0] and digit[pos + 1]:
        raise body.fail(index, "negative id", _ID_FIX)
    if byte == _CR:
        raise body.fail(
            index, "carriage return not followed by a newline", "use LF or CRLF line endings"
        )
    line = body.text(index)
    fields = line.split(chr(sep)) if sep is not None else line.split()
    field = next((f.strip() for f in fields if f.strip() and not f.strip().isdigit()), line)
    raise body.fail(index, f"non-integer id {field!r}", _ID_FIX)


def _check_two_columns(body: _Body, starts: np.ndarray, lines: np.ndarray, sep: int) -> None:
    """Require exactly ``id<sep>id`` on every non-blank line."""
    seps = np.flatnonzero(body.buf == sep)
    sep_lines = body.line_index(seps)
    n_tok = np.bincount(lines, minlength=body.n_lines)
    n_sep = np.bincount(sep_lines, minlength=body.n_lines)
    bad = np.flatnonzero((n_tok + n_sep > 0) & ((n_tok != 2) | (n_sep != 1)))
    name = "a comma" if sep == _COMMA else "a tab"
    if bad.shape[0]:
        index = int(bad[0])
        raise body.fail(
            index,
            _column_problem(int(n_tok[index]), int(n_sep[index])),
            f"each line must be `user`, {name}, `item`",
        )
    misplaced = np.flatnonzero((seps < starts[0::2]) | (seps > starts[1::2]))
    if misplaced.shape[0]:
        raise body.fail(
            int(sep_lines[misplaced[0]]),
            "expected 2 columns (user, item)",
            f"each line must be `user`, {name}, `item`",
        )


def _column_problem(n_tokens: int, n_seps: int) -> str:
    if n_seps == 1 and n_tokens < 2:
        return "empty field"
    if n_seps == 1:
        return "blank inside a field"
    hint = " (a LightGCN `u i1 i2 ...` file? use --format lightgcn)" if n_seps == 0 else ""
    return f"expected 2 columns (user, item), found {n_seps + 1}{hint}"


def _lightgcn_rows(values: np.ndarray, lines: np.ndarray) -> Pairs:
    """Expand ``u i1 i2 ...`` lines: the first id of each line is the user, the rest its items."""
    first = np.flatnonzero(np.concatenate(([True], lines[1:] != lines[:-1])))
    per_line = np.diff(np.append(first, values.shape[0])) - 1
    is_user = np.zeros(values.shape[0], dtype=bool)
    is_user[first] = True
    return Pairs(np.repeat(values[first], per_line), values[~is_user])


# ------------------------------------------------------------------------------------ splits


@dataclass
class _Source:
    split: str
    path: Path
    fmt: str
    sha256: str
    pairs: Pairs


@dataclass
class _Splits:
    out: dict[str, Pairs]
    duplicates: dict[str, int]
    overlap: dict[str, int]
    valid_source: str
    cold_start: ColdStart | None = None


def _load_source(
    split: str, path: PathLike, fmt: str, expected: str | None, origin: str | None
) -> _Source:
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise ImportFormatError(
            path, None, f"the {split} file is a directory", f"pass the {split} file inside it"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{split} file not found: {path}")
    data = path.read_bytes()
    kind = next((k for magic, k in _COMPRESSED.items() if data.startswith(magic)), None)
    if kind is not None:
        raise ImportFormatError(
            path, None, f"a {kind}-compressed file", "decompress it first and pass the result"
        )
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected.lower():
        raise ChecksumMismatchError(path, expected.lower(), digest, origin)
    kind = detect_format(path, data) if fmt == "auto" else fmt
    return _Source(split, path, kind, digest, _parse(path, data, kind))


def _pair_keys(*parts: Pairs) -> list[np.ndarray]:
    """One int64 key per row, equal across splits exactly when (user, item) is equal."""
    users, user_uniques = pd.factorize(np.concatenate([p.users for p in parts]))
    items, item_uniques = pd.factorize(np.concatenate([p.items for p in parts]))
    keys = users.astype(np.int64) * max(len(item_uniques), 1) + items
    return np.split(keys, np.cumsum([len(p) for p in parts])[:-1])


def _drop_duplicates(pairs: Pairs) -> tuple[Pairs, int]:
    (keys,) = _pair_keys(pairs)
    keep = ~pd.Series(keys).duplicated(keep="first").to_numpy()
    return pairs.take(keep), int((~keep).sum())


def _drop_seen(pairs: Pairs, *earlier: Pairs) -> tuple[Pairs, int]:
    keys = _pair_keys(pairs, *earlier)
    seen = np.isin(keys[0], np.concatenate(keys[1:]))
    return pairs.take(~seen), int(seen.sum())


def _carve_mask(users: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick ``max(1, floor(fraction * n))`` random rows (at most n - 1) of each user with n >= 2."""
    codes, _ = pd.factorize(users)
    counts = np.bincount(codes)
    wanted = np.floor(counts * fraction + 1e-9).astype(np.int64)
    wanted = np.where(counts >= 2, np.clip(wanted, 1, counts - 1), 0)
    noise = np.random.default_rng(seed).random(users.shape[0])
    order = np.lexsort((noise, codes))
    group_start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(users.shape[0], dtype=np.int64)
    rank[order] = np.arange(users.shape[0]) - group_start[codes[order]]
    return rank < wanted[codes]


def _apply_cold_start(splits: _Splits, policy: str) -> _Splits:
    """Count valid/test rows with a user or item absent from train; drop them if asked."""
    train = splits.out["train"]

    def count(pairs: Pairs) -> Any:
        return split_cold_start(train.users, train.items, pairs.users, pairs.items)

    splits.cold_start = ColdStart(count(splits.out["valid"]), count(splits.out["test"]), policy)
    if policy == "drop":
        for split in ("valid", "test"):
            pairs = splits.out[split]
            cold_user, cold_item = cold_mask(train.users, train.items, pairs.users, pairs.items)
            splits.out[split] = pairs.take(~(cold_user | cold_item))
    return splits


def _build_splits(
    sources: Mapping[str, _Source], protocol: str, fraction: float, seed: int
) -> _Splits:
    deduped: dict[str, Pairs] = {}
    duplicates: dict[str, int] = {}
    for split, source in sources.items():
        deduped[split], duplicates[split] = _drop_duplicates(source.pairs)
    train, test = deduped["train"], deduped["test"]
    overlap = {"valid": 0, "test": 0}
    valid = deduped.get("valid") if protocol == "holdout" else None
    if valid is not None:
        valid, overlap["valid"] = _drop_seen(valid, train)
        test, overlap["test"] = _drop_seen(test, train, valid)
        return _Splits({"train": train, "valid": valid, "test": test}, duplicates, overlap, "file")
    test, overlap["test"] = _drop_seen(test, train)
    if protocol == "paper":
        return _Splits(
            {"train": train, "valid": test, "test": test}, duplicates, overlap, "test-copy"
        )
    carved = _carve_mask(train.users, fraction, seed)
    out = {"train": train.take(~carved), "valid": train.take(carved), "test": test}
    return _Splits(out, duplicates, overlap, "carved")


# ------------------------------------------------------------------------------------ output


def _write_inter(path: Path, pairs: Pairs) -> None:
    frame = pd.DataFrame({INTER_HEADER[0]: pairs.users, INTER_HEADER[1]: pairs.items})
    frame.to_csv(path, sep="\t", index=False, lineterminator="\n")


_PAPER_WARNING = """\
# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
# PAPER PROTOCOL: the VALID split is an exact COPY of the TEST split.
# Early stopping and best-checkpoint selection look at TEST data, as the official DirectSpec /
# LightGCN scripts do. Results are comparable with the papers but optimistically biased.
# For an honest validation split re-import with `--protocol holdout --force`.
# (RecBole's full-sort evaluation still masks only each user's train items: with valid == test
# the positives are removed from the history, so the scores themselves are not affected.)
# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""

_POLICY = (
    "duplicate (user, item) rows dropped within each file, first occurrence kept; test pairs "
    "also in train (or in the source valid file) dropped from test; source-valid pairs also in "
    "train dropped from valid"
)


def _yaml_text(
    report: ImportReport, sources: Mapping[str, _Source], provenance: Mapping[str, Any]
) -> str:
    record: dict[str, Any] = {
        "name": report.name,
        **provenance,
        "source": str(sources["train"].path.parent),
        "format": dict(report.fmt),
        "files": {
            s: {"path": str(src.path), "sha256": src.sha256, "rows": report.rows_read[s]}
            for s, src in sources.items()
        },
        "protocol": report.protocol,
        "valid_source": report.valid_source,
        "valid_fraction": report.valid_fraction,
        "seed": report.seed,
        "rows": dict(report.rows),
        "users": report.users,
        "items": report.items,
        "duplicates_dropped": dict(report.duplicates_dropped),
        "overlap_dropped": dict(report.overlap_dropped),
        **({"cold_start": report.cold_start.as_record()} if report.cold_start else {}),
        "policy": _POLICY,
        **(
            {"ignored_files": ["valid"]}
            if "valid" in sources and report.valid_source != "file"
            else {}
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": "recbole_spec.data_import",
    }
    settings = {
        "benchmark_filename": list(SPLITS),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "field_separator": "\t",
        "load_col": {"inter": ["user_id", "item_id"]},
        "spec_protocol": report.protocol,
    }
    header = (
        f"# Dataset '{report.name}' written by `recbole-spec import`; the files next to this YAML\n"
        "# are RecBole atomic files holding the original integer ids as tokens.\n"
        f"# Valid split: {_VALID_NOTE[report.valid_source]}\n"
    )
    warning = _PAPER_WARNING if report.protocol == "paper" else ""
    body = yaml.safe_dump(settings, sort_keys=False, default_flow_style=None, width=100)
    audit = yaml.safe_dump(
        {"spec_import": record}, sort_keys=False, default_flow_style=False, width=100
    )
    return header + warning + body + audit


_VALID_NOTE = {
    "carved": "carved at random from each user's train rows (holdout protocol).",
    "file": "the source's own valid file (holdout protocol; nothing carved).",
    "test-copy": "an exact copy of the test split (paper protocol).",
}


def _write_dataset(folder: Path, name: str, splits: _Splits, yaml_text: str) -> None:
    for split in SPLITS:
        _write_inter(folder / f"{name}.{split}.inter", splits.out[split])
    (folder / f"{name}.yaml").write_text(yaml_text, encoding="utf-8")


def _publish(folder: Path, dest: Path, overwrite: bool) -> None:
    """Move a finished temporary folder to ``dest``, replacing an old import only if allowed.

    ``dest`` was checked before parsing; if it exists now without ``overwrite``, another import
    of the same name finished meanwhile, and that one is kept.
    """
    raced = DatasetExistsError(
        f"another import of the same name finished first at {dest}; this one was discarded "
        "(re-run with --force to replace it)"
    )
    if not dest.exists():
        try:
            os.replace(folder, dest)
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise raced from None
        return
    if not overwrite:
        raise raced
    retired = dest.with_name(f".{dest.name}.replaced-{uuid.uuid4().hex[:8]}")
    os.replace(dest, retired)
    try:
        os.replace(folder, dest)
    except BaseException:
        os.replace(retired, dest)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _exists_error(dest: Path) -> DatasetExistsError:
    return DatasetExistsError(
        f"dataset already imported at {dest}; pass --force (overwrite=True) to replace it"
    )


# -------------------------------------------------------------------------------- public API


def _check_arguments(
    name: str, fmt: str, protocol: str, valid_fraction: float, cold_start: str = "keep"
) -> None:
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid dataset name {name!r}: use letters, digits, '.', '_', '-'")
    if name in recbole_bundled_datasets():
        raise ValueError(
            f"'{name}' is a dataset name RecBole reserves (it ships its own {name} data or "
            f"settings, which every run with --dataset={name} would use instead of this "
            f"import); import under another name, e.g. '{name}-mine'"
        )
    if cold_start not in COLD_START_POLICIES:
        raise ValueError(
            f"unknown cold-start policy {cold_start!r}; use one of {', '.join(COLD_START_POLICIES)}"
        )
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie strictly between 0 and 1, got {valid_fraction}")


def _run_import(
    files: Mapping[str, PathLike],
    name: str,
    out_root: PathLike | None,
    *,
    fmt: str,
    protocol: str,
    valid_fraction: float,
    seed: int,
    expected_sha256: Mapping[str, str] | None,
    overwrite: bool,
    origin: str | None = None,
    provenance: Mapping[str, Any] | None = None,
    cold_start: str = "keep",
) -> ImportReport:
    started = time.perf_counter()
    _check_arguments(name, fmt, protocol, valid_fraction, cold_start)
    root = Path(out_root).expanduser().resolve() if out_root is not None else paths.data_home()
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(
            f"the output root {root} is a file, not a folder; pass --out=<folder> (or set "
            f"{paths.DATA_HOME_ENV} to a folder)"
        )
    dest = root / name
    _check_destination(dest, name, overwrite)
    expected = expected_sha256 or {}
    sources = {s: _load_source(s, p, fmt, expected.get(s), origin) for s, p in files.items()}
    splits = _apply_cold_start(_build_splits(sources, protocol, valid_fraction, seed), cold_start)
    _check_not_empty(splits, cold_start)
    report = _make_report(name, dest, protocol, sources, splits, valid_fraction, seed, started)
    report = replace(report, notes=_notes(name, dest))
    text = _yaml_text(report, sources, provenance or {})
    root.mkdir(parents=True, exist_ok=True)
    _check_free_space(root, splits, len(text))
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.importing-", dir=root))
    try:
        os.chmod(tmp, 0o755)
        _write_dataset(tmp, name, splits, text)
        _publish(tmp, dest, overwrite)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskSpaceError(
                err.errno,
                f"the disk under {root} filled up while writing the import; nothing was "
                "written (the partial files were removed); free some space or pass "
                "--out=<folder on another disk>",
            ) from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return replace(report, seconds=time.perf_counter() - started)


def _check_not_empty(splits: _Splits, cold_start: str) -> None:
    """RecBole cannot train or evaluate on an empty split: say why one is empty instead."""
    why = {
        "train": "the train file has no rows left",
        "valid": "no user has 2 or more train rows to carve from (try a source valid file)",
        "test": "every test row is also a train row",
    }
    if cold_start == "drop":
        why["test"] += " or has a user or item without train rows (--cold-start=drop)"
        why["valid"] += " or every valid row was cold (--cold-start=drop)"
    for split in SPLITS:
        if not len(splits.out[split]):
            raise ValueError(f"the {split} split would be empty: {why[split]}; nothing was written")


def _check_destination(dest: Path, name: str, overwrite: bool) -> None:
    """Refuse an existing destination, and never let ``--force`` replace a non-import."""
    if not dest.exists() and not dest.is_symlink():
        return
    if not overwrite:
        raise _exists_error(dest)
    record = dest / f"{name}.yaml"
    try:
        is_import = dest.is_dir() and "spec_import" in (
            yaml.safe_load(record.read_text(encoding="utf-8")) or {}
        )
    except (OSError, yaml.YAMLError, TypeError):
        is_import = False
    if not is_import:
        raise DatasetExistsError(
            f"refusing to replace {dest}: it is not a recbole-spec import (no {record.name} "
            "with an import record), so --force could destroy your data; move it away or "
            "import under another name"
        )


def _notes(name: str, dest: Path) -> tuple[str, ...]:
    """What the user should know about where runs will find this import."""
    notes = []
    if name in recbole_downloadable_datasets():
        notes.append(
            f"RecBole also knows a downloadable '{name}'; this import wins: runs with "
            f"--dataset={name} read these files, and RecBole downloads only into an empty folder"
        )
    local = Path("dataset").resolve() / name
    if local != dest and local.is_dir() and any(local.glob(f"{name}*.inter")):
        notes.append(
            f"{local} also holds atomic files for '{name}' and is searched first: runs in this "
            f"folder use that copy unless you pass --data_path={dest.parent}"
        )
    return tuple(notes)


def _check_free_space(root: Path, splits: _Splits, extra: int) -> None:
    """Fail before writing anything when the import clearly cannot fit on the disk."""
    needed = extra
    for pairs in splits.out.values():
        if len(pairs):
            digits = len(str(int(pairs.users.max()))) + len(str(int(pairs.items.max())))
            needed += len(pairs) * (digits + 2) + 64
    free = shutil.disk_usage(root).free
    if free < needed * 1.1 + (1 << 20):
        raise DiskSpaceError(
            errno.ENOSPC,
            f"not enough free disk space under {root}: the import needs about "
            f"{needed / 1e6:.1f} MB and {free / 1e6:.1f} MB are free; nothing was written; free "
            "some space or pass --out=<folder on another disk>",
        )


def _make_report(
    name: str,
    dest: Path,
    protocol: str,
    sources: Mapping[str, _Source],
    splits: _Splits,
    valid_fraction: float,
    seed: int,
    started: float,
) -> ImportReport:
    written = list(splits.out.values())
    return ImportReport(
        name=name,
        out_dir=dest,
        protocol=protocol,
        fmt={s: src.fmt for s, src in sources.items()},
        valid_source=splits.valid_source,
        valid_fraction=valid_fraction if splits.valid_source == "carved" else None,
        seed=seed,
        rows_read={s: len(src.pairs) for s, src in sources.items()},
        rows={s: len(splits.out[s]) for s in SPLITS},
        duplicates_dropped=splits.duplicates,
        overlap_dropped=splits.overlap,
        users=int(np.unique(np.concatenate([p.users for p in written])).shape[0]),
        items=int(np.unique(np.concatenate([p.items for p in written])).shape[0]),
        seconds=time.perf_counter() - started,
        cold_start=splits.cold_start,
    )


def import_split(
    train: PathLike,
    test: PathLike,
    name: str,
    out_root: PathLike | None,
    *,
    valid: PathLike | None = None,
    fmt: str = "auto",
    protocol: str = "holdout",
    valid_fraction: float = 0.1,
    seed: int = 2020,
    expected_sha256: Mapping[str, str] | None = None,
    overwrite: bool = False,
    cold_start: str = "keep",
) -> ImportReport:
    """Import one fixed train/test split (optionally with a valid file) as a RecBole dataset.

    Args:
        train: Train file.
        test: Test file.
        name: Dataset name; output goes to ``<out_root>/<name>/``.
        out_root: RecBole ``data_path`` to write under; None means :func:`paths.data_home`.
        valid: Optional source valid file, used as the valid split under ``holdout``.
        fmt: ``auto``, ``csv``, ``tsv`` or ``lightgcn`` (applies to every file).
        protocol: ``holdout`` (carve valid from train) or ``paper`` (valid = copy of test).
        valid_fraction: Share of each user's train rows carved out under ``holdout``.
        seed: Seed of the carve-out generator.
        expected_sha256: Split name to expected sha256; a mismatch aborts the import.
        overwrite: Replace an existing import of the same name (never a folder that is not
            an import).
        cold_start: ``keep`` valid/test rows whose user or item has no train row (RecBole's
            behaviour, the default) or ``drop`` them; counted and recorded either way.

    Returns:
        The counts of what was written.

    Raises:
        ImportFormatError: a file is empty, malformed or fails its checksum.
        DatasetExistsError: the dataset exists and ``overwrite`` is False, or the folder is not
            an import.
        DiskSpaceError: the import does not fit on the disk (nothing is written).
        FileNotFoundError: a source file is missing.
        ValueError: a bad argument, or a name RecBole reserves (``ml-100k``).
    """
    files = {"train": train, "test": test}
    if valid is not None:
        files["valid"] = valid
    return _run_import(
        files,
        name,
        out_root,
        fmt=fmt,
        protocol=protocol,
        valid_fraction=valid_fraction,
        seed=seed,
        expected_sha256=expected_sha256,
        overwrite=overwrite,
        cold_start=cold_start,
    )


def import_known(
    name: str, source: PathLike | None = None, out_root: PathLike | None = None, **kw: Any
) -> ImportReport:
    """Import a dataset of :data:`KNOWN_DATASETS`, verifying the published checksums.

    Args:
        name: Registered name (``citeulike``, ``gowalla``, ``yelp2018``, ``ml-1m``).
        source: The dataset's folder or a folder containing it; defaults to
            ``$RECBOLE_SPEC_SOURCE``.
        out_root: RecBole ``data_path`` to write under; None means :func:`paths.data_home`.
        **kw: ``protocol``, ``valid_fraction``, ``seed``, ``overwrite``, ``cold_start`` as in
            :func:`import_split`.

    Returns:
        The counts of what was written.

    Raises:
        UnknownDatasetError: ``name`` is not registered.
        MissingSourceError: the files were not found; the message says where to put them.
    """
    layout, folder = resolve_source(name, source)
    files = {split: folder / f.filename for split, f in layout.files.items()}
    options: dict[str, Any] = {
        "protocol": "holdout",
        "valid_fraction": 0.1,
        "seed": 2020,
        "overwrite": False,
        "cold_start": "keep",
    }
    unknown = set(kw) - set(options)
    if unknown:
        raise TypeError(f"import_known() got unexpected arguments: {', '.join(sorted(unknown))}")
    options.update(kw)
    provenance = {"known_dataset": name, "layout": layout.folder, "origin": layout.origin}
    return _run_import(
        files,
        name,
        out_root,
        fmt=layout.fmt,
        expected_sha256=layout.sha256(),
        origin=layout.origin,
        provenance=provenance,
        **options,
    )


# ------------------------------------------------------------------------------------- CLI


def add_import_parser(subparsers: Any) -> None:
    """Register the ``import`` subcommand on an ``argparse`` subparsers object.

    The parser's ``func`` default takes the parsed namespace and returns an exit code.
    """
    known = ", ".join(sorted(KNOWN_DATASETS))
    parser = subparsers.add_parser(
        "import",
        help="convert a fixed train/test split into RecBole atomic files",
        description=(
            f"Import a known dataset ({known}) from its source folder, or any split given with "
            "--train/--test[/--valid]. Nothing is downloaded."
        ),
    )
    parser.add_argument("name", help=f"known dataset ({known}) or a new name with --train/--test")
    parser.add_argument("--source", help=f"dataset folder or its parent (default ${SOURCE_ENV})")
    parser.add_argument("--train", help="train file of a custom split")
    parser.add_argument("--test", help="test file of a custom split")
    parser.add_argument("--valid", help="optional valid file of a custom split")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="auto",
        help="format of custom split files (default: auto)",
    )
    parser.add_argument(
        "--out",
        help=f"output root, RecBole's data_path (default ${paths.DATA_HOME_ENV} or ~/.cache/...)",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="holdout",
        help="holdout: carve valid from train; paper: valid = copy of test",
    )
    parser.add_argument(
        "--valid-fraction",
        type=float,
        default=0.1,
        help="share of each user's train rows carved out (holdout; default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=2020, help="carve-out seed (default 2020)")
    parser.add_argument(
        "--cold-start",
        dest="cold_start",
        choices=COLD_START_POLICIES,
        default="keep",
        help="valid/test rows whose user or item has no train row: keep (RecBole's behaviour, "
        "default; they are scored with untrained embeddings) or drop; counted either way",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing import")
    parser.set_defaults(func=run_import_command)


def run_import_command(args: argparse.Namespace) -> int:
    """Run ``import`` from parsed arguments: print a report and return 0, or an error line and 2."""
    try:
        report = _import_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"recbole-spec import: error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _import_from_args(args: argparse.Namespace) -> ImportReport:
    options = {
        "protocol": args.protocol,
        "valid_fraction": args.valid_fraction,
        "seed": args.seed,
        "overwrite": args.force,
        "cold_start": getattr(args, "cold_start", "keep"),
    }
    if args.train or args.test or args.valid:
        if args.source:
            raise ValueError("--source is for known datasets; a custom split takes --train/--test")
        if not (args.train and args.test):
            raise ValueError("a custom split needs both --train and --test")
        return import_split(
            args.train, args.test, args.name, args.out, valid=args.valid, fmt=args.fmt, **options
        )
    if args.name not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        raise UnknownDatasetError(
            f"unknown dataset '{args.name}' (known: {known}); to import your own split give "
            "--train and --test"
        )
    return import_known(args.name, source=args.source, out_root=args.out, **options)
