r"""Per-user test metrics, taken from the one test evaluation without changing its numbers.

:class:`PerUserRecorder` is an epoch callback with ``bind(trainer)``: it stands in for the
trainer's RecBole ``Evaluator``, passes every evaluation through unchanged, and keeps, from the
same collected ``rec.topk`` (hits in the top ``K``, then each user's number of positives), the
per-user values of RecBole's own metrics:

.. math:: \mathrm{NDCG@K}(u) = \frac{\sum_{r \le K} \mathrm{hit}_r / \log_2(r + 1)}
    {\sum_{r \le \min(K, |T(u)|)} 1 / \log_2(r + 1)}, \qquad
    \mathrm{Recall@K}(u) = \frac{\sum_{r \le K} \mathrm{hit}_r}{|T(u)|}

(``recbole.evaluator.metrics.NDCG.metric_info`` and ``Recall.metric_info``). RecBole's aggregate
is their mean over the evaluated users, rounded, so the recorded values reproduce it. Both the
fast evaluator (:mod:`recbole_spec.training.full_sort`) and RecBole's own path hand the evaluator
the rows in the loader's user order (``eval_data.uid_list``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PER_USER_METRICS = ("ndcg", "recall")
"""The metrics kept per user (RecBole names, lower case)."""


def per_user_values(topk: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """``{"ndcg@k": [n_users], "recall@k": [n_users]}`` from RecBole's ``rec.topk`` rows."""
    from recbole.evaluator.metrics import NDCG, Recall

    topk = np.asarray(topk)
    if topk.shape[1] - 1 < k:
        raise ValueError(f"rec.topk holds {topk.shape[1] - 1} ranks, fewer than K = {k}")
    pos_index, pos_len = topk[:, :-1].astype(bool), topk[:, -1]
    config = {"topk": [k], "metric_decimal_place": 4}
    return {
        f"ndcg@{k}": NDCG(config).metric_info(pos_index, pos_len)[:, k - 1],
        f"recall@{k}": Recall(config).metric_info(pos_index, pos_len)[:, k - 1],
    }


class PerUserRecorder:
    """Keeps the per-user NDCG@K and Recall@K of the trainer's latest evaluation.

    Attributes:
        k: the cut-off (default: 20).
        calls: evaluations seen (validations and the test).
        values: metric -> per-user values of the latest evaluation (the test one, once
            :func:`recbole_spec.pipeline.run` returns).
    """

    def __init__(self, k: int = 20) -> None:
        self.k = int(k)
        self.calls = 0
        self.values: dict[str, np.ndarray] = {}
        self._evaluator: Any = None

    def bind(self, trainer: Any) -> None:
        """Stand in for ``trainer.evaluator`` (called by the pipeline before training)."""
        self._evaluator = trainer.evaluator
        trainer.evaluator = self

    def evaluate(self, data_struct: Any) -> Any:
        """The wrapped evaluator's result, unchanged; the per-user values are kept aside."""
        result = self._evaluator.evaluate(data_struct)
        self.calls += 1
        topk = data_struct.get("rec.topk")
        self.values = per_user_values(topk.cpu().numpy(), self.k)
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._evaluator, name)

    def __call__(self, epoch: int, train_loss: Any, valid_result: dict) -> None:
        """An epoch callback needs no work here: :meth:`evaluate` already ran."""
