"""Read the papers' split files: format detection, header checks and the two fast readers.

CSV and TSV files are read by ``pandas.read_csv`` (C engine, int64 columns, no quoting) and
LightGCN text (``u i1 i2 ...``, a ragged line per user, which ``read_csv`` cannot take) by one
``numpy.fromstring`` pass. Both run only after cheap whole-file checks (only digits, blanks,
separators and newlines; a CR only before an LF; no id over 18 digits) and their result is checked
again (exactly one separator per row). A file that fails any check is read once more by the exact
line-by-line reader of :mod:`.lines`, which names the first bad line or, for a valid file the fast
path could not take, returns the same rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recbole_spec.data_import.errors import ChecksumMismatchError, ImportFormatError, PathLike
from recbole_spec.data_import.lines import MAX_DIGITS, SEPARATORS, scan_pairs

FORMATS = ("auto", "csv", "tsv", "lightgcn")

_USER_HEADERS = {"user", "user_id", "userid", "uid", "u"}
_ITEM_HEADERS = {"item", "item_id", "itemid", "iid", "i"}
_FORMAT_NAMES = {"tsv": "TSV", "lightgcn": "LightGCN text", "csv": "CSV"}
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
_PLAIN_BYTES = b"0123456789 \t\r\n"
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_LINE_TOKENS = bytes(b if 48 <= b <= 57 or b == 10 else 32 for b in range(256))


@dataclass(frozen=True)
class InteractionPairs:
    """Interaction rows of one split as two aligned int64 arrays (original ids, file order)."""

    users: np.ndarray
    items: np.ndarray

    def take(self, mask: np.ndarray) -> InteractionPairs:
        """Return the rows selected by a boolean mask, in file order."""
        return InteractionPairs(self.users[mask], self.items[mask])

    def __len__(self) -> int:
        return int(self.users.shape[0])


@dataclass
class LoadedSource:
    """One source file as read: its split, path, format, sha256 and rows."""

    split: str
    path: Path
    fmt: str
    sha256: str
    pairs: InteractionPairs


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


def read_pairs(path: PathLike, fmt: str = "auto") -> InteractionPairs:
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
    return parse(path, data, detect_format(path, data) if fmt == "auto" else fmt)


def load_source(
    split: str, path: PathLike, fmt: str, expected: str | None, origin: str | None
) -> LoadedSource:
    """Read one split's file, refusing directories, compressed files and a wrong checksum."""
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
    return LoadedSource(split, path, kind, digest, parse(path, data, kind))


def parse(path: Path, data: bytes, fmt: str) -> InteractionPairs:
    """Validate and read a file's bytes in the given format (``csv``, ``tsv``, ``lightgcn``)."""
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
    sep = SEPARATORS[fmt]
    fast = _read_lightgcn(data) if sep is None else _read_table(data, sep)
    users, items = fast if fast is not None else scan_pairs(path, data, first_line, fmt)
    return InteractionPairs(users, items)


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


def _plain(body: bytes, allowed: bytes) -> bool:
    """Cheap whole-file checks: only ``allowed`` bytes, a CR only in CRLF, no over-long id."""
    if body.translate(None, allowed):
        return False
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return False
    return body.translate(_DIGITS_AS_ZERO).find(b"0" * (MAX_DIGITS + 1)) < 0


def _read_table(body: bytes, sep: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """``user<sep>item`` rows read by pandas, or None when :mod:`.lines` must read the file."""
    if not _plain(body, _PLAIN_BYTES + sep):
        return None
    try:
        frame = pd.read_csv(
            io.BytesIO(body),
            sep=sep.decode(),
            header=None,
            names=["user", "item"],
            index_col=False,
            dtype=np.int64,
            quoting=csv.QUOTE_NONE,
            engine="c",
        )
    except (ValueError, OverflowError):
        return None
    if not len(frame) or body.count(sep) != len(frame):
        return None
    return frame["user"].to_numpy(np.int64), frame["item"].to_numpy(np.int64)


def _read_lightgcn(body: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """``u i1 i2 ...`` lines expanded to rows, or None when :mod:`.lines` must read the file.

    Each newline becomes a ``-1`` marker (ids are non-negative), so the first id after a marker
    is a line's user and the others its items.
    """
    if not _plain(body, _PLAIN_BYTES):
        return None
    text = body.translate(_LINE_TOKENS).replace(b"\n", b" -1 ").decode("ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    ends = values < 0
    tokens = np.flatnonzero(~ends)
    if not tokens.shape[0] or int(ends.sum()) != body.count(b"\n"):
        return None
    ids = values[tokens]
    line = np.cumsum(ends)[tokens]
    first = np.concatenate(([True], line[1:] != line[:-1]))
    per_line = np.diff(np.append(np.flatnonzero(first), ids.shape[0])) - 1
    return np.repeat(ids[first], per_line), ids[~first]
