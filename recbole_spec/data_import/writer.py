"""Write an import: the atomic ``.inter`` files, the dataset YAML, and publishing them safely.

Everything is written into a temporary folder beside the destination and renamed into place at
the end, so a failed import (a full disk included) leaves nothing behind, and an existing import
is replaced only when asked and only if it is one.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from recbole_spec.data_import.errors import DatasetExistsError, DiskSpaceError
from recbole_spec.data_import.readers import InteractionPairs, LoadedSource
from recbole_spec.data_import.report import ImportReport
from recbole_spec.data_import.splits import SPLITS, Splits

INTER_HEADER = ("user_id:token", "item_id:token")

_PAPER_WARNING = """\
# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
# PAPER PROTOCOL: the VALID split is an exact COPY of the TEST split.
# Early stopping and best-checkpoint selection look at TEST data, as the official DirectSpec /
# LightGCN scripts do. Results are comparable with the papers but optimistically biased.
# For an honest validation split re-import with `--protocol holdout --force`.
# (RecBole's full-sort evaluation still masks only each user's train items: with valid == test
# the positives are removed from the history, so the scores themselves are not affected.)
# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""

_POLICY = (
    "duplicate (user, item) rows dropped within each file, first occurrence kept; test pairs "
    "also in train (or in the source valid file) dropped from test; source-valid pairs also in "
    "train dropped from valid"
)

_VALID_NOTE = {
    "carved": "carved at random from each user's train rows (holdout protocol).",
    "file": "the source's own valid file (holdout protocol; nothing carved).",
    "test-copy": "an exact copy of the test split (paper protocol).",
}


def yaml_text(
    report: ImportReport, sources: Mapping[str, LoadedSource], provenance: Mapping[str, Any]
) -> str:
    """The dataset YAML: RecBole's settings for the splits, then the ``spec_import`` record."""
    record: dict[str, Any] = {
        "name": report.name,
        **provenance,
        "source": str(sources["train"].path.parent),
        "format": dict(report.fmt),
        "files": {
            s: {"path": str(src.path), "sha256": src.sha256, "rows": report.rows_read[s]}
            for s, src in sources.items()
        },
        "protocol": report.protocol,
        "valid_source": report.valid_source,
        "valid_fraction": report.valid_fraction,
        "seed": report.seed,
        "rows": dict(report.rows),
        "users": report.users,
        "items": report.items,
        "duplicates_dropped": dict(report.duplicates_dropped),
        "overlap_dropped": dict(report.overlap_dropped),
        **({"cold_start": report.cold_start.as_record()} if report.cold_start else {}),
        "policy": _POLICY,
        **(
            {"ignored_files": ["valid"]}
            if "valid" in sources and report.valid_source != "file"
            else {}
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": "recbole_spec.data_import",
    }
    settings = {
        "benchmark_filename": list(SPLITS),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "field_separator": "\t",
        "load_col": {"inter": ["user_id", "item_id"]},
        "spec_protocol": report.protocol,
    }
    header = (
        f"# Dataset '{report.name}' written by `recbole-spec import`; the files next to this YAML\n"
        "# are RecBole atomic files holding the original integer ids as tokens.\n"
        f"# Valid split: {_VALID_NOTE[report.valid_source]}\n"
    )
    warning = _PAPER_WARNING if report.protocol == "paper" else ""
    body = yaml.safe_dump(settings, sort_keys=False, default_flow_style=None, width=100)
    audit = yaml.safe_dump(
        {"spec_import": record}, sort_keys=False, default_flow_style=False, width=100
    )
    return header + warning + body + audit


def write_inter(path: Path, pairs: InteractionPairs) -> None:
    """One tab-separated atomic file whose tokens are the original ids."""
    frame = pd.DataFrame({INTER_HEADER[0]: pairs.users, INTER_HEADER[1]: pairs.items})
    frame.to_csv(path, sep="\t", index=False, lineterminator="\n")


def write_import(root: Path, dest: Path, splits: Splits, text: str, overwrite: bool) -> None:
    """Write the files into a temporary folder under ``root`` and publish it as ``dest``."""
    name = dest.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.importing-", dir=root))
    try:
        os.chmod(tmp, 0o755)
        for split in SPLITS:
            write_inter(tmp / f"{name}.{split}.inter", splits.out[split])
        (tmp / f"{name}.yaml").write_text(text, encoding="utf-8")
        _publish(tmp, dest, overwrite)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskSpaceError(
                err.errno,
                f"the disk under {root} filled up while writing the import; nothing was "
                "written (the partial files were removed); free some space or pass "
                "--out=<folder on another disk>",
            ) from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_destination(dest: Path, name: str, overwrite: bool) -> None:
    """Refuse an existing destination, and never let ``--force`` replace a non-import."""
    if not dest.exists() and not dest.is_symlink():
        return
    if not overwrite:
        raise _exists_error(dest)
    record = dest / f"{name}.yaml"
    try:
        is_import = dest.is_dir() and "spec_import" in (
            yaml.safe_load(record.read_text(encoding="utf-8")) or {}
        )
    except (OSError, yaml.YAMLError, TypeError):
        is_import = False
    if not is_import:
        raise DatasetExistsError(
            f"refusing to replace {dest}: it is not a recbole-spec import (no {record.name} "
            "with an import record), so --force could destroy your data; move it away or "
            "import under another name"
        )


def check_free_space(root: Path, splits: Splits, extra: int) -> None:
    """Fail before writing anything when the import clearly cannot fit on the disk."""
    needed = extra
    for pairs in splits.out.values():
        if len(pairs):
            digits = len(str(int(pairs.users.max()))) + len(str(int(pairs.items.max())))
            needed += len(pairs) * (digits + 2) + 64
    free = shutil.disk_usage(root).free
    if free < needed * 1.1 + (1 << 20):
        raise DiskSpaceError(
            errno.ENOSPC,
            f"not enough free disk space under {root}: the import needs about "
            f"{needed / 1e6:.1f} MB and {free / 1e6:.1f} MB are free; nothing was written; free "
            "some space or pass --out=<folder on another disk>",
        )


def _publish(folder: Path, dest: Path, overwrite: bool) -> None:
    """Move a finished temporary folder to ``dest``, replacing an old import only if allowed.

    ``dest`` was checked before parsing; if it exists now without ``overwrite``, another import
    of the same name finished meanwhile, and that one is kept.
    """
    raced = DatasetExistsError(
        f"another import of the same name finished first at {dest}; this one was discarded "
        "(re-run with --force to replace it)"
    )
    if not dest.exists():
        try:
            os.replace(folder, dest)
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise raced from None
        return
    if not overwrite:
        raise raced
    retired = dest.with_name(f".{dest.name}.replaced-{uuid.uuid4().hex[:8]}")
    os.replace(dest, retired)
    try:
        os.replace(folder, dest)
    except BaseException:
        os.replace(retired, dest)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _exists_error(dest: Path) -> DatasetExistsError:
    return DatasetExistsError(
        f"dataset already imported at {dest}; pass --force (overwrite=True) to replace it"
    )
