"""Download a known dataset's published split, verify its content, and cache it.

``recbole-spec import NAME`` without ``--source`` calls :func:`fetch_known`. Every file of the
dataset's preferred layout is fetched over HTTPS from the URL recorded beside it in
:mod:`.known` (``$RECBOLE_SPEC_MIRROR`` replaces those sources by ``<base URL>/<folder>/<file>``,
the layout of the shared datasets folder). Each GET has a timeout (a stalled server ends in an
error, not a hang) and is retried a few times with exponential backoff; files above a few MB show
one updating progress line on stderr.

The raw bytes upstream are not what is checked but the CONTENT: each file is parsed by the
importer's own reader and its :func:`content_signature` (rows, distinct users, distinct items and
the sha256 of the sorted pairs) must equal the published one, so a copy that differs only in line
endings or whitespace passes and a different split is refused. Files are written into a temporary
folder and moved into ``<data root>/.downloads/<folder>/`` only after every file of the layout
verified; on any failure (HTTP error, stall, truncation, wrong content) nothing is kept. A
verified cache is reused without network access.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse, IncompleteRead
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from recbole_spec.data_import.errors import ImportFormatError
from recbole_spec.data_import.known import (
    IMPORT_COMMAND,
    KNOWN_DATASETS,
    DatasetSource,
    SourceFile,
    UnregisteredDatasetError,
)
from recbole_spec.data_import.readers import InteractionPairs, parse

MIRROR_ENV = "RECBOLE_SPEC_MIRROR"
CACHE_FOLDER = ".downloads"
TIMEOUT_S = 30.0
RETRIES = 3
BACKOFF_S = 1.0
PROGRESS_MIN_BYTES = 2 * 2**20

_CHUNK = 2**16
_PROGRESS_EVERY_S = 0.2


class DownloadError(OSError):
    """A file could not be downloaded (offline, HTTP error, stall, truncation); nothing was kept."""


class ContentMismatchError(ValueError):
    """A downloaded file is not the published split; nothing was kept."""


@dataclass(frozen=True)
class ContentSignature:
    """What a split file holds, independent of its bytes' layout.

    ``sha256`` is the sha256 of the little-endian int64 sequence ``u0, i0, u1, i1, ...`` of the
    file's (user, item) rows sorted by user, then item (duplicates kept).
    """

    rows: int
    users: int
    items: int
    sha256: str

    def counts(self) -> str:
        """``5,551 users, 16,980 items, 166,025 rows``."""
        return f"{self.users:,} users, {self.items:,} items, {self.rows:,} rows"


def content_signature(pairs: InteractionPairs) -> ContentSignature:
    """Return the rows, distinct users and items, and the sorted-pair sha256 of one split."""
    order = np.lexsort((pairs.items, pairs.users))
    flat = np.empty(2 * len(pairs), dtype="<i8")
    flat[0::2] = pairs.users[order]
    flat[1::2] = pairs.items[order]
    return ContentSignature(
        rows=len(pairs),
        users=int(np.unique(pairs.users).shape[0]),
        items=int(np.unique(pairs.items).shape[0]),
        sha256=hashlib.sha256(flat.tobytes()).hexdigest(),
    )


def expected_signature(file: SourceFile) -> ContentSignature:
    """The published content signature of a registry file."""
    return ContentSignature(file.rows, file.users, file.items, file.content_sha256)


def file_urls(layout: DatasetSource) -> dict[str, str]:
    """Split name to the URL it is fetched from: the mirror if ``$RECBOLE_SPEC_MIRROR`` is set."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    if not base:
        return {split: f.url for split, f in layout.files.items()}
    if urlsplit(base).scheme not in ("http", "https"):
        raise ValueError(
            f"{MIRROR_ENV}={base!r} is not an http(s) URL; set it to the base URL of a mirror "
            f"serving <folder>/<file>, e.g. https://host/datasets (with {layout.folder}/ in it)"
        )
    return {s: f"{base.rstrip('/')}/{layout.folder}/{f.filename}" for s, f in layout.files.items()}


