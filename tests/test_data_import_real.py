"""Integration tests on the real benchmark splits (slow; skipped when the files are absent).

The source folder is ``$RECBOLE_SPEC_SOURCE`` or ``../shared/datasets`` next to the repository.
Everything is imported into temporary folders, never into the repository.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from recbole_spec.data_import import ImportReport, import_known
from recbole_spec.data_import.known import KNOWN_DATASETS, SOURCE_ENV

pytestmark = pytest.mark.slow

# Rows dropped by the documented policies (see recbole_spec.data_import): duplicates inside a
# file, and test pairs that already occur in train. All other datasets have none.
DUPLICATES = {"citeulike": {"train": 22}}
OVERLAP = {"citeulike": {"test": 11}}


@pytest.fixture(scope="module")
def source_root() -> Path:
    env = os.environ.get(SOURCE_ENV)
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root}; set {SOURCE_ENV} to run these tests")
    return root


def timed_import(name: str, source: Path, out_root: Path, **kw: object) -> ImportReport:
    start = time.perf_counter()
    report = import_known(name, source=source, out_root=out_root, **kw)
    print(
        f"\nimport {name} ({report.fmt['train']}, {report.protocol}): "
        f"{time.perf_counter() - start:.2f} s, rows {dict(report.rows)}"
    )
    return report


def check_counts(report: ImportReport, name: str) -> None:
    entry = KNOWN_DATASETS[name]
    files = entry.sources[0].files
    assert report.rows_read == {split: f.rows for split, f in files.items()}
    dups = DUPLICATES.get(name, {})
    assert report.duplicates_dropped == {split: dups.get(split, 0) for split in files}
    overlap = OVERLAP.get(name, {})
    assert report.overlap_dropped == {"valid": 0, "test": overlap.get("test", 0)}
    train = files["train"].rows - dups.get("train", 0)
    test = files["test"].rows - dups.get("test", 0) - overlap.get("test", 0)
    if "valid" in files:
        assert report.valid_source == "file"
        assert report.rows == {"train": train, "valid": files["valid"].rows, "test": test}
    else:
        assert report.valid_source == "carved"
        assert report.rows["train"] + report.rows["valid"] == train
        assert report.rows["test"] == test
    assert (report.users, report.items) == (entry.users, entry.items)


@pytest.mark.parametrize("name", ["citeulike", "gowalla", "yelp2018", "ml-1m"])
def test_known_dataset_row_counts(source_root: Path, tmp_path: Path, name: str) -> None:
    report = timed_import(name, source_root, tmp_path)
    check_counts(report, name)
    lines = (report.out_dir / f"{name}.test.inter").read_text().count("\n")
    assert lines == report.rows["test"] + 1


def test_gowalla_csv_layout_gives_the_same_split(source_root: Path, tmp_path: Path) -> None:
    folder = source_root / "directspec-gowalla"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    lightgcn = timed_import("gowalla", source_root, tmp_path / "a")
    csv = timed_import("gowalla", folder, tmp_path / "b")
    assert csv.fmt == {"train": "csv", "test": "csv"}
    for split in ("train", "valid", "test"):
        a = (lightgcn.out_dir / f"gowalla.{split}.inter").read_text().splitlines()
        b = (csv.out_dir / f"gowalla.{split}.inter").read_text().splitlines()
        assert sorted(a) == sorted(b)


def test_citeulike_paper_protocol_counts(source_root: Path, tmp_path: Path) -> None:
    report = timed_import("citeulike", source_root, tmp_path, protocol="paper")
    assert report.rows == {"train": 166_003, "valid": 44_501, "test": 44_501}
    valid = (report.out_dir / "citeulike.valid.inter").read_bytes()
    assert valid == (report.out_dir / "citeulike.test.inter").read_bytes()


def test_bprmf_runs_on_imported_citeulike(
    source_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recbole.data import create_dataset, data_preparation

    from recbole_spec import run

    monkeypatch.chdir(tmp_path)
    out_root = tmp_path / "data"
    timed_import("citeulike", source_root, out_root, protocol="paper")
    result = run(
        model="BPRMF",
        dataset="citeulike",
        config_dict={
            "data_path": str(out_root),
            "epochs": 1,
            "show_progress": False,
            "state": "WARNING",
            "checkpoint_dir": str(tmp_path / "saved"),
            "train_batch_size": 4096,
            "eval_batch_size": 65536,
            "topk": [20],
            "metrics": ["Recall", "NDCG"],
            "valid_metric": "NDCG@20",
        },
    )
    assert result["protocol"] == "paper"
    assert set(result["test_result"]) == {"recall@20", "ndcg@20"}
    assert result["n_users"] == 5_551 and result["n_items"] == 16_980
    config = result["trainer"].config
    _, valid_data, test_data = data_preparation(config, create_dataset(config))
    assert len(test_data.uid_list) == 5_551
    assert len(valid_data.uid_list) == 5_551


@pytest.mark.parametrize("name", ["citeulike", "gowalla", "yelp2018", "ml-1m"])
def test_registry_content_signatures_match_the_real_files(source_root: Path, name: str) -> None:
    from recbole_spec.data_import.download import verify_file

    for layout in KNOWN_DATASETS[name].sources:
        for file in layout.files.values():
            path = source_root / layout.folder / file.filename
            verify_file(name, layout, file, path)  # raises on any difference
