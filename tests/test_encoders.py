"""Encoders against hand computations on tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recbole_spec.encoders import LightGCNEncoder, MFEncoder, normalized_adjacency


def _interactions() -> sp.coo_matrix:
    rows = np.array([0, 0, 1, 2, 2, 2, 0])  # (0, 1) appears twice: counts once
    cols = np.array([1, 2, 1, 0, 2, 3, 1])
    return sp.coo_matrix((np.ones(7), (rows, cols)), shape=(4, 4))


def test_normalized_adjacency_matches_dense_formula() -> None:
    matrix = _interactions()
    r = (matrix.toarray() > 0).astype(np.float64)
    a = np.block([[np.zeros((4, 4)), r], [r.T, np.zeros((4, 4))]])
    degree = a.sum(1)
    inv = np.where(degree > 0, degree**-0.5, 0.0)
    expected = inv[:, None] * a * inv[None, :]
    actual = normalized_adjacency(matrix, 4, 4).toarray().astype(np.float64)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


@pytest.mark.parametrize("threads", [1, 2])
def test_lightgcn_propagation_is_mean_of_powers(threads: int) -> None:
    """Checked on one thread (scipy's kernel) and two (torch's CSR kernel)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _check_mean_of_powers()
    finally:
        torch.set_num_threads(previous)


def _check_mean_of_powers() -> None:
    torch.manual_seed(0)
    encoder = LightGCNEncoder(_interactions(), embedding_size=3, n_layers=2)
    adjacency = torch.from_numpy(encoder.adjacency.matrix.toarray())
    e0 = torch.cat(encoder.ego())
    expected = (e0 + adjacency @ e0 + adjacency @ adjacency @ e0) / 3
    users, items = encoder()
    torch.testing.assert_close(torch.cat([users, items]), expected)
    weights = torch.randn_like(expected)
    grads = torch.autograd.grad((torch.cat([users, items]) * weights).sum(), encoder.ego())
    expected_grads = torch.autograd.grad((expected * weights).sum(), encoder.ego())
    for actual, reference in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, reference)


def test_zero_layers_is_mf_and_eval_cache_is_cleared_by_train() -> None:
    encoder = LightGCNEncoder(_interactions(), embedding_size=3, n_layers=0).eval()
    users, items = encoder()
    torch.testing.assert_close(users, encoder.user_embedding.weight)
    assert encoder()[0] is users  # cached in eval mode
    with torch.no_grad():
        encoder.user_embedding.weight.add_(1.0)
    encoder.train()
    torch.testing.assert_close(encoder()[0], encoder.user_embedding.weight)


def test_mf_sparse_grad_touches_only_batch_rows() -> None:
    encoder = MFEncoder(10, 12, 4, init="xavier_uniform", sparse_grad=True)
    users, items = encoder.rows(torch.tensor([1, 3]), torch.tensor([2, 2]))
    (users.sum() + items.sum()).backward()
    grad = encoder.user_embedding.weight.grad
    assert grad.is_sparse
    assert set(grad.coalesce().indices()[0].tolist()) == {1, 3}


@pytest.mark.parametrize(("threads", "n_layers"), [(1, 1), (1, 3), (2, 3)])
def test_lightgcn_training_rows_match_full_propagation(threads: int, n_layers: int) -> None:
    """The batch-rows last layer gives the full propagation's rows and gradients.

    Bit for bit on one thread (scipy's kernels for both: the same sums in the same order), to a
    relative 1e-5 on two (torch's CSR kernel for the full layers). Batches repeat users and items
    (as BPR batches do), and some rows have no interactions.
    """
    tolerance = {"rtol": 0, "atol": 0} if threads == 1 else {"rtol": 1e-5, "atol": 1e-7}
    rng = np.random.default_rng(0)
    n_users, n_items = 40, 60
    matrix = sp.coo_matrix(
        (np.ones(300), (rng.integers(0, n_users - 3, 300), rng.integers(0, n_items - 5, 300))),
        shape=(n_users, n_items),
    )
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        encoder = LightGCNEncoder(matrix, embedding_size=8, n_layers=n_layers).train()
        users = torch.from_numpy(rng.integers(0, n_users, 64))
        items = torch.from_numpy(rng.integers(0, n_items, 128))
        user_rows, item_rows = encoder.rows(users, items)
        user_table, item_table = encoder.propagate()
        torch.testing.assert_close(user_rows, user_table[users], **tolerance)
        torch.testing.assert_close(item_rows, item_table[items], **tolerance)
        weights = torch.randn(192, 8)
        grads = torch.autograd.grad(
            (torch.cat([user_rows, item_rows]) * weights).sum(), encoder.ego()
        )
        reference = torch.autograd.grad(
            (torch.cat([user_table[users], item_table[items]]) * weights).sum(), encoder.ego()
        )
    finally:
        torch.set_num_threads(previous)
    for actual, expected in zip(grads, reference, strict=True):
        torch.testing.assert_close(actual, expected, **tolerance)


def test_dense_rows_equal_embedding_lookup_and_its_gradient() -> None:
    """``index_select`` rows (the CPU path of dense tables) = ``nn.Embedding``'s, bit for bit.

    Repeated ids (as BPR batches have) and 2-D item ids; the gradients are compared with those of
    ``F.embedding`` on the same weights.
    """
    torch.manual_seed(0)
    encoder = MFEncoder(50, 80, 8, init="xavier_uniform", sparse_grad=False)
    users = torch.randint(0, 50, (300,))
    items = torch.randint(0, 80, (300, 3))
    user_rows, item_rows = encoder.rows(users, items)
    weights = torch.randn(300, 8), torch.randn(300, 3, 8)
    grads = torch.autograd.grad(
        (user_rows * weights[0]).sum() + (item_rows * weights[1]).sum(), encoder.ego()
    )
    user_table, item_table = encoder.ego()
    reference_rows = (
        torch.nn.functional.embedding(users, user_table),
        torch.nn.functional.embedding(items, item_table),
    )
    reference = torch.autograd.grad(
        (reference_rows[0] * weights[0]).sum() + (reference_rows[1] * weights[1]).sum(),
        encoder.ego(),
    )
    assert torch.equal(user_rows, reference_rows[0]) and torch.equal(item_rows, reference_rows[1])
    for actual, expected in zip(grads, reference, strict=True):
        assert torch.equal(actual, expected)
