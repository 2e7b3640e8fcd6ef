"""Regularisers added to a recommendation loss.

- :mod:`~recbole_spec.regularizers.stable_rank`: the stable-rank warm-start term of Loveland et
  al. (arXiv 2410.23300), as a pure function and a thin module.
"""

from __future__ import annotations

from recbole_spec.regularizers.stable_rank import StableRankRegularizer, stable_rank_penalty

__all__ = ["StableRankRegularizer", "stable_rank_penalty"]
