"""Registry of the benchmark splits that ``recbole-spec import`` knows by name.

Each entry records where the papers' fixed train/test splits come from (the public repository),
which local folder layout and file format to expect, and for every file its sha256, its content
signature (rows, distinct users and items, sha256 of the sorted pairs; see
:func:`~recbole_spec.data_import.download.content_signature`) and the raw HTTPS URL it is
downloaded from. Local files are given with ``--source`` or ``RECBOLE_SPEC_SOURCE`` (either the
dataset folder itself, e.g. ``.../lightgcn-gowalla``, or a folder holding the per-dataset folders)
and must match the sha256; without either, :mod:`.download` fetches the preferred layout and
checks the content signature instead.

Checksums of CiteULike, Gowalla (both layouts) and Yelp2018 are the ones published in the shared
datasets README. The ML-1M (LightGCN++) checksums were not published there; they were computed with
``sha256sum`` on the files of ``ml-1m-lightgcnpp`` when this registry was written. The content
signatures were computed from the shared files by ``benchmarks/known_signatures.py``. The URLs are
pinned to the upstream commit whose git blobs equal those files (``git hash-object``).

The DirectSpec Yelp split is not registered: only its test file could be obtained.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

SOURCE_ENV = "RECBOLE_SPEC_SOURCE"
IMPORT_COMMAND = "recbole-spec import"


class MissingSourceError(FileNotFoundError):
    """A known dataset's source files were not found; the message says where to put them."""


class UnregisteredDatasetError(ValueError):
    """The name is not one of the datasets :data:`KNOWN_DATASETS` can import by name."""


@dataclass(frozen=True)
class SourceFile:
    """One file of a published split.

    Attributes:
        filename: File name inside the source folder.
        sha256: Expected sha256 of the file's bytes (checked on ``--source`` imports).
        rows: Number of (user, item) rows in the file as published (duplicates included).
        users: Distinct users in the file.
        items: Distinct items in the file.
        content_sha256: sha256 of the sorted pairs (checked on downloads).
        url: Raw HTTPS URL of the published file.
    """

    filename: str
    sha256: str
    rows: int
    users: int
    items: int
    content_sha256: str
    url: str


@dataclass(frozen=True)
class DatasetSource:
    """One on-disk layout under which a known dataset can be imported.

    Attributes:
        folder: Conventional folder name (as in the shared datasets folder).
        fmt: File format understood by :mod:`recbole_spec.data_import` (``csv`` or ``lightgcn``).
        files: Split name (``train``, ``test``, optionally ``valid``) to :class:`SourceFile`.
        url: Public repository the files come from, or None.
        repo_path: Folder of the files inside that repository.
    """

    folder: str
    fmt: str
    files: Mapping[str, SourceFile]
    url: str | None
    repo_path: str = ""

    @property
    def origin(self) -> str:
        """Where to obtain the files, e.g. ``https://github.com/x/y (folder Data/gowalla)``."""
        if self.url is None:
            return "the original authors"
        return f"{self.url} (folder {self.repo_path})" if self.repo_path else self.url

    def sha256(self) -> dict[str, str]:
        """Return the expected sha256 per split, as :func:`import_split` takes it."""
        return {split: f.sha256 for split, f in self.files.items()}


@dataclass(frozen=True)
class KnownDataset:
    """A benchmark dataset known by name.

    Attributes:
        name: Name used with ``--dataset`` and ``recbole-spec import``.
        sources: Accepted layouts, tried in order (the first is the preferred one).
        users: Number of users over all splits of the published data.
        items: Number of items over all splits of the published data.
        notes: Known quirks of the published files (duplicates, overlaps).
    """

    name: str
    sources: tuple[DatasetSource, ...]
    users: int
    items: int
    notes: str


_DIRECTSPEC_URL = "https://github.com/tanatosuu/directspec"
_LIGHTGCN_URL = "https://github.com/kuandeng/LightGCN"
_LIGHTGCNPP_URL = "https://github.com/geon0325/LightGCNpp"
_RAW = "https://raw.githubusercontent.com"
_DIRECTSPEC_RAW = f"{_RAW}/tanatosuu/directspec/21e0ebeb61a30146e5092889fba109b72f7871ad/"
_LIGHTGCN_RAW = f"{_RAW}/kuandeng/LightGCN/b067ec05f16a24e0e1efe63cd82385f0c469af20/"
_LIGHTGCNPP_RAW = f"{_RAW}/geon0325/LightGCNpp/a394f79a7aceb8f485f6bcb549b4865fe83f1d49/"

