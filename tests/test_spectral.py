"""DirectSpec and DirectSpec+ filters and the sparse shared-interaction mask vs naive references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from recbole_spec.diagnostics import effective_rank
from recbole_spec.objectives import spectral_filters
from recbole_spec.objectives.spectral_filters import (
    adaptive_temperature,
    allpass_filter,
    self_paced_filter,
    shared_interaction_mask,
)


def unit_rows(batch: int, dim: int, seed: int = 0, dtype: torch.dtype = torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(batch, dim, generator=generator, dtype=dtype), dim=1)


def collapsed_rows(batch: int = 64, dim: int = 16, rank: int = 2, noise: float = 0.05):
    generator = torch.Generator().manual_seed(1)
    basis = torch.randn(rank, dim, generator=generator, dtype=torch.float64)
    coeff = torch.randn(batch, rank, generator=generator, dtype=torch.float64) + 2.0
    x = coeff @ basis + noise * torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    return F.normalize(x, dim=1)


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_allpass_equals_svd_form(alpha: float) -> None:
    x = unit_rows(12, 5)
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    expected = u @ torch.diag(s - (alpha / 12) * s**3) @ vh
    torch.testing.assert_close(allpass_filter(x, alpha), expected)


def test_allpass_keeps_singular_value_signs_for_alpha_one() -> None:
    x = collapsed_rows()
    s = torch.linalg.svdvals(x)
    filtered = torch.linalg.svdvals(allpass_filter(x, 1.0))
    expected, _ = torch.sort(s * (1 - s**2 / x.shape[0]), descending=True)
    assert (s * (1 - s**2 / x.shape[0]) >= 0).all()
    torch.testing.assert_close(filtered, expected)


def loop_self_paced(x: torch.Tensor, alpha: float, tau: torch.Tensor) -> torch.Tensor:
    rows = []
    for i in range(x.shape[0]):
        logits = [float(tau[i, j]) * float(x[i] @ x[j]) for j in range(x.shape[0])]
        top = max(logits)
        weights = [np.exp(value - top) for value in logits]
        total = sum(weights)
        pull = sum((w / total) * x[j] for j, w in enumerate(weights))
        rows.append(x[i] - alpha * pull)
    return torch.stack(rows)


def test_self_paced_equals_loop_scalar_tau() -> None:
    x = unit_rows(7, 4, seed=2)
    tau = torch.full((7, 7), 3.0, dtype=torch.float64)
    torch.testing.assert_close(self_paced_filter(x, 0.8, 3.0), loop_self_paced(x, 0.8, tau))


def test_self_paced_equals_loop_per_pair_tau() -> None:
    x = unit_rows(7, 4, seed=3)
    generator = torch.Generator().manual_seed(4)
    mask = torch.rand(7, 7, generator=generator) > 0.5
    mask = mask | mask.T
    tau = adaptive_temperature(mask, 2.5, 3.0).to(torch.float64)
    torch.testing.assert_close(self_paced_filter(x, 1.0, tau), loop_self_paced(x, 1.0, tau))


def test_self_paced_rejects_badly_shaped_tau() -> None:
    with pytest.raises(ValueError, match="'tau'"):
        self_paced_filter(unit_rows(5, 3), 1.0, torch.ones(4, 4))


def test_filters_have_correct_gradients() -> None:
    x = unit_rows(5, 3, seed=5).requires_grad_()
    tau = adaptive_temperature(torch.eye(5, dtype=torch.bool), 2.5, 3.0).to(torch.float64)
    assert torch.autograd.gradcheck(lambda z: allpass_filter(z, 0.7), (x,))
    assert torch.autograd.gradcheck(lambda z: self_paced_filter(z, 0.7, 3.0), (x,))
    assert torch.autograd.gradcheck(lambda z: self_paced_filter(z, 0.7, tau), (x,))


def test_adaptive_temperature_picks_per_pair() -> None:
    mask = torch.tensor([[True, False], [False, True]])
    expected = torch.tensor([[2.5, 3.0], [3.0, 2.5]])
    torch.testing.assert_close(adaptive_temperature(mask, 2.5, 3.0), expected)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_filters_raise_effective_rank_of_collapsed_batch(alpha: float) -> None:
    x = collapsed_rows()
    before = effective_rank(x)
    assert effective_rank(allpass_filter(x, alpha)) > before + 0.5
    assert effective_rank(self_paced_filter(x, alpha, 3.0)) > before + 0.5


def random_interactions(n_rows: int = 100, n_cols: int = 30, seed: int = 0) -> sp.csr_matrix:
    """Sparse 0/1 matrix with some empty rows and one explicitly stored zero."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_rows, n_cols)) < 0.06).astype(np.float32)
    dense[[0, 7, 13]] = 0.0
    matrix = sp.csr_matrix(dense)
    matrix.data[0] = 0.0
    return matrix


