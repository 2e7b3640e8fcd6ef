"""Unit tests of the dataset importer on tiny splits written to ``tmp_path``."""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from recbole_spec import data_import as di
from recbole_spec.commands import import_data
from recbole_spec.data_import import (
    ChecksumMismatchError,
    DatasetExistsError,
    ImportFormatError,
    import_known,
    import_split,
    lines,
    readers,
    writer,
)
from recbole_spec.data_import.known import (
    KNOWN_DATASETS,
    SOURCE_ENV,
    MissingSourceError,
    UnregisteredDatasetError,
    import_hint,
    resolve_source,
)

# Train: users 0..3; (0, 11) is repeated once; user 3 has a single row.
TRAIN_ROWS = [
    (0, 10),
    (0, 11),
    (0, 12),
    (0, 11),
    (1, 10),
    (1, 13),
    (1, 14),
    (2, 12),
    (2, 15),
    (3, 16),
]
# Test: (1, 13) also occurs in train; (2, 17) is repeated once.
TEST_ROWS = [(0, 13), (1, 13), (1, 15), (2, 17), (2, 17), (3, 10)]
TRAIN_DUPS, TEST_DUPS, TEST_OVERLAP = 1, 1, 1


def write_csv(
    path: Path, rows: list[tuple[int, int]], header: str = "user,item", newline: str = "\r\n"
) -> Path:
    path.write_bytes((newline.join([header] + [f"{u},{i}" for u, i in rows]) + newline).encode())
    return path


def write_tsv(path: Path, rows: list[tuple[int, int]]) -> Path:
    path.write_text("".join(f"{u}\t{i}\n" for u, i in rows))
    return path


def write_lightgcn(path: Path, rows: list[tuple[int, int]], extra: str = "") -> Path:
    lines: dict[int, list[int]] = {}
    for u, i in rows:
        lines.setdefault(u, []).append(i)
    text = "".join(f"{u} {' '.join(map(str, items))}\n" for u, items in lines.items())
    path.write_text(text + extra)
    return path


WRITERS = {
    "csv": (write_csv, ".csv"),
    "tsv": (write_tsv, ".tsv"),
    "lightgcn": (write_lightgcn, ".txt"),
}


def make_split(folder: Path, fmt: str, train=TRAIN_ROWS, test=TEST_ROWS) -> tuple[Path, Path]:
    writer, ext = WRITERS[fmt]
    folder.mkdir(parents=True, exist_ok=True)
    return writer(folder / f"train{ext}", train), writer(folder / f"test{ext}", test)


def read_inter(path: Path) -> list[tuple[int, int]]:
    frame = pd.read_csv(path, sep="\t", dtype=str)
    assert list(frame.columns) == ["user_id:token", "item_id:token"]
    return [(int(u), int(i)) for u, i in frame.itertuples(index=False)]


def inter_files(out_dir: Path, name: str) -> dict[str, list[tuple[int, int]]]:
    return {s: read_inter(out_dir / f"{name}.{s}.inter") for s in ("train", "valid", "test")}


def assert_nothing_written(out_root: Path) -> None:
    leftovers = sorted(p.name for p in out_root.iterdir()) if out_root.exists() else []
    assert leftovers == [], f"import left files behind: {leftovers}"