_GOWALLA_CSV = DatasetSource(
    folder="directspec-gowalla",
    fmt="csv",
    files=MappingProxyType(
        {
            "train": SourceFile(
                "train.csv",
                "8ae59948b359a5332b0ff6f61dd17daf2cc293109561fe7da776f3e00be9683d",
                810_128,
                users=29_858,
                items=40_981,
                content_sha256="d453bfc18e5613d6310ab05f7ebc1c6c724ee913dc31c769d1c8743c678d27f7",
                url=_DIRECTSPEC_RAW + "Datasets/gowalla/train.csv",
            ),
            "test": SourceFile(
                "test.csv",
                "c0f18b74db3d910ecf521fd4126c8d4d7bb6f983c7253c25d307d7906f26ec6c",
                217_242,
                users=29_858,
                items=38_546,
                content_sha256="dac9527045e35230c82e4a5c54715b5e60f8a7bbe935ffdb4ee2ebe21c32ddb7",
                url=_DIRECTSPEC_RAW + "Datasets/gowalla/test.csv",
            ),
        }
    ),
    url=_DIRECTSPEC_URL,
    repo_path="Datasets/gowalla",
)

_REGISTRY: dict[str, KnownDataset] = {
    "citeulike": KnownDataset(
        name="citeulike",
        sources=(
            DatasetSource(
                folder="directspec-citeulike",
                fmt="csv",
                files=MappingProxyType(
                    {
                        "train": SourceFile(
                            "train.csv",
                            "668d1011a83674cab98232bccd8343bdeadaa0d72c8d7e3664380874f681d3b5",
                            166_025,
                            users=5_551,
                            items=16_934,
                            content_sha256="d7e62408d898c8f06acfbe92c7aec9eaa535c3af2d735d080074447787fa5ae4",
                            url=_DIRECTSPEC_RAW + "Datasets/citeulike/train.csv",
                        ),
                        "test": SourceFile(
                            "test.csv",
                            "b27b8daa397475492409e861a1e82ff01de6c10f74f3ff9f8fce0a812ce77671",
                            44_512,
                            users=5_551,
                            items=14_513,
                            content_sha256="97f7e5ec34f58278a47b3e8985e29ac6f8b45904034837631678091973a34ebc",
                            url=_DIRECTSPEC_RAW + "Datasets/citeulike/test.csv",
                        ),
                    }
                ),
                url=_DIRECTSPEC_URL,
                repo_path="Datasets/citeulike",
            ),
        ),
        users=5_551,
        items=16_980,
        notes="train has 22 duplicate rows; 11 test pairs also occur in train",
    ),
    "gowalla": KnownDataset(
        name="gowalla",
        sources=(
            DatasetSource(
                folder="lightgcn-gowalla",
                fmt="lightgcn",
                files=MappingProxyType(
                    {
                        "train": SourceFile(
                            "train.txt",
                            "7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62",
                            810_128,
                            users=29_858,
                            items=40_981,
                            content_sha256="d453bfc18e5613d6310ab05f7ebc1c6c724ee913dc31c769d1c8743c678d27f7",
                            url=_LIGHTGCN_RAW + "Data/gowalla/train.txt",
                        ),
                        "test": SourceFile(
                            "test.txt",
                            "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
                            217_242,
                            users=29_858,
                            items=38_546,
                            content_sha256="dac9527045e35230c82e4a5c54715b5e60f8a7bbe935ffdb4ee2ebe21c32ddb7",
                            url=_LIGHTGCN_RAW + "Data/gowalla/test.txt",
                        ),
                    }
                ),
                url=_LIGHTGCN_URL,
                repo_path="Data/gowalla",
            ),
            _GOWALLA_CSV,
        ),
        users=29_858,
        items=40_981,
        notes="no duplicates, no train/test overlap; directspec-gowalla holds the same split; "
        "also mirrored in github.com/gusye1234/LightGCN-PyTorch (data/gowalla)",
    ),
    "yelp2018": KnownDataset(
        name="yelp2018",
        sources=(
            DatasetSource(
                folder="lightgcn-yelp2018",
                fmt="lightgcn",
                files=MappingProxyType(
                    {
                        "train": SourceFile(
                            "train.txt",
                            "1e9568725a9e833d0ac3bae01c94cd95367f73b3bb6104fd26b5f65ea5054093",
                            1_237_259,
                            users=31_668,
                            items=38_048,
                            content_sha256="57dc5c4771924bc239baae1c30711e13d6432b0e105fad34feb28397e817ec17",
                            url=_LIGHTGCN_RAW + "Data/yelp2018/train.txt",
                        ),
                        "test": SourceFile(
                            "test.txt",
                            "9cd9b37926cd1447a06625ffa7914527573fb097c10cb0bbdb1d1b8ded3742fe",
                            324_147,
                            users=31_668,
                            items=36_073,
                            content_sha256="1cab41ea195cf475c1656636eb9b04a66f6dd592c07c5e351499f78a60334278",
                            url=_LIGHTGCN_RAW + "Data/yelp2018/test.txt",
                        ),
                    }
                ),
                url=_LIGHTGCN_URL,
                repo_path="Data/yelp2018",
            ),
        ),
        users=31_668,
        items=38_048,
        notes="no duplicates, no train/test overlap; also mirrored in "
        "github.com/gusye1234/LightGCN-PyTorch (data/yelp2018)",
    ),
    "ml-1m": KnownDataset(
        name="ml-1m",
        sources=(
            DatasetSource(
                folder="ml-1m-lightgcnpp",
                fmt="lightgcn",
                files=MappingProxyType(
                    {
                        "train": SourceFile(
                            "train.txt",
                            "dfa3a7a866feade29ca5722ac0423c1b0317ac1f6ad38a55fc1a7ceeb9cee3bb",
                            590_733,
                            users=6_039,
                            items=3_583,
                            content_sha256="235a6f4b3048c9050db20c02ee30451cbdef82b30a9a07c79ede662e7df825f7",
                            url=_LIGHTGCNPP_RAW + "data/ml-1m/train.txt",
                        ),
                        "valid": SourceFile(
                            "valid.txt",
                            "429fe0d750b304677898d7eeb1080764bbf06550b94c9508b8cc8cd0573e3dfc",
                            80_897,
                            users=6_033,
                            items=3_178,
                            content_sha256="99bec6101b71c464a6c62d88fbc2ed235ba2174482b4f56361078c094c1f04c3",
                            url=_LIGHTGCNPP_RAW + "data/ml-1m/valid.txt",
                        ),
                        "test": SourceFile(
                            "test.txt",
                            "0d58f78bbf606f401aec2efe3f519b945c458c8398955f986e03b880fbbd16a6",
                            164_848,
                            users=6_038,
                            items=3_356,
                            content_sha256="548a6a21fdb88268ff639d5f881b0ec218f6fe0750be4afb028defcade62ef15",
                            url=_LIGHTGCNPP_RAW + "data/ml-1m/test.txt",
                        ),
                    }
                ),
                url=_LIGHTGCNPP_URL,
                repo_path="data/ml-1m",
            ),
        ),
        users=6_039,
        items=3_628,
        notes="filtered implicit ML-1M with its own valid split; no duplicates or overlaps",
    ),
}

