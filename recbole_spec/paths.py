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


def recbole_properties_dir() -> Path:
    """Folder of RecBole's own YAML defaults (``overall.yaml``, ``model/``, ``dataset/``)."""
    import recbole

    return Path(recbole.__file__).resolve().parent / "properties"


def display_path(path: str | os.PathLike) -> str:
    """A short, recognisable name for a properties file in messages.

    ``properties/model/BPRMF.yaml`` for the plugin's files, ``recbole/properties/overall.yaml``
    for RecBole's, the full path for anything else (an imported dataset's YAML, a user's file).
    """
    path = Path(path).resolve()
    for root, prefix in (
        (properties_dir().resolve(), "properties"),
        (recbole_properties_dir().resolve(), "recbole/properties"),
    ):
        if path.is_relative_to(root):
            return f"{prefix}/{path.relative_to(root).as_posix()}"
    return str(path)
