"""Objectives against hand computations on tiny inputs."""

from __future__ import annotations

import math

import torch

from recbole_spec.objectives import Batch, BPRObjective, SoftmaxObjective


def _rows():
    user = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    item = torch.tensor([[2.0, 1.0], [1.0, 1.0]])
    neg = torch.tensor([[[0.0, 1.0], [1.0, 0.0]], [[3.0, 0.0], [0.0, -1.0]]])
    batch = Batch(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.zeros(2, 2, dtype=torch.long))
    return user, item, neg, batch


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def test_bpr_by_hand() -> None:
    user, item, neg, batch = _rows()
    # user0: pos 2, negs 0, 1;  user1: pos 2, negs 0, -2
    expected = -(_log_sigmoid(2) + _log_sigmoid(1) + _log_sigmoid(2) + _log_sigmoid(4)) / 4
    assert math.isclose(BPRObjective()(user, item, neg, batch).item(), expected, rel_tol=1e-6)


def test_sampled_softmax_by_hand() -> None:
    user, item, neg, batch = _rows()
    t = 0.5
    row0 = -(2 / t) + math.log(math.exp(2 / t) + math.exp(0) + math.exp(1 / t))
    row1 = -(2 / t) + math.log(math.exp(2 / t) + math.exp(0) + math.exp(-2 / t))
    actual = SoftmaxObjective(temperature=t)(user, item, neg, batch).item()
    assert math.isclose(actual, (row0 + row1) / 2, rel_tol=1e-6)
