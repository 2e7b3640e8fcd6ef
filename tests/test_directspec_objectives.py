"""DirectSpec / DirectSpec+ objectives against the plain composition of the reference filters."""

from __future__ import annotations

import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from recbole_spec.objectives.base import Batch
from recbole_spec.objectives.directspec import DirectSpecObjective, shrink_rows
from recbole_spec.objectives.directspec_plus import DirectSpecPlusObjective, FusedSides
from recbole_spec.objectives.spectral_filters import self_paced_filter


def _reference_side(rows: torch.Tensor, alpha: float, tau, shrink: float) -> torch.Tensor:
    return shrink_rows(self_paced_filter(F.normalize(rows, dim=-1), alpha, tau), shrink)


@pytest.mark.parametrize("shrink", [0.0, 0.03])
@pytest.mark.parametrize("matrix_tau", [False, True])
def test_fused_side_equals_reference_values_and_gradients(shrink: float, matrix_tau: bool) -> None:
    torch.manual_seed(0)
    rows = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    tau = torch.where(torch.rand(9, 9) > 0.5, 2.5, 3.0).double() if matrix_tau else 3.0
    if matrix_tau:
        tau = (tau + tau.T) / 2  # adaptive temperatures are symmetric
    weights = torch.randn(9, 4, dtype=torch.float64)
    fused = FusedSides.apply(rows, 0.8, tau, shrink)
    reference = _reference_side(rows, 0.8, tau, shrink)
    torch.testing.assert_close(fused, reference)
    (grad_fused,) = torch.autograd.grad((fused * weights).sum(), rows)
    (grad_ref,) = torch.autograd.grad((reference * weights).sum(), rows)
    torch.testing.assert_close(grad_fused, grad_ref)
    assert torch.autograd.gradcheck(lambda r: FusedSides.apply(r, 0.8, tau, shrink), (rows,))


@pytest.mark.parametrize("matrix_tau", [False, True])
def test_fused_sides_stacked_equal_each_side_alone(matrix_tau: bool) -> None:
    """The objective stacks users and items into one call; each side must stay independent."""
    torch.manual_seed(2)
    rows = torch.randn(2, 7, 4, dtype=torch.float64, requires_grad=True)
    tau = torch.rand(2, 7, 7, dtype=torch.float64) + 2.5 if matrix_tau else 3.0
    weights = torch.randn(2, 7, 4, dtype=torch.float64)
    stacked = FusedSides.apply(rows, 0.7, tau, 0.03)
    (grad_stacked,) = torch.autograd.grad((stacked * weights).sum(), rows)
    for side in range(2):
        side_tau = tau[side] if matrix_tau else tau
        alone = _reference_side(rows[side], 0.7, side_tau, 0.03)
        torch.testing.assert_close(stacked[side], alone)
        (grad_alone,) = torch.autograd.grad((alone * weights[side]).sum(), rows)
        torch.testing.assert_close(grad_stacked[side], grad_alone[side])
    assert torch.autograd.gradcheck(lambda r: FusedSides.apply(r, 0.7, tau, 0.03), (rows,))


def test_directspec_plus_loss_by_composition() -> None:
    torch.manual_seed(1)
    user, item = torch.randn(6, 5), torch.randn(6, 5)
    batch = Batch(torch.arange(6), torch.arange(6))
    loss = DirectSpecPlusObjective(alpha=1.0, tau=3.0, shrink=0.03)(user, item, None, batch)
    x = _reference_side(user, 1.0, 3.0, 0.03)
    y = _reference_side(item, 1.0, 3.0, 0.03)
    expected = -F.logsigmoid((x * y).sum(-1)).mean()
    torch.testing.assert_close(loss, expected)


def test_adaptive_directspec_plus_loss_by_composition() -> None:
    matrix = sp.random(8, 10, density=0.3, random_state=0, format="csr")
    objective = DirectSpecPlusObjective(alpha=0.9, shrink=0.02, interactions=matrix, tau0=2, tau1=4)
    torch.manual_seed(3)
    user = torch.randn(5, 3, requires_grad=True)
    item = torch.randn(5, 3, requires_grad=True)
    batch = Batch(torch.tensor([0, 1, 2, 3, 7]), torch.tensor([9, 0, 4, 4, 2]))
    loss = objective(user, item, None, batch)
    x = _reference_side(user, 0.9, objective.temperature(batch, "user"), 0.02)
    y = _reference_side(item, 0.9, objective.temperature(batch, "item"), 0.02)
    expected = -F.logsigmoid((x * y).sum(-1)).mean()
    torch.testing.assert_close(loss, expected)
    grads = torch.autograd.grad(loss, (user, item))
    for got, want in zip(grads, torch.autograd.grad(expected, (user, item)), strict=True):
        torch.testing.assert_close(got, want)


def test_adaptive_temperature_uses_shared_items() -> None:
    # users 0 and 1 share item 0; user 2 shares nothing with them
    matrix = sp.csr_matrix(([1.0] * 4, ([0, 1, 1, 2], [0, 0, 1, 2])), shape=(3, 3))
    objective = DirectSpecPlusObjective(interactions=matrix, tau0=2.0, tau1=5.0)
    batch = Batch(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    tau = objective.temperature(batch, "user")
    expected = torch.tensor([[2.0, 2.0, 5.0], [2.0, 2.0, 5.0], [5.0, 5.0, 2.0]])
    torch.testing.assert_close(tau, expected)
    items_tau = objective.temperature(batch, "item")  # items 0, 1 share user 1
    assert items_tau[0, 1] == 2.0 and items_tau[0, 2] == 5.0


def test_directspec_all_pass_loss_is_finite_and_differentiable() -> None:
    user = torch.randn(8, 4, requires_grad=True)
    item = torch.randn(8, 4, requires_grad=True)
    loss = DirectSpecObjective(alpha=1.0, shrink=0.0)(
        user, item, None, Batch(torch.arange(8), torch.arange(8))
    )
    loss.backward()
    assert torch.isfinite(loss) and user.grad.abs().sum() > 0
