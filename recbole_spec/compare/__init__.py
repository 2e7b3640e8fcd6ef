"""``recbole-spec compare``: plugin models against RecBole's built-ins, one table and one plot.

Every (model, seed) goes through :func:`recbole_spec.pipeline.run`, the one pipeline, with the
same dataset, protocol and overrides. Each finished run is written at once, atomically, to
``<out>/runs/<model>-seed<seed>.json`` (test and best-validation metrics, epochs, seconds per
epoch, the collapse report of the trained scoring tables and their singular values), so an
interrupted comparison resumes where it stopped: runs whose JSON exists are skipped unless
``force`` is set. Skipped runs must have been made with the same dataset and settings. Each run
also carries a :class:`~recbole_spec.diagnostics.monitor.SpectrumMonitor`, whose per-evaluation
history (erank, stable rank, uniformity) is kept in the run file. At the end
``results.csv`` (one row per model, means and, with several seeds, ``_std`` columns),
``results.md`` (the same as mean ± std, with the protocol stated) and ``spectra.png`` are
rewritten from all run files.

erank is the DirectSpec paper's effective rank of the stacked raw ``[U; I]`` scoring table (see
:mod:`recbole_spec.diagnostics.tables` for where each model's tables come from); models without
embedding tables (EASE, ItemKNN, Pop, ...) get ``n/a``. The alignment uses the test split the run
was evaluated on.

- :mod:`~recbole_spec.compare.runs`: the runs, their JSON files and the resume;
- :mod:`~recbole_spec.compare.results`: per-model mean and std (pandas), ``results.csv``,
  ``results.md`` and ``spectra.png`` (tables through :mod:`recbole_spec.reporting`).
"""

from __future__ import annotations

from recbole_spec.compare.results import (
    NA,
    RESULTS_CSV,
    RESULTS_MD,
    SPECTRA_PNG,
    aggregate,
    run_table,
    write_results,
)
from recbole_spec.compare.runs import RUNS_DIR, compare, run_filename

__all__ = [
    "NA",
    "RESULTS_CSV",
    "RESULTS_MD",
    "RUNS_DIR",
    "SPECTRA_PNG",
    "aggregate",
    "compare",
    "run_filename",
    "run_table",
    "write_results",
]
