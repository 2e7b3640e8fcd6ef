"""Bad input fails fast, in one line, naming the value and the choices, before data loading."""

from __future__ import annotations

import pytest

import recbole_spec.pipeline as pipeline
from recbole_spec import get_model, list_models
from recbole_spec.cli import main
from recbole_spec.config import SpecConfig, parse_overrides
from recbole_spec.data.roots import DatasetNotFoundError
from recbole_spec.registry import UnknownModelError
from recbole_spec.validation import ConfigError


@pytest.fixture()
def no_data_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to build a dataset."""

    def boom(config):  # noqa: ANN001, ANN202
        raise AssertionError("dataset was loaded before validation")

    import recbole.data

    monkeypatch.setattr(recbole.data, "create_dataset", boom)


def test_plugin_first_lookup_and_explicit_builtin() -> None:
    from recbole.model.general_recommender import LightGCN as RecBoleLightGCN

    assert get_model("lightgcn") is get_model("LightGCN")
    assert get_model("LightGCN").__module__.startswith("recbole_spec")
    assert get_model("recbole.LightGCN") is RecBoleLightGCN
    assert get_model("EASE").__name__ == "EASE"
    assert "BPRMF" in list_models()


def test_unknown_model_lists_choices_and_suggests() -> None:
    with pytest.raises(UnknownModelError) as err:
        get_model("LigthGCN")
    message = str(err.value)
    assert "did you mean 'LightGCN'" in message
    assert "BPRMF" in message and "EASE" in message
    assert "\n" not in message


def test_unknown_dataset_names_folders_and_choices(tiny_config: dict, no_data_loading) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        pipeline.run("BPRMF", "chekcer", config_dict=tiny_config)
    assert "chekcer" in str(err.value) and "checker" in str(err.value)


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("embedding_size", 0, "'embedding_size' must be > 0 (got 0)"),
        ("embedding_size", -8, "'embedding_size' must be > 0 (got -8)"),
        ("train_batch_size", 0, "'train_batch_size' must be > 0 (got 0)"),
        ("train_batch_size", 1.5, "'train_batch_size' must be an integer"),
        ("neg_ratio", 0, "'neg_ratio' must be > 0"),
        ("loss", "hinge", "'loss' must be one of ['bpr', 'ssm']"),
    ],
)
def test_invalid_values_rejected_before_loading(
    key: str, value: object, fragment: str, tiny_config: dict, no_data_loading
) -> None:
    with pytest.raises(ConfigError) as err:
        pipeline.run("BPRMF", "checker", config_dict={**tiny_config, key: value})
    assert fragment in str(err.value)
    assert "BPRMF" in str(err.value)


def test_overrides_beat_config_dict_and_plugin_yaml(tiny_config: dict) -> None:
    config = SpecConfig(
        "BPRMF", "checker", config_dict=tiny_config, overrides=["--embedding_size=32"]
    )
    assert config["embedding_size"] == 32
    assert config["loss"] == "bpr"  # from properties/model/BPRMF.yaml
    builtin = SpecConfig("recbole.LightGCN", "checker", config_dict=tiny_config)
    assert builtin["loss"] is None  # plugin model YAML not applied to the built-in
    assert builtin["valid_metric"] == "NDCG@20"  # plugin overall.yaml applies to every model


def test_parse_overrides_rejects_garbage() -> None:
    assert parse_overrides(["--a=1", "--b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected --key=value"):
        parse_overrides(["epochs=3"])


def test_cli_prints_one_line_error(capsys: pytest.CaptureFixture, workdir) -> None:
    code = main(["--model=NoSuchModel", "--dataset=ml-100k"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("recbole-spec: error: unknown model 'NoSuchModel'")
    assert len(err.splitlines()) == 1
