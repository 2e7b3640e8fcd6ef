"""``recbole-spec study``: every model tuned on validation with one budget, tested over seeds.

What a paper's comparison table needs, in one resumable command::

    from recbole_spec.study import plan_study, study
    outcome = study(plan_study(["DirectSpecPlus", "BPR"], "ml-100k", trials=4,
                               seeds=[1, 2, 3], out_dir="study/ml-100k"))

- :mod:`~recbole_spec.study.plan`: entries, spaces, the equal budget, ``study.json``;
- :mod:`~recbole_spec.study.ledger`: ``ledger.jsonl``, one line per test evaluation;
- :mod:`~recbole_spec.study.retune`: ``--retune``, an entry searched again on the record;
- :mod:`~recbole_spec.study.per_user`: per-user NDCG@20 / Recall@20 of the test evaluation;
- :mod:`~recbole_spec.study.retrain`: the selected configuration once per seed;
- :mod:`~recbole_spec.study.significance`: the reference rule and the Wilcoxon test;
- :mod:`~recbole_spec.study.tables`: ``results.csv``, ``results.md``, ``results.tex``;
- :mod:`~recbole_spec.study.plots`: ``validation.png`` and ``spectra.png``;
- :mod:`~recbole_spec.study.runner`: :func:`study`, the three stages in order.

The command line is :mod:`recbole_spec.commands.study`; docs/study.md has the rules.
"""

from __future__ import annotations

from recbole_spec.study.ledger import LEDGER, Ledger
from recbole_spec.study.plan import PROPOSED_CLASSES, StudyEntry, StudyPlan, plan_study
from recbole_spec.study.runner import StudyOutcome, StudyUnfinished, study
from recbole_spec.study.significance import choose_reference, p_values, paired_wilcoxon

__all__ = [
    "LEDGER",
    "PROPOSED_CLASSES",
    "Ledger",
    "StudyEntry",
    "StudyOutcome",
    "StudyPlan",
    "StudyUnfinished",
    "choose_reference",
    "p_values",
    "paired_wilcoxon",
    "plan_study",
    "study",
]
