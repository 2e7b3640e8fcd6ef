"""Errors of ``recbole-spec import``: each message names the file (and line) and the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]


class ImportFormatError(ValueError):
    """A source file is malformed; the message names the file, the 1-based line and the fix."""

    def __init__(self, path: PathLike, line: int | None, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}; fix: {fix}")


class ChecksumMismatchError(ImportFormatError):
    """A source file's sha256 differs from the published one."""

    def __init__(self, path: PathLike, expected: str, actual: str, origin: str | None) -> None:
        self.expected = expected
        self.actual = actual
        source = f" from {origin}" if origin else ""
        super().__init__(
            path,
            None,
            f"sha256 mismatch: expected {expected}, actual {actual}",
            f"re-obtain the original file{source}, or import your copy under a new name with "
            "--train/--test (no checksum is checked then)",
        )


class DatasetExistsError(FileExistsError):
    """The destination already holds an imported dataset and overwriting was not requested."""


class DiskSpaceError(OSError):
    """Not enough free space to write the import; nothing was written."""
