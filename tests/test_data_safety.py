"""Issue 12 items 6, 7 and 10 and the import/data parts of "Beyond the list".

Cold-start rows are counted at import and at the start of a run; names RecBole reserves are
refused; header-like lines in header-less formats are named as such; a second import, a full
disk, a folder that is not an import, a compressed or directory source and hand-edited atomic
files each fail in one clear line before long work, with nothing half-written.
"""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

import numpy as np
import pytest
import yaml

from recbole_spec import data_import as di
from recbole_spec.commands import import_data
from recbole_spec.config import SpecConfig
from recbole_spec.data.checks import (
    AtomicFileError,
    cold_start_counts,
    cold_start_line,
    split_cold_start,
)
from recbole_spec.data_import import (
    DatasetExistsError,
    DiskSpaceError,
    ImportFormatError,
    import_split,
    writer,
)
from recbole_spec.validation import ConfigError

# Users 0..5 with 4 train rows each in two item blocks; the test adds user 9 (no train rows)
# and item 99 (in no train row).
TRAIN = [(u, i) for u in range(6) for i in ((0, 1, 2, 3) if u < 3 else (4, 5, 6, 7))]
TEST = [(0, 4), (1, 5), (3, 0), (9, 1), (9, 2), (2, 99), (4, 99)]
COLD_USERS, COLD_USER_ROWS, COLD_ITEMS, COLD_ITEM_ROWS, COLD_ROWS = 1, 2, 1, 2, 4


def tsv(path: Path, rows: list[tuple[int, int]], header: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(f"{u}\t{i}\n" for u, i in rows))
    return path


def split_files(folder: Path) -> tuple[Path, Path]:
    return tsv(folder / "train.tsv", TRAIN), tsv(folder / "test.tsv", TEST)


def listing(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="recbole-spec")
    import_data.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


# ------------------------------------------------------------------ 12.6 cold-start rows


def test_issue12_cold_start_rows_are_counted_and_recorded_at_import(tmp_path: Path) -> None:
    train, test = split_files(tmp_path / "src")
    report = import_split(train, test, "cold", tmp_path / "out")
    cold = report.cold_start
    assert (cold.test.users, cold.test.user_rows) == (COLD_USERS, COLD_USER_ROWS)
    assert (cold.test.items, cold.test.item_rows, cold.test.rows) == (
        COLD_ITEMS,
        COLD_ITEM_ROWS,
        COLD_ROWS,
    )
    assert cold.valid.rows == 0 and cold.policy == "keep"
    assert report.rows["test"] == len(TEST)  # RecBole's behaviour: kept
    summary = report.summary()
    assert "cold start: test 1 user without train rows (2 rows), 1 item never in train" in summary
    assert "--cold-start=drop" in summary
    record = yaml.safe_load(report.yaml_path.read_text())["spec_import"]["cold_start"]
    assert record["policy"] == "keep" and record["test"]["rows"] == COLD_ROWS


def test_issue12_cold_start_drop_policy_removes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = split_files(tmp_path / "src")
    args = cli(
        ["import", "dropped", "--train", str(train), "--test", str(test)]
        + ["--out", str(tmp_path / "out"), "--cold-start", "drop", "--protocol", "paper"]
    )
    assert import_data.main(args, []) == 0
    assert "dropped (--cold-start=drop)" in capsys.readouterr().out
    folder = tmp_path / "out" / "dropped"
    for split in ("valid", "test"):  # paper protocol: valid is the same (filtered) copy
        lines = (folder / f"dropped.{split}.inter").read_text().splitlines()[1:]
        assert len(lines) == len(TEST) - COLD_ROWS
        assert not any(line.startswith("9\t") or line.endswith("\t99") for line in lines)


def test_issue12_cold_start_counts_at_the_start_of_a_run(tmp_path: Path, workdir: Path) -> None:
    from recbole.data import create_dataset, data_preparation

    train, test = split_files(tmp_path / "src")
    import_split(train, test, "cold", tmp_path / "out", protocol="paper")
    config = SpecConfig(
        "BPRMF",
        "cold",
        config_dict={"data_path": str(tmp_path / "out"), "state": "ERROR", "show_progress": 0},
    )
    splits = data_preparation(config, create_dataset(config))
    counts = cold_start_counts(*splits)
    assert (counts.test.users, counts.test.user_rows, counts.test.items) == (1, 2, 1)
    assert counts.test.rows == COLD_ROWS and counts.valid.rows == COLD_ROWS
    line = cold_start_line(config, *splits)
    assert line.startswith("cold start (cold): test 1 user without train rows (2 rows)")
    assert "kept and scored with untrained embeddings" in line and "\n" not in line


