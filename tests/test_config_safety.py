"""Issue 12 (items 1 and 10, config files) and issue 11 item 3: the configuration catches slips.

A misspelled key stops the run with a suggestion, error messages suggest the value actually in
force and the file it comes from, a wrong ``--config_files`` entry fails in one line, and
DirectSpec(+) on a paper's imported dataset runs with that paper's settings by default.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import recbole_spec.pipeline as pipeline
from recbole_spec.cli import main
from recbole_spec.config import SpecConfig
from recbole_spec.config.keys import known_keys
from recbole_spec.data_import import import_split
from recbole_spec.paths import properties_dir
from recbole_spec.validation import ConfigError

from .conftest import checkerboard_pairs


@pytest.fixture()
def no_data_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to build a dataset."""
    import recbole.data

    def boom(config):  # noqa: ANN001, ANN202
        raise AssertionError("dataset was loaded before validation")

    monkeypatch.setattr(recbole.data, "create_dataset", boom)


# ------------------------------------------------------------------ 12.1 misspelled keys


def test_issue12_misspelled_override_stops_with_suggestion(
    tiny_config: dict, no_data_loading
) -> None:
    with pytest.raises(ConfigError) as err:
        pipeline.run("DirectSpecPlus", "checker", config_dict=tiny_config, overrides=["--taau=3"])
    message = str(err.value)
    assert message.startswith("unknown key 'taau'; did you mean 'tau'?")
    assert "--taau=3" in message and "\n" not in message