def dense_reference(matrix: sp.csr_matrix, ids: np.ndarray) -> torch.Tensor:
    binary = (matrix.toarray() != 0).astype(np.float64)
    return torch.from_numpy(((binary @ binary.T) > 0)[ids][:, ids])


def batch_ids(n_rows: int, batch: int, seed: int = 1) -> np.ndarray:
    """Ids with repeats (sampling with replacement) and the empty rows 0, 7 and 13."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_rows, batch)
    ids[:6] = [0, 7, 13, 0, 5, 5]
    return ids


def as_torch_csr(matrix: sp.csr_matrix) -> torch.Tensor:
    return torch.sparse_csr_tensor(
        torch.from_numpy(matrix.indptr.astype(np.int64)),
        torch.from_numpy(matrix.indices.astype(np.int64)),
        torch.from_numpy(matrix.data),
        size=matrix.shape,
    )


def as_torch_coo(matrix: sp.csr_matrix) -> torch.Tensor:
    coo = matrix.tocoo()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data), size=matrix.shape)


CONVERTERS = {
    "scipy_csr": lambda m: m,
    "scipy_csr_array": sp.csr_array,
    "scipy_coo": lambda m: m.tocoo(),
    "torch_csr": as_torch_csr,
    "torch_coo": as_torch_coo,
}


@pytest.mark.filterwarnings("ignore:Sparse:UserWarning")
@pytest.mark.parametrize("kind", sorted(CONVERTERS))
@pytest.mark.parametrize("batch", [20, 150])
def test_mask_equals_dense_reference(kind: str, batch: int) -> None:
    matrix = random_interactions()
    ids = batch_ids(matrix.shape[0], batch)
    mask = shared_interaction_mask(torch.from_numpy(ids), CONVERTERS[kind](matrix))
    assert mask.dtype == torch.bool
    assert torch.equal(mask, dense_reference(matrix, ids))
    assert not mask[0].any() and mask[4, 4] and mask[4, 5]


def test_mask_on_transposed_matrix_for_items() -> None:
    matrix = random_interactions(seed=3)
    items = matrix.T.tocsr()
    ids = np.random.default_rng(2).integers(0, items.shape[0], 70)
    assert torch.equal(
        shared_interaction_mask(torch.from_numpy(ids), items), dense_reference(items, ids)
    )


def test_mask_compacted_columns_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spectral_filters, "_MAX_BITMAP_WORDS", 0)
    matrix = random_interactions(seed=4)
    ids = batch_ids(matrix.shape[0], 90)
    assert torch.equal(
        shared_interaction_mask(torch.from_numpy(ids), matrix), dense_reference(matrix, ids)
    )


def test_mask_edge_cases_and_errors() -> None:
    matrix = random_interactions()
    assert shared_interaction_mask(torch.empty(0, dtype=torch.long), matrix).shape == (0, 0)
    empty_rows = shared_interaction_mask(torch.tensor([0, 7, 13]), matrix)
    assert empty_rows.shape == (3, 3) and not empty_rows.any()
    with pytest.raises(ValueError, match=r"'ids' must lie in \[0, 100\)"):
        shared_interaction_mask(torch.tensor([0, 100]), matrix)
    with pytest.raises(ValueError, match="'ids' must be a 1-D integer tensor"):
        shared_interaction_mask(torch.tensor([0.0, 1.0]), matrix)
    with pytest.raises(TypeError, match="'interactions'"):
        shared_interaction_mask(torch.tensor([0, 1]), torch.from_numpy(matrix.toarray()))
