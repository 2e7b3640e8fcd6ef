"""The plugin's settings layers, in order: written once, for every way into a configuration.

Lowest to highest priority:

1. RecBole's own defaults (its ``overall.yaml``, its model YAML for built-in models);
2. the plugin's layers (:func:`model_layers`, then :func:`dataset_layers`):
   ``properties/overall.yaml``; for plugin models ``properties/model/_plugin.yaml`` and the
   model's own YAML (``properties/model/<Model>.yaml``, or ``<Model>.yaml`` next to a
   ``$RECBOLE_SPEC_PLUGINS`` model file); the presets (``properties/preset/<name>.yaml``, the
   automatic paper preset first, then the user's ``preset`` in order); and the ``<dataset>.yaml``
   an import wrote next to the atomic files;
3. the user's config files, then ``config_dict``, then ``--key=value`` overrides.

:class:`~recbole_spec.config.spec_config.SpecConfig` applies these layers, and both the command
line (``recbole-spec run``) and RecBole's own ``Config(model=PluginModel, ...)``
(:mod:`~recbole_spec.config.recbole_setup`) build a ``SpecConfig``, so the two resolve the same
settings from the same words.
"""

from __future__ import annotations

from pathlib import Path

from recbole_spec import registry
from recbole_spec.config.presets import preset_path
from recbole_spec.paths import properties_dir


def model_layers(model_class: type, is_plugin: bool) -> list[Path]:
    """The plugin's layers below the user's that do not depend on the dataset (may not exist).

    A plugin model never reads the YAML of a same-named RecBole built-in (``LightGCN``): its
    defaults are its own file only.
    """
    props = properties_dir()
    layers = [props / "overall.yaml"]
    if is_plugin:
        layers += [props / "model" / "_plugin.yaml", registry.model_yaml(model_class)]
    return layers


def dataset_layers(presets: list[str], dataset_yaml: Path) -> list[Path]:
    """The presets, in order, then the import's ``<dataset>.yaml`` (which may not exist)."""
    return [*(preset_path(p) for p in presets), dataset_yaml]
