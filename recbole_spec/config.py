"""RecBole ``Config`` with the plugin's YAML layer, explicit overrides and early validation.

Layering, lowest to highest priority:

1. RecBole's own defaults (``overall.yaml``, its model YAML for built-in models, dataset YAML);
2. the plugin's ``properties/overall.yaml``, ``properties/model/_plugin.yaml`` and
   ``properties/model/<Model>.yaml`` (plugin models only), the presets named by ``preset``
   (``properties/preset/<name>.yaml``, comma separated, in order),
   ``properties/dataset/<dataset>.yaml`` and the ``<dataset>.yaml`` written next to an imported
   dataset's atomic files;
3. the user's ``config_file_list``, then ``config_dict``, then ``--key=value`` overrides.

Unlike RecBole's ``Config``, the overrides come from an explicit argument list rather than
``sys.argv``, so library calls (tests, Ray trials) are not affected by the host's command line.
Every check runs here, before any dataset is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from recbole_spec import compat, registry
from recbole_spec.paths import data_home, properties_dir, recbole_example_dir
from recbole_spec.validation import ConfigError, check_number, check_positive, suggest

compat.apply()

from recbole.config import Config  # noqa: E402  (after compat.apply)

from recbole_spec.metrics import register_metrics  # noqa: E402

register_metrics()


class UnknownDatasetError(ConfigError):
    """Raised when no atomic files exist for the requested dataset."""


def parse_overrides(args: Sequence[str]) -> dict[str, str]:
    """Turn ``["--key=value", ...]`` into ``{key: value}`` (strings, converted later by RecBole).

    Raises:
        ConfigError: for an argument that is not of the form ``--key=value``.
    """
    overrides: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if not key or not sep:
            raise ConfigError(f"cannot parse argument '{arg}': expected --key=value")
        if key in overrides and overrides[key] != value:
            raise ConfigError(f"argument '--{key}' given twice with different values")
        overrides[key] = value
    return overrides


def _has_atomic_files(folder: Path, dataset: str) -> bool:
    return folder.is_dir() and any(folder.glob(f"{dataset}*.inter"))


def _candidate_roots(user_data_path: str | None) -> list[Path]:
    if user_data_path:
        return [Path(user_data_path).expanduser()]
    return [Path("dataset").resolve(), data_home()]


def available_datasets(user_data_path: str | None = None) -> list[str]:
    """Datasets with atomic files under the searched roots (plus ml-100k, shipped by RecBole)."""
    names = {"ml-100k"} if (recbole_example_dir() / "ml-100k").is_dir() else set()
    for root in _candidate_roots(user_data_path):
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if _has_atomic_files(p, p.name))
    return sorted(names)


def resolve_dataset_root(dataset: str, user_data_path: str | None = None) -> Path:
    """Return the folder that contains ``<dataset>/<dataset>*.inter``.

    Searches the user's ``data_path`` if given, else ``./dataset`` and the plugin's data home
    (``$RECBOLE_SPEC_DATA_HOME``). ml-100k always comes from the recbole wheel, as in RecBole.

    Raises:
        UnknownDatasetError: naming the folders searched, the datasets found and, for datasets the
            plugin knows how to import, the import command.
    """
    if dataset == "ml-100k":
        return recbole_example_dir()
    roots = _candidate_roots(user_data_path)
    for root in roots:
        if _has_atomic_files(root / dataset, dataset):
            return root.resolve()
    from recbole_spec.known_datasets import KNOWN_DATASETS, import_hint

    hint = import_hint(dataset)
    found = available_datasets(user_data_path)
    searched = ", ".join(str(r / dataset) for r in roots)
    close = suggest(dataset, sorted((set(found) | set(KNOWN_DATASETS)) - {dataset}))
    raise UnknownDatasetError(
        f"unknown dataset '{dataset}': no atomic files ({dataset}.inter or "
        f"{dataset}.train.inter) in {searched}.{close} Available: "
        f"{', '.join(found) or 'none'}. "
        + (hint or "Pass --data_path=<folder containing a '<dataset>/' folder of atomic files>.")
    )


def _names(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    return [str(v) for v in value]


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


class SpecConfig(Config):
    """RecBole configuration for plugin and built-in models, validated before data loading.

    Args:
        model: model name (plugin first, ``recbole.<Name>`` for a shadowed built-in) or class.
        dataset: dataset name.
        config_file_list: YAML files, applied in order.
        config_dict: parameter dictionary, applied after the files.
        overrides: ``--key=value`` strings, applied last (highest priority).
    """

    def __init__(
        self,
        model: str | type,
        dataset: str,
        config_file_list: Sequence[str | os.PathLike] | None = None,
        config_dict: dict[str, Any] | None = None,
        overrides: Sequence[str] = (),
    ) -> None:
        self._overrides = parse_overrides(overrides)
        model_class = registry.get_model(model)
        self.is_plugin = registry.is_plugin_model(model_class)
        files = [str(Path(f)) for f in (config_file_list or [])]
        for file in files:
            if not Path(file).is_file():
                raise ConfigError(f"config file '{file}' does not exist")
        super().__init__(
            model=model_class,
            dataset=dataset,
            config_file_list=files or None,
            config_dict=dict(config_dict or {}),
        )
        self._validate()

    def _load_cmd_line(self) -> dict[str, Any]:
        return self._convert_config_dict(dict(self._overrides))

    def _layer(self, path: Path) -> None:
        if path.is_file():
            self._update_internal_config_dict(str(path))

    def _load_internal_config_dict(self, model: str, model_class: type, dataset: str) -> None:
        # A plugin model must not pick up the YAML of a same-named built-in (LightGCN): hand
        # RecBole a name that has no YAML, and layer the plugin's own files afterwards.
        recbole_name = f"{model}.plugin" if self.is_plugin else model
        super()._load_internal_config_dict(recbole_name, model_class, dataset)
        props = properties_dir()
        self._layer(props / "overall.yaml")
        if self.is_plugin:
            self._layer(props / "model" / "_plugin.yaml")
            self._layer(props / "model" / f"{model}.yaml")
        for preset in _names(self.external_config_dict.get("preset")):
            self._layer(preset_path(preset))
        self._layer(props / "dataset" / f"{dataset}.yaml")
        root = resolve_dataset_root(dataset, self.external_config_dict.get("data_path"))
        self._layer(root / dataset / f"{dataset}.yaml")
        self.internal_config_dict["data_path"] = str(root)

    def _validate(self) -> None:
        owner = self.model
        check_positive(self, "train_batch_size", owner, integer=True, example=2048)
        check_positive(self, "eval_batch_size", owner, integer=True, example=4096)
        check_number(self, "epochs", owner, low=0, integer=True, example=300)
        if self.final_config_dict.get("embedding_size") is not None:
            check_positive(self, "embedding_size", owner, integer=True, example=64)
        check_number(self, "learning_rate", owner, low=0, low_open=True, example=0.001)
        checker = getattr(self.model_class, "check_config", None)
        if callable(checker):
            checker(self)

    def to_plain_dict(self) -> dict[str, Any]:
        """The final configuration as YAML-safe Python primitives (for checkpoints and reports)."""
        return yaml.safe_load(yaml.safe_dump(_plain(self.final_config_dict)))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)
