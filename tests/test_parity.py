"""With the same weights, the plugin's models score exactly like RecBole's built-ins."""

from __future__ import annotations

import pytest
import torch

from recbole_spec.pipeline import build_config, load_data


def _pair(ours: str, theirs: str, tiny_config: dict):
    settings = {**tiny_config, "n_layers": 2, "embedding_size": 8}
    config = build_config(ours, "checker", config_dict=settings)
    _, train, _, _ = load_data(config)
    ours_model = config.model_class(config, train._dataset)
    ref_config = build_config(theirs, "checker", config_dict=settings)
    ref_model = ref_config.model_class(ref_config, train._dataset)
    with torch.no_grad():
        ref_model.user_embedding.weight.copy_(ours_model.encoder.user_embedding.weight)
        ref_model.item_embedding.weight.copy_(ours_model.encoder.item_embedding.weight)
    return ours_model.eval(), ref_model.eval()


@pytest.mark.parametrize(("ours", "theirs"), [("LightGCN", "recbole.LightGCN"), ("BPRMF", "BPR")])
def test_full_sort_scores_equal_recbole(ours: str, theirs: str, tiny_config: dict) -> None:
    ours_model, ref_model = _pair(ours, theirs, tiny_config)
    users = torch.arange(1, ours_model.n_users)
    interaction = {ours_model.USER_ID: users}
    with torch.no_grad():
        expected = ref_model.full_sort_predict(interaction)
        actual = ours_model.full_sort_predict(interaction)
    assert actual.shape == expected.shape == (len(users) * ours_model.n_items,)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
