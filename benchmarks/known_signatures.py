"""Print the content signature of every known dataset file found under a datasets folder.

These are the reference values stored in ``recbole_spec/data_import/known.py`` (``rows``,
``users``, ``items``, ``content_sha256``) against which a download is verified:

    python benchmarks/known_signatures.py /work/shared/datasets
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from recbole_spec.data_import.download import content_signature
from recbole_spec.data_import.known import KNOWN_DATASETS
from recbole_spec.data_import.readers import parse


def main(root: Path) -> None:
    for name, entry in KNOWN_DATASETS.items():
        for layout in entry.sources:
            for split, file in layout.files.items():
                path = root / layout.folder / file.filename
                if not path.is_file():
                    print(f"{name} {layout.folder}/{file.filename}: missing", file=sys.stderr)
                    continue
                data = path.read_bytes()
                sig = content_signature(parse(path, data, layout.fmt))
                print(
                    f"{name} {layout.folder}/{file.filename} {split}: rows={sig.rows} "
                    f"users={sig.users} items={sig.items} content_sha256={sig.sha256} "
                    f"sha256={hashlib.sha256(data).hexdigest()}"
                )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets"))
