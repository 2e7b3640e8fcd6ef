"""DirectSpec+ (Peng et al., arXiv 2406.12032): self-paced filter, fixed or adaptive temperature.

Encoder ``mf`` or ``lightgcn``; ``tau_mode: fixed`` uses ``tau``, ``adaptive`` uses ``tau0`` for
pairs that share a training item and ``tau1`` otherwise (``tau0 <= tau1``). The official paper
protocol (user-uniform sampling, SGD with a large decaying learning rate) is a preset:
``--preset=directspec_citeulike`` and friends in ``properties/preset/``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from recbole_spec.models.directspec import DirectSpec
from recbole_spec.objectives.directspec_plus import DirectSpecPlusObjective
from recbole_spec.validation import ConfigError, check_choice, check_positive

TAU_MODES = ("fixed", "adaptive")


class DirectSpecPlus(DirectSpec):
    """Keys: ``encoder``, ``alpha``, ``shrink``, ``tau_mode``, ``tau`` or ``tau0``/``tau1``."""

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate the filter keys; ``tau0`` must not exceed ``tau1``."""
        super().check_model_config(config)
        owner = cls.__name__
        config["tau_mode"] = check_choice(config, "tau_mode", owner, TAU_MODES)
        if config["tau_mode"] == "fixed":
            check_positive(config, "tau", owner, example=3.0)
            return
        tau0 = check_positive(config, "tau0", owner, example=2.5)
        tau1 = check_positive(config, "tau1", owner, example=3.0)
        if tau0 > tau1:
            raise ConfigError(
                f"{owner}: 'tau0' must be <= 'tau1' (got tau0={tau0}, tau1={tau1}); pairs that "
                f"share an item get the lower temperature, e.g. --tau0=2.5 --tau1=3.0"
            )

    @classmethod
    def objective_class(cls, config: Any) -> type[nn.Module]:
        """The self-paced DirectSpec+ objective (positive-only)."""
        return DirectSpecPlusObjective

    def build_objective(self, config: Any, dataset: Any) -> nn.Module:
        """The self-paced DirectSpec+ objective (adaptive: with the training matrix)."""
        adaptive = config["tau_mode"] == "adaptive"
        return DirectSpecPlusObjective(
            alpha=config["alpha"],
            tau=config["tau"],
            shrink=config["shrink"],
            interactions=dataset.inter_matrix(form="csr") if adaptive else None,
            tau0=config["tau0"],
            tau1=config["tau1"],
        )
