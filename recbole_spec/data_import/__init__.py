"""Convert the papers' fixed train/test splits into RecBole atomic files.

The published splits come as CSV (``user,item`` with a header, DirectSpec), LightGCN text (one
line per user ``u i1 i2 ...``) or plain TSV (``user<TAB>item``, no header). The importer reads
them with pandas (CSV/TSV) or numpy (LightGCN) and, for a file those refuse, line by line, so that
errors name the file, the 1-based line and the fix; it applies the policies below and writes,
under ``<out_root>/<name>/``::

    <name>.train.inter  <name>.valid.inter  <name>.test.inter  <name>.yaml

The ``.inter`` files are tab-separated with header ``user_id:token<TAB>item_id:token`` and keep the
ORIGINAL integer ids as tokens, so everything RecBole reports refers to the source ids. The YAML
holds the dataset-level RecBole settings (``benchmark_filename: [train, valid, test]`` etc.) and a
``spec_import`` record (source files with sha256, format, rows per split, rows dropped, protocol,
validation fraction, seed, date). Output is written to a temporary folder beside the destination
and renamed into place at the end, so a failed import leaves nothing behind.

Policies (also recorded in the YAML):

* Duplicates: a (user, item) pair repeated inside one file is kept once (first occurrence).
  CiteULike train loses 22 rows this way; the LightGCN Gowalla/Yelp2018 files have none.
* Overlap: a test pair that also occurs in train (or in the source's own valid file) is dropped
  from test, and a source-valid pair that occurs in train is dropped from valid. Such a pair is
  not a held-out interaction. Under RecBole's full-sort evaluation (history = used items minus the
  split's positives) it would stay unmasked and count as a free hit, whereas the official
  DirectSpec code masks every train item, which makes it an unreachable miss. Dropping it is the
  only choice without a spurious hit or miss. CiteULike: 11 test pairs dropped, no test user lost.
  Gowalla, Yelp2018 and ML-1M: none.
* Protocols. ``holdout`` (default): the validation split is carved from each user's TRAIN rows.
  Each user with n >= 2 train rows gives ``max(1, floor(fraction * n))`` rows, at most n - 1,
  which is how RecBole rounds its ``RS`` split. Users with fewer than 2 train rows keep everything.
  Rows are chosen with ``numpy.random.default_rng(seed)``, so the same files and seed give
  byte-identical ``.inter`` files. Test is untouched. If the source has its own valid file
  (ML-1M), that file is the validation split and nothing is carved. ``paper``: nothing is carved,
  ``valid.inter`` is an exact copy of the test rows (the official scripts select checkpoints on
  test), and a source valid file is ignored. RecBole still masks only the train items of each test
  user, because with valid == test the positives are removed from the history.
* Cold start: valid/test rows whose user has no train row, or whose item occurs in no train row,
  are counted (summary and YAML record ``cold_start``) and, by default, kept: RecBole's
  behaviour, under which they are scored with embeddings no positive pair trained.
  ``cold_start="drop"`` (``--cold-start=drop``) removes them from valid and test. The run prints
  the same counts at its start (:mod:`recbole_spec.data.checks`).
* Names: a name under which RecBole ships data or settings (``ml-100k``, ``sample``; see
  :func:`~recbole_spec.data_import.recbole_names.recbole_bundled_datasets`) is refused, because
  every run would use RecBole's copy. A name RecBole can download (``yelp``, ``ml-1m``) is
  accepted and the import wins (RecBole downloads only into an empty folder); the summary says so.
* Safety: an existing import is replaced only with ``overwrite`` (``--force``), and never a
  folder that holds no import record; free disk space is checked before writing, and a full disk
  or a concurrent import of the same name leaves the previous state untouched.

Modules: :mod:`.readers` (formats, pandas/numpy fast readers) and :mod:`.lines` (the exact
line-numbered reader), :mod:`.splits` (the policies above), :mod:`.writer` (files, YAML,
publishing), :mod:`.importer` (the two entry points), :mod:`.report`, :mod:`.known` (the datasets
known by name), :mod:`.download` (fetching and verifying them when no ``--source`` is given),
:mod:`.recbole_names` (names RecBole claims) and :mod:`.errors`. The command line is
:mod:`recbole_spec.commands.import_data`.
"""

from __future__ import annotations

from recbole_spec.data_import.errors import (
    ChecksumMismatchError,
    DatasetExistsError,
    DiskSpaceError,
    ImportFormatError,
)
from recbole_spec.data_import.importer import PROTOCOLS, import_known, import_split
from recbole_spec.data_import.known import (
    KNOWN_DATASETS,
    SOURCE_ENV,
    MissingSourceError,
    UnregisteredDatasetError,
)
from recbole_spec.data_import.readers import FORMATS, InteractionPairs, detect_format, read_pairs
from recbole_spec.data_import.report import ImportReport

__all__ = [
    "FORMATS",
    "KNOWN_DATASETS",
    "PROTOCOLS",
    "SOURCE_ENV",
    "ChecksumMismatchError",
    "DatasetExistsError",
    "DiskSpaceError",
    "ImportFormatError",
    "ImportReport",
    "InteractionPairs",
    "MissingSourceError",
    "UnregisteredDatasetError",
    "detect_format",
    "import_known",
    "import_split",
    "read_pairs",
]
