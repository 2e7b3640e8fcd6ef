"""DirectSpec+ (Peng et al., arXiv 2406.12032): self-paced filter, fixed or adaptive temperature.

Encoder ``mf`` or ``lightgcn``; ``tau_mode: fixed`` uses ``tau``, ``adaptive`` uses ``tau0`` for
pairs that share a training item and ``tau1`` otherwise (``tau0 <= tau1``). The official paper
protocol (user-uniform sampling, SGD with a large decaying learning rate) is a preset:
``--preset=directspec_citeulike`` and friends in ``properties/preset/``.
"""

from __future__ import annotations

from recbole_spec.models.directspec import DirectSpec
from recbole_spec.objectives.directspec_plus import TAU_MODES, DirectSpecPlusObjective

__all__ = ["TAU_MODES", "DirectSpecPlus"]


class DirectSpecPlus(DirectSpec):
    """Keys: ``encoder``, ``alpha``, ``shrink``, ``tau_mode``, ``tau`` or ``tau0``/``tau1``."""

    objective_class = DirectSpecPlusObjective
