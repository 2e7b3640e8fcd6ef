"""Presets: named settings files (``properties/preset/<name>.yaml``) and the paper defaults.

A run names presets with ``--preset=a,b`` (applied in order, under the user's own keys). A model
that declares ``paper_presets`` (DirectSpec, DirectSpec+) gets, on a checksum-verified import of
a paper's dataset, that paper's preset by default (:func:`choose_presets`); ``--preset=none``
turns every preset off.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recbole_spec.paths import properties_dir
from recbole_spec.validation import ConfigError, split_names, suggest

PAPER_PRESETS: Mapping[str, str] = {
    "citeulike": "directspec_citeulike",
    "gowalla": "directspec_gowalla",
}
"""Known (checksum-verified) dataset -> preset holding the DirectSpec paper's settings for it.

yelp2018 is deliberately absent: the LightGCN yelp2018 split is not the DirectSpec paper's Yelp
split (whose train file is not public), so its settings (``directspec_yelp``) were tuned on other
data and no paper figure exists for this split; applying them by default would present untested
settings as the paper's. The run says so and names the preset instead.
"""

OTHER_SPLIT_PRESETS: Mapping[str, str] = {"yelp2018": "directspec_yelp"}

HOLDOUT_PRESET = "stop_on_stall"
"""Follows an automatic paper preset on a holdout import: validation picks the checkpoint there, so
training stops once it stalls (the paper's own protocol validates on test and trains 300 epochs)."""

DATASET_PRESET_PREFIXES = ("directspec_", "directau_")
"""Presets that hold a whole dataset's settings; the others (gcn, adaptive, ...) modify one."""


def list_presets() -> list[str]:
    """Names of the shipped presets (``properties/preset/<name>.yaml``)."""
    return sorted(p.stem for p in (properties_dir() / "preset").glob("*.yaml"))


def preset_path(name: str) -> Path:
    """Path of preset ``name``; unknown names raise a :class:`ConfigError` listing the choices."""
    path = properties_dir() / "preset" / f"{name}.yaml"
    if not path.is_file():
        choices = list_presets()
        raise ConfigError(
            f"unknown preset '{name}'{suggest(name, choices)}; choose from {', '.join(choices)}"
        )
    return path


def choose_presets(
    value: Any,
    paper_presets: Mapping[str, str],
    known_dataset: str | None,
    protocol: str | None = None,
) -> tuple[list[str], str | None]:
    """The presets to apply, in order, and the automatic one (None when none was added).

    Args:
        value: The user's ``preset`` setting (comma/space separated string or list, or unset).
        paper_presets: The model's ``paper_presets`` (known dataset -> preset; RecBole's own
            models have none).
        known_dataset: The ``known_dataset`` of the import record, if the dataset is one.
        protocol: The import's protocol; under ``holdout`` the automatic paper preset is
            followed by :data:`HOLDOUT_PRESET`.

    Raises:
        ConfigError: ``none`` combined with other presets.
    """
    user = split_names(value)
    if any(p.lower() == "none" for p in user):
        if len(user) > 1:
            raise ConfigError(
                f"--preset={','.join(user)}: 'none' turns presets off and cannot be combined "
                "with other presets"
            )
        return [], None
    paper = paper_presets.get(str(known_dataset))
    if paper is not None and not any(p.startswith(DATASET_PRESET_PREFIXES) for p in user):
        extra = [HOLDOUT_PRESET] if protocol == "holdout" else []
        return [paper, *extra, *user], paper
    return user, None
