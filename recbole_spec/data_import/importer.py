"""The import itself: check the arguments, read the sources, apply the policies, write.

:func:`import_split` takes any fixed split; :func:`import_known` takes a dataset of
:data:`~recbole_spec.data_import.known.KNOWN_DATASETS` from a folder (checking its published
checksums) or, without one, downloads it (checking its published content).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from recbole_spec import paths
from recbole_spec.data.checks import COLD_START_POLICIES
from recbole_spec.data_import import writer
from recbole_spec.data_import.download import fetch_known
from recbole_spec.data_import.errors import PathLike
from recbole_spec.data_import.known import (
    KNOWN_DATASETS,
    SOURCE_ENV,
    UnregisteredDatasetError,
    resolve_source,
)
from recbole_spec.data_import.readers import FORMATS, LoadedSource, load_source
from recbole_spec.data_import.recbole_names import (
    recbole_bundled_datasets,
    recbole_downloadable_datasets,
)
from recbole_spec.data_import.report import ImportReport
from recbole_spec.data_import.splits import (
    SPLITS,
    Splits,
    apply_cold_start,
    build_splits,
    check_not_empty,
)

PROTOCOLS = ("holdout", "paper")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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
    """Import a dataset of :data:`KNOWN_DATASETS`, verifying the published split.

    With a source folder (``source`` or ``$RECBOLE_SPEC_SOURCE``) its files must match the
    published sha256. Without one, the files are downloaded into ``<out_root>/.downloads/``
    (or taken from there) and their content signature is checked instead
    (:func:`~recbole_spec.data_import.download.fetch_known`); the import is then the same.

    Args:
        name: Registered name (``citeulike``, ``gowalla``, ``yelp2018``, ``ml-1m``).
        source: The dataset's folder or a folder containing it; defaults to
            ``$RECBOLE_SPEC_SOURCE``, and to a download when that is unset too.
        out_root: RecBole ``data_path`` to write under; None means :func:`paths.data_home`.
        **kw: ``protocol``, ``valid_fraction``, ``seed``, ``overwrite``, ``cold_start`` as in
            :func:`import_split`.

    Returns:
        The counts of what was written.

    Raises:
        UnregisteredDatasetError: ``name`` is not registered.
        MissingSourceError: the files were not found in the given folder; the message says where
            to put them.
        DownloadError: a download failed (offline, HTTP error, stall, truncation).
        ContentMismatchError: a downloaded file is not the published split.
    """
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
    if source is None and not os.environ.get(SOURCE_ENV):
        return _download_and_import(name, out_root, options)
    layout, folder = resolve_source(name, source)
    files = {split: folder / f.filename for split, f in layout.files.items()}
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


def _download_and_import(
    name: str, out_root: PathLike | None, options: dict[str, Any]
) -> ImportReport:
    """Check the arguments and destination, fetch the verified files, then import them."""
    if name not in KNOWN_DATASETS:
        known = ", ".join(sorted(KNOWN_DATASETS))
        raise UnregisteredDatasetError(f"unknown dataset '{name}' (known: {known})")
    preferred = KNOWN_DATASETS[name].sources[0]
    _check_arguments(
        name, preferred.fmt, options["protocol"], options["valid_fraction"], options["cold_start"]
    )
    root = _output_root(out_root)
    writer.check_destination(root / name, name, options["overwrite"])
    layout, folder, where = fetch_known(name, root)
    files = {split: folder / f.filename for split, f in layout.files.items()}
    provenance = {
        "known_dataset": name,
        "layout": layout.folder,
        "origin": layout.origin,
        "downloaded_from": where,
        "verified": "content signature (rows, users, items, sorted-pair sha256)",
    }
    return _run_import(
        files,
        name,
        root,
        fmt=layout.fmt,
        expected_sha256=None,
        origin=layout.origin,
        provenance=provenance,
        **options,
    )


def _output_root(out_root: PathLike | None) -> Path:
    """The resolved output root; a file there is refused."""
    root = Path(out_root).expanduser().resolve() if out_root is not None else paths.data_home()
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(
            f"the output root {root} is a file, not a folder; pass --out=<folder> (or set "
            f"{paths.DATA_HOME_ENV} to a folder)"
        )
    return root


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
    root = _output_root(out_root)
    dest = root / name
    writer.check_destination(dest, name, overwrite)
    expected = expected_sha256 or {}
    sources = {s: load_source(s, p, fmt, expected.get(s), origin) for s, p in files.items()}
    splits = apply_cold_start(build_splits(sources, protocol, valid_fraction, seed), cold_start)
    check_not_empty(splits, cold_start)
    report = _make_report(name, dest, protocol, sources, splits, valid_fraction, seed, started)
    report = replace(report, notes=_notes(name, dest))
    text = writer.yaml_text(report, sources, provenance or {})
    root.mkdir(parents=True, exist_ok=True)
    writer.check_free_space(root, splits, len(text))
    writer.write_import(root, dest, splits, text, overwrite)
    return replace(report, seconds=time.perf_counter() - started)


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


def _make_report(
    name: str,
    dest: Path,
    protocol: str,
    sources: Mapping[str, LoadedSource],
    splits: Splits,
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