def test_issue12_misspelled_key_in_config_file_and_dict(tiny_config: dict, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("embedding_size: 32\nlearnig_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"'learnig_rate'; did you mean 'learning_rate'\?.*mine"):
        SpecConfig("BPRMF", "checker", config_file_list=[path], config_dict=tiny_config)
    with pytest.raises(ConfigError, match=r"'stoping_step'; did you mean 'stopping_step'.*dict"):
        SpecConfig("BPRMF", "checker", config_dict={**tiny_config, "stoping_step": 3})


def test_issue12_cli_unknown_key_is_one_line(capsys: pytest.CaptureFixture, tiny_config) -> None:
    code = main(["--model=BPRMF", "--dataset=ml-100k", "--n_layer=2"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("recbole-spec: error: unknown key 'n_layer'; did you mean 'n_layers'?")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        # RecBole settings without a default in the plugin's files.
        ("BPRMF", "state", "WARNING"),
        ("BPRMF", "reproducibility", False),
        ("BPRMF", "USER_ID_FIELD", "user_id"),
        ("BPRMF", "load_col", {"inter": ["user_id", "item_id"]}),
        ("BPRMF", "benchmark_filename", None),
        ("BPRMF", "gpu_id", "0"),
        ("BPRMF", "worker", 0),
        ("BPRMF", "clip_grad_norm", {"max_norm": 5}),
        ("BPRMF", "eval_args", {"split": {"RS": [0.8, 0.1, 0.1]}, "mode": "full"}),
        # A RecBole built-in's own keys, and keys of other RecBole models' YAML.
        ("recbole.LightGCN", "n_layers", 2),
        ("SGL", "ssl_tau", 0.2),
        ("BPR", "embedding_size", 32),
        # Keys only the plugin's code, presets or other plugin models know.
        ("BPRMF", "resume_from", None),
        ("BPRMF", "preset", "stable_rank_warm_start"),
        ("DirectSpecPlus", "spec_protocol", "holdout"),
        ("DirectSpecPlus", "uniformity_t", 2.0),
    ],
)
def test_issue12_settings_recbole_or_the_plugin_read_are_known(
    model: str, key: str, value: object, tiny_config: dict
) -> None:
    SpecConfig(model, "checker", config_dict={**tiny_config, key: value})


CONFIG_READ = re.compile(
    r"""config(?:\.final_config_dict|\.internal_config_dict|\.external_config_dict)?"""
    r"""(?:\.get)?[\[(]\s*["']([A-Za-z_][A-Za-z_0-9]*)["']"""
)


def test_issue12_every_key_the_package_reads_is_known() -> None:
    """A key our code reads but no YAML defines must be in config_keys.PLUGIN_RUNTIME_KEYS."""
    package = Path(__file__).resolve().parent.parent / "recbole_spec"
    read = {key for path in package.rglob("*.py") for key in CONFIG_READ.findall(path.read_text())}
    assert "resume_from" in read
    missing = sorted(read - known_keys())
    assert not missing, f"add {missing} to PLUGIN_RUNTIME_KEYS (config_keys) or give a YAML default"


def test_issue12_a_stored_final_config_is_accepted_back(tiny_config: dict) -> None:
    """`spectrum` and `compare` rebuild a run from its stored final config: all keys known."""
    from recbole_spec.training.restore import stored_overrides

    for model in ("DirectSpecPlus", "recbole.LightGCN"):
        stored = SpecConfig(model, "checker", config_dict=tiny_config).to_plain_dict()
        SpecConfig(model, "checker", config_dict=stored_overrides(stored))


# ------------------------------------------------------------- 12.10 values in force


@pytest.mark.parametrize(
    ("model", "override", "fragment"),
    [
        ("DirectSpecPlus", "--train_batch_size=0", "pass --train_batch_size=256 (the default, "
         "from properties/model/DirectSpecPlus.yaml)"),
        ("DirectSpecPlus", "--learning_rate=abc", "pass --learning_rate=0.01 (the default, "
         "from properties/model/DirectSpecPlus.yaml)"),
        ("DirectSpecPlus", "--epochs=-3", "pass --epochs=300 (the default, from "
         "properties/overall.yaml)"),
        ("BPR", "--train_batch_size=0", "pass --train_batch_size=2048 (the default, from "
         "recbole/properties/overall.yaml)"),
        ("BPRMF", "--learning_rate=1e999", "must be a finite number (got inf)"),
    ],
)  # fmt: skip
def test_issue12_messages_suggest_the_default_in_force_and_its_file(
    model: str, override: str, fragment: str, tiny_config: dict
) -> None:
    settings = {k: v for k, v in tiny_config.items() if k not in ("train_batch_size", "epochs")}
    with pytest.raises(ConfigError) as err:
        SpecConfig(model, "checker", config_dict=settings, overrides=[override])
    assert fragment in str(err.value)


def test_issue12_bad_value_in_a_config_file_names_that_file(
    tiny_config: dict, tmp_path: Path
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("tau: -1\n")
    with pytest.raises(ConfigError, match=r"set `tau: 3.0` in .*run.yaml \(the default, from "):
        SpecConfig("DirectSpecPlus", "checker", config_file_list=[path], config_dict=tiny_config)


# ------------------------------------------------------------------ config file kinds


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.yaml", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "model.pth", b"\x80\x02\xff\xfe\x00binary"), "not a text file"),
        (lambda d: _write(d / "bad.yaml", b"tau: [1, 2\nalpha: 3\n"), "not valid YAML"),
        (lambda d: _write(d / "list.yaml", b"- tau\n- alpha\n"), "a YAML mapping"),
        (lambda d: _write(d / "train.csv", b"user,item\n1,2\n"), "a YAML mapping"),
    ],
)
def test_wrong_config_file_kinds_fail_in_one_line(
    make, fragment: str, tiny_config: dict, tmp_path: Path, no_data_loading
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    with pytest.raises(ConfigError) as err:
        pipeline.run("BPRMF", "checker", config_file_list=[make(folder)], config_dict=tiny_config)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_an_empty_config_file_is_fine(tiny_config: dict, tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.yaml", b"# nothing yet\n")
    assert SpecConfig("BPRMF", "checker", config_file_list=[path], config_dict=tiny_config)


# ------------------------------------------------------ issue 11.3: paper settings by default


def _import_as_known(root: Path, name: str, known: str | None, protocol: str = "holdout") -> None:
    """A tiny import whose record says it is the checksum-verified ``known`` dataset."""
    pairs = checkerboard_pairs()
    src = root.parent / f"src-{name}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "train.tsv").write_text("".join(f"{u}\t{i}\n" for u, i in pairs[::2] + pairs[1::4]))
    (src / "test.tsv").write_text("".join(f"{u}\t{i}\n" for u, i in pairs[3::4]))
    report = import_split(src / "train.tsv", src / "test.tsv", name, root, protocol=protocol)
    if known is not None:
        data = yaml.safe_load(report.yaml_path.read_text())
        data["spec_import"]["known_dataset"] = known
        report.yaml_path.write_text(yaml.safe_dump(data))


@pytest.fixture()
def paper_root(tmp_path: Path, workdir: Path) -> Path:
    root = tmp_path / "imported"
    _import_as_known(root, "gowalla", "gowalla")
    _import_as_known(root, "citeulike", "citeulike", protocol="paper")
    _import_as_known(root, "yelp2018", "yelp2018")
    _import_as_known(root, "mine", None)
    return root


def _preset(name: str) -> dict:
    return yaml.safe_load((properties_dir() / "preset" / f"{name}.yaml").read_text())


def test_issue11_paper_settings_by_default_on_a_known_dataset(paper_root: Path) -> None:
    config = SpecConfig("DirectSpecPlus", "gowalla", config_dict={"data_path": str(paper_root)})
    preset = _preset("directspec_gowalla")
    for key in ("learner", "learning_rate", "alpha", "tau", "shrink", "train_sampler", "epochs"):
        assert config[key] == preset[key], key
    assert config.auto_preset == "directspec_gowalla"
    assert config["spec_protocol"] == "holdout"  # the preset never switches the protocol
    assert config["benchmark_filename"] == ["train", "valid", "test"]
    line = config.settings_line
    assert line.startswith("DirectSpecPlus on gowalla: paper settings (preset directspec_gowalla")
    assert "SGD lr 200" in line and "holdout protocol" in line and "--preset=none" in line
    assert "\n" not in line
    plain = SpecConfig("DirectSpec", "citeulike", config_dict={"data_path": str(paper_root)})
    assert plain.auto_preset == "directspec_citeulike" and plain["learning_rate"] == 180
    assert "PAPER protocol" in plain.settings_line  # the import's protocol, stated


def test_issue11_user_keys_and_presets_win(paper_root: Path) -> None:
    data = {"data_path": str(paper_root)}
    mine = SpecConfig("DirectSpecPlus", "gowalla", config_dict=data, overrides=["--tau=2.5"])
    assert mine["tau"] == 2.5 and mine["alpha"] == 0.7
    assert "your --tau overrides it" in mine.settings_line
    native = SpecConfig("DirectSpecPlus", "gowalla", config_dict=data, overrides=["--preset=none"])
    assert native.auto_preset is None and native["learner"] == "adam"
    gcn = SpecConfig("DirectSpecPlus", "gowalla", config_dict=data, overrides=["--preset=gcn"])
    assert gcn.presets == ["directspec_gowalla", "stop_on_stall", "gcn"]  # holdout import
    assert gcn["encoder"] == "lightgcn" and gcn["stopping_delta"] == 0.001
    other = SpecConfig(
        "DirectSpecPlus", "gowalla", config_dict=data, overrides=["--preset=directspec_yelp"]
    )
    assert other.auto_preset is None and other["learning_rate"] == 10


def test_issue11_no_paper_settings_elsewhere(paper_root: Path) -> None:
    data = {"data_path": str(paper_root)}
    assert SpecConfig("DirectSpecPlus", "mine", config_dict=data).auto_preset is None
    assert SpecConfig("BPRMF", "gowalla", config_dict=data).settings_line is None
    assert SpecConfig("recbole.LightGCN", "gowalla", config_dict=data).auto_preset is None
    yelp = SpecConfig("DirectSpecPlus", "yelp2018", config_dict=data)
    assert yelp.auto_preset is None and yelp["learner"] == "adam"
    assert "--preset=directspec_yelp" in yelp.settings_line


def test_paper_preset_table_names_known_datasets_and_shipped_presets() -> None:
    from recbole_spec.config.presets import OTHER_SPLIT_PRESETS, PAPER_PRESETS, list_presets
    from recbole_spec.data_import.known import KNOWN_DATASETS

    for table in (PAPER_PRESETS, OTHER_SPLIT_PRESETS):
        for dataset, preset in table.items():
            assert dataset in KNOWN_DATASETS and preset in list_presets()
            assert "spec_protocol" not in _preset(preset)  # a preset never changes the protocol


def test_issue12_a_misspelled_data_path_is_named_before_the_dataset_lookup(
    data_root: Path, workdir: Path
) -> None:
    with pytest.raises(ConfigError, match="unknown key 'data_pth'; did you mean 'data_path'"):
        SpecConfig("BPRMF", "checker", config_dict={"data_pth": str(data_root)})
