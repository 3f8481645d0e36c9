"""A 24-run default-size grid on the local executor and on a local Ray cluster, at one and
two workers (issue 26): wall time, the ratio to one local worker, Ray's start-up, and
whether every executor gives the same records.

The grid: GDiff-0.5, LossNorm, NGDiff and NPO under Adam and SGD at the middle of each
optimizer's rate grid, three seeds each, 40 steps and one evaluation (the tuning
protocol), never from the run cache. Run it with nothing else on the machine.

    python benchmarks/ray_grid.py
"""

from __future__ import annotations

import os
import time

import ray

import nbutils as nbu
from nbutils.engine import executor, runs
from nbutils.reproduce.cli import declared_defaults

METHODS = ("GDiff-0.5", "LossNorm", "NGDiff", "NPO")
SEEDS = (0, 1, 2)


def grid_jobs(session, bench, target) -> list:
    jobs = []
    for optimizer in ("adam", "sgd"):
        protocol = nbu.presets.optimizer_protocol(session, optimizer)
        lr = protocol.lr_grid[len(protocol.lr_grid) // 2]
        for method in METHODS:
            config = runs.Config(f"{method} ({optimizer})", method, lr)
            jobs += [runs.lm_job(target, bench, config, protocol, s, cache=False) for s in SEEDS]
    return jobs


def timed(jobs, where: str) -> tuple[float, list]:
    start = time.perf_counter()
    done = executor.execute(jobs, where=where, progress=False)
    return time.perf_counter() - start, done


def same(a, b) -> bool:
    return all(x.history.equals(y.history) for x, y in zip(a, b, strict=True))


def main() -> None:
    values = {**declared_defaults("06_method_comparison"), "out_dir": "/tmp/ray-grid"}
    session = nbu.setup("06_method_comparison", **values)
    bench = nbu.presets.benchmark(session)
    target = nbu.presets.target(session, bench)
    jobs = grid_jobs(session, bench, target)
    rows, reference = [], None
    for workers in (1, 2):
        os.environ[executor.WORKERS_VARIABLE] = str(workers)
        seconds, done = timed(jobs, "local")
        reference = reference or done
        rows.append(("local (loky)" if workers > 1 else "local (this process)", workers,
                     seconds, same(reference, done), None))  # fmt: skip
    for workers in (1, 2):
        start = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1")  # fmt: skip
        startup = time.perf_counter() - start
        seconds, done = timed(jobs, "ray")
        ray.shutdown()
        rows.append(("Ray (local cluster)", workers, seconds, same(reference, done), startup))
    print(f"{len(jobs)} runs; {nbu.core.runtime.machine()['cpu']}")
    print("| executor | workers | wall (s) | vs one local worker | same records | start-up (s) |")
    print("|---|---:|---:|---:|---|---:|")
    for name, workers, seconds, agrees, startup in rows:
        start = "-" if startup is None else f"{startup:.1f}"
        print(
            f"| {name} | {workers} | {seconds:.1f} | {seconds / rows[0][2]:.2f} | "
            f"{'yes' if agrees else 'NO'} | {start} |"
        )


if __name__ == "__main__":
    main()
