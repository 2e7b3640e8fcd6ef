"""Where the plugin finds its YAML properties and imported datasets.

Properties live in the top-level ``properties/`` folder of the source tree and are shipped inside
the wheel as ``recbole_spec/properties`` (hatchling ``force-include``); both layouts are resolved
here so editable and regular installs behave the same.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

DATA_HOME_ENV = "RECBOLE_SPEC_DATA_HOME"


def properties_dir() -> Path:
    """Return the folder holding ``overall.yaml``, ``model/``, ``preset/`` and ``tune/``."""
    packaged = Path(str(resources.files("recbole_spec"))) / "properties"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parent.parent / "properties"
    if source.is_dir():
        return source
    raise FileNotFoundError(
        f"recbole_spec properties not found (looked in {packaged} and {source}); "
        "reinstall the package with `pip install -e .`"
    )


def data_home() -> Path:
    """Folder where ``recbole-spec import`` writes datasets.

    ``$RECBOLE_SPEC_DATA_HOME`` if set, else ``~/.cache/recbole_spec/datasets``.
    """
    env = os.environ.get(DATA_HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "recbole_spec" / "datasets"


def recbole_example_dir() -> Path:
    """Folder of the datasets that ship inside the recbole wheel (ml-100k)."""
    import recbole

    return Path(recbole.__file__).resolve().parent / "dataset_example"
