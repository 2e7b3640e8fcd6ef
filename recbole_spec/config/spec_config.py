"""``SpecConfig``: RecBole's ``Config`` with the plugin's layers, explicit overrides and checks.

The layers and their order are :mod:`recbole_spec.config.layering`'s. Unlike RecBole's
``Config``, the overrides come from an explicit argument list rather than ``sys.argv``, so library
calls (tests, Ray trials) are not affected by the host's command line; RecBole's own
``Config(model=PluginModel)`` reaches this class too, reading ``sys.argv`` as RecBole does
(:mod:`recbole_spec.config.recbole_api`). Every check runs here, before any dataset is read. The
parts it builds on have their own modules: :mod:`~recbole_spec.config.keys` (the keys a user may
set), :mod:`~recbole_spec.config.presets` (named settings and the paper defaults),
:mod:`~recbole_spec.config.files` (reading the user's files and overrides) and
:mod:`recbole_spec.data.roots` (where atomic files are).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from recbole_spec import registry
from recbole_spec.config.files import parse_overrides, read_config_file
from recbole_spec.config.keys import known_keys, yaml_keys
from recbole_spec.config.layering import dataset_layers, model_layers
from recbole_spec.config.plain import to_plain
from recbole_spec.config.presets import choose_presets, preset_path
from recbole_spec.config.recbole_setup import ensure_recbole
from recbole_spec.data.roots import import_record, resolve_dataset_root
from recbole_spec.paths import display_path, recbole_example_dir
from recbole_spec.training.stopping import check_stopping
from recbole_spec.validation import ConfigError, check_number, check_positive, closest

ensure_recbole()

from recbole.config import Config  # noqa: E402  (after the compat shims)


class SpecConfig(Config):
    """RecBole configuration for plugin and built-in models, validated before data loading.

    Every key the user sets (``--key=value``, ``config_file_list``, ``config_dict``) must be
    known to RecBole or the plugin (:func:`~recbole_spec.config.keys.known_keys`); a misspelled
    key stops the run with a suggestion instead of being ignored.

    A model that declares ``paper_presets`` (DirectSpecPlus, DirectSpec) runs, on a
    checksum-verified import of a paper's dataset, with that paper's preset unless the user
    names a dataset preset or ``--preset=none``; the user's own keys still win.
    :attr:`settings_line` says so in one line for the run's log.

    Args:
        model: model name (plugin first, ``recbole.<Name>`` for a shadowed built-in) or class.
        dataset: dataset name.
        config_file_list: YAML files, applied in order.
        config_dict: parameter dictionary, applied after the files.
        overrides: ``--key=value`` strings, applied last (highest priority).

    Attributes:
        presets: the presets applied, in order (the automatic one first).
        auto_preset: the preset chosen automatically for a paper dataset, or None.
        settings_line: one line describing the settings a paper-dataset run uses, or None.
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
        self._file_of: dict[str, str] = {}
        self._origin: dict[str, str] = {}
        self.presets: list[str] = []
        self.auto_preset: str | None = None
        self.settings_line: str | None = None
        self._known_dataset: str | None = None
        self._import_protocol: str | None = None
        model_class = registry.get_model(model)
        self.is_plugin = registry.is_plugin_model(model_class)
        files = [str(Path(f)) for f in (config_file_list or [])]
        super().__init__(
            model=model_class,
            dataset=dataset,
            config_file_list=files or None,
            config_dict=dict(config_dict or {}),
        )
        self._validate()
        self.settings_line = self._settings_line()

    # --------------------------------------------------------------------- loading layers

    def _load_config_files(self, file_list: Sequence[str] | None) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for file in file_list or []:
            data = read_config_file(Path(file), self.yaml_loader)
            self._file_of.update(dict.fromkeys(data, file))
            merged.update(data)
        return merged

    def _load_cmd_line(self) -> dict[str, Any]:
        return self._convert_config_dict(dict(self._overrides))

    def _update_internal_config_dict(self, file: str) -> Any:
        data = super()._update_internal_config_dict(file)
        if isinstance(data, dict):
            self._origin.update(dict.fromkeys(data, display_path(file)))
        return data

    def _layer(self, path: Path) -> None:
        if path.is_file():
            self._update_internal_config_dict(str(path))

    def _load_internal_config_dict(self, model: str, model_class: type, dataset: str) -> None:
        # A plugin model must not pick up the YAML of a same-named built-in (LightGCN): hand
        # RecBole a name that has no YAML; the plugin's own layers follow.
        self._origin = {}
        recbole_name = f"{model}.plugin" if self.is_plugin else model
        super()._load_internal_config_dict(recbole_name, model_class, dataset)
        for path in model_layers(model_class, self.is_plugin):
            self._layer(path)
        # Before the dataset lookup, so that a misspelled --data_path is named as such.
        self._check_known_keys()
        root = resolve_dataset_root(dataset, self.external_config_dict.get("data_path"))
        dataset_yaml = root / dataset / f"{dataset}.yaml"
        record = import_record(dataset_yaml)
        self._known_dataset = record.get("known_dataset")
        self._import_protocol = record.get("protocol")
        self.presets = self._choose_presets()
        for path in dataset_layers(self.presets, dataset_yaml):
            self._layer(path)
        self.internal_config_dict["data_path"] = str(root)

    def _choose_presets(self) -> list[str]:
        """The user's presets, preceded by the paper preset of a known dataset (see class doc)."""
        paper = getattr(self.model_class, "paper_presets", None) if self.is_plugin else None
        presets, self.auto_preset = choose_presets(
            self.external_config_dict.get("preset"),
            paper or {},
            self._known_dataset,
            self._import_protocol,
        )
        return presets

    # ----------------------------------------------------------------------- user keys

    def _user_source(self, key: str) -> str | None:
        """Where the user set ``key``: ``--key=value``, a config file or config_dict."""
        if key in self._overrides:
            return f"--{key}={self._overrides[key]}"
        if key in (self.variable_config_dict or {}):
            return "config_dict"
        if key in self._file_of:
            return f"config file {self._file_of[key]}"
        return None

    def _check_known_keys(self) -> None:
        """Reject user keys that neither RecBole nor the plugin knows, with a suggestion."""
        known = known_keys() | set(self.internal_config_dict)
        unknown = [k for k in self.external_config_dict if k not in known]
        if not unknown:
            return
        local = [k for k in self.internal_config_dict if isinstance(k, str)]
        parts = []
        for key in unknown:
            match = closest(key, local) or closest(key, known)
            hint = f"; did you mean '{match}'?" if match else ""
            parts.append(f"'{key}'{hint} (from {self._user_source(key)})")
        noun = "key" if len(parts) == 1 else "keys"
        raise ConfigError(
            f"unknown {noun} {', '.join(parts)}: no RecBole or recbole-spec setting has this "
            f"name, so {self.model} would silently ignore it; see properties/overall.yaml and "
            f"properties/model/ for the settings"
        )

    # ------------------------------------------------------------------ error messages

    def default_value(self, key: str) -> Any:
        """The value ``key`` would have without the user's settings (None if no layer sets it)."""
        return self.internal_config_dict.get(key)

    def default_source(self, key: str) -> str | None:
        """The properties file that sets the default of ``key`` (last layer wins), or None."""
        return self._origin.get(key)

    def fix_hint(self, key: str, example: Any) -> str:
        """How to fix a bad ``key``: the value to use and the file the default comes from.

        Used by :mod:`recbole_spec.validation` to end its messages, e.g. ``pass
        --train_batch_size=256 (the default, from properties/model/DirectSpecPlus.yaml)``.
        """
        default = self.default_value(key)
        source = self.default_source(key)
        note = f" (the default, from {source})" if source and example == default else ""
        user = self._user_source(key)
        if user is None:
            where = source or "your settings"
            return f"edit {where} or pass --{key}={example}"
        if user.startswith("config file "):
            return f"set `{key}: {example}` in {user.removeprefix('config file ')}{note}"
        if user == "config_dict":
            return f"pass config_dict['{key}'] = {example!r}{note}"
        return f"pass --{key}={example}{note}"

    # --------------------------------------------------------------------------- checks

    def _validate(self) -> None:
        owner = self.model
        check_positive(self, "train_batch_size", owner, integer=True, example=2048)
        check_positive(self, "eval_batch_size", owner, integer=True, example=4096)
        check_number(self, "epochs", owner, low=0, integer=True, example=300)
        if self.final_config_dict.get("embedding_size") is not None:
            check_positive(self, "embedding_size", owner, integer=True, example=64)
        check_number(self, "learning_rate", owner, low=0, low_open=True, example=0.001)
        check_stopping(self, owner)
        checker = getattr(self.model_class, "check_config", None)
        if callable(checker):
            checker(self)
        self._check_atomic_files()

    def _check_atomic_files(self) -> None:
        """Catch hand-edited or missing ``.inter`` files before RecBole starts loading them."""
        folder = Path(self.final_config_dict["data_path"])
        if folder.resolve().is_relative_to(recbole_example_dir().resolve()):
            return
        from recbole_spec.data.checks import check_atomic_files

        splits = self.final_config_dict.get("benchmark_filename")
        fields = [self.final_config_dict.get(k) for k in ("USER_ID_FIELD", "ITEM_ID_FIELD")]
        check_atomic_files(
            folder,
            self.dataset,
            [str(s) for s in splits] if splits else None,
            str(self.final_config_dict.get("field_separator") or "\t"),
            [str(f) for f in fields if f],
        )

    # ------------------------------------------------------------------------ reporting

    def _settings_line(self) -> str | None:
        """One line on the paper settings a ``paper_presets`` model uses on a paper's dataset."""
        if not (self.is_plugin and getattr(self.model_class, "paper_presets", None)):
            return None
        protocol = self.final_config_dict.get("spec_protocol")
        protocol_text = {
            "holdout": "holdout protocol (validation carved from train, test untouched)",
            "paper": "PAPER protocol (validation = test rows)",
        }.get(str(protocol), f"{protocol or 'RecBole'} protocol")
        name = f"{self.model} on {self.dataset}"
        if self.auto_preset is not None:
            applied = ",".join(self.presets)
            preset_keys = yaml_keys([preset_path(self.auto_preset)])
            mine = sorted(k for k in preset_keys if self._user_source(k) is not None)
            verb = "overrides" if len(mine) == 1 else "override"
            yours = f"; your {', '.join('--' + k for k in mine)} {verb} it" if mine else ""
            return (
                f"{name}: paper settings (preset {applied}: {self._summary()}){yours}, under "
                f"the {protocol_text}; pass --preset=none for RecBole-native defaults, or "
                "--key=value to change one setting"
            )
        other = self.model_class.other_split_presets.get(str(self._known_dataset))
        if other is not None and not self.presets:
            return (
                f"{name}: RecBole-native defaults ({self._summary()}), under the "
                f"{protocol_text}; no paper settings are applied because this split is not "
                f"the DirectSpec paper's; --preset={other} gives the official settings of "
                "the paper's Yelp data"
            )
        return None

    def _summary(self) -> str:
        """The settings that matter for the paper, e.g. ``SGD lr 200 x0.9995/epoch, ...``."""
        c = self.final_config_dict
        decay = c.get("lr_decay")
        learner = str(c.get("learner"))
        learner = {"sgd": "SGD", "adam": "Adam", "sparse_adam": "SparseAdam"}.get(learner, learner)
        lr = f"{learner} lr {c.get('learning_rate')}" + (
            f" x{decay}/epoch" if decay not in (None, 1, 1.0) else ""
        )
        describe = getattr(self.model_class.objective_class, "describe", None)
        filt = describe(self) if callable(describe) else ""
        sampler = "user-uniform" if c.get("train_sampler") == "user_uniform" else "interaction"
        filt = f"{filt}, " if filt else ""
        return (
            f"{lr}, {filt}shrink {c.get('shrink')}, {c.get('encoder')} encoder, {sampler} "
            f"batches of {c.get('train_batch_size')}, {c.get('epochs')} epochs evaluated every "
            f"{c.get('eval_step')}"
        )

    def to_plain_dict(self) -> dict[str, Any]:
        """The final configuration as YAML-safe Python primitives (for checkpoints and reports)."""
        return yaml.safe_load(yaml.safe_dump(to_plain(self.final_config_dict)))
