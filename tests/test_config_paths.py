"""Issue 22: one configuration path for every way in, and a cheap package import.

RecBole's own ``Config(model=<plugin model>, ...)`` and ``recbole-spec run`` must resolve the same
final configuration from the same words (presets, config files, overrides), and refuse the same
unknown keys; ``import recbole_spec.validation`` must not import RecBole or torch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.trainer import Trainer

import recbole_spec.pipeline
from recbole_spec import DirectSpecPlus
from recbole_spec.cli import main
from recbole_spec.config import SpecConfig
from recbole_spec.validation import ConfigError
from tests.conftest import tiny_settings


class Captured(Exception):
    """Stops ``recbole-spec run`` once its configuration is built (no data is read)."""


def cli_config(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> SpecConfig:
    """The configuration ``recbole-spec <argv>`` resolves."""
    built = []
    build = recbole_spec.pipeline.build_config

    def capture(*args: Any, **kwargs: Any) -> SpecConfig:
        built.append(build(*args, **kwargs))
        raise Captured

    monkeypatch.setattr(recbole_spec.pipeline, "build_config", capture)
    with pytest.raises(Captured):
        main(argv)
    return built[0]


def as_argv(settings: dict[str, Any]) -> list[str]:
    return [f"--{key}={value}" for key, value in settings.items()]


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("preset", "differs"),
    [("gcn,adaptive", set()), ("", {"sparse_grad"})],
    ids=["presets-gcn-adaptive", "no-preset-mf"],
)
def test_recbole_config_and_cli_resolve_the_same_settings(
    data_root: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    preset: str,
    differs: set[str],
) -> None:
    """Same presets, config file and overrides: the same final configuration, key by key.

    The one documented difference: ``sparse_grad: auto`` is False under RecBole's ``Trainer``
    (torch optimizers need dense gradients), while the plugin's trainer may pick row-wise ones.
    """
    file = write_yaml(workdir / "run.yaml", "alpha: 0.5\ntau: 2.0\nepochs: 3\n")
    settings = tiny_settings(data_root, workdir, epochs=2, learning_rate=0.01)
    if preset:
        settings["preset"] = preset
    monkeypatch.setattr(sys, "argv", ["my_script.py", "--shrink=0.05"])
    recbole = Config(
        model=DirectSpecPlus, dataset="checker", config_file_list=[str(file)], config_dict=settings
    )
    train, _, _ = data_preparation(recbole, create_dataset(recbole))
    trainer = Trainer(recbole, DirectSpecPlus(recbole, train._dataset))
    assert trainer.config is recbole and trainer.epochs == 2, "config_dict beats the file"

    argv = ["run", "--model=DirectSpecPlus", "--dataset=checker", f"--config_files={file}"]
    cli = cli_config(monkeypatch, [*argv, *as_argv(settings), "--shrink=0.05"])

    assert isinstance(recbole, SpecConfig) and recbole.presets == cli.presets
    mine, theirs = recbole.final_config_dict, cli.final_config_dict
    assert sorted(mine) == sorted(theirs)
    unequal = {key for key in mine if mine[key] != theirs[key]}
    assert unequal == differs, {key: (mine[key], theirs[key]) for key in unequal}
    assert mine["sparse_grad"] is False
    assert (mine["alpha"], mine["tau"], mine["shrink"], mine["epochs"]) == (0.5, 2.0, 0.05, 2)
    if preset:  # a preset named on RecBole's path is applied, as on the command line
        assert mine["encoder"] == "lightgcn" and mine["tau_mode"] == "adaptive"


def test_unknown_key_is_refused_on_both_paths(
    data_root: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    settings = tiny_settings(data_root, workdir)
    monkeypatch.setattr(sys, "argv", ["my_script.py"])
    with pytest.raises(ConfigError, match="unknown key 'tua'; did you mean 'tau'") as caught:
        Config(model=DirectSpecPlus, dataset="checker", config_dict={**settings, "tua": 3.0})
    code = main(
        ["run", "--model=DirectSpecPlus", "--dataset=checker", *as_argv(settings), "--tua=3"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "unknown key 'tua'; did you mean 'tau'" in err
    assert "from config_dict" in str(caught.value) and "from --tua=3" in err


def test_recbole_command_line_typo_is_refused(
    data_root: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RecBole's scripts take ``--key=value`` from ``sys.argv``: a misspelt one stops the run."""
    monkeypatch.setattr(sys, "argv", ["my_script.py", "--learing_rate=0.1"])
    with pytest.raises(ConfigError, match="'learing_rate'; did you mean 'learning_rate'"):
        Config(
            model=DirectSpecPlus, dataset="checker", config_dict=tiny_settings(data_root, workdir)
        )


def test_recbole_config_takes_a_plugin_model_by_name(
    data_root: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name RecBole does not know is the plugin's; a name it knows stays RecBole's."""
    monkeypatch.setattr(sys, "argv", ["my_script.py"])
    settings = tiny_settings(data_root, workdir)
    config = Config(model="DirectSpecPlus", dataset="checker", config_dict=settings)
    assert isinstance(config, SpecConfig) and config.model_class is DirectSpecPlus
    builtin = Config(model="LightGCN", dataset="checker", config_dict=settings)
    assert type(builtin) is Config and builtin.model_class.__module__.startswith("recbole.")


def test_recbole_config_reads_a_user_folder_model_yaml(
    data_root: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``$RECBOLE_SPEC_PLUGINS`` model's own ``<Name>.yaml`` is layered on RecBole's path too."""
    from recbole_spec import registry

    folder = tmp_path / "my_methods"
    folder.mkdir()
    (folder / "mymf22.py").write_text(
        "from recbole_spec.models import BPRMF\n\n\nclass MyMF22(BPRMF):\n    pass\n"
    )
    (folder / "MyMF22.yaml").write_text("loss: bpr\nembedding_size: 12\nneg_ratio: 3\n")
    monkeypatch.setenv(registry.PLUGINS_ENV, str(folder))
    monkeypatch.setattr(sys, "argv", ["my_script.py"])
    settings = tiny_settings(data_root, workdir)
    del settings["embedding_size"]
    model = registry.get_model("MyMF22")
    config = Config(model=model, dataset="checker", config_dict=settings)
    assert config["embedding_size"] == 12 and config["train_neg_sample_args"]["sample_num"] == 3
    cli = SpecConfig("MyMF22", "checker", config_dict=settings)
    assert cli["embedding_size"] == 12 and cli["neg_ratio"] == 3


def test_importing_a_light_module_does_not_import_recbole_or_torch() -> None:
    """``import recbole_spec.validation`` used to import RecBole, torch, pandas (4.7 s)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import recbole_spec.validation"],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "recbole_spec.validation" in imported
    heavy = {name for name in imported if name.split(".")[0] in ("recbole", "torch", "pandas")}
    assert not heavy, sorted(heavy)[:5]
