"""Grids of runs, the run cache and the learning-rate selection rule."""

import math

import numpy as np
import pandas as pd
import pytest

from nbutils import experiments as X

SMALL = X.Protocol(steps=3, batch_size=8, eval_retain=10, max_new_tokens=16, lr_grid=(0.1, 0.3))


def test_runs_are_cached_and_reloaded_identically(small_bench, small_target):
    config = X.Config("NGDiff", "NGDiff", 0.1)
    first = X.run(small_target, small_bench, config, SMALL, seed=0)
    again = X.run(small_target, small_bench, config, SMALL, seed=0)
    assert not first.from_cache and again.from_cache
    pd.testing.assert_frame_equal(first.history, again.history, check_dtype=False)
    other = X.run(small_target, small_bench, config, SMALL, seed=1)
    assert not other.from_cache


def test_a_diverged_run_is_recorded_not_raised(small_bench, small_target):
    record = X.run(small_target, small_bench, X.Config("boom", "GDiff-0.5", 1e12), SMALL, 0)
    assert record.diverged_at is not None and record.final == {"diverged_at": record.diverged_at}
    finals = X.Grid([record]).finals
    assert finals.diverged_at.iloc[0] == record.diverged_at


def test_grid_finals_and_histories(small_bench, small_target):
    configs = [X.Config("a", "NGDiff", 0.1), X.Config("b", "GDiff-0.5", 0.1)]
    grid = X.run_grid(small_target, small_bench, configs, [0, 1], SMALL, progress=False)
    assert list(grid.finals.label) == ["a", "a", "b", "b"]
    assert {"rouge_forget", "rouge_retain", "final_lr"} <= set(grid.finals.columns)
    assert set(grid.histories.label) == {"a", "b"} and set(grid.histories.seed) == {0, 1}


def _fake_tuning(monkeypatch, outcomes):
    """Replace runs by given (rouge_forget, rouge_retain | None for diverged) per rate."""

    def fake_run(target, bench, config, protocol, seed):
        forget, retain = outcomes[config.lr]
        history = pd.DataFrame(
            [{"step": 0, "lr": config.lr, "rouge_forget": forget, "rouge_retain": retain}]
        )
        return X.RunRecord(config, seed, history, 0.0, None if retain is not None else 3)

    monkeypatch.setattr(X, "run", fake_run)


def test_tuning_picks_the_best_utility_among_rates_that_forget(monkeypatch):
    outcomes = {0.01: (0.9, 1.0), 0.1: (0.05, 0.8), 0.3: (0.0, 0.95), 1.0: (0.0, None)}
    _fake_tuning(monkeypatch, outcomes)
    protocol = X.Protocol(lr_grid=tuple(outcomes))
    tuning = X.tune_lr(None, None, "NGDiff", protocol, seed=0)
    assert tuning.lr == 0.3 and "ROUGE_F <= 0.1" in tuning.rule


def test_tuning_falls_back_to_the_lowest_forget_rouge(monkeypatch):
    outcomes = {0.01: (0.9, 1.0), 0.1: (0.5, 1.0), 0.3: (0.5, 0.9), 1.0: (0.0, None)}
    _fake_tuning(monkeypatch, outcomes)
    tuning = X.tune_lr(None, None, "GDiff-0.9", X.Protocol(lr_grid=tuple(outcomes)), seed=0)
    assert tuning.lr == 0.1  # ties on ROUGE_F go to the smaller rate; diverged never chosen
    assert "no rate reached" in tuning.rule


def test_tuning_uses_a_held_out_seed(monkeypatch):
    seen = []
    _fake_tuning(monkeypatch, {0.1: (0.0, 1.0)})
    original = X.run
    monkeypatch.setattr(X, "run", lambda *a: seen.append(a[4]) or original(*a))
    X.tune_lr(None, None, "NGDiff", X.Protocol(lr_grid=(0.1,)), seed=2)
    assert seen == [1002]


def test_summarize_counts_diverged_runs_apart():
    finals = pd.DataFrame(
        {
            "label": ["a", "a", "a", "b"],
            "x": [1.0, 3.0, np.nan, 2.0],
            "diverged_at": [None, None, 5, None],
        }
    )
    table = X.summarize(finals, ["x"])
    assert table.loc["a", ("x", "mean")] == 2.0 and table.loc["a", ("x", "count")] == 2
    assert table.loc["a", ("x", "std")] == pytest.approx(math.sqrt(2))
    assert table.loc["a", ("runs", "diverged")] == 1 and table.loc["b", ("runs", "diverged")] == 0


def test_t_interval_by_hand():
    low, high = X.t_interval([1.0, 2.0, 3.0])
    # mean 2, s = 1, t(0.975, 2) = 4.3027, half-width 4.3027 / sqrt(3)
    assert (low, high) == pytest.approx(
        (2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), rel=1e-6
    )
    assert all(math.isnan(v) for v in X.t_interval([1.0]))


def test_choose_rate_by_hand():
    table = pd.DataFrame(
        {
            "lr": [0.1, 0.3, 1.0, 3.0],
            "rouge_forget": [0.5, 0.05, 0.02, math.nan],
            "rouge_retain": [0.99, 0.9, 0.9, math.nan],
            "diverged_at": [None, None, None, 3],
        }
    )
    assert X.choose_rate(table)[0] == 0.3  # forgets, best R, tie -> smaller
    table.loc[[1, 2], "rouge_forget"] = 0.4
    assert X.choose_rate(table)[0] == 0.3  # none forgets: lowest F
    assert X.choose_rate(table)[1] == "no rate reached ROUGE_F <= 0.1: lowest ROUGE_F"
    with pytest.raises(RuntimeError):
        X.choose_rate(table.assign(diverged_at=1))
