"""Spectrum, alignment and uniformity diagnostics against numpy SVD and loop references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recbole_spec.diagnostics import (
    alignment,
    effective_rank,
    energy_fraction,
    singular_values,
    spectrum_report,
    stable_rank,
    table_uniformity,
    uniformity,
)


def numpy_erank(z: np.ndarray) -> float:
    s = np.linalg.svd(z, compute_uv=False)
    p = s[s > 1e-12] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def numpy_stable_rank(z: np.ndarray) -> float:
    s = np.linalg.svd(z, compute_uv=False)
    return float((s**2).sum() / s[0] ** 2)


@pytest.mark.parametrize("shape", [(50, 8), (8, 8), (5, 12)])
def test_ranks_match_numpy_svd(shape: tuple[int, int]) -> None:
    z = np.random.default_rng(0).normal(size=shape) + 0.3
    s = np.linalg.svd(z, compute_uv=False)
    np.testing.assert_allclose(singular_values(z).numpy(), s, rtol=1e-8, atol=1e-10)
    assert effective_rank(z) == pytest.approx(numpy_erank(z), rel=1e-9)
    assert effective_rank(torch.from_numpy(z).float()) == pytest.approx(numpy_erank(z), rel=1e-5)
    assert stable_rank(z) == pytest.approx(numpy_stable_rank(z), rel=1e-9)
    assert stable_rank(torch.from_numpy(z)) == pytest.approx(numpy_stable_rank(z), rel=1e-9)


@pytest.mark.parametrize("rank", [1, 3, 6])
def test_equal_singular_values_give_rank(rank: int) -> None:
    rng = np.random.default_rng(rank)
    left, _ = np.linalg.qr(rng.normal(size=(40, rank)))
    right, _ = np.linalg.qr(rng.normal(size=(10, rank)))
    z = 3.0 * left @ right.T
    assert effective_rank(z) == pytest.approx(rank, rel=1e-9)
    assert stable_rank(z) == pytest.approx(rank, rel=1e-9)
    assert int((singular_values(z) > 0).sum()) == rank


def test_energy_fraction_by_hand() -> None:
    z = np.zeros((5, 4))
    z[0, 0], z[1, 1], z[2, 2] = 3.0, 2.0, 1.0
    assert energy_fraction(z, 1) == pytest.approx(9 / 14)
    assert energy_fraction(z, 2) == pytest.approx(13 / 14)
    assert energy_fraction(z, 10) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'k' must be an integer >= 1"):
        energy_fraction(z, 0)


def test_zero_table_gives_zero() -> None:
    z = torch.zeros(4, 3)
    assert effective_rank(z) == 0.0 and stable_rank(z) == 0.0 and energy_fraction(z, 1) == 0.0


@pytest.mark.parametrize("normalize", [False, True])
def test_spectrum_report_matches_single_table_functions(normalize: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    user = torch.randn(30, 20, generator=generator) * 3
    item = torch.randn(45, 20, generator=generator) + 1.0
    report = spectrum_report(user, item, normalize=normalize)
    prep = (lambda t: F.normalize(t.double(), dim=1)) if normalize else (lambda t: t.double())
    tables = {"user": prep(user), "item": prep(item), "all": torch.cat([prep(user), prep(item)])}
    assert len(report) == 12
    for prefix, table in tables.items():
        assert report[f"{prefix}_erank"] == pytest.approx(effective_rank(table), rel=1e-9)
        assert report[f"{prefix}_stable_rank"] == pytest.approx(stable_rank(table), rel=1e-9)
        assert report[f"{prefix}_energy_top1"] == pytest.approx(energy_fraction(table, 1))
        assert report[f"{prefix}_energy_top10pct"] == pytest.approx(energy_fraction(table, 2))


def test_spectrum_report_rejects_width_mismatch() -> None:
    with pytest.raises(ValueError, match="same width"):
        spectrum_report(torch.randn(3, 4), torch.randn(3, 5))


def loop_alignment(x: torch.Tensor, y: torch.Tensor, alpha: float) -> float:
    total = 0.0
    for a, b in zip(x, y, strict=True):
        total += float((a / a.norm() - b / b.norm()).norm()) ** alpha
    return total / x.shape[0]


def loop_uniformity(x: torch.Tensor, t: float) -> float:
    unit = [row / row.norm() for row in x]
    terms = [
        math.exp(-t * float((unit[i] - unit[j]).norm()) ** 2)
        for i, j in itertools.combinations(range(len(unit)), 2)
    ]
    return math.log(sum(terms) / len(terms))


@pytest.mark.parametrize("alpha", [2.0, 1.0, 3.0])
def test_alignment_equals_loop(alpha: float) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    assert float(alignment(x, y, alpha)) == pytest.approx(loop_alignment(x, y, alpha), rel=1e-10)


@pytest.mark.parametrize("t", [2.0, 0.5])
def test_uniformity_equals_loop_and_pdist(t: float) -> None:
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    value = float(uniformity(x, t))
    assert value == pytest.approx(loop_uniformity(x, t), rel=1e-10)
    pdist = torch.pdist(F.normalize(x, dim=1)).pow(2).mul(-t).exp().mean().log()
    assert value == pytest.approx(float(pdist), rel=1e-10)


def test_uniformity_and_alignment_have_correct_gradients() -> None:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(5, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: uniformity(a, 2.0), (x,))
    assert torch.autograd.gradcheck(lambda a, b: alignment(a, b), (x, y))


def test_align_uniform_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="at least two rows"):
        uniformity(torch.randn(1, 3))
    with pytest.raises(ValueError, match="'t' must be > 0"):
        uniformity(torch.randn(4, 3), t=0.0)
    with pytest.raises(ValueError, match="same shape"):
        alignment(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="'max_rows' must be an integer >= 2"):
        table_uniformity(torch.randn(4, 3), max_rows=1)


def test_table_uniformity_exact_path_equals_uniformity() -> None:
    x = torch.randn(23, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    expected = float(uniformity(x))
    assert table_uniformity(x) == pytest.approx(expected, rel=1e-12)
    assert table_uniformity(x, chunk_rows=4) == pytest.approx(expected, rel=1e-12)
    assert table_uniformity(x, t=0.7, chunk_rows=1) == pytest.approx(float(uniformity(x, 0.7)))


def test_table_uniformity_subsample_is_seeded() -> None:
    x = torch.randn(60, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    first = table_uniformity(x, max_rows=20, seed=7, chunk_rows=8)
    assert table_uniformity(x, max_rows=20, seed=7) == pytest.approx(first, rel=1e-12)
    assert table_uniformity(x, max_rows=20, seed=8) != pytest.approx(first, rel=1e-6)
    rows = torch.randperm(60, generator=torch.Generator().manual_seed(7))[:20]
    assert first == pytest.approx(float(uniformity(x[rows])), rel=1e-12)
