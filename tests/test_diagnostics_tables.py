"""Issue 6: embedding tables of plugin and RecBole models, collapse report, ``spectrum``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import recbole_spec
from recbole_spec.cli import main
from recbole_spec.commands.spectrum import format_spectrum_table
from recbole_spec.diagnostics.checkpoints import spectrum_of_checkpoints
from recbole_spec.diagnostics.report import collapse_report, pair_alignment
from recbole_spec.diagnostics.spectrum import spectrum_report
from recbole_spec.diagnostics.tables import (
    NoEmbeddingError,
    embedding_tables,
    has_embedding_tables,
    interaction_pairs,
)
from recbole_spec.registry import get_model
from recbole_spec.training.checkpoint import CheckpointError
from recbole_spec.training.restore import model_reference


@pytest.fixture()
def builtin_checkpoints(tiny_config: dict) -> dict[str, dict]:
    """One-epoch runs of RecBole's BPR and LightGCN on ``checker`` (the issue's acceptance)."""
    return {
        name: recbole_spec.run(name, "checker", config_dict=tiny_config)
        for name in ("recbole.BPR", "recbole.LightGCN")
    }


def test_builtin_checkpoints_feed_spectrum(builtin_checkpoints: dict, tmp_path: Path) -> None:
    paths = [result["checkpoint"] for result in builtin_checkpoints.values()]
    png = tmp_path / "spectra.png"
    rows = spectrum_of_checkpoints(paths, out=png)
    assert [row["model"] for row in rows] == ["BPR", "recbole.LightGCN"]
    for row, result in zip(rows, builtin_checkpoints.values(), strict=True):
        trained = embedding_tables(result["trainer"].model)
        assert row["metrics"]["all_erank"] == pytest.approx(spectrum_report(*trained)["all_erank"])
        assert 1.0 <= row["metrics"]["all_erank"] <= 16.0
        assert row["metrics"]["n_pairs"] > 0
        assert row["singular_values"].shape == (16,)
    assert png.stat().st_size > 10_000
    table = format_spectrum_table(rows)
    assert table.count("\n") == 3 and "recbole.LightGCN" in table
    first = rows[0]
    assert table.splitlines()[2].startswith(
        f"| BPR | checker | {first['epoch']} | {first['metrics']['all_erank']:.4f} | "
    )


def test_builtin_lightgcn_tables_are_its_propagated_output(builtin_checkpoints: dict) -> None:
    model = builtin_checkpoints["recbole.LightGCN"]["trainer"].model
    model.train()
    user, item = embedding_tables(model, drop_padding=False)
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = model.forward()
    torch.testing.assert_close(user, expected[0])
    torch.testing.assert_close(item, expected[1])


def test_builtin_lightgcn_reuses_its_eval_cache(
    builtin_checkpoints: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = builtin_checkpoints["recbole.LightGCN"]["trainer"].model
    model.eval()
    with torch.no_grad():
        model.restore_user_e, model.restore_item_e = model.forward()

    def no_propagation() -> None:
        raise AssertionError("forward() called although the eval cache is set")

    monkeypatch.setattr(model, "forward", no_propagation)
    user, item = embedding_tables(model, drop_padding=False)
    torch.testing.assert_close(user, model.restore_user_e)
    torch.testing.assert_close(item, model.restore_item_e)


def test_builtin_bpr_tables_are_its_embedding_weights(builtin_checkpoints: dict) -> None:
    model = builtin_checkpoints["recbole.BPR"]["trainer"].model
    user, item = embedding_tables(model)
    torch.testing.assert_close(user, model.user_embedding.weight.detach()[1:])
    torch.testing.assert_close(item, model.item_embedding.weight.detach()[1:])
    assert not user.requires_grad


@pytest.mark.parametrize("name", ["BPRMF", "LightGCN", "DirectSpecPlus"])
def test_plugin_tables_equal_embedding_tables(name: str, tiny_config: dict) -> None:
    model = recbole_spec.run(name, "checker", config_dict=tiny_config, saved=False)["trainer"].model
    expected = [t.detach() for t in model.embedding_tables()]
    full = embedding_tables(model, drop_padding=False)
    trimmed = embedding_tables(model)
    for got, want in zip(full, expected, strict=True):
        torch.testing.assert_close(got, want)
    for got, want in zip(trimmed, expected, strict=True):
        torch.testing.assert_close(got, want[1:])


def test_ease_has_no_embedding_tables(tiny_config: dict, tmp_path: Path) -> None:
    result = recbole_spec.run("EASE", "checker", config_dict=tiny_config)
    assert not has_embedding_tables(get_model("EASE"))
    with pytest.raises(NoEmbeddingError, match="EASE.*item-item"):
        embedding_tables(result["trainer"].model)
    with pytest.raises(NoEmbeddingError, match="EASE"):
        spectrum_of_checkpoints([result["checkpoint"]], out=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_model_reference_tells_plugin_from_builtin() -> None:
    assert model_reference("GFCF", {"dummy_param": 0}) == "GFCF"  # training-free: no encoder
    assert model_reference("LightGCN", {"encoder.user_embedding.weight": 0}) == "LightGCN"
    assert model_reference("LightGCN", {"user_embedding.weight": 0}) == "recbole.LightGCN"
    assert model_reference("BPR", {"user_embedding.weight": 0}) == "BPR"


def test_spectrum_command_reports_missing_checkpoint(tmp_path: Path, capsys) -> None:
    assert main(["spectrum", str(tmp_path / "nope.pth"), "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recbole-spec: error: spectrum: ") and "does not exist" in err
    with pytest.raises(CheckpointError):
        spectrum_of_checkpoints([tmp_path / "nope.pth"])


def test_interaction_pairs_shift_for_padding(builtin_checkpoints: dict) -> None:
    data = builtin_checkpoints["recbole.BPR"]["data"]
    users, items = interaction_pairs(data)
    raw_users, raw_items = interaction_pairs(data, drop_padding=False)
    assert torch.equal(users + 1, raw_users) and torch.equal(items + 1, raw_items)
    assert int(users.min()) >= 0


def test_collapse_report_keys() -> None:
    generator = torch.Generator().manual_seed(0)
    user, item = torch.randn(30, 8, generator=generator), torch.randn(20, 8, generator=generator)
    report = collapse_report(user, item, (torch.tensor([0, 1]), torch.tensor([2, 3])))
    raw = spectrum_report(user, item)
    rownorm = spectrum_report(user, item, normalize=True)
    assert {k: report[k] for k in raw} == raw
    assert {k: report[f"{k}_rownorm"] for k in rownorm} == rownorm
    for key in ("user_uniformity", "item_uniformity", "alignment", "n_pairs", "dim"):
        assert math.isfinite(report[key])
    assert report["n_pairs"] == 2 and report["dim"] == 8
    assert "alignment" not in collapse_report(user, item)
    assert "user_erank_rownorm" not in collapse_report(user, item, normalize_too=False)


def test_alignment_by_hand_on_two_pairs() -> None:
    user = torch.tensor([[3.0, 0.0], [0.0, 2.0]])
    item = torch.tensor([[1.0, 0.0], [5.0, 5.0], [0.0, -1.0]])
    # pair (0, 0): same direction, distance 0; pair (1, 2): opposite directions, squared 4.
    assert pair_alignment(user, item, torch.tensor([[0, 0], [1, 2]])) == pytest.approx(2.0)
    # pair (0, 1): 45 degrees apart, 2 - 2 cos 45 = 2 - sqrt(2); pair (1, 0): orthogonal, 2.
    pairs = (torch.tensor([0, 1]), torch.tensor([1, 0]))
    assert pair_alignment(user, item, pairs) == pytest.approx((2 - math.sqrt(2) + 2) / 2)
    with pytest.raises(ValueError, match="padding"):
        pair_alignment(user, item, torch.tensor([[2, 0]]))


def test_alignment_matches_direct_formula() -> None:
    generator = torch.Generator().manual_seed(1)
    user, item = torch.randn(10, 4, generator=generator), torch.randn(7, 4, generator=generator)
    users, items = torch.tensor([0, 3, 9]), torch.tensor([6, 0, 2])
    direct = (F.normalize(user[users], dim=1) - F.normalize(item[items], dim=1)).square().sum(1)
    assert pair_alignment(user, item, (users, items)) == pytest.approx(float(direct.mean()))
