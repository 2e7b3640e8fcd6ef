"""The compat shims restore what RecBole needs on newer numpy / scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recbole_spec import compat


def test_numpy_aliases_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    for alias in ("float_", "bool8"):
        if alias in np.__dict__:  # numpy 1.x serves bool8 through a deprecation __getattr__
            monkeypatch.delattr(np, alias)
    compat._patch_numpy()
    assert np.float_ is np.float64
    assert np.bool8 is np.bool_


def test_dok_update_fills_matrix_like_dict_update() -> None:
    matrix = sp.dok_matrix((3, 4), dtype=np.float32)
    compat._dok_update(matrix, {(0, 1): 1.0, (2, 3): 2.0})
    expected = np.zeros((3, 4), dtype=np.float32)
    expected[0, 1], expected[2, 3] = 1.0, 2.0
    np.testing.assert_array_equal(matrix.toarray(), expected)


def write_feature_dataset(root: Path, sequence: bool) -> None:
    """Interactions with a numeric ``rating`` and items with numeric, token (and sequence)
    features, each with missing cells (empty fields in the atomic files)."""
    folder = root / "nanfeat"
    folder.mkdir(parents=True)
    inter = ["user_id:token\titem_id:token\trating:float"]
    for user in range(12):
        for item in range(user % 4, user % 4 + 6):
            rating = "" if (user + item) % 5 == 0 else f"{1 + (user * item) % 5}"
            inter.append(f"{user}\t{item}\t{rating}")
    (folder / "nanfeat.inter").write_text("\n".join(inter) + "\n")
    items = ["item_id:token\tprice:float\tbrand:token" + ("\tgenre:token_seq" if sequence else "")]
    for item in range(10):
        price = "" if item % 3 == 0 else f"{10.0 + item}"
        brand = "" if item % 4 == 0 else f"b{item % 2}"
        genre = "" if item % 2 == 0 else "g1 g2"
        items.append(f"{item}\t{price}\t{brand}" + (f"\t{genre}" if sequence else ""))
    (folder / "nanfeat.item").write_text("\n".join(items) + "\n")


def feature_config(root: Path, load_col: dict) -> object:
    """BPRMF's configuration on the ``nanfeat`` files under ``root``, loading ``load_col``."""
    from recbole_spec.pipeline import build_config

    return build_config(
        "BPRMF",
        "nanfeat",
        config_dict={
            "data_path": str(root),
            "checkpoint_dir": str(root / "saved"),
            "load_col": load_col,
            "state": "WARNING",
        },
    )


def test_chained_inplace_fill_detection_matches_pandas() -> None:
    major = int(pd.__version__.split(".")[0])
    if major >= 3:  # Copy-on-Write is the only mode
        assert not compat.chained_inplace_fill_works()
    else:
        assert compat.chained_inplace_fill_works()


@pytest.mark.parametrize("sequence", [False, True], ids=["numeric", "with-token-seq"])
def test_missing_feature_values_are_imputed_as_recbole_intends(
    tmp_path: Path, sequence: bool
) -> None:
    """Issue 13: under pandas 3, RecBole's ``fillna(inplace=True)`` silently left NaN in numeric
    feature columns, and a ``token_seq`` field failed (``Series.agg(len)``, NaN cells)."""
    from recbole.data import create_dataset

    write_feature_dataset(tmp_path, sequence)
    config = feature_config(
        tmp_path,
        {
            "inter": ["user_id", "item_id", "rating"],
            "item": ["item_id", "price", "brand"] + (["genre"] if sequence else []),
        },
    )
    raw_inter = pd.read_csv(tmp_path / "nanfeat" / "nanfeat.inter", sep="\t")
    raw_item = pd.read_csv(tmp_path / "nanfeat" / "nanfeat.item", sep="\t")
    assert raw_inter["rating:float"].isna().any() and raw_item["price:float"].isna().any()

    data = create_dataset(config)
    inter, item = data.inter_feat, data.item_feat  # DataFrames until data_preparation
    rating = inter["rating"].to_numpy(dtype=float)
    assert not np.isnan(rating).any(), "NaN ratings reached the dataset"
    assert len(rating) == len(raw_inter)  # rows kept in file order
    missing = raw_inter["rating:float"].isna().to_numpy()
    present = raw_inter["rating:float"].dropna()
    np.testing.assert_allclose(rating[missing], present.mean(), rtol=1e-6)
    np.testing.assert_allclose(rating[~missing], present.to_numpy(), rtol=1e-6)

    tokens = data.id2token("item_id", item["item_id"].to_numpy())
    rows = {token: row for token, row in zip(tokens, item.itertuples(), strict=True)}
    assert not item["price"].isna().any()
    known = raw_item["price:float"].dropna()
    assert rows["0"].price == pytest.approx(known.mean()) and rows["1"].price == pytest.approx(11.0)
    assert rows["4"].brand == 0 and rows["1"].brand != 0, "a missing token is the padding id 0"
    if sequence:
        assert len(rows["0"].genre) == 0 and len(rows["1"].genre) == 2


def test_dataset_tensors_are_writable_and_load_without_a_warning(tmp_path: Path) -> None:
    """pandas 3: RecBole wrapped read-only ``Series.values`` in tensors, and torch printed a
    'not writable' warning on every run (the stray stderr line CI caught after SIGTERM)."""
    import warnings

    from recbole.data import create_dataset, data_preparation

    write_feature_dataset(tmp_path, sequence=False)
    config = feature_config(tmp_path, {"inter": ["user_id", "item_id", "rating"]})
    dataset = create_dataset(config)
    raw_items = dataset.inter_feat["item_id"].to_numpy().copy()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=compat.READ_ONLY_WARNING)
        train, _, _ = data_preparation(config, dataset)
    items = dataset.inter_feat["item_id"]
    assert sorted(items.tolist()) == sorted(raw_items.tolist())
    items[0] = items[0]  # writable memory: no warning, no error
    assert compat.series_values_are_read_only() == (int(pd.__version__.split(".")[0]) >= 3)