def unique_in_order(rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return list(dict.fromkeys(rows))


# ------------------------------------------------------------------------------ row counts


@pytest.mark.parametrize("fmt", ["csv", "tsv", "lightgcn"])
def test_row_counts_match_input_minus_documented_drops(tmp_path: Path, fmt: str) -> None:
    train, test = make_split(tmp_path / "src", fmt)
    report = import_split(train, test, "tiny", tmp_path / "out", protocol="paper")

    train_rows = TRAIN_ROWS if fmt != "lightgcn" else sorted(TRAIN_ROWS, key=lambda r: r[0])
    assert report.fmt == {"train": fmt, "test": fmt}
    assert report.rows_read == {"train": len(TRAIN_ROWS), "test": len(TEST_ROWS)}
    assert report.duplicates_dropped == {"train": TRAIN_DUPS, "test": TEST_DUPS}
    assert report.overlap_dropped == {"valid": 0, "test": TEST_OVERLAP}
    expected_test = [r for r in unique_in_order(TEST_ROWS) if r not in set(TRAIN_ROWS)]
    assert report.rows == {
        "train": len(TRAIN_ROWS) - TRAIN_DUPS,
        "valid": len(TEST_ROWS) - TEST_DUPS - TEST_OVERLAP,
        "test": len(TEST_ROWS) - TEST_DUPS - TEST_OVERLAP,
    }
    written = inter_files(report.out_dir, "tiny")
    assert written["train"] == unique_in_order(train_rows)
    assert sorted(written["test"]) == sorted(expected_test)
    assert report.users == 4
    assert report.items == len({i for _, i in TRAIN_ROWS + TEST_ROWS})


def test_csv_with_spaced_header_and_lf_endings(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", TRAIN_ROWS, header="user ,item", newline="\n")
    test = write_csv(tmp_path / "test.csv", TEST_ROWS, header="\ufeffUser, Item")
    report = import_split(train, test, "spaced", tmp_path / "out")
    assert report.rows_read == {"train": len(TRAIN_ROWS), "test": len(TEST_ROWS)}


def test_lightgcn_line_with_only_a_user_means_no_items(tmp_path: Path) -> None:
    train = write_lightgcn(tmp_path / "train.txt", TRAIN_ROWS, extra="7\n\n")
    test = write_lightgcn(tmp_path / "test.txt", TEST_ROWS)
    report = import_split(train, test, "lonely", tmp_path / "out", protocol="paper")
    assert report.rows_read["train"] == len(TRAIN_ROWS)
    assert 7 not in {u for u, _ in inter_files(report.out_dir, "lonely")["train"]}


@pytest.mark.parametrize(
    "fmt, body",
    [
        ("csv", b"0,10\r\n 1 , 11 \r\n\r\n  \r\n2,123456789012345678\r\n"),
        ("tsv", b"0\t10\n\n1 \t 11\n007\t12"),
        ("lightgcn", b"0 10 11\n7\n\n1\t12  13 \r\n2 123456789012345678"),
    ],
)
def test_fast_readers_and_the_exact_line_reader_agree(fmt: str, body: bytes) -> None:
    """pandas/numpy read valid files; :mod:`.lines` reads what they refuse: same rows."""
    fast = readers.parse(Path("x"), (b"user,item\n" if fmt == "csv" else b"") + body, fmt)
    users, items = lines.scan_pairs(Path("x"), body, 2 if fmt == "csv" else 1, fmt)
    assert fast.users.tolist() == users.tolist() and fast.items.tolist() == items.tolist()
    assert fast.users.dtype == users.dtype == np.int64 and len(fast) > 0


@pytest.mark.parametrize(
    "content, name, expected",
    [
        ("user,item\n0,1\n", "a.csv", "csv"),
        ("0\t1\n", "a.tsv", "tsv"),
        ("user,item\n0,1\n", "a.txt", "csv"),
        ("0\t1\n", "a.dat", "tsv"),
        ("0 1 2 3\n", "a.txt", "lightgcn"),
    ],
)
def test_format_detection(tmp_path: Path, content: str, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert di.detect_format(path) == expected


def test_ids_are_written_verbatim_as_tokens(tmp_path: Path) -> None:
    train_rows = [(1_000_000_007, 42), (1_000_000_007, 900_000_000_001), (5, 42), (5, 7)]
    test_rows = [(5, 900_000_000_001), (1_000_000_007, 7)]
    train, test = make_split(tmp_path / "src", "tsv", train_rows, test_rows)
    report = import_split(train, test, "big-ids", tmp_path / "out", protocol="paper")
    text = (report.out_dir / "big-ids.train.inter").read_text().splitlines()
    assert text[0] == "user_id:token\titem_id:token"
    assert text[1:] == ["1000000007\t42", "1000000007\t900000000001", "5\t42", "5\t7"]
    assert inter_files(report.out_dir, "big-ids")["test"] == test_rows


# -------------------------------------------------------------------------------- protocols


def many_rows(n_users: int = 40, seed: int = 0) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        count = 1 if user % 7 == 0 else int(rng.integers(2, 30))
        rows += [(user, int(i)) for i in rng.choice(500, size=count, replace=False)]
    return rows


def test_holdout_is_deterministic_and_carves_only_train_rows(tmp_path: Path) -> None:
    rows = many_rows()
    train, test = make_split(tmp_path / "src", "csv", rows, [(u, 999) for u in range(40)])
    first = import_split(train, test, "h", tmp_path / "a", seed=7)
    second = import_split(train, test, "h", tmp_path / "b", seed=7)
    other = import_split(train, test, "h", tmp_path / "c", seed=8)

    for split in ("train", "valid", "test"):
        name = f"h.{split}.inter"
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
    assert (first.out_dir / "h.valid.inter").read_bytes() != (
        other.out_dir / "h.valid.inter"
    ).read_bytes()

    written = inter_files(first.out_dir, "h")
    assert sorted(written["train"] + written["valid"]) == sorted(rows)
    assert not set(written["train"]) & set(written["valid"])
    counts = pd.Series([u for u, _ in rows]).value_counts()
    kept = pd.Series([u for u, _ in written["train"]]).value_counts()
    carved = pd.Series([u for u, _ in written["valid"]]).value_counts()
    for user, n in counts.items():
        assert kept.get(user, 0) >= 1
        expected = 0 if n < 2 else min(max(1, int(np.floor(0.1 * n))), n - 1)
        assert carved.get(user, 0) == expected
    assert written["test"] == [(u, 999) for u in range(40)]
    assert first.valid_source == "carved" and first.valid_fraction == 0.1


def test_paper_protocol_valid_is_an_exact_copy_of_test(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    report = import_split(train, test, "p", tmp_path / "out", protocol="paper")
    out = report.out_dir
    assert (out / "p.valid.inter").read_bytes() == (out / "p.test.inter").read_bytes()
    text = (out / "p.yaml").read_text()
    assert "PAPER PROTOCOL" in text
    config = yaml.safe_load(text)
    assert config["spec_protocol"] == "paper"
    assert config["spec_import"]["valid_source"] == "test-copy"


def test_source_valid_file_is_used_instead_of_carving(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "lightgcn")
    valid = write_lightgcn(tmp_path / "src" / "valid.txt", [(0, 20), (1, 10), (2, 21), (0, 13)])
    report = import_split(train, test, "v", tmp_path / "out", valid=valid)
    written = inter_files(report.out_dir, "v")
    assert written["valid"] == [(0, 20), (0, 13), (2, 21)]  # (1, 10) is a train pair
    assert report.overlap_dropped == {"valid": 1, "test": 2}  # (0, 13) in valid, (1, 13) in train
    assert (0, 13) not in written["test"] and (1, 13) not in written["test"]
    assert report.valid_source == "file" and report.valid_fraction is None


def test_paper_protocol_ignores_a_source_valid_file(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "lightgcn")
    valid = write_lightgcn(tmp_path / "src" / "valid.txt", [(0, 20)])
    report = import_split(train, test, "pv", tmp_path / "out", valid=valid, protocol="paper")
    config = yaml.safe_load(report.yaml_path.read_text())
    assert config["spec_import"]["ignored_files"] == ["valid"]
    written = inter_files(report.out_dir, "pv")
    assert written["valid"] == written["test"]


def test_yaml_holds_recbole_settings_and_import_record(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    report = import_split(train, test, "y", tmp_path / "out", seed=3, valid_fraction=0.25)
    config = yaml.safe_load(report.yaml_path.read_text())
    assert config["benchmark_filename"] == ["train", "valid", "test"]
    assert config["USER_ID_FIELD"] == "user_id" and config["ITEM_ID_FIELD"] == "item_id"
    assert config["load_col"] == {"inter": ["user_id", "item_id"]}
    assert config["spec_protocol"] == "holdout"
    record = config["spec_import"]
    assert record["files"]["train"]["sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert record["files"]["train"]["path"] == str(train.resolve())
    assert record["rows"] == dict(report.rows)
    assert record["duplicates_dropped"] == {"train": TRAIN_DUPS, "test": TEST_DUPS}
    assert record["overlap_dropped"] == {"valid": 0, "test": TEST_OVERLAP}
    assert record["valid_fraction"] == 0.25 and record["seed"] == 3
    assert record["date"] and record["format"] == {"train": "csv", "test": "csv"}
    assert "PAPER PROTOCOL" not in report.yaml_path.read_text()


# ----------------------------------------------------------------------- malformed inputs

MALFORMED = [
    pytest.param(
        "train.csv", b"user,item\n0,1\n0,x\n", "auto", 3, "non-integer id 'x'", id="csv-non-integer"
    ),
    pytest.param(
        "train.csv", b"user,item\r\n0,1\r\n1,2.5\r\n", "auto", 3, "non-integer id", id="csv-float"
    ),
    pytest.param("train.csv", b"0,1\n0,2\n", "auto", 1, "missing header", id="csv-no-header"),
    pytest.param(
        "train.csv",
        b"user,item,rating\n0,1,5\n",
        "auto",
        1,
        "unexpected header",
        id="csv-bad-header",
    ),
    pytest.param(
        "train.csv", b"user,item\n0,1\n0,2,3\n", "auto", 3, "found 3", id="csv-three-columns"
    ),
    pytest.param("train.csv", b"user,item\n0,1\n5\n", "auto", 3, "found 1", id="csv-one-column"),
    pytest.param(
        "train.csv", b"user,item\n0,1\n0,\n", "auto", 3, "empty field", id="csv-empty-field"
    ),
    pytest.param(
        "train.csv",
        b"user,item\n0,1\n1 2,\n",
        "auto",
        3,
        "expected 2 columns",
        id="csv-misplaced-comma",
    ),
    pytest.param(
        "train.csv", b"user,item\n0,1\n-3,2\n", "auto", 3, "negative id", id="csv-negative"
    ),
    pytest.param("train.csv", b"", "auto", 1, "empty file", id="csv-empty"),
    pytest.param(
        "train.csv", b"user,item\r\n", "auto", 2, "no interaction rows", id="csv-header-only"
    ),
    pytest.param("train.tsv", b"0\t1\n1 2\n", "auto", 2, "found 1", id="tsv-space-separated"),
    pytest.param("train.tsv", b"0\t1\n1\t2\t3\n", "auto", 2, "found 3", id="tsv-three-columns"),
    pytest.param(
        "train.txt",
        b"0 1 2\n1 2 a3\n",
        "lightgcn",
        2,
        "non-integer id 'a3'",
        id="lightgcn-non-integer",
    ),
    pytest.param(
        "train.txt", b"0 1 2\n1 -2\n", "lightgcn", 2, "negative id", id="lightgcn-negative"
    ),
    pytest.param(
        "train.txt",
        b"0 1\n\n2 1234567890123456789\n",
        "lightgcn",
        3,
        "longer than",
        id="lightgcn-huge-id",
    ),
    pytest.param(
        "train.txt", b"0 1\r2 3\n", "lightgcn", 1, "carriage return", id="lightgcn-lone-cr"
    ),
    pytest.param("train.txt", b"  \n\n", "lightgcn", 1, "empty file", id="lightgcn-blank"),
]


@pytest.mark.parametrize("filename, content, fmt, line, phrase", MALFORMED)
def test_malformed_train_names_file_and_line_and_writes_nothing(
    tmp_path: Path, filename: str, content: bytes, fmt: str, line: int, phrase: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    train = src / filename
    train.write_bytes(content)
    test = write_tsv(src / "test.tsv", TEST_ROWS)
    out_root = tmp_path / "out"
    with pytest.raises(ImportFormatError) as info:
        import_split(train, test, "bad", out_root, fmt=fmt)
    message = str(info.value)
    assert f"{train.resolve()}:{line}:" in message
    assert phrase in message and "fix:" in message
    assert info.value.line == line
    assert "\n" not in message
    assert_nothing_written(out_root)


def test_malformed_test_file_is_named(tmp_path: Path) -> None:
    train, _ = make_split(tmp_path / "src", "csv")
    test = tmp_path / "src" / "test.csv"
    test.write_bytes(b"user,item\n0,1\n0,1\n1,b\n")
    with pytest.raises(ImportFormatError, match=re.escape(f"{test.resolve()}:4:")):
        import_split(train, test, "bad", tmp_path / "out")
    assert_nothing_written(tmp_path / "out")


def test_checksum_mismatch_names_expected_and_actual(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    actual = hashlib.sha256(train.read_bytes()).hexdigest()
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError) as info:
        import_split(train, test, "sum", tmp_path / "out", expected_sha256={"train": wrong})
    assert wrong in str(info.value) and actual in str(info.value)
    assert str(train.resolve()) in str(info.value)
    assert_nothing_written(tmp_path / "out")
    report = import_split(train, test, "sum", tmp_path / "out", expected_sha256={"train": actual})
    assert report.rows_read["train"] == len(TRAIN_ROWS)


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    out_root = tmp_path / "out"
    first = import_split(train, test, "once", out_root, protocol="paper")
    before = (first.out_dir / "once.valid.inter").read_bytes()
    with pytest.raises(DatasetExistsError, match="--force"):
        import_split(train, test, "once", out_root)
    assert (first.out_dir / "once.valid.inter").read_bytes() == before
    second = import_split(train, test, "once", out_root, overwrite=True)
    assert second.protocol == "holdout"
    assert (second.out_dir / "once.valid.inter").read_bytes() != before
    assert sorted(p.name for p in out_root.iterdir()) == ["once"]


def test_failure_while_writing_leaves_no_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    calls = []

    def flaky(path: Path, pairs: di.InteractionPairs) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        path.write_text("partial")

    monkeypatch.setattr(writer, "write_inter", flaky)
    with pytest.raises(OSError, match="disk full"):
        import_split(train, test, "half", tmp_path / "out")
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"valid_fraction": 0.0}, "valid_fraction"),
        ({"valid_fraction": 1.0}, "valid_fraction"),
        ({"protocol": "leave-one-out"}, "protocol"),
        ({"fmt": "parquet"}, "format"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path: Path, kwargs: dict, phrase: str) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    with pytest.raises(ValueError, match=phrase):
        import_split(train, test, "args", tmp_path / "out", **kwargs)
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", ""])
def test_bad_dataset_names_are_rejected(tmp_path: Path, name: str) -> None:
    train, test = make_split(tmp_path / "src", "csv")
    with pytest.raises(ValueError, match="invalid dataset name"):
        import_split(train, test, name, tmp_path / "out")


def test_missing_source_file(tmp_path: Path) -> None:
    train, _ = make_split(tmp_path / "src", "csv")
    with pytest.raises(FileNotFoundError, match="test file not found"):
        import_split(train, tmp_path / "nope.csv", "gone", tmp_path / "out")


def test_default_out_root_is_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECBOLE_SPEC_DATA_HOME", str(tmp_path / "home"))
    train, test = make_split(tmp_path / "src", "csv")
    report = import_split(train, test, "homed", None)
    assert report.out_dir == (tmp_path / "home" / "homed").resolve()


# -------------------------------------------------------------------------- known datasets


def test_registry_entries_are_complete() -> None:
    assert {"citeulike", "gowalla", "yelp2018", "ml-1m"} <= set(KNOWN_DATASETS)
    for name, entry in KNOWN_DATASETS.items():
        assert entry.name == name
        for source in entry.sources:
            assert source.fmt in di.FORMATS and source.url
            assert {"train", "test"} <= set(source.files)
            for f in source.files.values():
                assert re.fullmatch(r"[0-9a-f]{64}", f.sha256) and f.rows > 0
    assert [s.folder for s in KNOWN_DATASETS["gowalla"].sources] == [
        "lightgcn-gowalla",
        "directspec-gowalla",
    ]
    assert "valid" in KNOWN_DATASETS["ml-1m"].sources[0].files


def test_import_hint() -> None:
    hint = import_hint("gowalla")
    assert hint is not None and "\n" not in hint
    assert "`recbole-spec import gowalla`" in hint and "--source" not in hint
    assert import_hint("no-such-dataset") is None


def test_import_known_without_source_says_where_to_put_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    with pytest.raises(MissingSourceError) as info:
        resolve_source("citeulike")
    message = str(info.value)
    assert "--source" in message and SOURCE_ENV in message and "directspec-citeulike" in message
    with pytest.raises(MissingSourceError, match=re.escape(str(tmp_path))):
        import_known("citeulike", source=tmp_path, out_root=tmp_path / "out")
    assert_nothing_written(tmp_path / "out")


def test_import_known_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(UnregisteredDatasetError, match="known:"):
        import_known("netflix", source=tmp_path, out_root=tmp_path / "out")


@pytest.mark.parametrize("layout", ["parent", "folder", "env"])
def test_import_known_finds_layout_and_checks_checksums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    folder = tmp_path / "datasets" / "directspec-gowalla"
    make_split(folder, "csv")
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    source: Path | None = {"parent": folder.parent, "folder": folder, "env": None}[layout]
    if layout == "env":
        monkeypatch.setenv(SOURCE_ENV, str(folder.parent))
    with pytest.raises(ChecksumMismatchError) as info:
        import_known("gowalla", source=source, out_root=tmp_path / "out")
    assert str(folder / "train.csv") in str(info.value)
    assert "tanatosuu/directspec" in str(info.value)
    assert_nothing_written(tmp_path / "out")


# ------------------------------------------------------------------------------------- CLI


def cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="recbole-spec")
    import_data.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_imports_a_custom_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = make_split(tmp_path / "src", "lightgcn")
    args = cli(
        [
            "import",
            "mine",
            "--train",
            str(train),
            "--test",
            str(test),
            "--format",
            "lightgcn",
            "--out",
            str(tmp_path / "out"),
            "--protocol",
            "paper",
        ]
    )
    assert import_data.main(args, []) == 0
    printed = capsys.readouterr().out
    assert "mine" in printed and "paper" in printed and str(tmp_path / "out") in printed
    assert "duplicates dropped" in printed
    assert (tmp_path / "out" / "mine" / "mine.yaml").is_file()


def test_cli_errors_print_one_line_and_return_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "train.csv"
    bad.write_text("0,1\n")
    args = cli(
        ["import", "mine", "--train", str(bad), "--test", str(bad), "--out", str(tmp_path / "out")]
    )
    assert import_data.main(args, []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing header" in err

    args = cli(["import", "netflix", "--out", str(tmp_path / "out")])
    assert import_data.main(args, []) == 2
    assert "--train" in capsys.readouterr().err


def test_cli_defaults() -> None:
    args = cli(["import", "gowalla"])
    assert (args.protocol, args.valid_fraction, args.seed, args.force) == (
        "holdout",
        0.1,
        2020,
        False,
    )
    assert args.fmt == "auto" and args.source is None and args.out is None
