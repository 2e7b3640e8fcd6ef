"""Issue 13.4: RecBole's own API as a client of the plugin, and RecBole's checkpoints.

RecBole's ``Config(model=PluginClass)`` + RecBole's ``Trainer`` (no hand-passed YAML), RecBole's
``run_recbole`` on its built-ins (the test step reloads RecBole's pickled checkpoint under
torch's ``weights_only`` default), and ``recbole-spec spectrum`` on such a checkpoint.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.trainer import Trainer

from recbole_spec import BPRMF, DirectSpecPlus
from recbole_spec.cli import main
from recbole_spec.paths import properties_dir
from tests.conftest import tiny_settings


def settings(data_root: Path, tmp: Path, **extra: Any) -> dict[str, Any]:
    return tiny_settings(data_root, tmp, **{"epochs": 2, **extra})


def test_recbole_config_loads_the_plugin_defaults(data_root: Path, workdir: Path) -> None:
    config = Config(
        model=DirectSpecPlus, dataset="checker", config_dict=settings(data_root, workdir)
    )
    defaults = yaml.safe_load((properties_dir() / "model" / "DirectSpecPlus.yaml").read_text())
    for key in ("encoder", "tau", "alpha"):
        assert key in defaults
        expected = defaults[key].lower() if isinstance(defaults[key], str) else defaults[key]
        assert config[key] == expected
    assert config["embedding_size"] == 16, "the user's settings stay on top"
    assert str(config["train_neg_sample_args"]["distribution"]).lower() == "none"
    bpr = Config(model=BPRMF, dataset="checker", config_dict=settings(data_root, workdir))
    assert bpr["train_neg_sample_args"]["distribution"] == "uniform"


def test_recbole_config_runs_the_plugin_checks(data_root: Path, workdir: Path) -> None:
    with pytest.raises(ValueError, match="'tau' must be > 0"):
        Config(
            model=DirectSpecPlus,
            dataset="checker",
            config_dict=settings(data_root, workdir, tau=-1.0),
        )


@pytest.mark.parametrize(("model", "negatives"), [(DirectSpecPlus, False), (BPRMF, True)])
def test_plugin_model_trains_with_recbole_trainer(
    data_root: Path, workdir: Path, model: type, negatives: bool
) -> None:
    config = Config(model=model, dataset="checker", config_dict=settings(data_root, workdir))
    train, valid, test = data_preparation(config, create_dataset(config))
    batch = next(iter(train))
    assert (config["NEG_PREFIX"] + config["ITEM_ID_FIELD"] in batch) is negatives
    recommender = model(config, train._dataset).to(config["device"])
    trainer = Trainer(config, recommender)
    trainer.fit(train, valid, saved=True, show_progress=False)
    assert Path(trainer.saved_model_file).is_file()
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        torch.load(trainer.saved_model_file, weights_only=True)  # RecBole's own pickle
    result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    assert 0 <= result["ndcg@20"] <= 1 and "recall@20" in result


@pytest.fixture(scope="module")
def recbole_checkpoints(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict:
    """``run_recbole`` of RecBole's own BPR and LightGCN (train, reload best, test)."""
    from recbole.quick_start import run_recbole

    tmp = tmp_path_factory.mktemp("recbole")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        # RecBole's Config reads --key=value from sys.argv (pytest's own, e.g. --tb=short) and
        # stores them in the checkpoint: run it as a user would, with no extra arguments.
        mp.setattr(sys, "argv", ["run_recbole.py"])
        for name in ("BPR", "LightGCN"):
            result = run_recbole(
                model=name,
                dataset="checker",
                config_dict=settings(data_root, tmp / name, epochs=1),
            )
            (checkpoint,) = (tmp / name / "saved").glob(f"{name}-*.pth")
            out[name] = {"result": result, "checkpoint": checkpoint, "dir": tmp}
    return out


@pytest.mark.parametrize("name", ["BPR", "LightGCN"])
def test_run_recbole_reaches_the_test_step(recbole_checkpoints: dict, name: str) -> None:
    result = recbole_checkpoints[name]["result"]
    assert 0 <= result["test_result"]["ndcg@10"] <= 1  # RecBole's defaults: @10


def test_spectrum_refuses_recbole_checkpoint_without_opt_in(
    recbole_checkpoints: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    checkpoint = recbole_checkpoints["BPR"]["checkpoint"]
    code = main(["spectrum", str(checkpoint), "--out", str(tmp_path / "s.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--allow-recbole-pickle" in err and "runs any code" in err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("name", ["BPR", "LightGCN"])
def test_spectrum_diagnoses_recbole_checkpoint_with_opt_in(
    recbole_checkpoints: dict,
    tmp_path: Path,
    name: str,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(recbole_checkpoints[name]["dir"])
    checkpoint = recbole_checkpoints[name]["checkpoint"]
    args = ["spectrum", str(checkpoint), "--out", str(tmp_path / "s.png")]
    assert main([*args, "--allow-recbole-pickle"]) == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    expected = "recbole.LightGCN" if name == "LightGCN" else "BPR"
    assert f"| {expected} | checker |" in table
    assert (tmp_path / "s.png").stat().st_size > 0


def test_only_files_this_process_wrote_are_unpickled(tmp_path: Path) -> None:
    """The trainer shim unpickles RecBole's own fresh checkpoint, never a file from elsewhere."""
    from recbole.trainer import trainer as module

    ours, theirs = tmp_path / "ours.pth", tmp_path / "theirs.pth"
    module.torch.save({"config": Namespace(x=1)}, ours, pickle_protocol=4)
    torch.save({"config": Namespace(z=1)}, theirs, pickle_protocol=4)
    assert module.torch.load(ours)["config"] == Namespace(x=1)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        module.torch.load(theirs)
    module.torch.save({"config": Namespace(y=1)}, theirs)  # rewritten by this process: trusted
    assert module.torch.load(theirs)["config"] == Namespace(y=1)
    torch.save({"config": Namespace(y=2)}, ours)  # replaced since this process wrote it
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        module.torch.load(ours)


def test_recbole_config_finds_the_bundled_ml_100k(workdir: Path) -> None:
    """No download: a plugin model on ml-100k reads the copy inside the recbole wheel (as
    RecBole's own models do)."""
    from recbole_spec.paths import recbole_example_dir

    config = Config(model=BPRMF, dataset="ml-100k", config_dict={"state": "WARNING"})
    assert Path(config["data_path"]).resolve() == recbole_example_dir() / "ml-100k"
    assert create_dataset(config).inter_num == 100000
