"""Models are found, not listed: the package's modules and ``$RECBOLE_SPEC_PLUGINS`` folders.

The README's claim "a new method is one objective file, one model file and one YAML" is checked
by writing exactly those three files into a temporary folder and running the method through
``recbole-spec run``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from recbole_spec import cli, models, registry
from recbole_spec.models.base import SpecRecommender
from recbole_spec.training.checkpoint import load_checkpoint
from recbole_spec.validation import ConfigError

TOY_OBJECTIVE = '''\
"""Hinge loss on the score margin between a positive and its negatives."""

import torch

from recbole_spec.objectives import ConfiguredObjective
from recbole_spec.validation import check_positive


class HingeObjective(ConfiguredObjective):
    """mean(relu(margin - s(u, i) + s(u, j))); key ``toy_margin`` (> 0)."""

    uses_negatives = True

    @classmethod
    def check_config(cls, config, owner):
        check_positive(config, "toy_margin", owner, example=1.0)

    @classmethod
    def from_config(cls, config, dataset):
        return cls(config["toy_margin"])

    def __init__(self, margin: float) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, user, item, neg, batch):
        pos = (user * item).sum(-1, keepdim=True)
        negs = torch.einsum("bd,bkd->bk", user, neg)
        return torch.relu(self.margin - pos + negs).mean()
'''

TOY_MODEL = '''\
"""Toy: MF trained with a hinge loss."""

from recbole_spec.models import BPRMF  # imported, not defined here: not registered twice
from recbole_spec.models.base import SpecRecommender
from toy_hinge_objective import HingeObjective


class Toy(SpecRecommender):
    """Keys: ``toy_margin`` (> 0)."""

    objective_class = HingeObjective
'''

TOY_YAML = """\
toy_margin: 0.25                # (float) Hinge margin, > 0.
embedding_size: 8
"""

TOY_MODULES = ("toy_hinge_objective", "toy_model")


@pytest.fixture()
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user folder holding the toy method, named by ``$RECBOLE_SPEC_PLUGINS``."""
    folder = tmp_path / "my_methods"
    folder.mkdir()
    (folder / "toy_hinge_objective.py").write_text(TOY_OBJECTIVE)
    (folder / "toy_model.py").write_text(TOY_MODEL)
    (folder / "Toy.yaml").write_text(TOY_YAML)
    monkeypatch.setenv(registry.PLUGINS_ENV, str(folder))
    monkeypatch.setattr(sys, "path", list(sys.path))  # the registry appends the folder
    yield folder
    for name in TOY_MODULES:
        sys.modules.pop(name, None)


def _run_args(data_root: Path, workdir: Path) -> list[str]:
    return [
        "run",
        "--model=Toy",
        "--dataset=checker",
        f"--data_path={data_root}",
        f"--checkpoint_dir={workdir / 'saved'}",
        "--epochs=2",
        "--train_batch_size=64",
        "--show_progress=False",
        "--state=WARNING",
    ]


def test_package_models_are_every_spec_recommender_in_the_package() -> None:
    from recbole_spec.models.training_free import TrainingFreeRecommender

    bases = (SpecRecommender, TrainingFreeRecommender)
    found = {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"recbole_spec.models.{info.name}")
        found.update(
            {
                name: obj
                for name, obj in vars(module).items()
                if isinstance(obj, type)
                and issubclass(obj, bases)
                and obj not in bases
                and obj.__module__ == module.__name__
            }
        )
    assert registry.package_models() == found
    assert {"BPRMF", "LightGCN", "DirectSpec", "DirectSpecPlus", "CLUniformity"} <= set(found)
    assert {"GFCF", "BSPM"} <= set(found)  # issue 20: the training-free spectral baselines
    for name, cls in found.items():
        assert cls.__module__ == f"recbole_spec.models.{name.lower()}"
        assert registry.model_yaml(cls).is_file(), f"{name} has no properties/model/{name}.yaml"


def test_models_package_exports_classes_by_name() -> None:
    from recbole_spec.models import BPRMF, DirectSpecPlus

    assert BPRMF is registry.get_model("bprmf")
    assert DirectSpecPlus.__name__ in dir(models)
    with pytest.raises(AttributeError, match="NoSuchModel"):
        models.NoSuchModel  # noqa: B018


def test_user_folder_model_is_registered(plugin_dir: Path) -> None:
    assert "Toy" in registry.list_models() and "BPRMF" in registry.list_models()
    toy = registry.get_model("toy")
    assert toy.__name__ == "Toy" and toy.__module__ == "toy_model"
    assert registry.is_plugin_model(toy)
    assert registry.model_yaml(toy) == plugin_dir.resolve() / "Toy.yaml"


def test_user_folder_method_runs_through_cli(
    plugin_dir: Path, data_root: Path, workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    from recbole_spec.pipeline import build_config

    with pytest.raises(ConfigError, match="Toy: 'toy_margin' must be > 0"):
        build_config("Toy", "checker", config_dict={"data_path": str(data_root), "toy_margin": -1})
    assert cli.main(_run_args(data_root, workdir)) == 0
    assert "ndcg@20" in capsys.readouterr().out
    (checkpoint,) = (workdir / "saved").glob("Toy-*[0-9].pth")
    state = load_checkpoint(checkpoint)
    assert state["config"]["model"] == "Toy"
    assert state["config"]["toy_margin"] == 0.25 and state["config"]["embedding_size"] == 8
    assert state["state_dict"]["encoder.user_embedding.weight"].shape[1] == 8
    # Declared once, by the objective: the hinge loss uses negatives, so RecBole sampled them.
    assert state["config"]["train_neg_sample_args"]["distribution"] == "uniform"
    assert state["config"]["init"] == "xavier_normal"  # the plugin-wide default


def test_objective_without_negatives_declaration_is_refused(
    plugin_dir: Path, data_root: Path
) -> None:
    from recbole_spec.pipeline import build_config

    objective = plugin_dir / "toy_hinge_objective.py"
    objective.write_text(objective.read_text().replace("uses_negatives = True", ""))
    with pytest.raises(TypeError, match="HingeObjective.*must declare 'uses_negatives"):
        build_config("Toy", "checker", config_dict={"data_path": str(data_root)})


def test_duplicate_model_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dupes"
    folder.mkdir()
    (folder / "dupe_bprmf.py").write_text(
        textwrap.dedent(
            """
            from recbole_spec.models.base import SpecRecommender


            class bprmf(SpecRecommender):
                pass
            """
        )
    )
    monkeypatch.setenv(registry.PLUGINS_ENV, str(folder))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "dupe_bprmf", raising=False)
    with pytest.raises(ConfigError, match="two plugin models are named 'bprmf'"):
        registry.list_models()
    sys.modules.pop("dupe_bprmf", None)


def test_plugin_file_shadowing_a_module_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "shadow"
    folder.mkdir()
    (folder / "json.py").write_text("")
    monkeypatch.setenv(registry.PLUGINS_ENV, str(folder))
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ConfigError, match="has the name of another module, 'json'"):
        registry.get_model("BPRMF")


def test_missing_plugin_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.PLUGINS_ENV, str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="nope.*not a folder"):
        registry.list_models()


def test_looking_up_a_recbole_sequential_model_leaves_anomaly_mode_off() -> None:
    """RecBole's sine.py switches autograd anomaly detection on at import (a fresh process)."""
    import subprocess

    code = (
        "import torch\n"
        "from recbole_spec.registry import recbole_model\n"
        "assert recbole_model('SINE').__name__ == 'SINE'\n"
        "import recbole.model.sequential_recommender.sine\n"
        "print(torch.is_anomaly_enabled())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "False"
