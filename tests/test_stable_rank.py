"""Stable-rank penalty and regulariser against a numpy SVD reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recbole_spec.regularizers import StableRankRegularizer, stable_rank_penalty


def numpy_penalty(z: np.ndarray) -> float:
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    s = np.linalg.svd(unit, compute_uv=False)
    return float(-((s**2).sum() / s[0] ** 2) / z.shape[1])


def embeddings(n: int, d: int, seed: int, offset: float = 0.5) -> torch.Tensor:
    """Gaussian rows around a common direction, like trained embeddings."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=generator, dtype=torch.float64) + offset


@pytest.mark.parametrize(("n", "d", "seed"), [(40, 8, 0), (8, 8, 1), (5, 16, 2)])
def test_penalty_matches_numpy_svd(n: int, d: int, seed: int) -> None:
    z = embeddings(n, d, seed, offset=0.0)
    expected = numpy_penalty(z.numpy())
    assert float(stable_rank_penalty(z)) == pytest.approx(expected, rel=1e-10)
    assert float(stable_rank_penalty(z.float())) == pytest.approx(expected, rel=1e-5)
    assert -1.0 <= expected <= -1.0 / d


def test_penalty_ignores_row_scale() -> None:
    z = embeddings(12, 4, 3)
    scale = torch.linspace(0.1, 10.0, 12, dtype=torch.float64).unsqueeze(1)
    torch.testing.assert_close(stable_rank_penalty(z * scale), stable_rank_penalty(z))


def test_exact_penalty_gradcheck() -> None:
    z = embeddings(6, 3, 4).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: stable_rank_penalty(t), (z,))


@pytest.mark.parametrize(("n", "d", "seed"), [(64, 16, 5), (256, 64, 6), (10, 32, 7)])
def test_power_method_agrees_with_exact(n: int, d: int, seed: int) -> None:
    z = embeddings(n, d, seed).requires_grad_()
    exact = stable_rank_penalty(z)
    power = stable_rank_penalty(z, method="power")
    assert power.item() == pytest.approx(exact.item(), abs=1e-4)
    (grad_exact,) = torch.autograd.grad(exact, z)
    (grad_power,) = torch.autograd.grad(power, z)
    torch.testing.assert_close(grad_power, grad_exact, rtol=1e-3, atol=1e-6)


def test_power_method_converges_with_more_iterations_on_a_small_gap() -> None:
    z = embeddings(200, 8, 8, offset=0.0)
    exact = float(stable_rank_penalty(z))
    assert float(stable_rank_penalty(z, method="power", n_iter=500)) == pytest.approx(
        exact, abs=1e-8
    )


@pytest.mark.parametrize("method", ["exact", "power", "Power"])
def test_regularizer_averages_user_and_item_penalties(method: str) -> None:
    users, items = embeddings(20, 8, 9), embeddings(30, 8, 10, offset=-1.0)
    module = StableRankRegularizer(weight=0.5, method=method)
    expected = (
        0.5
        * (stable_rank_penalty(users, method=method) + stable_rank_penalty(items, method=method))
        / 2
    )
    torch.testing.assert_close(module(users, items), expected)
    assert module.method == method.lower()
    assert "weight=0.5" in repr(module)


def test_regularizer_backward_reaches_both_tables() -> None:
    users = embeddings(20, 8, 11).requires_grad_()
    items = embeddings(30, 8, 12).requires_grad_()
    StableRankRegularizer()(users, items).backward()
    assert users.grad is not None and users.grad.abs().sum() > 0
    assert items.grad is not None and items.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": -1.0}, r"'weight' must be finite and >= 0 \(got -1.0\)"),
        ({"weight": float("nan")}, r"'weight' must be finite and >= 0 \(got nan\)"),
        ({"weight": "1"}, r"'weight' must be a number >= 0 \(got '1'\)"),
        ({"method": "svd"}, r"'method' must be one of \['exact', 'power'\] \(got 'svd'\)"),
        ({"method": "powr"}, r"did you mean 'power'\?"),
        ({"n_iter": 0}, r"'n_iter' must be an integer >= 1 \(got 0\)"),
    ],
)
def test_regularizer_rejects_invalid_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StableRankRegularizer(**kwargs)


def test_penalty_rejects_invalid_arguments() -> None:
    z = embeddings(4, 3, 13)
    with pytest.raises(ValueError, match="'method' must be one of"):
        stable_rank_penalty(z, method="lanczos")
    with pytest.raises(ValueError, match="'n_iter' must be an integer >= 1"):
        stable_rank_penalty(z, method="power", n_iter=0)
    with pytest.raises(ValueError, match="'z' must be a non-empty 2-D tensor"):
        stable_rank_penalty(z[0])
    with pytest.raises(ValueError, match="'z' must be a non-empty 2-D tensor"):
        stable_rank_penalty(z[:0])
