"""``SpecRecommender``: a RecBole general recommender built from an encoder and an objective.

A plugin model only chooses its encoder and objective (and validates its own keys); batching,
negative reshaping, the L2 term, extra regularisers and scoring live here.

``calculate_loss`` returns a tuple so RecBole logs each term separately: ``train_loss1`` is the
objective, ``train_loss2`` the L2 penalty (0 when ``reg_weight`` is 0), ``train_loss3`` the
stable-rank warm-start term (only when ``stable_rank_weight > 0``; 0 once the warm start ended).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from recbole.model.abstract_recommender import GeneralRecommender
from recbole.utils import InputType
from torch import Tensor, nn

from recbole_spec.encoders import ENCODERS, build_encoder
from recbole_spec.objectives.base import Batch
from recbole_spec.regularizers.l2 import l2_penalty
from recbole_spec.regularizers.stable_rank import StableRankRegularizer, WarmStartSchedule
from recbole_spec.training.optim import resolve_sparse_grad
from recbole_spec.validation import ConfigError, check_choice, check_number, check_positive

TRAIN_SAMPLERS = ("interaction", "user_uniform")


def _unique_rows(ids: Tensor, rows: Tensor) -> Tensor:
    """One row per distinct id (rows of repeated ids are identical)."""
    unique, inverse = torch.unique(ids, return_inverse=True)
    first = torch.empty(unique.shape[0], dtype=torch.long, device=ids.device)
    first.scatter_(0, inverse, torch.arange(ids.shape[0], device=ids.device))
    return rows[first]


class SpecRecommender(GeneralRecommender):
    """Base class of the plugin's models; a subclass is a declaration.

    Subclasses set :attr:`objective_class` (once: its ``uses_negatives`` decides whether RecBole
    samples negatives, its ``check_config`` validates its keys before data loads and its
    ``from_config`` builds it) and :attr:`encoder_name` (or let ``config['encoder']`` choose
    when :attr:`configurable_encoder` is true). The encoder and the stable-rank term check and
    build themselves the same way.
    """

    input_type = InputType.PAIRWISE
    encoder_name = "mf"
    configurable_encoder = False
    objective_class: ClassVar[Any] = None
    """The objective: a class with ``uses_negatives``, ``check_config(config, owner)`` and
    ``from_config(config, dataset)`` (see :class:`~recbole_spec.objectives.ConfiguredObjective`).
    """
    paper_presets: ClassVar[Mapping[str, str]] = {}
    """Known (checksum-verified) dataset -> preset this model runs with by default there."""
    other_split_presets: ClassVar[Mapping[str, str]] = {}
    """Known dataset whose split is not the paper's -> the preset the run names instead."""
    recbole_spec_plugin = True
    """Marks plugin models: RecBole's own ``Config`` then builds the plugin's configuration
    (:mod:`recbole_spec.config.recbole_setup`)."""

    def __init__(self, config: Any, dataset: Any) -> None:
        super().__init__(config, dataset)
        name = config["encoder"] if self.configurable_encoder else self.encoder_name
        self.encoder = build_encoder(name.lower(), config, dataset)
        declared = self._declared_objective()
        self.objective: nn.Module = declared.from_config(config, dataset)
        if getattr(self.objective, "uses_negatives", None) is not declared.uses_negatives:
            raise TypeError(
                f"{declared.__name__}.from_config built a {type(self.objective).__name__}, whose "
                f"uses_negatives differs from the declared {declared.uses_negatives} (which "
                "decided the negative sampling)"
            )
        self.reg_weight = float(config["reg_weight"] or 0.0)
        self.neg_ratio = int(config["neg_ratio"] or 1)
        self.stable_rank = StableRankRegularizer.from_config(config, dataset)
        self.stable_rank_active = self.stable_rank is not None

    @classmethod
    def _declared_objective(cls) -> Any:
        objective = cls.objective_class
        uses_negatives = getattr(objective, "uses_negatives", None)
        if objective is None:
            raise TypeError(f"{cls.__name__} must name its objective: objective_class = ...")
        if not isinstance(uses_negatives, bool):
            raise TypeError(
                f"{objective.__name__} (the objective of {cls.__name__}) must declare "
                f"'uses_negatives = True' or 'uses_negatives = False' as a class attribute"
            )
        return objective

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Validate every key the model's parts read and derive RecBole's negative sampling.

        Called by :class:`~recbole_spec.config.SpecConfig` before any data is loaded: the
        encoder, the shared terms, the model's own keys, then the objective check their keys.
        """
        owner = cls.__name__
        objective = cls._declared_objective()
        encoder = cls.encoder_name
        if cls.configurable_encoder:
            encoder = config["encoder"] = check_choice(config, "encoder", owner, ENCODERS)
        ENCODERS[encoder].check_config(config, owner)
        check_number(config, "reg_weight", owner, low=0, example=1e-4)
        check_positive(config, "neg_ratio", owner, integer=True, example=1)
        StableRankRegularizer.check_config(config, owner)
        config["sparse_grad"] = resolve_sparse_grad(config, owner, encoder)
        config["train_sampler"] = check_choice(config, "train_sampler", owner, TRAIN_SAMPLERS)
        check_number(config, "lr_decay", owner, low=0, low_open=True, high=1, example=0.9995)
        cls.check_model_config(config)
        objective.check_config(config, owner)
        uses_negatives = objective.uses_negatives
        if uses_negatives and config["train_sampler"] == "user_uniform":
            raise ConfigError(
                f"{owner}: 'train_sampler: user_uniform' draws positives only, but this "
                f"objective needs negatives; pass --train_sampler=interaction"
            )
        if uses_negatives:
            config["train_neg_sample_args"] = {
                "distribution": "uniform",
                "sample_num": config["neg_ratio"],
                "alpha": 1.0,
                "dynamic": False,
                "candidate_num": 0,
            }
        else:
            config["train_neg_sample_args"] = {
                "distribution": "none",
                "sample_num": "none",
                "alpha": "none",
                "dynamic": False,
                "candidate_num": 0,
            }

    @classmethod
    def check_model_config(cls, config: Any) -> None:
        """Validate keys of the model's own, beyond its parts' (override in subclasses)."""

    def _split_batch(self, interaction: Any) -> Batch:
        users, items = interaction[self.USER_ID], interaction[self.ITEM_ID]
        if self.NEG_ITEM_ID not in interaction:
            return Batch(users, items)
        # RecBole repeats the positive rows k times, one block per negative draw.
        k = self.neg_ratio
        size = users.shape[0] // k
        negs = interaction[self.NEG_ITEM_ID].view(k, size).t()
        return Batch(users[:size], items[:size], negs)

    def calculate_loss(self, interaction: Any) -> tuple[Tensor, ...]:
        """Return ``(objective, l2, *extra_losses)`` for one training batch."""
        batch = self._split_batch(interaction)
        items = self.batch_items(batch)
        user_rows, item_rows = self.encoder.rows(batch.users, items)
        ego = self.encoder.ego_rows(batch.users, items) if self.reg_weight > 0 else None
        return self.loss_from_rows(batch, user_rows, item_rows, ego)

    @staticmethod
    def batch_items(batch: Batch) -> Tensor:
        """The batch's item ids whose rows the loss reads: positives, then negatives (flattened)."""
        return batch.items if batch.negs is None else torch.cat([batch.items, batch.negs.flatten()])

    def loss_from_rows(
        self,
        batch: Batch,
        user_rows: Tensor,
        item_rows: Tensor,
        ego_rows: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, ...]:
        """:meth:`calculate_loss` given the encoder's rows of the batch.

        The rows are those of ``batch.users`` and :meth:`batch_items` (and their layer-0 rows
        ``ego_rows`` when ``reg_weight > 0``). The trainer's row step
        (:mod:`recbole_spec.training.epoch_plan`) calls it on leaf copies of the table rows, so
        that SGD updates exactly the rows a batch touched.
        """
        size = batch.users.shape[0]
        pos_rows = item_rows[:size]
        neg_rows = (
            None if batch.negs is None else item_rows[size:].view(size, -1, item_rows.shape[-1])
        )
        loss = self.objective(user_rows, pos_rows, neg_rows, batch)
        if self.reg_weight > 0:
            reg = self.reg_weight * l2_penalty(*ego_rows, batch_size=size)
        else:
            reg = loss.new_zeros(())
        return (loss, reg, *self.extra_losses(batch, user_rows, pos_rows, neg_rows))

    def extra_losses(
        self, batch: Batch, user_rows: Tensor, pos_rows: Tensor, neg_rows: Tensor | None
    ) -> tuple[Tensor, ...]:
        """The stable-rank term on the unique in-batch users and items (negatives included)."""
        if self.stable_rank is None:
            return ()
        if not self.stable_rank_active:
            return (user_rows.new_zeros(()),)
        item_ids, item_rows = batch.items, pos_rows
        if batch.negs is not None:
            item_ids = torch.cat([item_ids, batch.negs.flatten()])
            item_rows = torch.cat([pos_rows, neg_rows.reshape(-1, pos_rows.shape[-1])])
        return (
            self.stable_rank(
                _unique_rows(batch.users, user_rows), _unique_rows(item_ids, item_rows)
            ),
        )

    def end_warm_start(self) -> None:
        """Switch the stable-rank term off for the rest of training."""
        self.stable_rank_active = False

    def epoch_callbacks(self, config: Any) -> list[Any]:
        """Epoch callbacks the model's terms need (the warm start's schedule), for the trainer."""
        if self.stable_rank is None:
            return []
        return [
            WarmStartSchedule(self, config["warm_start_epochs"], int(config["warm_start_patience"]))
        ]

    def embedding_tables(self) -> tuple[Tensor, Tensor]:
        """The ``(user, item)`` tables used for scoring (propagated for graph encoders)."""
        return self.encoder()

    def predict(self, interaction: Any) -> Tensor:
        """Score the given (user, item) pairs."""
        user_table, item_table = self.encoder()
        users, items = interaction[self.USER_ID], interaction[self.ITEM_ID]
        return (user_table[users] * item_table[items]).sum(-1)

    def full_sort_predict(self, interaction: Any) -> Tensor:
        """Score every item for each user of the batch: raw (unfiltered) embeddings, ``U I^T``."""
        user_table, item_table = self.encoder()
        users = interaction[self.USER_ID]
        return (user_table[users] @ item_table.t()).view(-1)
