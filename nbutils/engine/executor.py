"""One executor for every batch of runs: the missing ones computed in parallel, the run
cache written by the driver.

A ``Job`` is one run that any process can compute: a module-level function, its
picklable arguments (a target travels as a ``core.targets.TargetRef`` and is loaded once
per worker) and the run-cache file its record goes to. ``execute(jobs)`` reads the
records already cached, computes the missing ones, writes each record to the cache as it
arrives (atomically: an interrupted batch keeps every finished run and no partial entry,
and started again it computes only what is missing) and returns the runs in the jobs'
order, with one progress bar (cached runs counted at once).

Where the missing runs compute (``NBUTILS_EXECUTOR``): ``local`` (default) in worker
processes on this machine (joblib's loky, ``NBUTILS_WORKERS`` of them, one per core by
default); ``serial`` one after another in this process; ``ray`` as Ray tasks
(``engine.ray_tasks``). On the CPU every run computes at one torch thread with its own
random state, so a record is the same whatever the number of workers, cores or machines
(DESIGN.md, "Runs"). A run whose cache file another live process is computing (its lock)
is waited for, not computed twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..core import paths
from ..core.jsonio import atomic_write, locked_by_another, to_jsonable, try_lock, unlock
from .loop import Run

BACKENDS = ("local", "serial", "ray")
EXECUTOR_VARIABLE = "NBUTILS_EXECUTOR"
WORKERS_VARIABLE = "NBUTILS_WORKERS"
WAIT_POLL = 0.5  # seconds between looks at a run another process is computing


@dataclass(frozen=True)
class Job:
    """One run: ``compute(*args) -> Run`` (a module-level function, so that it can be
    sent to another process), the file its record is cached in (None: not cached) and
    how the run is labelled (``label``, ``seed``, ``config`` are set on the returned run,
    also when it comes from the cache)."""

    compute: Callable[..., Run]
    args: tuple
    path: Path | None
    label: str
    seed: int
    config: Any = None


def code_version(function: Callable) -> str:
    """``function``'s name and a hash of its module's source: a run computed by changed
    code is another run."""
    source = inspect.getsource(sys.modules[function.__module__])
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return f"{function.__module__}.{function.__qualname__}@{digest}"


def cache_key(spec: dict, compute: Callable) -> str:
    """The run-cache key of a run: a hash of ``spec`` (everything that determines the
    run but the code), ``compute``'s ``code_version`` (a changed study recomputes its
    runs; the engine's own version is in the specs of engine runs) and the torch build.
    No thread count: every CPU run computes at one thread."""
    full = {**spec, "code": code_version(compute), "torch": torch.__version__}
    return hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:24]


def cached_job(
    compute: Callable[..., Run],
    args: tuple,
    spec: dict,
    label: str,
    seed: int,
    config: Any = None,
    cache: bool = True,
) -> Job:
    """A ``Job`` whose record goes to the run cache under ``cache_key(spec, compute)``
    (``cache=False``: computed every time)."""
    path = paths.cache_dir() / "runs" / f"{cache_key(spec, compute)}.json" if cache else None
    return Job(compute, args, path, label, seed, config)


@dataclass
class Ledger:
    """The runs this process asked for: computed (and their seconds) or read from the
    cache. A sidecar's provenance carries it, so a cold run's cost is on record; and
    ``cold_compute_s``, the seconds its distinct runs took when they were computed (the
    cached ones by the record's own seconds, on whichever machine computed them), keeps
    a notebook's cost from an empty cache on record when a warm or resumed run wrote it."""

    computed: int = 0
    from_cache: int = 0
    compute_s: float = 0.0
    seconds_by_run: dict = field(default_factory=dict)

    def count(self, run: Run, path: Path | None = None) -> Run:
        """Count ``run``, whose cache file is ``path`` (None: not cached, always
        distinct)."""
        if run.from_cache:
            self.from_cache += 1
        else:
            self.computed += 1
            self.compute_s += run.seconds
        self.seconds_by_run[path if path is not None else object()] = run.seconds
        return run

    def as_dict(self) -> dict:
        return {
            "computed": self.computed,
            "from_cache": self.from_cache,
            "compute_s": round(self.compute_s, 1),
            "cold_compute_s": round(sum(self.seconds_by_run.values()), 1),
        }


LEDGER = Ledger()


# --------------------------------------------------------------------------- records


def _record_text(run: Run) -> str:
    return json.dumps(
        {
            "history": to_jsonable(run.history),
            "seconds": run.seconds,
            "diverged_at": run.diverged_at,
        }
    )


def _read(job: Job) -> Run | None:
    """The cached run of ``job``, or None (absent, or unreadable: then removed)."""
    try:
        stored = json.loads(job.path.read_text())
        history = pd.DataFrame(stored["history"])
        return Run(
            job.label, job.seed, history, stored["seconds"], stored["diverged_at"], True, job.config
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError):
        job.path.unlink(missing_ok=True)
        return None


def _finish(job: Job, run: Run) -> Run:
    """The computed ``run`` labelled as ``job`` says, without its model."""
    run.label, run.seed, run.config, run.model, run.from_cache = (
        job.label,
        job.seed,
        job.config,
        None,
        False,
    )
    return run


# --------------------------------------------------------------------------- computing


@contextlib.contextmanager
def one_thread_and_own_rng(seed: int) -> Iterator[None]:
    """A run's conditions in any process: one torch thread on the CPU, and Python's,
    NumPy's and torch's global random state seeded from the run's seed (restored after,
    so the caller's state does not depend on how many runs computed here)."""
    threads = torch.get_num_threads()
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    torch.set_num_threads(1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def compute(job: Job) -> Run:
    """Compute ``job``'s run here, under ``one_thread_and_own_rng``."""
    with one_thread_and_own_rng(job.seed):
        return job.compute(*job.args)


def backend() -> str:
    """The executor chosen by ``NBUTILS_EXECUTOR``; by default ``ray`` when
    ``NBUTILS_RAY_ADDRESS`` names a cluster, else ``local``."""
    default = "ray" if os.environ.get("NBUTILS_RAY_ADDRESS") else "local"
    name = os.environ.get(EXECUTOR_VARIABLE, default)
    if name not in BACKENDS:
        raise ValueError(f"{EXECUTOR_VARIABLE}={name!r}: choose one of {list(BACKENDS)}")
    return name


def workers() -> int:
    """Worker processes of the local executor: ``NBUTILS_WORKERS``, else one per core
    this process may use."""
    if WORKERS_VARIABLE in os.environ:
        value = os.environ[WORKERS_VARIABLE]
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{WORKERS_VARIABLE} must be a positive integer, got {value!r}")
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _serial(jobs: Sequence[Job]) -> Iterator[tuple[int, Run]]:
    for i, job in enumerate(jobs):
        yield i, compute(job)


def _indexed(i: int, job: Job) -> tuple[int, Run]:
    return i, compute(job)


def _local(jobs: Sequence[Job], n_workers: int) -> Iterator[tuple[int, Run]]:
    """The jobs on ``n_workers`` loky processes (kept between batches), results as they
    finish."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_workers, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_indexed)(i, job) for i, job in enumerate(jobs))


def _compute_many(jobs: Sequence[Job], where: str) -> Iterator[tuple[int, Run]]:
    if where == "ray":
        from .ray_tasks import compute_many

        yield from compute_many(jobs, compute)
        return
    n = min(workers(), len(jobs)) if where == "local" else 1
    yield from (_serial(jobs) if n <= 1 else _local(jobs, n))


def execute(
    jobs: Sequence[Job],
    *,
    desc: str = "runs",
    progress: bool = True,
    where: str | None = None,
) -> list[Run]:
    """Every job's run, in order: cached ones read, the missing ones computed on the
    executor (``where``: a backend name, default ``backend()``; timing measurements pass
    ``"serial"``) and written to the cache as each arrives. Counted in ``LEDGER``."""
    where = where or backend()
    if where not in BACKENDS:
        raise ValueError(f"where must be one of {list(BACKENDS)}, got {where!r}")
    out: list[Run | None] = [None] * len(jobs)
    for i, job in enumerate(jobs):
        if job.path is not None:
            out[i] = _read(job)
    todo = [i for i, run in enumerate(out) if run is None]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc, disable=not progress)
    mine, theirs = _claim(jobs, todo)
    try:
        batch = [jobs[i] for i in mine]
        for k, run in _compute_many(batch, where):
            i = mine[k]
            out[i] = _store(jobs[i], run)
            bar.update()
        for i in theirs:
            out[i] = _wait_or_compute(jobs[i])
            bar.update()
    finally:
        for i in mine:
            if jobs[i].path is not None:
                unlock(jobs[i].path)
        bar.close()
    for job, run in zip(jobs, out):
        LEDGER.count(run, job.path)
    return out


def _claim(jobs: Sequence[Job], todo: list[int]) -> tuple[list[int], list[int]]:
    """Split the missing runs into those this process computes (their cache locks taken;
    uncached jobs always) and those another live process is computing now."""
    mine, theirs = [], []
    for i in todo:
        path = jobs[i].path
        if path is None or try_lock(path):
            mine.append(i)
        else:
            theirs.append(i)
    return mine, theirs


def _store(job: Job, run: Run) -> Run:
    run = _finish(job, run)
    if job.path is not None:
        text = _record_text(run)
        atomic_write(job.path, lambda tmp: Path(tmp).write_text(text))
    return run


def _wait_or_compute(job: Job) -> Run:
    """A run another process was computing: read when it lands, computed here if that
    process dies first."""
    while True:
        run = _read(job)
        if run is not None:
            return run
        if not locked_by_another(job.path) and try_lock(job.path):
            try:
                return _read(job) or _store(job, compute(job))
            finally:
                unlock(job.path)
        time.sleep(WAIT_POLL)
