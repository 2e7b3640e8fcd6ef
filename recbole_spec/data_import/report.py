"""What an import produced: :class:`ImportReport` and its few-line summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from recbole_spec.data.checks import ColdStart
from recbole_spec.data_import.splits import SPLITS


@dataclass(frozen=True)
class ImportReport:
    """What an import produced.

    Attributes:
        name: Dataset name (folder and file prefix).
        out_dir: Folder holding the atomic files and the YAML.
        protocol: ``holdout`` or ``paper``.
        fmt: Detected or given source format per source split.
        valid_source: ``carved`` (from train), ``file`` (source valid file) or ``test-copy``.
        valid_fraction: Fraction carved per user, or None when nothing was carved.
        seed: Seed of the carve-out generator.
        rows_read: Rows per source file as read (duplicates included).
        rows: Rows written per split.
        duplicates_dropped: Repeated pairs dropped within each source file.
        overlap_dropped: Pairs dropped from ``valid``/``test`` because an earlier split holds them.
        users: Distinct users over the written splits.
        items: Distinct items over the written splits.
        seconds: Wall time of the import.
        cold_start: Valid/test rows whose user or item has no train row (counted before the
            ``drop`` policy removes them), and the policy.
        notes: Lines the summary adds (e.g. a RecBole dataset of the same name).
    """

    name: str
    out_dir: Path
    protocol: str
    fmt: Mapping[str, str]
    valid_source: str
    valid_fraction: float | None
    seed: int
    rows_read: Mapping[str, int]
    rows: Mapping[str, int]
    duplicates_dropped: Mapping[str, int]
    overlap_dropped: Mapping[str, int]
    users: int
    items: int
    seconds: float
    cold_start: ColdStart | None = None
    notes: tuple[str, ...] = ()

    @property
    def yaml_path(self) -> Path:
        """Path of the dataset YAML written next to the atomic files."""
        return self.out_dir / f"{self.name}.yaml"

    def summary(self) -> str:
        """Return a short human-readable report (a few lines)."""
        rows = ", ".join(f"{s} {self.rows[s]:,}" for s in SPLITS)
        dups = ", ".join(f"{s} {n:,}" for s, n in self.duplicates_dropped.items())
        over = ", ".join(f"{s} {n:,}" for s, n in self.overlap_dropped.items())
        return "\n".join(
            [
                f"imported '{self.name}' into {self.out_dir} in {self.seconds:.2f} s",
                f"  protocol: {self.protocol} (valid split: {self.valid_source})",
                f"  rows: {rows} ({self.users:,} users, {self.items:,} items)",
                f"  duplicates dropped: {dups}; pairs already in an earlier split dropped: {over}",
                *([f"  {self._cold_line()}"] if self.cold_start is not None else []),
                f"  use it with RecBole data_path={self.out_dir.parent} dataset={self.name}",
                *(f"  note: {note}" for note in self.notes),
            ]
        )

    def _cold_line(self) -> str:
        cold = self.cold_start
        assert cold is not None
        counts = f"test {cold.test.describe()}; valid {cold.valid.describe()}"
        if not cold.any:
            return "cold start: none (every valid/test user and item has train rows)"
        if cold.policy == "drop":
            return f"cold start: {counts}; dropped (--cold-start=drop)"
        return (
            f"cold start: {counts}; kept, as RecBole does: they are scored with untrained "
            "embeddings (--cold-start=drop removes them)"
        )
