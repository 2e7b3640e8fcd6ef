"""Where a LightGCN / embedding training step can save work on the CPU, on real batches.

Prints, for the first ``--batches`` training batches of the pipeline's loader: the share of the
graph's non-zeros in the rows a step propagates (the batch B, then B plus its neighbours, the
rows a second restricted layer would need), milliseconds per ``A @ x`` (64 columns) for scipy,
torch's CSR kernel and two reorderings of the graph, and milliseconds per forward + backward of
a dense table lookup through ``nn.Embedding`` vs :func:`recbole_spec.encoders.base.lookup`
(``index_select``). Medians of ``--repeats`` calls. Example::

    OMP_NUM_THREADS=1 python benchmarks/bench_propagation.py --dataset=citeulike --data_path=<root>
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.csgraph import reverse_cuthill_mckee

from recbole_spec.encoders.base import lookup
from recbole_spec.encoders.lightgcn import normalized_adjacency
from recbole_spec.pipeline import build_config, load_data


def _ms(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--batch_size", type=int, default=2048)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    settings = {"state": "WARNING", "show_progress": False, "train_batch_size": args.batch_size}
    if args.data_path:
        settings["data_path"] = args.data_path
    _, train, _, _ = load_data(build_config("LightGCN", args.dataset, config_dict=settings))
    matrix = train._dataset.inter_matrix(form="coo").astype("float32")
    n_users = matrix.shape[0]
    adjacency = normalized_adjacency(matrix, *matrix.shape)
    n = adjacency.shape[0]
    print(f"dataset={args.dataset} nodes={n} nnz={adjacency.nnz} threads={torch.get_num_threads()}")

    degree = np.diff(adjacency.indptr)
    for index, batch in zip(range(args.batches), train, strict=False):
        ids = [batch["user_id"], batch["item_id"] + n_users]
        if "neg_item_id" in batch:
            ids.append(batch["neg_item_id"] + n_users)
        rows = np.unique(torch.cat(ids).numpy())
        reach = np.zeros(n, dtype=bool)
        reach[rows] = True
        reach[adjacency[rows].indices] = True
        print(
            f"batch {index}: B holds {len(rows) / n:.2f} of the rows, "
            f"{degree[rows].sum() / adjacency.nnz:.2f} of the nnz; B + N(B) "
            f"{reach.mean():.2f} of the rows, {degree[reach].sum() / adjacency.nnz:.2f} of the nnz"
        )

    x = np.random.default_rng(0).standard_normal((n, 64)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        csr = torch.sparse_csr_tensor(
            torch.from_numpy(adjacency.indptr.astype(np.int64)),
            torch.from_numpy(adjacency.indices.astype(np.int64)),
            torch.from_numpy(adjacency.data),
            adjacency.shape,
        )
    by_degree = np.argsort(-degree, kind="stable")
    rcm = reverse_cuthill_mckee(adjacency, symmetric_mode=True)
    products = {
        "scipy A @ x": (adjacency, x),
        "rows by degree": (adjacency[by_degree], x),
        "reverse Cuthill-McKee relabel": (adjacency[rcm][:, rcm], x[rcm]),
    }
    for name, (left, right) in products.items():
        print(f"{name}: {_ms(lambda left=left, right=right: left @ right, args.repeats):.2f} ms")
    x_torch = torch.from_numpy(x)
    print(f"torch CSR A @ x: {_ms(lambda: csr @ x_torch, args.repeats):.2f} ms")

    torch.manual_seed(0)
    for rows_in_table, n_ids in ((n_users, args.batch_size), (n - n_users, 2 * args.batch_size)):
        embedding, selected = _lookup_ms(rows_in_table, n_ids, args.repeats)
        print(
            f"{rows_in_table} x 64 table, {n_ids} ids: nn.Embedding {embedding:.2f} ms, "
            f"lookup (index_select) {selected:.2f} ms, forward + backward"
        )


def _lookup_ms(rows: int, n_ids: int, repeats: int) -> tuple[float, float]:
    """Forward + backward ms of ``n_ids`` random rows of a ``rows x 64`` dense table."""
    table = torch.nn.Embedding(rows, 64)
    ids = torch.randint(0, rows, (n_ids,))
    grad = torch.randn(n_ids, 64)

    def step(gather: Callable[[], torch.Tensor]) -> None:
        torch.autograd.grad((gather() * grad).sum(), table.weight)

    return (
        _ms(lambda: step(lambda: table(ids)), repeats),
        _ms(lambda: step(lambda: lookup(table, ids)), repeats),
    )


if __name__ == "__main__":
    main()
