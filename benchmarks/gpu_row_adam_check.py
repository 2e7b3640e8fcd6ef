"""RowAdam on a GPU: equality with torch.optim.Adam and ms per step vs dense Adam (no RecBole).

Loads ``recbole_spec/training/optim.py`` by path (it needs only torch), so it runs where RecBole
is not installed. ``python benchmarks/gpu_row_adam_check.py``
"""

from __future__ import annotations

import importlib.util
import pathlib
import time

import torch
from torch import nn

path = pathlib.Path(__file__).resolve().parents[1] / "recbole_spec" / "training" / "optim.py"
spec = importlib.util.spec_from_file_location("row_optim", path)
optim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(optim)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def equality(dtype: torch.dtype, steps: int = 1200) -> float:
    torch.manual_seed(0)
    ours = nn.Embedding(60, 8, sparse=True).to(device, dtype)
    ref = nn.Embedding(60, 8).to(device, dtype)
    ref.load_state_dict(ours.state_dict())
    row_adam = optim.RowAdam(ours.parameters(), lr=0.05)
    adam = torch.optim.Adam(ref.parameters(), lr=0.05)
    optim.attach_row_sync(ours, row_adam)
    gen = torch.Generator().manual_seed(1)
    weights = 1.0 / torch.arange(1, 60)
    for _ in range(steps):
        ids = torch.multinomial(weights, 6, replacement=True, generator=gen).to(device)
        target = torch.randn(6, 8, generator=gen).to(device, dtype)
        for module, optimizer in ((ours, row_adam), (ref, adam)):
            optimizer.zero_grad()
            (module(ids) - target).pow(2).sum().backward()
            optimizer.step()
    row_adam.catch_up()
    with torch.no_grad():
        return float((ours.weight - ref.weight).abs().max() / ref.weight.abs().max())


def speed(rows: int = 70_000, batch: int = 512, steps: int = 300) -> tuple[float, float]:
    times = []
    for sparse in (True, False):
        torch.manual_seed(0)
        table = nn.Embedding(rows, 64, sparse=sparse).to(device)
        opt = (
            optim.RowAdam(table.parameters(), lr=0.01)
            if sparse
            else torch.optim.Adam(table.parameters(), lr=0.01)
        )
        optim.attach_row_sync(table, opt)
        for step in range(steps + 600):  # past the 511 eager steps
            if step == 600:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            ids = torch.randint(0, rows, (batch,), device=device)
            opt.zero_grad()
            (table(ids) ** 2).sum().backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / steps * 1e3)
    return times[0], times[1]


if __name__ == "__main__":
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"device {name}, torch {torch.__version__}")
    print(
        f"max |difference| / max |weight| vs torch Adam after 1200 steps: float64 "
        f"{equality(torch.float64):.2e}, float32 {equality(torch.float32):.2e}"
    )
    row, dense = speed()
    print(
        f"70k x 64 table, 512 rows per step: RowAdam {row:.2f} ms/step, dense Adam "
        f"{dense:.2f} ms/step (ratio {row / dense:.2f})"
    )
