r"""Metrics RecBole lacks, registered into RecBole's evaluator.

``TruncatedRecall`` is the recall of the DirectSpec/LightGCN-style official evaluation scripts:

.. math:: \mathrm{TruncatedRecall@K} = \frac{1}{|U|} \sum_u
    \frac{|\hat R_K(u) \cap T(u)|}{\min(K, |T(u)|)}

It equals RecBole's ``Recall`` for users with at most ``K`` test items and is larger otherwise.
Enable it with ``metrics: [Recall, NDCG, TruncatedRecall]``; results appear as
``truncated_recall@K``. (The official "@10" counts 11 positions; we do not reproduce that.)
"""

from __future__ import annotations

import numpy as np

from recbole_spec import compat

compat.apply()

from recbole.evaluator import register  # noqa: E402  (after the compat shims)
from recbole.evaluator.base_metric import TopkMetric  # noqa: E402


class TruncatedRecall(TopkMetric):
    """Hits in the top ``K`` divided by ``min(K, |test items|)``."""

    def calculate_metric(self, dataobject) -> dict:  # noqa: ANN001 - RecBole's DataStruct
        """Return ``{"truncated_recall@K": value}`` for every configured ``K``."""
        pos_index, pos_len = self.used_info(dataobject)
        return self.topk_result("truncated_recall", self.metric_info(pos_index, pos_len))

    def metric_info(self, pos_index: np.ndarray, pos_len: np.ndarray) -> np.ndarray:
        """Per user and cut-off ``k = 1..max K``: hits@k / min(k, |T(u)|)."""
        cutoffs = np.arange(1, pos_index.shape[1] + 1)
        return np.cumsum(pos_index, axis=1) / np.minimum(cutoffs[None, :], pos_len[:, None])


PLUGIN_METRICS = (TruncatedRecall,)


def register_metrics() -> None:
    """Add the plugin's metrics to RecBole's registry (idempotent, in place)."""
    for metric in PLUGIN_METRICS:
        name = metric.__name__.lower()
        register.metrics_dict[name] = metric
        register.metric_information[name] = metric.metric_need
        register.metric_types[name] = metric.metric_type
