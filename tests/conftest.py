"""Shared fixtures: an isolated cache and output folders, a small benchmark and target."""

import os

os.environ["HF_HUB_OFFLINE"] = (
    "1"  # before huggingface_hub is imported: tests never use the network
)

import pytest  # noqa: E402

from nbutils.core import data, targets  # noqa: E402
from nbutils.reproduce import presets  # noqa: E402


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n auto``), each worker and the kernels it
    starts take an equal share of the cores (torch threads, and the executor's workers
    for the notebooks' runs): oversubscribed cores run about three times slower."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 0))
    if workers > 1:
        import torch

        from nbutils.engine import executor
        from nbutils.reproduce import running

        share = running.workers_per_job(workers)
        os.environ[executor.WORKERS_VARIABLE] = str(share)
        torch.set_num_threads(share)


@pytest.fixture(scope="session", autouse=True)
def isolated_folders(tmp_path_factory):
    """Caches, figures and executed notebooks of the test session go to a temp folder
    (the notebooks' kernels inherit the environment). The xdist workers share one run
    cache (its locks make a run computed once), so a notebook's browser run and its
    papermill run compute its runs once, whichever worker comes first."""
    root = tmp_path_factory.mktemp("nbutils")
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # the base folder the workers' own folders live in
    saved = {k: os.environ.get(k) for k in ("NBUTILS_CACHE", "NBUTILS_FIGURES", "NBUTILS_BUILD")}
    os.environ.update(
        NBUTILS_CACHE=str(shared / "nbutils-cache"),
        NBUTILS_FIGURES=str(root / "figures"),
        NBUTILS_BUILD=str(root / "build"),
    )
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def small_bench():
    return data.generate_authors(seed=0, n_authors=10)


@pytest.fixture(scope="session")
def small_target(small_bench):
    """The smoke-size target (trained once per test session, about 3 s)."""
    return targets.train_target(small_bench, settings=presets.SMOKE_TARGET, progress=False)


@pytest.fixture
def band_histories():
    """Two labels, two seeds; ROUGE at steps 0 and 2 only, losses at steps 0-1."""
    import pandas as pd

    rows = []
    for label, scale in (("a", 1.0), ("b", 2.0)):
        for seed in (0, 1):
            rows += [
                {
                    "label": label,
                    "seed": seed,
                    "step": 0,
                    "loss_forget": scale * (1 + seed),
                    "rouge_forget": 1.0,
                },
                {"label": label, "seed": seed, "step": 1, "loss_forget": scale * (2 + seed)},
                {"label": label, "seed": seed, "step": 2, "rouge_forget": 0.5 * seed},
            ]
    return pd.DataFrame(rows)
