"""The keys a user may set: every key RecBole or the plugin knows.

:class:`~recbole_spec.config.SpecConfig` refuses any other key (a misspelling would otherwise be
ignored without a word). The known keys are read from the properties YAML files of both packages,
RecBole's argument lists, and the two runtime sets below for keys that are read in code only.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

from recbole_spec.paths import properties_dir, recbole_properties_dir

RECBOLE_RUNTIME_KEYS = frozenset(
    {
        # Set or read by RecBole's Config and trainers without a YAML default (configurator.py,
        # utils/argument_list.py, trainer.py): the run's identity, device and distributed setup.
        "model", "dataset", "config_file", "device", "single_spec", "local_rank", "world_size",
        "nproc", "offset", "ip", "port", "verbose", "MODEL_TYPE", "MODEL_INPUT_TYPE", "eval_type",
        "valid_neg_sample_args", "test_neg_sample_args", "neg_sampling", "training_neg_sample_num",
        # Read by RecBole models without a default in their YAML (grep of recbole/model).
        "cin", "contrast", "encoding", "eta", "feature_num", "has_residual", "norm", "sim",
        "tail_ratio", "token_num_threshold", "use_filter", "xgb_early_stopping_rounds",
    }
)  # fmt: skip
"""Keys RecBole reads or sets in code although none of its properties YAML files defines them."""

PLUGIN_RUNTIME_KEYS = frozenset(
    {
        "preset",  # properties/preset/<name>.yaml, comma separated; 'none' disables auto presets
        "resume_from",  # pipeline: continue from a '*-last.pth' checkpoint
        "spec_protocol",  # written by the importer: holdout | paper
        "spec_import",  # the importer's audit record in <dataset>.yaml
    }
)
"""Keys the plugin's code reads that no properties YAML file defines."""


def yaml_keys(paths: Iterable[Path]) -> set[str]:
    """The top-level keys of YAML files (files that hold no mapping add none)."""
    keys: set[str] = set()
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            keys.update(str(k) for k in data)
    return keys


@cache
def recbole_keys() -> frozenset[str]:
    """Every key RecBole knows: its properties YAML files, argument lists and runtime keys.

    The dataset download tables (``url.yaml``, ``kg_url.yaml``) map dataset names to URLs and
    hold no settings, so they are left out.
    """
    from recbole_spec.config.recbole_setup import ensure_recbole

    ensure_recbole()
    from recbole.utils import argument_list

    files = [
        p
        for p in recbole_properties_dir().rglob("*.yaml")
        if p.name not in ("url.yaml", "kg_url.yaml")
    ]
    lists = (
        argument_list.general_arguments
        + argument_list.training_arguments
        + argument_list.evaluation_arguments
        + argument_list.dataset_arguments
    )
    return frozenset(yaml_keys(files) | set(lists) | RECBOLE_RUNTIME_KEYS)


def plugin_keys() -> frozenset[str]:
    """Every key the plugin knows: its settings files (overall, all models, presets) and code.

    Search-space files (``properties/tune/``) only name keys of these files, so they add none.
    """
    props = properties_dir()
    files = [props / "overall.yaml"]
    for folder in ("model", "preset"):
        files += sorted((props / folder).glob("*.yaml"))
    return frozenset(yaml_keys(p for p in files if p.is_file()) | PLUGIN_RUNTIME_KEYS)


def known_keys() -> frozenset[str]:
    """Keys accepted in ``--key=value``, ``--config_files`` and ``config_dict``."""
    return recbole_keys() | plugin_keys()
