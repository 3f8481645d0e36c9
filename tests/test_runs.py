"""Cached runs of a language model, grids, and tuning on a held-out seed."""

import pandas as pd

from nbutils.engine import runs as X
from nbutils.engine.loop import Run

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


def test_the_ledger_counts_computed_and_cached_runs(tmp_path, monkeypatch):
    ledger = X.Ledger()
    monkeypatch.setattr(X, "LEDGER", ledger)
    history = pd.DataFrame({"step": [0, 1], "rouge_forget": [0.9, 0.2]})
    path = tmp_path / "run.json"
    first = X.cached_run(path, lambda: Run("a", 0, history, 2.5, None), "a", 0)
    again = X.cached_run(path, lambda: Run("a", 0, history, 9.0, None), "a", 0)
    assert not first.from_cache and again.from_cache and again.seconds == 2.5
    pd.testing.assert_frame_equal(first.history, again.history)
    assert ledger.as_dict() == {"computed": 1, "from_cache": 1, "compute_s": 2.5}
    path.write_text("{not json")  # a broken cache file is computed again
    assert not X.cached_run(path, lambda: Run("a", 0, history, 1.0, None), "a", 0).from_cache
    assert ledger.as_dict() == {"computed": 2, "from_cache": 1, "compute_s": 3.5}


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


def _fake_tuning(monkeypatch, outcomes):
    """Replace runs by given (rouge_forget, rouge_retain | None for diverged) per rate."""

    def fake_run(target, bench, config, protocol, seed):
        forget, retain = outcomes[config.lr]
        history = pd.DataFrame(
            [{"step": 0, "lr": config.lr, "rouge_forget": forget, "rouge_retain": retain}]
        )
        diverged = None if retain is not None else 3
        return Run(config.label, seed, history, 0.0, diverged, config=config)

    monkeypatch.setattr(X, "run_config", fake_run)


def test_tuning_picks_the_best_utility_among_rates_that_forget(monkeypatch):
    outcomes = {0.01: (0.9, 1.0), 0.1: (0.05, 0.8), 0.3: (0.0, 0.95), 1.0: (0.0, None)}
    _fake_tuning(monkeypatch, outcomes)
    protocol = X.Protocol(lr_grid=tuple(outcomes))
    tuning = X.tune_lm(None, None, "NGDiff", protocol, seed=0)
    assert tuning.lr == 0.3 and "ROUGE_F < 0.1" in tuning.rule


def test_tuning_falls_back_to_the_lowest_forget_rouge(monkeypatch):
    outcomes = {0.01: (0.9, 1.0), 0.1: (0.5, 1.0), 0.3: (0.5, 0.9), 1.0: (0.0, None)}
    _fake_tuning(monkeypatch, outcomes)
    tuning = X.tune_lm(None, None, "GDiff-0.9", X.Protocol(lr_grid=tuple(outcomes)), seed=0)
    assert tuning.lr == 0.1  # ties on ROUGE_F go to the higher ROUGE_R; diverged never chosen
    assert "no rate reached" in tuning.rule


def test_tuning_uses_a_held_out_seed(monkeypatch):
    seen = []
    _fake_tuning(monkeypatch, {0.1: (0.0, 1.0)})
    original = X.run_config
    monkeypatch.setattr(X, "run_config", lambda *a: seen.append(a[4]) or original(*a))
    X.tune_lm(None, None, "NGDiff", X.Protocol(lr_grid=(0.1,)), seed=2)
    assert seen == [1002, 1003, 1004]  # three held-out seeds by default


def test_tuning_takes_the_median_over_held_out_seeds_and_drops_rates_that_diverge_once(
    monkeypatch,
):
    """One lucky held-out seed cannot pick a rate: the rule reads the median; a rate
    that diverges on any held-out seed is never chosen."""
    outcomes = {  # (rouge_forget, rouge_retain) per held-out seed 1000, 1001, 1002
        0.1: [(0.05, 0.9), (0.3, 0.9), (0.2, 0.9)],  # forgets on one seed only
        0.3: [(0.0, 0.8), (0.05, 0.7), (0.08, 0.75)],  # forgets on all: median R 0.75
        1.0: [(0.0, 0.99), (0.0, 0.99), (0.0, None)],  # diverges once
    }

    def fake_run(target, bench, config, protocol, seed):
        forget, retain = outcomes[config.lr][seed - 1000]
        history = pd.DataFrame([{"step": 0, "rouge_forget": forget, "rouge_retain": retain}])
        diverged = None if retain is not None else 3
        return Run(config.label, seed, history, 0.0, diverged, config=config)

    monkeypatch.setattr(X, "run_config", fake_run)
    tuning = X.tune_lm(None, None, "NGDiff", X.Protocol(lr_grid=tuple(outcomes)), seed=0)
    assert tuning.lr == 0.3 and "median over 3 held-out seeds" in tuning.rule
    table = tuning.table.set_index("lr")
    assert table.loc[0.1, "rouge_forget"] == 0.2 and table.loc[1.0, "diverged"] == 1
    assert len(tuning.runs) == 9


def test_evaluate_target_follows_the_protocol(small_bench, small_target):
    numbers = X.evaluate_target(small_target, small_bench, SMALL)
    assert {"rouge_forget", "rouge_retain", "split_loss_forget"} <= set(numbers)
    assert "truth_ratio_retain" not in numbers  # SMALL does not score Truth Ratio
