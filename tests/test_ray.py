"""Runs as Ray tasks on a real local cluster: the serial records, and nothing lost when a
worker dies mid-grid (issue 26)."""

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from nbutils.engine import executor as X
from nbutils.engine import ray_tasks
from nbutils.engine import runs as R

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'nbutils[ray]')")

TINY = R.Protocol(steps=3, batch_size=4, eval_retain=5, max_new_tokens=8)
SLOW = R.Protocol(steps=12, batch_size=4, eval_retain=5, max_new_tokens=8)
CONFIGS = [R.Config("NGDiff", "NGDiff", 0.1), R.Config("GDiff-0.5", "GDiff-0.5", 0.3)]
pytestmark = pytest.mark.xdist_group("ray")  # one cluster at a time on this machine


@pytest.fixture(scope="module")
def cluster():
    """A local two-CPU cluster on the loopback address, shut down after the module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def _same(a, b):
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x.history, y.history, check_exact=True)
        assert (x.label, x.seed, x.diverged_at) == (y.label, y.seed, y.diverged_at)


def test_a_grid_on_ray_gives_the_serial_records(cluster, small_target, small_bench):
    jobs = [R.lm_job(small_target, small_bench, c, TINY, s, cache=False) for c in CONFIGS
            for s in (0, 1)]  # fmt: skip
    _same(X.execute(jobs, where="serial"), X.execute(jobs, where="ray"))


def _ray_workers_running(name: str) -> list[int]:
    """Processes whose command line says Ray runs ``name`` in them."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="ignore")
            except OSError:
                continue
            if cmdline.startswith(f"ray::{name}"):
                found.append(int(proc.name))
    return found


def test_a_worker_killed_mid_grid_loses_nothing(cluster, small_target, small_bench, tmp_path,
                                                 monkeypatch):  # fmt: skip
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path))
    jobs = [R.lm_job(small_target, small_bench, c, SLOW, s) for c in CONFIGS for s in (0, 1, 2)]
    result = {}
    grid = threading.Thread(target=lambda: result.update(runs=X.execute(jobs, where="ray")))
    grid.start()
    killed, deadline = [], time.time() + 120
    while not killed and time.time() < deadline and grid.is_alive():
        for pid in _ray_workers_running("compute"):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            break
        time.sleep(0.2)
    grid.join(timeout=600)
    assert killed, "no Ray worker was seen computing a run"
    runs = result["runs"]
    assert len(runs) == len(jobs) and all(r.history is not None for r in runs)
    assert len(list(tmp_path.rglob("*.json"))) == len(jobs)  # every run cached, none partial
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob("*.lock"))
    _same(X.execute(jobs, where="serial"), runs)  # the cache now answers: same records


def test_gpu_shares_pack_small_runs_and_fit_large_ones():
    assert ray_tasks.gpu_share(1_600_000) == 1 / 8  # the tiny model: eight to a GPU
    assert ray_tasks.gpu_share(1_420_000_000, gpu_gb=80) == 1 / 2  # Phi-1.5: 32.5 GB each
    assert ray_tasks.gpu_share(1_420_000_000, gpu_gb=141) == 1 / 4
    assert ray_tasks.gpu_share(10_000_000_000, gpu_gb=80) == 1  # never more than one GPU
