"""The exact, line-by-line reader behind the fast paths of :mod:`.readers`.

pandas (CSV/TSV) and numpy (LightGCN) read a well-formed file quickly but cannot say where a bad
one goes wrong. When a fast path refuses a file, this module reads it again one line at a time and
either returns its rows (a valid file the fast path could not take, e.g. a line of blanks between
two rows) or raises the :class:`ImportFormatError` of the first problem, naming the 1-based line.
Problems are looked for in a fixed order over the whole file: a byte that cannot appear in the
format, then an id longer than :data:`MAX_DIGITS` digits, then (CSV/TSV) a line without exactly
two columns, then a separator outside its two ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from recbole_spec.data_import.errors import ImportFormatError

MAX_DIGITS = 18
"""Longest id accepted: every 18-digit number fits an int64."""

ID_FIX = "ids must be non-negative integers; map string ids to integers before importing"
SEPARATORS = {"csv": b",", "tsv": b"\t", "lightgcn": None}
"""Column separator of each format; LightGCN lines are ``u i1 i2 ...`` separated by blanks."""

_TOKEN = re.compile(rb"[0-9]+")
_LONG = re.compile(rb"[0-9]{%d}" % (MAX_DIGITS + 1))
_Fail = Callable[[int, str, str], ImportFormatError]


def scan_pairs(path: Path, body: bytes, first_line: int, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Read the data lines of a file (after any header) as user and item id arrays.

    Args:
        path: The file, named in error messages.
        body: Its bytes after the header line (all of it for a header-less format).
        first_line: 1-based line number of the first line of ``body``.
        fmt: ``csv``, ``tsv`` or ``lightgcn``.

    Raises:
        ImportFormatError: the first problem, in the order of the module docstring.
    """
    sep = SEPARATORS[fmt]
    lines = body.split(b"\n")

    def fail(index: int, problem: str, fix: str) -> ImportFormatError:
        where = first_line + index
        return ImportFormatError(path, where, f"{problem} in {_shown(lines[index])!r}", fix)

    _check_bytes(lines, sep, fail)
    for index, line in enumerate(lines):
        if _LONG.search(line):
            raise fail(index, f"id longer than {MAX_DIGITS} digits", ID_FIX)
    tokens = [_TOKEN.findall(line) for line in lines]
    if not any(tokens):
        raise ImportFormatError(
            path, first_line, "no interaction rows", "check that this is the right, complete file"
        )
    if sep is None:
        users: list[int] = []
        items: list[int] = []
        for ids in tokens:
            users += [int(ids[0])] * (len(ids) - 1) if ids else []
            items += [int(i) for i in ids[1:]]
        return np.array(users, dtype=np.int64), np.array(items, dtype=np.int64)
    _check_columns(lines, tokens, sep, fail)
    rows = np.array([(int(u), int(i)) for u, i in filter(None, tokens)], dtype=np.int64)
    return rows[:, 0].copy(), rows[:, 1].copy()


def _shown(line: bytes) -> str:
    """A line as error messages quote it: decoded, without its CR, at most 80 characters."""
    text = line.rstrip(b"\r").decode("utf-8", "replace")
    return text if len(text) <= 80 else text[:77] + "..."


def _check_bytes(lines: list[bytes], sep: bytes | None, fail: _Fail) -> None:
    """Refuse the first byte that is not a digit, a blank, the separator or a CRLF's CR."""
    blanks = b" " if sep == b"\t" else b" \t"
    bad = re.compile(rb"[^0-9" + blanks + re.escape(sep or b"") + rb"]")
    last = len(lines) - 1
    for index, line in enumerate(lines):
        text = line[:-1] if index < last and line.endswith(b"\r") else line
        match = bad.search(text)
        if match is None:
            continue
        pos = match.start()
        byte = text[pos : pos + 1]
        if byte == b"-" and text[pos + 1 : pos + 2].isdigit():
            raise fail(index, "negative id", ID_FIX)
        if byte == b"\r":
            raise fail(
                index, "carriage return not followed by a newline", "use LF or CRLF line endings"
            )
        shown = _shown(line)
        fields = shown.split(sep.decode()) if sep is not None else shown.split()
        field = next((f.strip() for f in fields if f.strip() and not f.strip().isdigit()), shown)
        raise fail(index, f"non-integer id {field!r}", ID_FIX)


def _check_columns(lines: list[bytes], tokens: list[list[bytes]], sep: bytes, fail: _Fail) -> None:
    """Require exactly ``id<sep>id`` on every non-blank line."""
    fix = f"each line must be `user`, {'a comma' if sep == b',' else 'a tab'}, `item`"
    for index, (line, ids) in enumerate(zip(lines, tokens, strict=True)):
        n_sep = line.count(sep)
        if (ids or n_sep) and (len(ids) != 2 or n_sep != 1):
            raise fail(index, _column_problem(len(ids), n_sep), fix)
    for index, line in enumerate(lines):
        if tokens[index]:
            first, second = (m.start() for m in _TOKEN.finditer(line))
            if not first < line.index(sep) < second:
                raise fail(index, "expected 2 columns (user, item)", fix)


def _column_problem(n_tokens: int, n_seps: int) -> str:
    if n_seps == 1 and n_tokens < 2:
        return "empty field"
    if n_seps == 1:
        return "blank inside a field"
    hint = " (a LightGCN `u i1 i2 ...` file? use --format lightgcn)" if n_seps == 0 else ""
    return f"expected 2 columns (user, item), found {n_seps + 1}{hint}"
