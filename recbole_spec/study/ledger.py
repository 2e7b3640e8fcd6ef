"""The study's test ledger: one JSON line per test evaluation, exactly one per (model, seed).

``ledger.jsonl`` is the record that the test split was touched: a line is appended (the file
rewritten atomically, so a killed study never leaves half a line) right after a retraining
evaluated its best checkpoint on test, and a rerun skips every (model, seed) it holds. A second
line for the same pair is refused, so a study cannot select on test by evaluating it twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recbole_spec.atomic import write_text_atomic
from recbole_spec.validation import ConfigError

LEDGER = "ledger.jsonl"


class Ledger:
    """The test evaluations of a study, read from and appended to ``<out>/ledger.jsonl``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / LEDGER
        self.entries: list[dict[str, Any]] = []
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ConfigError(
                        f"study: {self.path} line {number} is not JSON ({err}); restore it or "
                        "choose another --out"
                    ) from None
                if not isinstance(entry, dict) or not {"model", "seed"} <= entry.keys():
                    raise ConfigError(
                        f"study: {self.path} line {number} is not a test evaluation (a JSON "
                        "object with 'model' and 'seed'); restore it or choose another --out"
                    )
                self.entries.append(entry)

    def get(self, model: str, seed: int) -> dict[str, Any] | None:
        """The entry of ``(model, seed)``, or None when its test split was never evaluated."""
        return next((e for e in self.entries if e["model"] == model and e["seed"] == seed), None)

    def record(self, model: str, seed: int, **fields: Any) -> dict[str, Any]:
        """Append the test evaluation of ``(model, seed)``; refuse a second one."""
        if self.get(model, seed) is not None:
            raise RuntimeError(f"the test split of {model} seed {seed} is already in {self.path}")
        entry = {
            "model": model,
            "seed": int(seed),
            **fields,
            "evaluated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.entries.append(entry)
        write_text_atomic(self.path, jsonl(self.entries))
        return entry

    def remove(self, model: str) -> list[dict[str, Any]]:
        """Drop every line of ``model`` (a retuned entry) and return them; rewrites the file."""
        removed = [e for e in self.entries if e["model"] == model]
        if removed:
            self.entries = [e for e in self.entries if e["model"] != model]
            write_text_atomic(self.path, jsonl(self.entries))
        return removed

    def count(self) -> dict[tuple[str, int], int]:
        """Test evaluations per ``(model, seed)`` (each 1 in a sound study)."""
        counts: dict[tuple[str, int], int] = {}
        for entry in self.entries:
            key = (entry["model"], entry["seed"])
            counts[key] = counts.get(key, 0) + 1
        return counts


def jsonl(entries: list[dict[str, Any]]) -> str:
    """``entries`` as JSON lines, keys sorted (the ledger's file format)."""
    return "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)