def test_split_cold_start_counts_by_hand() -> None:
    counts = split_cold_start(
        np.array([1, 1, 2]),
        np.array([10, 11, 10]),
        np.array([1, 3, 3, 2]),
        np.array([12, 10, 12, 11]),
    )
    assert (counts.users, counts.user_rows, counts.items, counts.item_rows, counts.rows) == (
        1,
        2,
        1,
        2,
        3,
    )


# ------------------------------------------------------------ 12.7 names RecBole reserves


@pytest.mark.parametrize("name", ["ml-100k", "sample"])
def test_issue12_names_recbole_reserves_are_refused(tmp_path: Path, name: str) -> None:
    train, test = split_files(tmp_path / "src")
    with pytest.raises(ValueError, match=f"'{name}' is a dataset name RecBole reserves.*-mine"):
        import_split(train, test, name, tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_issue12_a_downloadable_recbole_name_is_imported_and_wins(
    tmp_path: Path, workdir: Path
) -> None:
    train, test = split_files(tmp_path / "src")
    report = import_split(train, test, "yelp", tmp_path / "out")
    assert any("this import wins" in note for note in report.notes)
    assert "note: RecBole also knows a downloadable 'yelp'" in report.summary()
    config = SpecConfig("BPRMF", "yelp", config_dict={"data_path": str(tmp_path / "out")})
    assert Path(config["data_path"]) == report.out_dir


# ----------------------------------------------------------- 12.10 header-less formats


@pytest.mark.parametrize(
    ("header", "fmt", "kind"),
    [
        ("user\titem\n", "tsv", "TSV"),
        ("user_id:token\titem_id:token\n", "auto", "TSV"),
        ("user items\n", "lightgcn", "LightGCN text"),
    ],
)
def test_issue12_header_in_a_headerless_format_is_named(
    tmp_path: Path, header: str, fmt: str, kind: str
) -> None:
    train = tsv(tmp_path / "train.txt", TRAIN, header=header)
    test = tsv(tmp_path / "test.txt", TEST)
    with pytest.raises(ImportFormatError) as err:
        import_split(train, test, "hdr", tmp_path / "out", fmt=fmt)
    assert f"{kind} files have no header" in str(err.value) and ":1:" in str(err.value)
    assert "map string ids" not in str(err.value)


def test_string_ids_still_get_the_id_message(tmp_path: Path) -> None:
    train = tmp_path / "train.tsv"
    train.write_text("u1\ti1\nu2\ti2\n")
    with pytest.raises(ImportFormatError, match="map string ids to integers"):
        import_split(train, train, "str", tmp_path / "out")


# ------------------------------------------------------ beyond the list: import slips


def test_force_never_replaces_a_folder_that_is_not_an_import(tmp_path: Path) -> None:
    train, test = split_files(tmp_path / "src")
    precious = tmp_path / "out" / "mine" / "notes.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("my thesis")
    with pytest.raises(DatasetExistsError, match="not a recbole-spec import"):
        import_split(train, test, "mine", tmp_path / "out", overwrite=True)
    assert precious.read_text() == "my thesis"


def test_an_import_that_finishes_second_is_discarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = split_files(tmp_path / "src")
    out = tmp_path / "out"
    real = writer.check_free_space

    def other_import_finishes(root: Path, splits, extra: int) -> None:  # noqa: ANN001
        real(root, splits, extra)
        monkeypatch.setattr(writer, "check_free_space", real)
        import_split(train, test, "twice", out, cold_start="drop")

    monkeypatch.setattr(writer, "check_free_space", other_import_finishes)
    with pytest.raises(DatasetExistsError, match="another import of the same name finished"):
        import_split(train, test, "twice", out)
    assert listing(out) == ["twice"]
    assert "drop" in (out / "twice" / "twice.yaml").read_text()  # the first one is intact


def test_full_disk_is_detected_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = split_files(tmp_path / "src")

    class Usage:
        free = 1000

    monkeypatch.setattr(writer.shutil, "disk_usage", lambda path: Usage())
    with pytest.raises(DiskSpaceError, match="not enough free disk space.*nothing was written"):
        import_split(train, test, "full", tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_disk_filling_up_while_writing_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, test = split_files(tmp_path / "src")
    calls = []

    def fills_up(path: Path, pairs: di.InteractionPairs) -> None:
        calls.append(path)
        path.write_text("partial")
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, "write_inter", fills_up)
    with pytest.raises(DiskSpaceError, match="filled up while writing.*nothing was written"):
        import_split(train, test, "full", tmp_path / "out")
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d, "is a directory"),
        (lambda d: _gz(d / "train.tsv.gz"), "gzip-compressed"),
    ],
)
def test_wrong_kinds_of_source_file(tmp_path: Path, make, fragment: str) -> None:
    _, test = split_files(tmp_path / "src")
    with pytest.raises(ImportFormatError, match=fragment):
        import_split(make(tmp_path / "src"), test, "kind", tmp_path / "out")
    assert listing(tmp_path / "out") == []


