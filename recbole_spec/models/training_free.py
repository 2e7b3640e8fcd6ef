r"""``TrainingFreeRecommender``: a model computed once from the training matrix, no gradient steps.

The base of the plugin's spectral filters (GF-CF, BSPM). It follows RecBole's EASE: model type
``TRADITIONAL`` (RecBole's trainer runs a single epoch), a dummy parameter for the optimizer,
``calculate_loss`` returning a zero tensor, and everything computed in the constructor. A
subclass builds its filters in :meth:`fit` and scores a block of users in :meth:`score_signals`;
users are scored in batches, as signal columns ``[n_items, B]``, so no dense user-item or
item-item matrix is ever built.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Any

import numpy as np
import torch
from recbole.model.abstract_recommender import GeneralRecommender
from recbole.utils import InputType, ModelType
from torch import Tensor, nn

from recbole_spec.spectral.lowpass import (
    IdealLowPassFilter,
    interaction_signals,
    normalize_interactions,
    top_right_singular_vectors,
)
from recbole_spec.training.trainer import TrainingFreeTrainer
from recbole_spec.validation import ConfigError

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold."""

MMAP_THRESHOLD_BYTES = 1 << 20
"""Allocations at or above this size are mmapped (and returned to the system when freed)."""


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Pin glibc's mmap threshold, so that the per-block score arrays stop fragmenting the heap.

    glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MB on
    64-bit), after which the filters' per-block temporaries (several MB, freed every block) come
    from the heap and fragment it: on Gowalla the resident size grew by 1.3 MB per scored block,
    from 0.8 GB to 3.6 GB over validation and test. An explicit threshold turns that adaptation
    off (measured flat at 0.81 GB over 300 blocks). Process-wide; a no-op returning ``False``
    where the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold)))


class TrainingFreeRecommender(GeneralRecommender):
    r"""Base class of the plugin's training-free models (found by the registry like the others).

    Attributes:
        interactions: the training matrix :math:`R` (SciPy CSR, float32, padding row/column 0).
        norm: :math:`\tilde R` and the item degrees
            (:class:`~recbole_spec.spectral.lowpass.NormalizedInteractions`).
        fit_seconds: wall seconds the constructor spent building the filters.
    """

    input_type = InputType.POINTWISE
    type = ModelType.TRADITIONAL
    recbole_spec_plugin = True
    trainer_class = TrainingFreeTrainer

    def __init__(self, config: Any, dataset: Any) -> None:
        super().__init__(config, dataset)
        self.dummy_param = nn.Parameter(torch.zeros(1))
        fix_mmap_threshold()
        start = time.perf_counter()
        self.interactions = dataset.inter_matrix(form="csr").astype(np.float32)
        self.norm = normalize_interactions(self.interactions)
        self.fit(config)
        self.fit_seconds = time.perf_counter() - start

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Validate the model's keys; no negatives are drawn (nothing is trained)."""
        cls.check_model_config(config)
        config["train_neg_sample_args"] = {
            "distribution": "none",
            "sample_num": "none",
            "alpha": "none",
            "dynamic": False,
            "candidate_num": 0,
        }

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate the model's own keys (override in subclasses)."""

    def fit(self, config: Any) -> None:
        """Build the filters from :attr:`norm` (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must define fit(config)")

    def score_signals(self, signals: Tensor) -> Tensor:
        """Filter interaction signals ``[n_items, B]`` into scores ``[n_items, B]``."""
        raise NotImplementedError(f"{type(self).__name__} must define score_signals(signals)")

    def ideal_filter(self, factor_dim: int, seed: int) -> IdealLowPassFilter:
        """The ideal low-pass filter from the top-``factor_dim`` right singular vectors."""
        limit = min(self.norm.matrix.shape) - 1
        if factor_dim > limit:
            raise ConfigError(
                f"{type(self).__name__}: 'factor_dim' must be below min(#users, #items) = "
                f"{limit + 1} for this dataset (got {factor_dim}); pass --factor_dim={limit}"
            )
        vectors = top_right_singular_vectors(self.norm.matrix, factor_dim, seed)
        return IdealLowPassFilter(self.norm, vectors, self.device)

    def forward(self) -> None:
        """Nothing to propagate: the filters are fixed."""

    def calculate_loss(self, interaction: Any) -> Tensor:
        """A zero loss (requires grad, so RecBole's backward pass runs): nothing is trained."""
        return torch.zeros((), device=self.device, requires_grad=True)

    @torch.no_grad()
    def user_scores(self, users: Tensor) -> Tensor:
        """Scores of every item for ``users``, ``[len(users), n_items]``."""
        signals = interaction_signals(self.interactions, users.cpu().numpy(), self.device)
        return self.score_signals(signals).t()

    def full_sort_predict(self, interaction: Any) -> Tensor:
        """Scores of every item for each user of the batch, flattened (RecBole's layout)."""
        return self.user_scores(interaction[self.USER_ID]).reshape(-1)

    def predict(self, interaction: Any) -> Tensor:
        """Scores of the given (user, item) pairs (each distinct user scored once)."""
        users, items = interaction[self.USER_ID], interaction[self.ITEM_ID]
        unique, rows = torch.unique(users, return_inverse=True)
        return self.user_scores(unique)[rows, items.to(self.device)]
