"""What differs on CUDA (``pytest -m gpu``; skipped without a CUDA device).

The sparse propagation runs through ``torch.sparse.mm`` on a GPU (scipy / torch CSR on the CPU),
the fused DirectSpec+ filter through CUDA's batched GEMMs and softmax, the full-sort evaluator
scores and ranks on the GPU, and a checkpoint written by a CUDA run must reload onto a CPU-only
machine. Each test compares the CUDA path with the CPU path on the same inputs or weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_lightgcn_propagation_and_gradient_match_cpu() -> None:
    from recbole_spec.encoders.lightgcn import LightGCNEncoder

    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 300, 4000), rng.integers(0, 500, 4000)
    matrix = sp.csr_matrix((np.ones(4000, dtype=np.float32), (users, items)), shape=(300, 500))
    torch.manual_seed(0)
    cpu = LightGCNEncoder(matrix, embedding_size=32, n_layers=3)
    gpu = LightGCNEncoder(matrix, embedding_size=32, n_layers=3)
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.cuda()
    weights = torch.randn(800, 32)
    outputs, grads = [], []
    for encoder, device in ((cpu, "cpu"), (gpu, "cuda")):
        encoder.train()
        user, item = encoder()
        (torch.cat([user, item]) * weights.to(device)).sum().backward()
        outputs.append(torch.cat([user, item]).detach().cpu())
        grads.append(torch.cat([p.grad.cpu() for p in encoder.parameters()]))
        encoder.eval()
        cached = torch.cat(encoder()).cpu()
        torch.testing.assert_close(cached, outputs[-1], rtol=1e-5, atol=1e-6)
    assert gpu.adjacency._torch[1].device.type == "cuda"
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("matrix_tau", [False, True])
def test_fused_directspec_plus_filter_matches_cpu(matrix_tau: bool) -> None:
    from recbole_spec.objectives.directspec_plus import FusedSides

    torch.manual_seed(1)
    rows = torch.randn(2, 256, 64)
    tau: Any = 3.0
    if matrix_tau:
        tau = torch.where(torch.rand(2, 256, 256) > 0.5, 2.5, 3.0)
        tau = (tau + tau.transpose(1, 2)) / 2
    weights = torch.randn(2, 256, 64)
    results = []
    for device in ("cpu", "cuda"):
        x = rows.to(device).requires_grad_(True)
        t = tau.to(device) if isinstance(tau, torch.Tensor) else tau
        out = FusedSides.apply(x, 1.0, t, 0.03)
        (grad,) = torch.autograd.grad((out * weights.to(device)).sum(), x)
        results.append((out.detach().cpu(), grad.cpu()))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-3, atol=1e-5)
    small = torch.randn(2, 9, 4, dtype=torch.float64, device="cuda", requires_grad=True)
    assert torch.autograd.gradcheck(lambda r: FusedSides.apply(r, 0.8, 3.0, 0.03), (small,))


@pytest.fixture(scope="module")
def cuda_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Any]:
    """LightGCN + DirectSpec+ trained and tested on CUDA (2 epochs on the checkerboard)."""
    from recbole_spec import pipeline

    tmp = tmp_path_factory.mktemp("cuda")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        result = pipeline.run(
            "DirectSpecPlus",
            "checker",
            config_dict={
                "data_path": str(data_root),
                "checkpoint_dir": str(tmp / "saved"),
                "encoder": "lightgcn",
                "epochs": 2,
                "embedding_size": 16,
                "train_batch_size": 64,
                "gpu_id": "0",
                "state": "WARNING",
                "seed": 7,
            },
        )
    return result


def test_cuda_run_trains_on_the_gpu(cuda_run: dict[str, Any]) -> None:
    model = cuda_run["trainer"].model
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert 0 <= cuda_run["test_result"]["ndcg@20"] <= 1


def test_cuda_checkpoint_reloads_on_cpu_with_the_same_scores_and_metrics(
    cuda_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reload the CUDA run's best checkpoint onto the CPU, evaluate there: same test metrics."""
    # RecBole's Config writes gpu_id into CUDA_VISIBLE_DEVICES: put it back for later tests
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    from recbole_spec.training.checkpoint import load_checkpoint
    from recbole_spec.training.restore import restore_checkpoint
    from recbole_spec.training.trainer import trainer_class

    state = load_checkpoint(cuda_run["checkpoint"], map_location="cpu")
    assert all(t.device.type == "cpu" for t in state["state_dict"].values())
    state["config"] = {**state["config"], "gpu_id": ""}  # RecBole: no GPU id -> CPU
    restored = restore_checkpoint(cuda_run["checkpoint"], state=state)
    assert restored.config["device"].type == "cpu"
    assert all(p.device.type == "cpu" for p in restored.model.parameters())

    gpu_model = cuda_run["trainer"].model
    gpu_model.load_state_dict(
        {k: v.cuda() for k, v in state["state_dict"].items()}
    )  # the best epoch's weights, as the CUDA run's test used them
    gpu_model.eval()
    users = torch.arange(1, 11)
    interaction = {gpu_model.USER_ID: users}
    with torch.no_grad():
        on_gpu = gpu_model.full_sort_predict({gpu_model.USER_ID: users.cuda()}).cpu()
        on_cpu = restored.model.full_sort_predict(interaction)
    torch.testing.assert_close(on_cpu, on_gpu, rtol=1e-4, atol=1e-5)

    trainer = trainer_class(restored.config, restored.config.model_class)(
        restored.config, restored.model
    )
    cpu_result = trainer.evaluate(restored.test_data, load_best_model=False, show_progress=False)
    for key, value in cuda_run["test_result"].items():
        assert float(cpu_result[key]) == pytest.approx(value, abs=1e-4), key
