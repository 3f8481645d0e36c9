"""The executor's Ray backend (``NBUTILS_EXECUTOR=ray``): each missing run one Ray task.

The driver (a notebook or the command line) connects to the cluster at
``NBUTILS_RAY_ADDRESS`` (``ray start --head`` prints it; unset: a local cluster of this
machine's cores is started), sends every missing run of a batch as a task and takes the
records as they finish; ``engine.executor`` writes them to the run cache, so notebooks,
sidecars and the scorecard do not know where a run computed. Ray does the rest: a task
asks for one CPU, or on CUDA for a share of a GPU (``gpu_share``: several small runs per
GPU; ``NBUTILS_RUNS_PER_GPU`` sets it by hand), and a task whose worker dies is retried
(``MAX_RETRIES``); a run that raises is not retried (its error is the run's, not the
worker's). Workers must import ``nbutils`` and read the run cache's targets (a shared
``NBUTILS_CACHE`` on a multi-machine cluster).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..core.targets import TargetRef
from .loop import Run

ADDRESS_VARIABLE = "NBUTILS_RAY_ADDRESS"
GPU_MEMORY_VARIABLE = "NBUTILS_GPU_GB"  # memory of one GPU of the cluster (default 80 GB)
RUNS_PER_GPU_VARIABLE = "NBUTILS_RUNS_PER_GPU"  # set: this many runs share a GPU, whatever size
MAX_RETRIES = 3  # a task whose worker process dies is run again at most this often
SMALLEST_SHARE = 1 / 8  # at most eight small runs on one GPU
# Measured peak of one Phi-1.5 run (1.42 B parameters, bf16 autocast, checkpointing,
# batch 32 + 32) on an H200: benchmarks/README.md, "On a GPU".
PAPER_PEAK_GB, PAPER_PARAMETERS = 32.5, 1.42e9


def connect() -> None:
    """Join the cluster at ``NBUTILS_RAY_ADDRESS`` (or start a local one) once per process."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address=os.environ.get(ADDRESS_VARIABLE) or None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )


def gpu_share(parameters: int, gpu_gb: float | None = None) -> float:
    """The share of one GPU a run of a model of ``parameters`` asks for: its peak memory
    estimated from the measured Phi-1.5 run (linear in the parameters), over the GPU's
    memory, rounded up to 1/k so that k runs share a GPU; at least ``SMALLEST_SHARE``,
    at most a whole GPU."""
    gpu_gb = gpu_gb or float(os.environ.get(GPU_MEMORY_VARIABLE, 80))
    peak = PAPER_PEAK_GB * parameters / PAPER_PARAMETERS
    runs_per_gpu = max(1, min(round(1 / SMALLEST_SHARE), math.floor(gpu_gb / max(peak, 1e-9))))
    return 1 / runs_per_gpu


def resources(job) -> dict:
    """What the task of ``job`` (an ``executor.Job``) asks Ray for: one CPU, and a GPU
    share when its target lives on CUDA (parameters counted from the cached weights: 4
    bytes each)."""
    target = next((a for a in job.args if isinstance(a, TargetRef)), None)
    if target is None or not target.device.startswith("cuda"):
        return {"num_cpus": 1}
    if RUNS_PER_GPU_VARIABLE in os.environ:
        return {"num_cpus": 1, "num_gpus": 1 / int(os.environ[RUNS_PER_GPU_VARIABLE])}
    parameters = (Path(target.path) / "model.pt").stat().st_size // 4
    return {"num_cpus": 1, "num_gpus": gpu_share(parameters)}


def compute_many(jobs: Sequence, compute: Callable) -> Iterator[tuple[int, Run]]:
    """Every job (``executor.Job``) as a Ray task running ``compute(job)`` (the executor's
    own, which sets one thread and the run's random state); (index, run) as each
    finishes."""
    import ray

    connect()
    task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(compute)
    pending = {task.options(**resources(job)).remote(job): i for i, job in enumerate(jobs)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)