KNOWN_DATASETS: Mapping[str, KnownDataset] = MappingProxyType(_REGISTRY)


def import_hint(name: str) -> str | None:
    """Return the one command that imports a known dataset, or None for unknown names.

    Used when ``--dataset=<name>`` is requested but no imported copy is found.
    """
    entry = KNOWN_DATASETS.get(name)
    if entry is None:
        return None
    src = entry.sources[0]
    return (
        f"dataset '{name}' is not imported yet: run `{IMPORT_COMMAND} {name}` (it downloads "
        f"and verifies the published split from {src.url})"
    )


def _candidate_dirs(root: Path, folder: str) -> list[Path]:
    """Folders that may hold a layout's files: the given folder itself, then ``root/folder``."""
    return [root, root / folder]


def _has_files(folder: Path, src: DatasetSource) -> bool:
    return all((folder / f.filename).is_file() for f in src.files.values())


def _missing_message(entry: KnownDataset, root: Path | None) -> str:
    src = entry.sources[0]
    needed = ", ".join(f.filename for f in src.files.values())
    where = (
        f"no source folder given for dataset '{entry.name}'"
        if root is None
        else f"source files of dataset '{entry.name}' not found under {root}"
    )
    alternatives = "".join(f" or {s.folder}/" for s in entry.sources[1:])
    return (
        f"{where}: put {needed} (from {src.origin}) into a "
        f"folder {src.folder}/{alternatives} and pass `--source /path/to/{src.folder}` "
        f"(or set {SOURCE_ENV} to the folder that contains {src.folder}/)"
    )


def resolve_source(
    name: str, source: str | os.PathLike[str] | None = None
) -> tuple[DatasetSource, Path]:
    """Find the local files of a known dataset.

    Args:
        name: Registered dataset name.
        source: The dataset's own folder or a folder containing it; defaults to
            ``$RECBOLE_SPEC_SOURCE``.

    Returns:
        The matching layout and the folder holding its files.

    Raises:
        UnregisteredDatasetError: ``name`` is not registered.
        MissingSourceError: no accepted layout was found; the message says where to put the files.
    """
    if name not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        raise UnregisteredDatasetError(f"unknown dataset '{name}' (known: {known})")
    entry = KNOWN_DATASETS[name]
    raw = source if source is not None else os.environ.get(SOURCE_ENV) or None
    if raw is None:
        raise MissingSourceError(_missing_message(entry, None))
    root = Path(raw).expanduser().resolve()
    for src in entry.sources:
        for folder in _candidate_dirs(root, src.folder):
            if _has_files(folder, src):
                return src, folder
    raise MissingSourceError(_missing_message(entry, root))
