"""Cached runs of a language model and grids of them."""

import pandas as pd

from nbutils.engine import runs as X

SMALL = X.Protocol(steps=3, batch_size=8, eval_retain=10, max_new_tokens=16, lr_grid=(0.1, 0.3))


def test_runs_are_cached_and_reloaded_identically(small_bench, small_target, tmp_path, monkeypatch):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path))  # not a run another test computed
    config = X.Config("NGDiff", "NGDiff", 0.1)
    first = X.run_config(small_target, small_bench, config, SMALL, seed=0)
    again = X.run_config(small_target, small_bench, config, SMALL, seed=0)
    assert not first.from_cache and again.from_cache
    pd.testing.assert_frame_equal(first.history, again.history, check_dtype=False)
    other = X.run_config(small_target, small_bench, config, SMALL, seed=1)
    assert not other.from_cache


def test_a_diverged_run_is_recorded_not_raised(small_bench, small_target):
    record = X.run_config(small_target, small_bench, X.Config("boom", "GDiff-0.5", 1e12), SMALL, 0)
    assert record.diverged_at is not None and record.final == {"diverged_at": record.diverged_at}
    finals = X.Grid([record]).finals
    assert finals.diverged_at.iloc[0] == record.diverged_at


def test_grid_finals_and_histories(small_bench, small_target):
    configs = [X.Config("a", "NGDiff", 0.1), X.Config("b", "GDiff-0.5", 0.1)]
    grid = X.run_grid(small_target, small_bench, configs, [0, 1], SMALL, progress=False)
    assert list(grid.finals.label) == ["a", "a", "b", "b"]
    assert {"rouge_forget", "rouge_retain", "final_lr"} <= set(grid.finals.columns)
    assert set(grid.histories.label) == {"a", "b"} and set(grid.histories.seed) == {0, 1}


def test_evaluate_target_follows_the_protocol(small_bench, small_target):
    numbers = X.evaluate_target(small_target, small_bench, SMALL)
    assert {"rouge_forget", "rouge_retain", "split_loss_forget"} <= set(numbers)
    assert "truth_ratio_retain" not in numbers  # SMALL does not score Truth Ratio
