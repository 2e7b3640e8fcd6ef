"""Dataset names RecBole itself claims, which an import must refuse or warn about.

RecBole substitutes its own data or settings under some names (the wheel's ``dataset_example/``
and ``properties/dataset/<name>.yaml``) and downloads others on demand (``url.yaml``); the
importer refuses the first kind and notes the second (:mod:`recbole_spec.data_import`).
"""

from __future__ import annotations


def recbole_bundled_datasets() -> frozenset[str]:
    """Names under which RecBole substitutes its own data or settings.

    These are the datasets inside the recbole wheel (``dataset_example/``: ml-100k, whose
    ``data_path`` RecBole's ``Config`` forces to its bundled copy) and the names with a RecBole
    dataset YAML (``properties/dataset/<name>.yaml``, layered over every run of that name).
    An import under one of these names would be shadowed, so the importer refuses them.
    """
    from recbole_spec.paths import recbole_example_dir, recbole_properties_dir

    names = {p.name for p in recbole_example_dir().iterdir() if p.is_dir()}
    names.update(p.stem for p in (recbole_properties_dir() / "dataset").glob("*.yaml"))
    return frozenset(names)


def recbole_downloadable_datasets() -> frozenset[str]:
    """Names RecBole downloads when no atomic files exist (``properties/dataset/url.yaml``).

    An import under such a name wins: the run finds its atomic files first, and RecBole only
    downloads into an empty folder.
    """
    import yaml

    from recbole_spec.paths import recbole_properties_dir

    names: set[str] = set()
    for table in ("url.yaml", "kg_url.yaml"):
        path = recbole_properties_dir() / "dataset" / table
        if path.is_file():
            names.update(str(k) for k in (yaml.safe_load(path.read_text()) or {}))
    return frozenset(names)