def _gz(path: Path) -> Path:
    import gzip

    path.write_bytes(gzip.compress(b"0\t1\n"))
    return path


def test_an_empty_split_is_refused_with_the_reason(tmp_path: Path) -> None:
    train = tsv(tmp_path / "train.tsv", TRAIN)
    test = tsv(tmp_path / "test.tsv", [(9, 1), (2, 99)])
    with pytest.raises(ValueError, match="test split would be empty.*cold-start=drop"):
        import_split(train, test, "empty", tmp_path / "out", cold_start="drop")
    assert listing(tmp_path / "out") == []


# ------------------------------------------------- beyond the list: hand-edited atomic files


def _edit(folder: Path, split: str, change) -> None:  # noqa: ANN001
    path = folder / f"edited.{split}.inter"
    if change is None:
        path.unlink()
    else:
        path.write_text(change(path.read_text()))


@pytest.mark.parametrize(
    ("split", "change", "fragment"),
    [
        ("valid", None, "edited.valid.inter: missing"),
        ("train", lambda t: t + t, "edited.train.inter:20: the header"),
        ("test", lambda t: t.replace("3\t0\n", "3\t0\t1\n"), "edited.test.inter:4: 3 columns"),
        ("test", lambda t: t.replace("3\t0\n", "3 0\n"), "edited.test.inter:4: 1 columns"),
        ("train", lambda t: t.replace("item_id:token", "item_id"), "is not `name:type`"),
        ("train", lambda t: t.replace("user_id:token", "item_id:token"), "appears twice"),
        ("train", lambda t: t.replace("item_id:token", "item:token"), "lacks the column"),
        ("test", lambda t: t.splitlines()[0] + "\n", "no interaction rows"),
    ],
)
def test_hand_edited_atomic_files_fail_before_loading(
    tmp_path: Path, workdir: Path, split: str, change, fragment: str
) -> None:
    train, test = split_files(tmp_path / "src")
    report = import_split(train, test, "edited", tmp_path / "out")
    data = {"data_path": str(tmp_path / "out")}
    SpecConfig("BPRMF", "edited", config_dict=data)  # intact files pass
    _edit(report.out_dir, split, change)
    with pytest.raises(AtomicFileError) as err:
        SpecConfig("BPRMF", "edited", config_dict=data)
    assert isinstance(err.value, ConfigError)
    assert fragment in str(err.value) and "--force" in str(err.value)
    assert "\n" not in str(err.value)


def test_cold_start_line_for_recbole_own_splits_has_no_import_hint() -> None:
    from recbole_spec.data.checks import ColdStart

    cold = split_cold_start(np.array([1]), np.array([10]), np.array([1]), np.array([11]))
    line = ColdStart(cold, cold).line("ml-100k", imported=False)
    assert line.endswith("(RecBole's behaviour)") and "import" not in line
    none = split_cold_start(np.array([1]), np.array([10]), np.array([1]), np.array([10]))
    assert ColdStart(none, none).line().startswith("cold start: none")


def test_an_output_root_that_is_a_file_is_named(tmp_path: Path) -> None:
    train, test = split_files(tmp_path / "src")
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder; pass --out"):
        import_split(train, test, "mine", tmp_path / "out")
