"""``study --retune=ENTRY``: search one entry again after its space changed, on the record.

A researcher who finds a space at fault (a range that starves the model) fixes the space file
and retunes that entry alone. Its earlier test evaluations were seen, so they are never
deleted: their ledger lines move to ``ledger.discarded.jsonl``, ``study.json`` records the
retune (entry, time, how many test evaluations were discarded), and the tables' header names
the entry, so a reader knows its row was selected after a first look at test. Everything else
the entry left (its search, selection, run records, per-user values and checkpoints) is
removed, so the rerun searches and retrains it from scratch with the current space.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recbole_spec.atomic import write_text_atomic
from recbole_spec.compare.runs import RUNS_DIR, run_filename
from recbole_spec.study.ledger import Ledger, jsonl

DISCARDED = "ledger.discarded.jsonl"
TUNED_DIR = "tuned"
RETUNED_KEY = "retuned"
"""The ``study.json`` key listing every retune: ``{"label", "at", "discarded_tests"}``."""


def discard_entry(out_dir: Path, label: str, tune_dir: Path) -> int:
    """Remove ``label``'s search and results from ``out_dir``; return its discarded tests.

    Its ledger lines are appended to ``ledger.discarded.jsonl`` (each with ``discarded`` set
    to the time) before ``ledger.jsonl`` is rewritten without them, both atomically.
    """
    ledger = Ledger(out_dir)
    moved = [e for e in ledger.entries if e["model"] == label]
    if moved:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        archive = out_dir / DISCARDED
        before = archive.read_text(encoding="utf-8") if archive.exists() else ""
        write_text_atomic(archive, before + jsonl([{**e, "discarded": now} for e in moved]))
        ledger.remove(label)
    stem = run_filename(label, 0).removesuffix("0.json")
    for path in (out_dir / RUNS_DIR).glob(f"{stem}*"):
        if path.name.removeprefix(stem).split(".")[0].isdigit():
            path.unlink()
    (out_dir / TUNED_DIR / f"{label}.json").unlink(missing_ok=True)
    for folder in (tune_dir, out_dir / "checkpoints" / label):
        shutil.rmtree(folder, ignore_errors=True)
    return len(moved)


def record_retune(saved: dict[str, Any], label: str, discarded: int) -> dict[str, Any]:
    """``saved`` (the study.json object) with this retune appended to its record."""
    entry = {
        "label": label,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "discarded_tests": discarded,
    }
    return {**saved, RETUNED_KEY: [*saved.get(RETUNED_KEY, []), entry]}


def retune_lines(saved: dict[str, Any]) -> list[str]:
    """The tables' header lines naming every retuned entry (none when nothing was retuned)."""
    done = saved.get(RETUNED_KEY) or []
    if not done:
        return []
    names = ", ".join(
        f"{r['label']} ({r['discarded_tests']} earlier test evaluations discarded)" for r in done
    )
    return [
        f"- retuned after its space changed: {names}; the discarded evaluations are kept in "
        f"`{DISCARDED}`"
    ]
