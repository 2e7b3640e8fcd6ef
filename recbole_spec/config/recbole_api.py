"""The configuration RecBole's own ``Config(model=<plugin model>, ...)`` builds.

A :class:`~recbole_spec.config.spec_config.SpecConfig` (same layers, presets, unknown-key check
and model checks as ``recbole-spec run``) that differs only where RecBole's API does:

* the ``--key=value`` layer is ``sys.argv``, read by RecBole's own parser (its scripts'
  convention), instead of an explicit list;
* ``sparse_grad: auto`` resolves to False: RecBole's ``Trainer`` builds torch optimizers, which
  need dense gradients (the plugin's trainer has row-wise ones); an explicit True stays the
  user's choice.

Built by :func:`~recbole_spec.config.recbole_setup.ensure_recbole`'s hook; nobody constructs it
by name.
"""

from __future__ import annotations

from typing import Any

from recbole.config import Config

from recbole_spec.config.spec_config import SpecConfig


class RecBoleAPIConfig(SpecConfig):
    """``SpecConfig`` with RecBole's argument conventions (see the module docstring).

    Args:
        model: the plugin model class, or its name.
        dataset: dataset name (RecBole's ``dataset`` key when None).
        config_file_list: YAML files, applied in order.
        config_dict: parameter dictionary, applied after the files.
    """

    def __init__(
        self,
        model: Any = None,
        dataset: Any = None,
        config_file_list: Any = None,
        config_dict: Any = None,
    ) -> None:
        super().__init__(model, dataset, config_file_list, config_dict)

    def _load_cmd_line(self) -> dict[str, Any]:
        parsed = Config._load_cmd_line(self)
        self._overrides = {key: str(value) for key, value in parsed.items()}
        return parsed

    def _validate(self) -> None:
        if str(self.final_config_dict.get("sparse_grad")).lower() == "auto":
            self.final_config_dict["sparse_grad"] = False
        super()._validate()
