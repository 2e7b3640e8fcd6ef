"""``recbole-spec import NAME`` without ``--source``: download, verify by content, cache, import.

A local ``http.server`` on 127.0.0.1 (ephemeral port, in a thread) serves tiny LightGCN files
written into ``tmp_path``; a test-only known dataset (``tinyspec``) carries their reference
counts and sorted-pair hash, computed here by plain Python. ``$RECBOLE_SPEC_MIRROR`` points at
the server, so no test touches the network.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from recbole_spec import cli, paths
from recbole_spec.data_import import download, known
from recbole_spec.data_import.known import KNOWN_DATASETS, SOURCE_ENV, DatasetSource, KnownDataset
from recbole_spec.data_import.readers import InteractionPairs

NAME = "tinyspec"
FOLDER = "tiny-lightgcn"
# LightGCN text: one line per user, `u i1 i2 ...`.
TRAIN = {0: [1, 2, 3, 4], 1: [0, 2, 5], 2: [1, 3, 6, 7], 3: [0, 4, 5], 4: [2, 6, 7]}
TEST = {0: [5, 6], 1: [3], 2: [0], 3: [7], 4: [1]}


def lightgcn_text(rows: dict[int, list[int]], newline: str = "\n", pad: str = "") -> bytes:
    lines = [pad + " ".join(str(v) for v in [u, *items]) + pad for u, items in rows.items()]
    return (newline.join(lines) + newline).encode()


def pairs_of(rows: dict[int, list[int]]) -> list[tuple[int, int]]:
    return [(u, i) for u, items in rows.items() for i in items]


def reference_signature(rows: dict[int, list[int]]) -> tuple[int, int, int, str]:
    """Rows, users, items and sha256 of the sorted pairs as little-endian int64, by hand."""
    pairs = pairs_of(rows)
    packed = b"".join(struct.pack("<qq", u, i) for u, i in sorted(pairs))
    return (
        len(pairs),
        len({u for u, _ in pairs}),
        len({i for _, i in pairs}),
        hashlib.sha256(packed).hexdigest(),
    )


def source_file(filename: str, rows: dict[int, list[int]]) -> known.SourceFile:
    count, users, items, digest = reference_signature(rows)
    return known.SourceFile(
        filename,
        hashlib.sha256(lightgcn_text(rows)).hexdigest(),
        count,
        users=users,
        items=items,
        content_sha256=digest,
        url=f"https://example.invalid/{FOLDER}/{filename}",
    )


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's folder; ``server.mode`` makes it misbehave on purpose."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        server.requests.append(self.path)  # type: ignore[attr-defined]
        mode = server.mode  # type: ignore[attr-defined]
        if mode == "ok":
            super().do_GET()
            return
        if mode == "stall-headers":
            server.release.wait(10)  # type: ignore[attr-defined]
            return
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        if mode == "stall-body":
            server.release.wait(10)  # type: ignore[attr-defined]
        # "truncate": return now; the HTTP/1.0 connection closes after half the body


@pytest.fixture()
def served(tmp_path: Path) -> Path:
    folder = tmp_path / "served" / FOLDER
    folder.mkdir(parents=True)
    (folder / "train.txt").write_bytes(lightgcn_text(TRAIN))
    (folder / "test.txt").write_bytes(lightgcn_text(TEST))
    return folder.parent


@pytest.fixture()
def server(served: Path) -> Iterator[http.server.ThreadingHTTPServer]:
    def handler(*args: object) -> Handler:
        return Handler(*args, directory=str(served))  # type: ignore[arg-type]

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.mode = "ok"  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def tiny_known(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Register ``tinyspec``, shorten timeouts, and never reach a public source."""
    layout = DatasetSource(
        folder=FOLDER,
        fmt="lightgcn",
        files=MappingProxyType(
            {"train": source_file("train.txt", TRAIN), "test": source_file("test.txt", TEST)}
        ),
        url="https://example.invalid/tiny",
    )
    entry = KnownDataset(NAME, (layout,), users=5, items=8, notes="test fixture")
    monkeypatch.setitem(known._REGISTRY, NAME, entry)
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)
    monkeypatch.setattr(download, "RETRIES", 2)
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv(paths.DATA_HOME_ENV, str(tmp_path / "home"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_mirror(monkeypatch: pytest.MonkeyPatch, httpd: http.server.ThreadingHTTPServer) -> None:
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{httpd.server_address[1]}")


def run_import(*args: str) -> int:
    return cli.main(["import", NAME, *args])


def inter_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / NAME).glob("*.inter"))}


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def assert_refused(capsys: pytest.CaptureFixture[str], rc: int, root: Path, *fragments: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    message = err[-1]
    assert rc == 2
    assert message.startswith("recbole-spec import: error: "), err
    assert "Traceback" not in "\n".join(err)
    for fragment in fragments:
        assert fragment in message, message
    assert files_under(root) == [], "a failed download left files behind"
    return message


# ----------------------------------------------------------------------------- signatures


def test_content_signature_matches_a_plain_computation() -> None:
    pairs = pairs_of(TRAIN)[::-1]
    sig = download.content_signature(
        InteractionPairs(np.array([u for u, _ in pairs]), np.array([i for _, i in pairs]))
    )
    assert (sig.rows, sig.users, sig.items, sig.sha256) == reference_signature(TRAIN)


def test_registry_files_have_pinned_https_urls_and_signatures() -> None:
    for name, entry in KNOWN_DATASETS.items():
        if name == NAME:
            continue
        for layout in entry.sources:
            for file in layout.files.values():
                assert re.fullmatch(
                    r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/.+", file.url
                )
                assert file.url.endswith("/" + file.filename)
                assert re.fullmatch(r"[0-9a-f]{64}", file.content_sha256)
                assert 0 < file.users <= entry.users and 0 < file.items <= entry.items
    # The two Gowalla layouts hold the same split: the same content, other bytes.
    lightgcn, csv = (s.files for s in KNOWN_DATASETS["gowalla"].sources)
    for split in ("train", "test"):
        assert lightgcn[split].content_sha256 == csv[split].content_sha256
        assert lightgcn[split].sha256 != csv[split].sha256


def test_without_mirror_files_come_from_the_registry_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(download.MIRROR_ENV)
    layout = KNOWN_DATASETS["gowalla"].sources[0]
    assert download.file_urls(layout) == {s: f.url for s, f in layout.files.items()}
    monkeypatch.setenv(download.MIRROR_ENV, "http://m.example/data/")
    assert download.file_urls(layout)["train"] == "http://m.example/data/lightgcn-gowalla/train.txt"
    monkeypatch.setenv(download.MIRROR_ENV, "ftp://m.example")
    with pytest.raises(ValueError, match="RECBOLE_SPEC_MIRROR"):
        download.file_urls(layout)


# ----------------------------------------------------------------------------- good downloads


@pytest.mark.parametrize(
    ("newline", "pad"), [("\n", ""), ("\r\n", " ")], ids=["same-bytes", "crlf-and-blanks"]
)
def test_download_imports_exactly_as_source(
    newline: str,
    pad: str,
    served: Path,
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    for name, rows in (("train.txt", TRAIN), ("test.txt", TEST)):
        (local / name).write_bytes(lightgcn_text(rows))
        (served / FOLDER / name).write_bytes(lightgcn_text(rows, newline, pad))
    use_mirror(monkeypatch, server)
    assert run_import("--out", str(tmp_path / "dl")) == 0
    assert run_import("--out", str(tmp_path / "src"), "--source", str(local)) == 0
    downloaded = inter_files(tmp_path / "dl")
    assert set(downloaded) == {f"{NAME}.{s}.inter" for s in ("train", "valid", "test")}
    assert downloaded == inter_files(tmp_path / "src")
    assert sorted(server.requests) == [f"/{FOLDER}/test.txt", f"/{FOLDER}/train.txt"]
    cached = tmp_path / "dl" / download.CACHE_FOLDER / FOLDER
    assert sorted(p.name for p in cached.iterdir()) == ["test.txt", "train.txt"]


def test_verified_cache_is_reused_without_network(
    server: http.server.ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_mirror(monkeypatch, server)
    assert run_import() == 0
    first = inter_files(tmp_path / "home")
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{closed_port()}")
    assert run_import("--force") == 0
    assert inter_files(tmp_path / "home") == first
    assert len(server.requests) == 2


def test_progress_is_one_line_per_large_file(
    server: http.server.ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_mirror(monkeypatch, server)
    monkeypatch.setattr(download, "PROGRESS_MIN_BYTES", len(lightgcn_text(TRAIN)))
    assert run_import() == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # "downloading ..." and train.txt; test.txt is below the threshold
    assert err[0].startswith("recbole-spec import: downloading tinyspec")
    assert re.fullmatch(
        rf"  {NAME} {FOLDER}/train\.txt: 0\.0 of 0\.0 MB \(100%\), [\d.]+ s", err[1]
    )


# ----------------------------------------------------------------------------- bad downloads


@pytest.mark.parametrize(
    ("train", "fragments"),
    [
        (
            {**TRAIN, 5: [1]},
            ["tiny-lightgcn/train.txt", "expected 5 users, 8 items, 17 rows, got 6 users"],
        ),
        ({**TRAIN, 4: [2, 6, 0]}, ["tinyspec", "same counts (5 users, 8 items, 17 rows)"]),
    ],
    ids=["other-counts", "same-counts-other-pairs"],
)
def test_corrupted_download_is_refused(
    train: dict[int, list[int]],
    fragments: list[str],
    served: Path,
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (served / FOLDER / "train.txt").write_bytes(lightgcn_text(train))
    use_mirror(monkeypatch, server)
    rc = run_import()
    assert_refused(capsys, rc, tmp_path / "home", "is not the published split", *fragments)


def test_unreadable_download_is_refused(
    served: Path,
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (served / FOLDER / "test.txt").write_bytes(b"<html>rate limited</html>\n")
    use_mirror(monkeypatch, server)
    assert_refused(capsys, run_import(), tmp_path / "home", "not a readable lightgcn split")


def test_truncated_download_is_retried_then_refused(
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.mode = "truncate"  # type: ignore[attr-defined]
    use_mirror(monkeypatch, server)
    rc = run_import()
    assert_refused(capsys, rc, tmp_path / "home", "failed after 2 tries", "truncated", "--source")
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", ["stall-headers", "stall-body"])
def test_stalled_server_times_out(
    mode: str,
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.mode = mode  # type: ignore[attr-defined]
    use_mirror(monkeypatch, server)
    started = time.monotonic()
    rc = run_import()
    assert time.monotonic() - started < 5
    assert_refused(capsys, rc, tmp_path / "home", "0.5 s", "train.txt", download.MIRROR_ENV)


def test_http_404_is_refused_without_retry(
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = server.server_address[1]
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{port}/wrong")
    rc = run_import()
    assert_refused(capsys, rc, tmp_path / "home", "HTTP 404", f"/wrong/{FOLDER}/train.txt")
    assert server.requests == [f"/wrong/{FOLDER}/train.txt"]


def test_offline_names_source_and_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = assert_refused(capsys, run_import(), tmp_path / "home", "is unreachable")
    assert "--source DIR" in message and download.MIRROR_ENV in message and FOLDER in message


def test_dns_failure_is_offline_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = []

    def no_dns(*args: object, **kw: object) -> None:
        calls.append(args)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setenv(download.MIRROR_ENV, "http://mirror.example")
    message = assert_refused(capsys, run_import(), tmp_path / "home", "name resolution")
    assert "--source DIR" in message and download.MIRROR_ENV in message
    assert len(calls) == 1


def test_existing_import_is_refused_before_downloading(
    server: http.server.ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_mirror(monkeypatch, server)
    assert run_import() == 0
    cached = tmp_path / "home" / download.CACHE_FOLDER / FOLDER
    for path in cached.iterdir():
        path.unlink()
    server.requests.clear()  # type: ignore[attr-defined]
    assert run_import() == 2
    assert "--force" in capsys.readouterr().err
    assert server.requests == []
