r"""The paired significance test of each model against the best baseline, per user.

Rule: the *reference* is the baseline (an entry that is not a proposed, spectrum-balancing
model, see :data:`~recbole_spec.study.plan.PROPOSED_CLASSES`) with the highest mean test
NDCG@20 over the seeds, each seed's configuration selected on validation; without any
baseline, the best entry overall. Picking the strongest baseline on test favours the baseline,
never the proposed models.

Test: for every other entry and metric (NDCG@20, Recall@20), each user's value is averaged over
the seeds (every seed retrains both models on the same split, so the pairs stay matched),
and the two-sided Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`, ``zero_method=
"wilcox"``: users with equal values are dropped) runs on the paired differences
:math:`d_u = \bar m_u - \bar b_u` over the users tested in every run of both. It is paired and
rank-based: per-user NDCG is bounded, skewed and often zero, which a paired t-test would assume
away. With no non-zero difference the models rank every user alike and ``p = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

METRICS = ("ndcg@20", "recall@20")


def seed_mean(per_seed: Sequence[Mapping[str, np.ndarray]], metric: str) -> dict[int, float]:
    """User -> mean of ``metric`` over the seeds, for users tested in every seed."""
    tables = [dict(zip(p["users"].tolist(), p[metric].tolist(), strict=True)) for p in per_seed]
    users = set(tables[0]).intersection(*tables[1:])
    return {u: float(np.mean([t[u] for t in tables])) for u in users}


def paired_wilcoxon(model: Mapping[int, float], reference: Mapping[int, float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value on the users both have (1.0: no difference)."""
    users = sorted(set(model) & set(reference))
    x = np.array([model[u] for u in users])
    y = np.array([reference[u] for u in users])
    if not users or np.all(x == y):
        return 1.0
    return float(stats.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided").pvalue)


def choose_reference(mean_ndcg: Mapping[str, float], proposed: Mapping[str, bool]) -> str | None:
    """The entry every other is tested against (see the module docstring); None if none ran."""
    baselines = [label for label in mean_ndcg if not proposed[label]]
    pool = baselines or list(mean_ndcg)
    if not pool:
        return None
    return max(pool, key=lambda label: mean_ndcg[label])


def p_values(
    per_user: Mapping[str, Sequence[Mapping[str, np.ndarray]]], reference: str
) -> dict[str, dict[str, float]]:
    """Entry -> metric -> p-value against ``reference`` (the reference itself is left out)."""
    ref = {metric: seed_mean(per_user[reference], metric) for metric in METRICS}
    return {
        label: {metric: paired_wilcoxon(seed_mean(runs, metric), ref[metric]) for metric in METRICS}
        for label, runs in per_user.items()
        if label != reference
    }
