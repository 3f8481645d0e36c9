"""Notebook 05's AutoLR trace and settings: traces, rejected fits, forward-pass cost, the
settings table, claims and verdict, on hand-made histories."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils.studies import autolr_trace as S  # noqa: E402
from nbutils.studies.style import Line, rate_colors  # noqa: E402


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
    colors = rate_colors([1.0, 0.01, 0.1])
    assert list(colors) == [0.01, 0.1, 1.0] and len(set(colors.values())) == 3


def settings_grid_by_hand():
    """A fixed-rate run and two AutoLR runs (plain from 0.1 and 1.0) of ``autolr_history``
    shape; the one from 1.0 ends at eta 0.5 and does not forget."""
    from nbutils.engine.autolr import AutoLR
    from nbutils.engine.loop import Run
    from nbutils.engine.runs import Config, Grid

    def record(config, lr, forget, seed=0):
        h = autolr_history().assign(rouge_retain=[None] * 4 + [0.9])
        h.loc[4, "rouge_forget"] = forget
        h.loc[:3, "lr"] = lr
        if config.autolr is None:
            h = h.assign(autolr_accepted=None, forward_passes=[2, 4, 6, 8, 8])
        return Run(config.label, seed, h, 1.0, config=config)

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
    lines = {"low": Line("C0", "from 0.1"), "high": Line("C1", "from 1")}
    fig = S.trace_figure(grid, "low", lines, 1)
    assert len(fig.axes) == 3 and fig.axes[0].get_yscale() == "log"
    plt.close(fig)
