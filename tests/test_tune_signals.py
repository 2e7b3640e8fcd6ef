"""Issue 12.9: a stopped ``recbole-spec tune`` leaves no Ray process behind, and resumes.

Each test starts a real search in a child process (its own Ray, its own temporary folders),
waits until a trial has reported, stops the driver with a signal and then checks every process
the driver had started (Ray's GCS, raylet, dashboard agent, workers): all must be gone. Every
test runs real Ray searches, so the module is ``slow`` (``pytest -m slow``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ray_env

pytestmark = pytest.mark.slow

SPACE = "learning_rate: {type: loguniform, low: 1.0e-3, high: 1.0e-2}\n"


@pytest.fixture()
def ray_dir(ray_root: Path) -> Path:
    """A short folder for Ray's session (its Unix socket paths must stay under 107 bytes)."""
    for n in range(100):
        path = ray_root / "ray" / f"s{n:02d}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"no free session folder under {ray_root / 'ray'}")


def start_search(tmp: Path, ray_tmp: Path, data_root: Path, *extra: str) -> subprocess.Popen:
    (tmp / "space.yaml").write_text(SPACE)
    env = {**os.environ, **ray_env(tmp), "RAY_TMPDIR": str(ray_tmp)}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    args = [
        sys.executable,
        "-m",
        "recbole_spec",
        "tune",
        "--model=BPRMF",
        "--dataset=checker",
        f"--space={tmp / 'space.yaml'}",
        f"--out-dir={tmp / 'out'}",
        "--num-samples=2",
        "--max-concurrent=1",
        "--scheduler=fifo",
        "--verbose=0",
        f"--data_path={data_root}",
        "--epochs=20",
        "--stopping_step=20",
        "--embedding_size=8",
        "--state=WARNING",
        *extra,
    ]
    log = open(tmp / "driver.log", "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_report(tmp: Path, driver: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.poll() is not None:
            pytest.fail(f"search ended early: {(tmp / 'driver.log').read_text()[-3000:]}")
        reports = list((tmp / "out" / "search").glob("trial_*/progress.csv"))
        if any(len(p.read_text().splitlines()) >= 2 for p in reports):
            return
        time.sleep(0.5)
    driver.kill()
    pytest.fail(f"no trial reported within {timeout} s: {(tmp / 'driver.log').read_text()[-3000:]}")


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


def wait_gone(processes: list[psutil.Process], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while alive(processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = alive(processes)
    for proc in processes:  # never leave them to the next test
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopped_search_leaves_no_ray_process_and_resumes(
    tmp_path: Path, ray_dir: Path, data_root: Path, signum: int
) -> None:
    driver = start_search(tmp_path, ray_dir, data_root)
    wait_for_report(tmp_path, driver)
    ray_processes = descendants(driver.pid)
    assert ray_processes, "the driver started no Ray process"
    driver.send_signal(signum)
    try:
        code = driver.wait(timeout=120)
    except subprocess.TimeoutExpired:
        driver.kill()
        pytest.fail(f"the search ignored {signal.Signals(signum).name} for 120 s")
    log = (tmp_path / "driver.log").read_text()
    assert wait_gone(ray_processes, timeout=30) == [], log[-3000:]
    assert code in (0, 130, -signum), log[-3000:]
    if signum != signal.SIGTERM:
        return  # Ctrl-C's resume is Ray's own path, the same as SIGTERM's (tested once)
    assert "Traceback" not in log, log[-3000:]
    resumed = start_search(tmp_path, ray_dir, data_root, "--resume")
    assert resumed.wait(timeout=400) == 0, (tmp_path / "driver.log").read_text()[-3000:]
    record = json.loads((tmp_path / "out" / "best_test.json").read_text())
    assert "ndcg@20" in record["test_result"]


def test_killed_driver_takes_ray_with_it(tmp_path: Path, ray_dir: Path, data_root: Path) -> None:
    """kill -9 of the driver runs no handler: Ray's fate sharing must stop its processes."""
    driver = start_search(tmp_path, ray_dir, data_root)
    wait_for_report(tmp_path, driver)
    ray_processes = descendants(driver.pid)
    assert ray_processes
    driver.kill()
    driver.wait(timeout=30)
    assert wait_gone(ray_processes, timeout=60) == []
