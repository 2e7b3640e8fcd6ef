"""Where a run finds a dataset's atomic files, and the import record written beside them.

A dataset is the folder ``<root>/<dataset>/`` holding ``<dataset>*.inter`` files. The roots
searched are the user's ``data_path`` if given, else ``./dataset`` and the plugin's data home
(``$RECBOLE_SPEC_DATA_HOME``); ml-100k always comes from the recbole wheel, as in RecBole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from recbole_spec.paths import data_home, recbole_example_dir
from recbole_spec.validation import ConfigError, suggest


class DatasetNotFoundError(ConfigError):
    """No atomic files exist for the requested dataset under the searched roots."""


def available_datasets(user_data_path: str | None = None) -> list[str]:
    """Datasets with atomic files under the searched roots (plus ml-100k, shipped by RecBole)."""
    names = {"ml-100k"} if (recbole_example_dir() / "ml-100k").is_dir() else set()
    for root in _candidate_roots(user_data_path):
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if _has_atomic_files(p, p.name))
    return sorted(names)


def resolve_dataset_root(dataset: str, user_data_path: str | None = None) -> Path:
    """Return the folder that contains ``<dataset>/<dataset>*.inter``.

    Raises:
        DatasetNotFoundError: for a dataset the plugin knows how to import, the one import
            command; otherwise the folders searched and the datasets found.
    """
    if dataset == "ml-100k":
        return recbole_example_dir()
    roots = _candidate_roots(user_data_path)
    for root in roots:
        if _has_atomic_files(root / dataset, dataset):
            return root.resolve()
    from recbole_spec.data_import.known import KNOWN_DATASETS, import_hint

    hint = import_hint(dataset)
    found = available_datasets(user_data_path)
    searched = ", ".join(str(r / dataset) for r in roots)
    if hint is not None:
        raise DatasetNotFoundError(f"{hint}; no atomic files were found in {searched}")
    close = suggest(dataset, sorted((set(found) | set(KNOWN_DATASETS)) - {dataset}))
    raise DatasetNotFoundError(
        f"unknown dataset '{dataset}': no atomic files ({dataset}.inter or "
        f"{dataset}.train.inter) in {searched}.{close} Available: "
        f"{', '.join(found) or 'none'}. "
        "Pass --data_path=<folder containing a '<dataset>/' folder of atomic files>."
    )


def import_record(path: Path) -> dict[str, Any]:
    """The ``spec_import`` record of an imported dataset's YAML, or ``{}``."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(
            f"dataset settings '{path}' are not valid YAML ({err}); re-import the dataset with "
            "`recbole-spec import ... --force`"
        ) from None
    record = data.get("spec_import") if isinstance(data, dict) else None
    return record if isinstance(record, dict) else {}


def _has_atomic_files(folder: Path, dataset: str) -> bool:
    return folder.is_dir() and any(folder.glob(f"{dataset}*.inter"))


def _candidate_roots(user_data_path: str | None) -> list[Path]:
    if user_data_path:
        return [Path(user_data_path).expanduser()]
    return [Path("dataset").resolve(), data_home()]
