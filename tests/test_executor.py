"""The executor: cached runs read, missing ones computed on every core, records identical
whichever process computed them."""

import pandas as pd
import pytest

from nbutils.engine import executor as X
from nbutils.engine import runs as R

TINY = R.Protocol(steps=3, batch_size=4, eval_retain=5, max_new_tokens=8)
CONFIGS = [R.Config("NGDiff", "NGDiff", 0.1), R.Config("GDiff-0.5", "GDiff-0.5", 0.3)]


def _jobs(target, bench, cache=True):
    return [R.lm_job(target, bench, c, TINY, s, cache) for c in CONFIGS for s in (0, 1)]


def _same(a, b):
    assert [r.label for r in a] == [r.label for r in b]
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x.history, y.history, check_exact=True)
        assert x.diverged_at == y.diverged_at


def test_two_workers_give_the_serial_records_bit_for_bit(small_target, small_bench, monkeypatch):
    serial = X.execute(_jobs(small_target, small_bench, cache=False), where="serial")
    monkeypatch.setenv(X.WORKERS_VARIABLE, "2")
    parallel = X.execute(_jobs(small_target, small_bench, cache=False), where="local")
    _same(serial, parallel)
    assert all(not r.from_cache for r in parallel)


def test_cached_runs_are_read_and_only_missing_ones_computed(
    small_target, small_bench, tmp_path, monkeypatch
):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path))
    jobs = _jobs(small_target, small_bench)
    first = X.execute(jobs[:2], where="serial")
    ledger = X.Ledger()
    monkeypatch.setattr(X, "LEDGER", ledger)
    both = X.execute(jobs, where="serial")
    assert [r.from_cache for r in both] == [True, True, False, False]
    assert (ledger.from_cache, ledger.computed) == (2, 2)
    _same(first, both[:2])
    assert not list(tmp_path.rglob("*.lock")) and not list(tmp_path.rglob("*.tmp"))


def test_cold_compute_counts_each_distinct_run_once_at_its_recorded_seconds(
    small_target, small_bench, tmp_path, monkeypatch
):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path))
    jobs = _jobs(small_target, small_bench)[:2]
    cold = X.Ledger()
    monkeypatch.setattr(X, "LEDGER", cold)
    X.execute(jobs, where="serial")
    assert cold.as_dict()["cold_compute_s"] == cold.as_dict()["compute_s"] > 0
    warm = X.Ledger()  # the same runs again, one of them asked twice: all from the cache
    monkeypatch.setattr(X, "LEDGER", warm)
    X.execute(jobs, where="serial")
    X.execute(jobs[:1], where="serial")
    assert (warm.computed, warm.from_cache, warm.compute_s) == (0, 3, 0.0)
    assert warm.as_dict()["cold_compute_s"] == cold.as_dict()["cold_compute_s"]


def test_a_run_computed_in_this_process_leaves_the_callers_random_state_alone(
    small_target, small_bench
):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    X.execute(_jobs(small_target, small_bench, cache=False)[:1], where="serial")
    assert torch.equal(torch.rand(3), expected)


def test_bad_executor_settings_are_named(monkeypatch):
    monkeypatch.setenv(X.EXECUTOR_VARIABLE, "slurm")
    with pytest.raises(ValueError, match="NBUTILS_EXECUTOR='slurm'"):
        X.backend()
    monkeypatch.setenv(X.WORKERS_VARIABLE, "0")
    with pytest.raises(ValueError, match="NBUTILS_WORKERS must be a positive integer"):
        X.workers()