def fetch_known(name: str, root: Path) -> tuple[DatasetSource, Path, str]:
    """Make the verified files of a known dataset available in the download cache.

    Args:
        name: Registered dataset name.
        root: The import's output root; the cache is ``root/.downloads/<folder>/``.

    Returns:
        The layout, the cache folder holding its files, and where they came from (the mirror's
        base URL, ``the published sources`` or ``the cache``).

    Raises:
        UnregisteredDatasetError: ``name`` is not registered.
        DownloadError: a file could not be fetched; the message names ``--source`` and the mirror.
        ContentMismatchError: a file is not the published split.
    """
    if name not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        raise UnregisteredDatasetError(f"unknown dataset '{name}' (known: {known})")
    layout = KNOWN_DATASETS[name].sources[0]
    cache = root / CACHE_FOLDER
    final = cache / layout.folder
    if _cache_is_valid(name, layout, final):
        print(
            f"{IMPORT_COMMAND}: using the verified download of {name} in {final}", file=sys.stderr
        )
        return layout, final, "the cache"
    urls = file_urls(layout)
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    print(
        f"{IMPORT_COMMAND}: downloading {name} ({layout.folder}) from "
        f"{mirror or layout.origin} into {final}",
        file=sys.stderr,
    )
    created = [p for p in (cache, *cache.parents) if not p.exists()]
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".part-{layout.folder}-", dir=cache))
    try:
        for split, file in layout.files.items():
            path = staging / file.filename
            _download(name, layout, file, urls[split], path)
            verify_file(name, layout, file, path)
        final.mkdir(exist_ok=True)
        for file in layout.files.values():
            os.replace(staging / file.filename, final / file.filename)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(final, *created)
    return layout, final, mirror or "the published sources"


def verify_file(name: str, layout: DatasetSource, file: SourceFile, path: Path) -> None:
    """Refuse, in one line, a file whose content is not the published one."""
    label = f"{name} file {layout.folder}/{file.filename}"
    try:
        got = content_signature(parse(path, path.read_bytes(), layout.fmt))
    except ImportFormatError as err:
        line = f" (line {err.line})" if err.line and f"line {err.line}" not in err.problem else ""
        raise ContentMismatchError(
            f"downloaded {label} is not a readable {layout.fmt} split: {err.problem}{line}; "
            "nothing was kept"
        ) from None
    want = expected_signature(file)
    if got == want:
        return
    if got.counts() != want.counts():
        detail = f"expected {want.counts()}, got {got.counts()}"
    else:
        detail = (
            f"same counts ({got.counts()}) but other pairs (sorted-pair sha256 expected "
            f"{want.sha256[:16]}..., got {got.sha256[:16]}...)"
        )
    raise ContentMismatchError(
        f"downloaded {label} is not the published split: {detail}; nothing was kept"
    )


def _cache_is_valid(name: str, layout: DatasetSource, folder: Path) -> bool:
    """True when the cache holds every file with the published content; drops invalid files."""
    paths = [folder / f.filename for f in layout.files.values()]
    if not all(p.is_file() for p in paths):
        return False
    try:
        for file, path in zip(layout.files.values(), paths, strict=True):
            verify_file(name, layout, file, path)
    except ContentMismatchError:
        for path in paths:
            path.unlink(missing_ok=True)
        return False
    return True


