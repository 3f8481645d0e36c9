"""Statistics of many runs: groups, intervals, bands, the rate rule, the thresholds."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbutils import stats


def test_thresholds_have_one_comparison_each():
    assert stats.forgets(0.0999) and not stats.forgets(0.1) and not stats.forgets(math.nan)
    assert stats.keeps_utility(0.9) and not stats.keeps_utility(0.8999)
    assert stats.loses_utility(0.6999) and not stats.loses_utility(0.7)
    assert stats.loses_utility(math.nan)  # a diverged run has lost its utility


def test_summarize_counts_diverged_runs_apart():
    finals = pd.DataFrame(
        {
            "label": ["a", "a", "a", "b"],
            "x": [1.0, 3.0, np.nan, 2.0],
            "diverged_at": [None, None, 5, None],
        }
    )
    table = stats.group_stats(finals, "label", ["x"]).set_index("label")
    assert table.loc["a", "x_mean"] == 2.0 and table.loc["a", "x_n"] == 2
    assert table.loc["a", "x_std"] == pytest.approx(math.sqrt(2))
    assert math.isnan(table.loc["b", "x_std"])  # one value: no spread to speak of
    assert table.loc["a", "diverged"] == 1 and table.loc["b", "diverged"] == 0
    assert table.loc["a", "runs"] == 3 and list(table.index) == ["a", "b"]


def test_t_interval_by_hand():
    low, high = stats.t_interval([1.0, 2.0, 3.0])
    # mean 2, s = 1, t(0.975, 2) = 4.3027, half-width 4.3027 / sqrt(3)
    assert (low, high) == pytest.approx(
        (2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), rel=1e-6
    )
    assert all(math.isnan(v) for v in stats.t_interval([1.0]))


def test_choose_rate_by_hand():
    table = pd.DataFrame(
        {
            "lr": [0.1, 0.3, 1.0, 3.0],
            "rouge_forget": [0.5, 0.05, 0.02, math.nan],
            "rouge_retain": [0.99, 0.9, 0.9, math.nan],
            "diverged_at": [None, None, None, 3],
        }
    )
    assert stats.choose_rate(table)[0] == 0.3  # forgets, best R, tie -> smaller
    table.loc[[1, 2], "rouge_forget"] = 0.4
    assert stats.choose_rate(table)[0] == 0.3  # none forgets: lowest F
    assert stats.choose_rate(table)[1] == "no rate reached ROUGE_F < 0.1: lowest ROUGE_F"
    with pytest.raises(ValueError, match="every rate"):
        stats.choose_rate(table.assign(diverged_at=1))


def test_choose_rate_prefers_higher_utility_among_equal_forgetting():
    table = pd.DataFrame(
        {"lr": [0.1, 0.3], "rouge_forget": [1.0, 1.0], "rouge_retain": [0.5, 0.9], "diverged": 0}
    )
    assert stats.choose_rate(table)[0] == 0.3


def test_choose_rate_never_picks_a_rate_with_a_diverged_run():
    table = pd.DataFrame(
        {
            "lr": [0.1, 0.3],
            "rouge_forget": [0.5, 0.0],
            "rouge_retain": [0.5, 1.0],
            "diverged": [0, 1],
        }
    )
    assert stats.choose_rate(table)[0] == 0.1


def test_bands_by_hand():
    histories = pd.DataFrame(
        {"label": ["a"] * 4, "step": [0, 0, 1, 1], "x": [1.0, 3.0, 2.0, np.nan]}
    )
    band = stats.bands(histories, "x")
    assert band["mean"].tolist() == [2.0, 2.0] and band["n"].tolist() == [2, 1]
    assert band["std"].tolist() == pytest.approx([math.sqrt(2), 0.0])
    assert band["min"].tolist() == [1.0, 2.0] and band["max"].tolist() == [3.0, 2.0]


def test_spread_and_intervals_by_hand():
    assert stats.spread([0.2, np.nan, 0.9, 0.5]) == pytest.approx(0.7)
    assert math.isnan(stats.spread([np.nan]))
    low, high = stats.variance_interval(1.0, 11)  # 10 dof: chi2 quantiles 3.247, 20.483
    assert (low, high) == pytest.approx((10 / 20.4832, 10 / 3.24697), rel=1e-4)
    low, high = stats.ratio_interval(1.0, 11)  # F(10, 10) quantiles 0.2690, 3.7168
    assert (low, high) == pytest.approx((1 / 3.7168, 1 / 0.26904), rel=1e-4)


def finals(rows):
    """rows: (lr, seed, rouge_forget, rouge_retain, diverged_at)."""
    return pd.DataFrame(rows, columns=["lr", "seed", "rouge_forget", "rouge_retain", "diverged_at"])


def test_group_stats_per_rate_by_hand():
    runs = finals(
        [
            (0.1, 0, 0.8, 1.0, None),
            (0.1, 1, 0.6, 0.8, None),
            (0.3, 0, 0.0, 0.2, None),
            (0.3, 1, math.nan, math.nan, 7),  # diverged: left out of the means, counted
        ]
    )
    out = stats.group_stats(runs, "lr", ["rouge_forget", "rouge_retain"])
    assert list(out.lr) == [0.1, 0.3]
    first, second = out.iloc[0], out.iloc[1]
    assert first.rouge_forget_mean == pytest.approx(0.7)
    assert first.rouge_forget_std == pytest.approx(math.sqrt(0.02))  # ddof=1
    assert first.rouge_retain_mean == pytest.approx(0.9)
    assert (first.runs, first.diverged) == (2, 0)
    assert second.rouge_retain_mean == pytest.approx(0.2) and math.isnan(second.rouge_retain_std)
    assert (second.runs, second.diverged) == (2, 1)


def test_group_stats_groups_by_several_columns_in_first_seen_order():
    runs = finals([(1.0, 0, 0.1, 0.5, None), (0.1, 0, 0.2, 0.6, None)]).assign(
        rule=["NGDiff", "GDiff"]
    )
    out = stats.group_stats(
        pd.concat([runs, runs.assign(seed=1)]), ["rule", "lr"], ["rouge_forget"]
    )
    assert list(zip(out.rule, out.lr)) == [("NGDiff", 1.0), ("GDiff", 0.1)]
    assert list(out.runs) == [2, 2]


def test_spread_is_max_minus_min_of_the_means_and_skips_missing_rates():
    forget, retain = [0.9, 0.5, math.nan], [1.0, 0.7, math.nan]
    assert stats.spread(forget) == pytest.approx(0.4)
    assert stats.spread(retain) == pytest.approx(0.3)
    assert stats.spread(retain[:1]) == 0.0
    assert math.isnan(stats.spread(retain[2:]))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
@settings(max_examples=50, deadline=None)
def test_spread_is_invariant_to_shifts_and_order(values):
    base = stats.spread(values)
    assert base >= 0
    assert stats.spread([v + 0.5 for v in values]) == pytest.approx(base, abs=1e-12)
    assert stats.spread(values[::-1]) == base


def test_bands_are_mean_plus_minus_std_over_seeds(band_histories):
    out = stats.bands(band_histories, "loss_forget")
    assert list(out.label) == ["a", "a", "b", "b"] and list(out.step) == [0, 1, 0, 1]
    a0 = out.iloc[0]
    assert a0["mean"] == pytest.approx(1.5) and a0["std"] == pytest.approx(math.sqrt(0.5))
    assert a0["low"] == pytest.approx(1.5 - math.sqrt(0.5))
    assert a0["high"] == pytest.approx(1.5 + math.sqrt(0.5)) and a0["n"] == 2
    assert out.iloc[3]["mean"] == pytest.approx(5.0)


def test_bands_skip_missing_rows_and_have_zero_width_for_one_seed(band_histories):
    rouge = stats.bands(band_histories, "rouge_forget")
    assert list(rouge.step) == [0, 2, 0, 2]  # no row for step 1, where ROUGE was not measured
    assert rouge.iloc[1]["mean"] == pytest.approx(0.25)
    single = stats.bands(band_histories.query("seed == 0"), "loss_forget")
    assert (single["low"] == single["mean"]).all() and (single["n"] == 1).all()


def test_stratified_bootstrap_known_answers():
    # a constant has no spread: the interval is the point
    assert stats.stratified_bootstrap([0.3] * 6, [0, 0, 0, 1, 1, 1]) == (0.3, 0.3, 0.3)
    values, strata = [0.0, 1.0, 0.0, 1.0], [0, 0, 1, 1]
    point, low, high = stats.stratified_bootstrap(values, strata)
    assert point == 0.5 and 0.0 <= low < 0.5 < high <= 1.0
    # a fixed random state: the same numbers twice
    assert stats.stratified_bootstrap(values, strata) == (point, low, high)
    # strata are kept: one run per stratum is that run in every resample
    assert stats.stratified_bootstrap([0.2, 0.8], ["a", "b"]) == (0.5, 0.5, 0.5)
    # non-finite runs are dropped; none left: NaN
    assert stats.stratified_bootstrap([np.nan, 0.4], [0, 0])[0] == 0.4
    assert all(math.isnan(v) for v in stats.stratified_bootstrap([np.nan], [0]))


def test_stratified_bootstrap_keeps_paired_columns_together():
    table = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    ratio = lambda v, s: float(v[:, 0].sum() / v[:, 1].sum())  # noqa: E731
    assert stats.stratified_bootstrap(table, [0, 0, 0], ratio) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "low, high, direction, expected",
    [
        (0.01, 0.05, "below", "holds"),
        (0.12, 0.3, "below", "fails"),
        (0.05, 0.2, "below", "inconclusive"),
        (0.1, 0.2, "below", "fails"),  # at the threshold: not below
        (0.1, 0.2, "at_least", "holds"),
        (0.0, 0.05, "at_least", "fails"),
        (0.2, 0.3, "above", "holds"),
        (0.05, 0.1, "at_most", "holds"),
        (math.nan, 0.1, "below", "inconclusive"),
    ],
)
def test_verdict_by_where_the_interval_lies(low, high, direction, expected):
    assert stats.verdict(low, high, 0.1, direction) == expected


def test_paired_differences_and_probability_of_improvement():
    table = pd.DataFrame(
        {
            "label": ["a", "a", "b", "b", "b"],
            "seed": [0, 1, 0, 1, 2],
            "x": [0.9, 0.5, 0.4, 0.7, 1.0],
        }
    )
    diff = stats.paired_differences(table, "x", "a", "b")
    assert diff.seed.tolist() == [0, 1] and diff.difference.tolist() == pytest.approx([0.5, -0.2])
    # x > y in 4 of 6 pairs (1>0, 2>0, 3>0, 3>2), one tie (2 = 2): (4 + 0.5) / 6
    assert stats.probability_of_improvement([1, 2, 3], [0, 2]) == pytest.approx(0.75)
    assert math.isnan(stats.probability_of_improvement([], [1.0]))


def test_geometric_bands_by_hand():
    histories = pd.DataFrame(
        {
            "label": ["a"] * 5,
            "step": [0, 0, 1, 1, 1],
            "x": [1.0, 100.0, 10.0, 0.0, np.nan],  # 0 and NaN have no logarithm: skipped
        }
    )
    band = stats.geometric_bands(histories, "x")
    assert band["mean"].tolist() == pytest.approx([10.0, 10.0]) and band["n"].tolist() == [2, 1]
    s = math.exp(math.log(10) * math.sqrt(2))  # std (ddof 1) of ln 1, ln 100
    assert band["low"].iloc[0] == pytest.approx(10 / s) and band["high"].iloc[0] == pytest.approx(
        10 * s
    )
    assert band["low"].iloc[0] > 0  # the band never falls to the floor
    assert (band["min"].iloc[0], band["max"].iloc[0]) == pytest.approx((1.0, 100.0))
    assert band["low"].iloc[1] == band["high"].iloc[1] == pytest.approx(10.0)  # one run


def test_geometric_bands_keep_the_order_of_labels(band_histories):
    out = stats.geometric_bands(band_histories, "loss_forget")
    assert list(out.label) == ["a", "a", "b", "b"] and list(out.step) == [0, 1, 0, 1]
    assert out.iloc[0]["mean"] == pytest.approx(math.sqrt(2.0))  # geometric mean of 1 and 2
