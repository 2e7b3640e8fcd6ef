"""Every choice a properties YAML comment advertises is accepted by the code (no doc drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recbole_spec.config import SpecConfig
from recbole_spec.config.presets import list_presets
from recbole_spec.paths import properties_dir
from recbole_spec.registry import list_models

CHOICE_COMMENT = re.compile(r"^(\w+):.*#\s*\(str\)\s*([\w]+(?:\s*\|\s*[\w]+)+)")


def _advertised(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        match = CHOICE_COMMENT.match(line)
        if match:
            key, choices = match.groups()
            pairs += [(key, choice.strip()) for choice in choices.split("|")]
    return pairs


CASES = [
    (model, key, choice)
    for model in list_models()
    for key, choice in _advertised(properties_dir() / "model" / f"{model}.yaml")
] + [
    ("DirectSpecPlus", key, c)
    for key, c in _advertised(properties_dir() / "model" / "_plugin.yaml")
]


def test_every_model_has_a_yaml_with_choices() -> None:
    """Every model has its YAML; every one with string options advertises them (GFCF has none)."""
    assert all((properties_dir() / "model" / f"{m}.yaml").is_file() for m in list_models())
    assert {model for model, _, _ in CASES} == set(list_models()) - {"GFCF"}


@pytest.mark.parametrize(("model", "key", "choice"), CASES, ids=lambda v: str(v))
def test_advertised_choice_is_accepted(
    model: str, key: str, choice: str, tiny_config: dict
) -> None:
    config = SpecConfig(model, "checker", config_dict={**tiny_config, key: choice})
    assert str(config[key]).lower() == choice.lower()


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_builds_a_valid_config(preset: str, tiny_config: dict) -> None:
    model = "CLUniformity" if preset.startswith("directau") else "DirectSpecPlus"
    if preset == "stable_rank_warm_start":
        model = "BPRMF"
    SpecConfig(model, "checker", config_dict={**tiny_config, "preset": preset})