def _remove_empty(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


class _Retryable(Exception):
    """A failure worth another try (stall, dropped connection, truncation, HTTP 5xx)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _download(name: str, layout: DatasetSource, file: SourceFile, url: str, dest: Path) -> None:
    """GET ``url`` into ``dest`` with :data:`RETRIES` tries and exponential backoff."""
    label = f"{name} {layout.folder}/{file.filename}"
    last: _Retryable | None = None
    for attempt in range(RETRIES):
        if attempt:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
        try:
            _get(url, dest, label, layout)
            return
        except _Retryable as err:
            last = err
            if err.kind == "dns":
                break
    assert last is not None
    tries = f"{RETRIES} tr{'y' if RETRIES == 1 else 'ies'}"
    if last.kind in ("dns", "offline"):
        raise DownloadError(_offline_message(name, layout, url, str(last)))
    raise DownloadError(
        f"download of {label} from {url} failed after {tries}: {last}; nothing was kept; "
        f"retry later, or pass --source DIR (a folder holding {layout.folder}/) or set "
        f"{MIRROR_ENV}=<base URL>"
    )


def _offline_message(name: str, layout: DatasetSource, url: str, reason: str) -> str:
    host = urlsplit(url).netloc or url
    files = ", ".join(f.filename for f in layout.files.values())
    return (
        f"cannot download {name}: {host} is unreachable ({reason}); offline, pass "
        f"`{IMPORT_COMMAND} {name} --source DIR` with DIR holding {layout.folder}/ ({files} "
        f"from {layout.url}), or set {MIRROR_ENV}=<base URL> to a mirror serving "
        f"{layout.folder}/<file>"
    )


def _get(url: str, dest: Path, label: str, layout: DatasetSource) -> None:
    """One GET of ``url`` into ``dest``; raises :class:`_Retryable` or :class:`DownloadError`."""
    request = urllib.request.Request(url, headers={"User-Agent": "recbole-spec"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            total = response.headers.get("Content-Length")
            expected = int(total) if total and total.isdigit() else None
            got = _copy(response, dest, label, expected)
    except urllib.error.HTTPError as err:
        if err.code >= 500 or err.code == 429:
            raise _Retryable("http", f"HTTP {err.code} {err.reason}") from None
        raise DownloadError(
            f"download of {label} failed: HTTP {err.code} {err.reason} from {url}; nothing was "
            f"kept; check {MIRROR_ENV} (a mirror serves <base URL>/{layout.folder}/<file>) or "
            "pass --source DIR"
        ) from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, TimeoutError):
            raise _Retryable("stall", f"no answer within {TIMEOUT_S:g} s") from None
        kind = "dns" if isinstance(reason, socket.gaierror) else "offline"
        raise _Retryable(kind, str(reason)) from None
    except TimeoutError:
        raise _Retryable("stall", f"the server stalled (no data for {TIMEOUT_S:g} s)") from None
    except IncompleteRead as err:
        raise _Retryable(
            "truncated", f"truncated: the server closed after {len(err.partial):,} more bytes"
        ) from None
    except (HTTPException, ConnectionError) as err:
        raise _Retryable("truncated", f"the connection broke ({type(err).__name__})") from None
    if expected is not None and got != expected:
        raise _Retryable("truncated", f"truncated: {got:,} of {expected:,} bytes")


def _copy(response: HTTPResponse, dest: Path, label: str, total: int | None) -> int:
    """Stream the response body to ``dest``, showing progress; return the bytes written."""
    progress = _Progress(label, total)
    got = 0
    with open(dest, "wb") as out:
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            got += len(chunk)
            progress.update(got)
    progress.done(got)
    return got


class _Progress:
    """One updating stderr line for a file above :data:`PROGRESS_MIN_BYTES` (one line off a tty)."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label = label
        self.total = total
        self.stream = sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = self.last = time.monotonic()
        self.shown = False

    def _big(self, got: int) -> bool:
        return max(got, self.total or 0) >= PROGRESS_MIN_BYTES

    def _text(self, got: int) -> str:
        size = f"{got / 2**20:.1f}"
        if self.total:
            size += f" of {self.total / 2**20:.1f} MB ({100 * got // self.total}%)"
        else:
            size += " MB"
        return f"  {self.label}: {size}"

    def update(self, got: int) -> None:
        now = time.monotonic()
        if self.tty and self._big(got) and now - self.last >= _PROGRESS_EVERY_S:
            self.stream.write(f"\r{self._text(got)}")
            self.stream.flush()
            self.last, self.shown = now, True

    def done(self, got: int) -> None:
        if not self._big(got):
            return
        seconds = time.monotonic() - self.started
        prefix = "\r" if self.shown else ""
        self.stream.write(f"{prefix}{self._text(got)}, {seconds:.1f} s\n")
        self.stream.flush()
