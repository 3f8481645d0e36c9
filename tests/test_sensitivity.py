"""Learning-rate sensitivity tables and the AutoLR trace, on hand-made tables."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nbutils import sensitivity as S  # noqa: E402


def finals(rows):
    """rows: (lr, seed, rouge_forget, rouge_retain, diverged_at)."""
    return pd.DataFrame(rows, columns=["lr", "seed", "rouge_forget", "rouge_retain", "diverged_at"])


def table(outcomes):
    """A per_rate table from {lr: (forget mean, retain mean, diverged runs)}."""
    return pd.DataFrame(
        [
            {
                "lr": lr,
                "rouge_forget_mean": f,
                "rouge_forget_std": 0.0,
                "rouge_retain_mean": r,
                "rouge_retain_std": 0.0,
                "runs": 3,
                "diverged": d,
            }
            for lr, (f, r, d) in outcomes.items()
        ]
    )


def test_per_rate_means_stds_and_counts_by_hand():
    runs = finals(
        [
            (0.1, 0, 0.8, 1.0, None),
            (0.1, 1, 0.6, 0.8, None),
            (0.3, 0, 0.0, 0.2, None),
            (0.3, 1, math.nan, math.nan, 7),  # diverged: left out of the means, counted
        ]
    )
    out = S.per_rate(runs)
    assert list(out.lr) == [0.1, 0.3]
    first, second = out.iloc[0], out.iloc[1]
    assert first.rouge_forget_mean == pytest.approx(0.7)
    assert first.rouge_forget_std == pytest.approx(math.sqrt(0.02))  # ddof=1
    assert first.rouge_retain_mean == pytest.approx(0.9)
    assert (first.runs, first.diverged) == (2, 0)
    assert second.rouge_retain_mean == pytest.approx(0.2) and second.rouge_retain_std == 0.0
    assert (second.runs, second.diverged) == (2, 1)


def test_per_rate_groups_by_several_columns_in_first_seen_order():
    runs = finals([(1.0, 0, 0.1, 0.5, None), (0.1, 0, 0.2, 0.6, None)]).assign(
        rule=["NGDiff", "GDiff"]
    )
    out = S.per_rate(pd.concat([runs, runs.assign(seed=1)]), by=["rule", "lr"])
    assert list(zip(out.rule, out.lr)) == [("NGDiff", 1.0), ("GDiff", 0.1)]
    assert list(out.runs) == [2, 2]


def test_spread_is_max_minus_min_of_the_means_and_skips_missing_rates():
    t = table({0.01: (0.9, 1.0, 0), 0.1: (0.5, 0.7, 0), 1.0: (math.nan, math.nan, 3)})
    assert S.spread(t, "rouge_forget") == pytest.approx(0.4)
    assert S.spread(t, "rouge_retain") == pytest.approx(0.3)
    assert S.spread(t.iloc[:1], "rouge_retain") == 0.0
    assert math.isnan(S.spread(t.iloc[2:], "rouge_retain"))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
@settings(max_examples=50, deadline=None)
def test_spread_is_invariant_to_shifts_and_order(values):
    t = table({10.0**-i: (v, v, 0) for i, v in enumerate(values)})
    base = S.spread(t, "rouge_retain")
    assert base >= 0
    shifted = t.assign(rouge_retain_mean=t.rouge_retain_mean + 0.5)
    assert S.spread(shifted, "rouge_retain") == pytest.approx(base, abs=1e-12)
    assert S.spread(t.iloc[::-1], "rouge_retain") == base


def test_best_rate_is_the_best_utility_among_rates_that_forget():
    t = table(
        {
            0.01: (0.9, 1.0, 0),  # best utility but does not forget
            0.1: (0.1, 0.8, 0),  # forgets (at the threshold, inclusive)
            0.3: (0.0, 0.6, 0),
            1.0: (0.0, 0.95, 1),  # a diverged run: never chosen
        }
    )
    best = S.best_fixed_rate(t)
    assert (best.lr, best.rouge_forget, best.rouge_retain, best.forgets) == (0.1, 0.1, 0.8, True)
    assert "ROUGE_F <= 0.1" in best.rule


def test_best_rate_ties_go_to_the_smaller_rate():
    t = table({0.3: (0.0, 0.7, 0), 0.1: (0.05, 0.7, 0)})
    assert S.best_fixed_rate(t).lr == 0.1


def test_best_rate_without_a_forgetting_rate_says_so():
    t = table({0.01: (0.9, 1.0, 0), 0.1: (0.4, 0.9, 0), 0.3: (0.4, 0.95, 0)})
    best = S.best_fixed_rate(t)
    assert best.lr == 0.3 and not best.forgets and "no rate" in best.rule
    with pytest.raises(ValueError, match="no rate"):
        S.best_fixed_rate(table({0.1: (0.0, 0.5, 2)}))


def test_retain_advantage_reproduces_the_papers_arithmetic():
    best = S.BestRate(1e-4, 0.02, 0.625, True, "")
    adv = S.retain_advantage(0.747, best)
    assert adv["absolute"] == pytest.approx(0.122)
    assert adv["relative_percent"] == pytest.approx(19.52, abs=0.01)  # "19.5% higher"


def histories():
    """Two labels, two seeds; ROUGE at steps 0 and 2 only, losses at steps 0-1."""
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


def test_bands_are_mean_plus_minus_std_over_seeds():
    out = S.bands(histories(), "loss_forget")
    assert list(out.label) == ["a", "a", "b", "b"] and list(out.step) == [0, 1, 0, 1]
    a0 = out.iloc[0]
    assert a0["mean"] == pytest.approx(1.5) and a0["std"] == pytest.approx(math.sqrt(0.5))
    assert a0["low"] == pytest.approx(1.5 - math.sqrt(0.5))
    assert a0["high"] == pytest.approx(1.5 + math.sqrt(0.5)) and a0["n"] == 2
    assert out.iloc[3]["mean"] == pytest.approx(5.0)


def test_bands_skip_missing_rows_and_have_zero_width_for_one_seed():
    rouge = S.bands(histories(), "rouge_forget")
    assert list(rouge.step) == [0, 2, 0, 2]  # no row for step 1, where ROUGE was not measured
    assert rouge.iloc[1]["mean"] == pytest.approx(0.25)
    single = S.bands(histories().query("seed == 0"), "loss_forget")
    assert (single["low"] == single["mean"]).all() and (single["n"] == 1).all()


def autolr_history():
    """Four steps with AutoLR at steps 1 (accepted) and 3 (rejected), then the final row;
    booleans stored as the JSON cache stores them (None between updates)."""
    return pd.DataFrame(
        {
            "step": [0, 1, 2, 3, 4],
            "loss_retain": [1.0, 1.0, 1.0, 1.0, None],
            "grad_norm_retain": [2.0, 2.0, 4.0, 4.0, None],
            "grad_norm_forget": [10.0, 10.0, 20.0, 20.0, None],
            "lr": [0.1, 0.2, 0.2, 0.2, None],
            "autolr_accepted": [None, True, None, False, None],
            "forward_passes": [2, 6, 8, 12, 12],
            "rouge_forget": [None, None, None, None, 0.0],
        }
    )


def test_trace_gives_each_task_its_effective_step():
    out = S.trace(autolr_history())
    assert list(out.step) == [0, 1, 2, 3]  # the final evaluation row is not a step
    np.testing.assert_allclose(out.step_retain, [0.05, 0.1, 0.05, 0.05])
    np.testing.assert_allclose(out.step_forget, [0.01, 0.02, 0.01, 0.01])
    assert list(out.autolr_step) == [False, True, False, True]
    assert list(out.kept) == [False, False, False, True]


def test_kept_share_counts_rejected_fits_over_all_runs():
    one = autolr_history()
    assert S.kept_share(one) == 0.5
    both = pd.concat([one, one.assign(autolr_accepted=[None, True, None, True, None])])
    assert S.kept_share(both) == 0.25
    assert math.isnan(S.kept_share(one.drop(columns="autolr_accepted")))


def test_forward_cost_of_autolr_every_k_steps():
    cost = S.forward_cost(autolr_history())  # 12 forwards over 4 steps: 2 extra every 2 steps
    assert cost["forwards_per_step"] == 3.0 and cost["extra_forwards_per_step"] == 1.0
    assert cost["overhead"] == pytest.approx(1 / 6)
    k = 10  # the plain rule with k = 10 over 40 steps: 80 + 4 * 2 forwards
    plain = pd.DataFrame({"loss_retain": [1.0] * 40, "forward_passes": range(2, 82, 2)})
    plain.loc[39, "forward_passes"] = 80 + 4 * 2
    assert S.forward_cost(plain)["extra_forwards_per_step"] == pytest.approx(2 / k)


def test_rate_colors_are_distinct_and_follow_the_rate_order():
    colors = S.rate_colors([1.0, 0.01, 0.1])
    assert list(colors) == [0.01, 0.1, 1.0] and len(set(colors.values())) == 3


def test_curves_figure_draws_one_line_per_label_in_each_panel():
    h = histories().assign(loss_retain=lambda d: d.loss_forget, rouge_retain=1.0)
    lines = {"a": S.Line("C0", "rate a"), "b": S.Line("C1", "rate b", "--")}
    fig = S.curves_figure({"SGD": (h, lines)}, "test")
    axes = fig.axes
    assert len(axes) == 4
    assert all(len(ax.get_lines()) == 2 for ax in axes)
    assert axes[2].get_yscale() == "log"
    plt.close(fig)


def settings_grid_by_hand():
    """A fixed-rate run and two AutoLR runs (plain from 0.1 and 1.0) of ``autolr_history``
    shape; the one from 1.0 ends at eta 0.5 and does not forget."""
    from nbutils.autolr import AutoLR
    from nbutils.experiments import Config, Grid, RunRecord

    def record(config, lr, forget, seed=0):
        h = autolr_history().assign(rouge_retain=[None] * 4 + [0.9])
        h.loc[4, "rouge_forget"] = forget
        h.loc[:3, "lr"] = lr
        if config.autolr is None:
            h = h.assign(autolr_accepted=None, forward_passes=[2, 4, 6, 8, 8])
        return RunRecord(config, seed, h, 1.0)

    fixed = Config("fixed", "NGDiff", 0.3)
    low = Config("low", "NGDiff", 0.1, AutoLR.plain(2))
    high = Config("high", "NGDiff", 1.0, AutoLR.plain(2))
    grid = Grid([record(fixed, 0.3, 0.0), record(low, 0.2, 0.05), record(high, 0.5, 0.4)])
    return grid, [fixed, low, high]


def test_settings_table_claims_and_verdict_by_hand():
    grid, configs = settings_grid_by_hand()
    table = S.settings_table(grid, configs)
    assert list(table.rule) == ["fixed rate", "plain", "plain"]
    assert math.isnan(table.k[0]) and list(table.k[1:]) == [2, 2]
    assert list(table.extra_forwards_per_step) == [0.0, 1.0, 1.0]
    assert list(table.final_lr_mean) == [0.3, 0.2, 0.5]
    claims = S.settings_claims(grid, table, ["low", "high"], "fixed")
    assert claims["initial_lr_span"] == pytest.approx(10.0)
    assert claims["final_lr_span"] == pytest.approx(2.5)  # 0.5 / 0.2: pulled together
    assert claims["kept_share_plain"] == 0.5
    assert claims["plain_k2_from_1_rouge_forget"] == 0.4
    assert claims["plain_k2_from_0.1_extra_forwards_per_step"] == 1.0
    assert "fixed_k" not in " ".join(claims)
    text = S.settings_verdict(table, ["low", "high"], ["low"], "fixed")
    assert "pulls eta together" in text and "NOT pull" not in text
    assert "from 1 (k=2): does NOT forget" in text and "from 0.1 (k=2): forgets" in text
    assert "+1.00 forwards per step (16.7% of a step)" in text


def test_trace_figure_and_traces_cover_every_finished_run():
    grid, configs = settings_grid_by_hand()
    assert len(S.traces(grid)) == 3 * 4 and set(S.traces(grid).label) == {"fixed", "low", "high"}
    lines = {"low": S.Line("C0", "from 0.1"), "high": S.Line("C1", "from 1")}
    fig = S.trace_figure(grid, "low", lines, 1)
    assert len(fig.axes) == 3 and fig.axes[0].get_yscale() == "log"
    plt.close(fig)
