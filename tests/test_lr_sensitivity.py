"""Notebook 04's learning-rate sensitivity: the rate grid's middle and AutoLR's starts, the
configs, the claims measured on planted finals tables (each flips from holds to fails),
the paper's arithmetic and the curves figure, on hand-made tables."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils import claims  # noqa: E402
from nbutils.engine.autolr import AutoLR  # noqa: E402
from nbutils.studies.lr import configs as lr_configs  # noqa: E402
from nbutils.studies.lr import plots as lr_plots  # noqa: E402
from nbutils.studies.lr import verdicts as lr_verdicts  # noqa: E402
from nbutils.studies.style import Line  # noqa: E402


def test_middle_of_the_grid_is_the_papers_start():
    assert lr_configs.middle_rate([1e-4, 1e-5, 5e-5]) == 5e-5  # the paper's grid and start
    assert lr_configs.middle_rate([3e-5, 1e-4, 3e-4, 1e-3, 3e-3]) == 3e-4
    assert lr_configs.middle_rate([3e-5, 3e-3]) == 3e-4  # even: geometric mean, 3 digits
    assert lr_configs.middle_rate([0.03, 0.3]) == 0.0949
    with pytest.raises(ValueError, match="empty"):
        lr_configs.middle_rate([])


def test_autolr_starts_and_their_roles():
    starts = lr_configs.autolr_starts([0.3, 0.01, 0.1], tuned=0.1)
    assert starts == {"smallest": 0.01, "middle": 0.1, "tuned": 0.1, "largest": 0.3}
    assert lr_configs.start_roles(starts) == {
        0.01: ["smallest"],
        0.1: ["middle", "tuned"],
        0.3: ["largest"],
    }


def test_smoke_draws_autolr_from_the_middle_and_the_tuned_rate_only():
    assert lr_configs.autolr_roles(smoke=True) == ("middle", "tuned")
    assert lr_configs.autolr_roles(smoke=False) == ("smallest", "middle", "tuned", "largest")


def test_sensitivity_configs_and_the_verdicts_only_subset():
    rates = (0.01, 0.1, 0.3)
    starts = lr_configs.autolr_starts(rates, tuned=0.3)
    autolr = AutoLR.plain(10)
    configs = lr_configs.sensitivity_configs(rates, autolr, starts)
    assert len(configs) == 2 * 3 + 3  # 3 distinct starts: 0.01, 0.1 (middle), 0.3
    auto = [c for c in configs if c.autolr is not None]
    assert [c.lr for c in auto] == [0.01, 0.1, 0.3] and auto[1].label == "NGDiff+AutoLR from 0.1"
    few = lr_configs.sensitivity_configs(rates, autolr, starts, verdicts_only=True)
    assert [c.label for c in few] == [
        "GDiff-0.5 @ 0.01",
        "GDiff-0.5 @ 0.1",
        "GDiff-0.5 @ 0.3",
        "NGDiff @ 0.3",  # the tuned rate
        "NGDiff+AutoLR from 0.1",  # the middle
    ]


def test_retain_advantage_reproduces_the_papers_arithmetic():
    adv = lr_configs.retain_advantage(0.747, 0.625)
    assert adv["absolute"] == pytest.approx(0.122)
    assert adv["relative_percent"] == pytest.approx(19.52, abs=0.01)  # "19.5% higher"


def finals(rows):
    """rows: (rule, lr, seed, rouge_forget, rouge_retain, diverged_at)."""
    columns = ["rule", "lr", "seed", "rouge_forget", "rouge_retain", "diverged_at"]
    return pd.DataFrame(rows, columns=columns)


def verdict(table, claim_id):
    return claims.evaluate(table).set_index("id").loc[claim_id, "verdict"]


def test_gdiff_spread_counts_a_diverged_run_as_destroyed_and_flips():
    sensitive = finals(
        [
            ("GDiff-0.5", 0.01, s, 0.9, 1.0 - s / 100, None)
            for s in (0, 1, 2)  # barely forgets, keeps R (seeds vary a little)
        ]
        + [("GDiff-0.5", 1.0, s, math.nan, math.nan, 3) for s in (0, 1, 2)]  # diverged: R = 0
    )
    spread = lr_verdicts.gdiff_spread_per_seed(sensitive)
    # by hand: (1 - s/100) - 0, the diverged run counting R = 0
    assert spread.tolist() == pytest.approx([1.0, 0.99, 0.98])
    rows = lr_verdicts.measure_gdiff_sensitivity(sensitive, "adam", draw=0)
    assert verdict(rows, "ngdiff.fig6.gdiff_sensitive_to_rate.adam") == "holds"
    flat = sensitive.assign(rouge_retain=[1.0, 0.95, 0.95, 0.8, 0.8, 0.75], diverged_at=None)
    rows = lr_verdicts.measure_gdiff_sensitivity(flat, "adam", draw=0)
    assert rows.value.tolist() == pytest.approx([0.2, 0.15, 0.2])
    assert verdict(rows, "ngdiff.fig6.gdiff_sensitive_to_rate.adam") == "fails"


def autolr_finals(auto_forget, auto_retain, fixed_forget, fixed_retain, diverged=()):
    """AutoLR from 0.1 (the middle) and NGDiff fixed at 0.3 (the best fixed rate), three
    seeds; the AutoLR runs of the seeds in ``diverged`` diverged at step 2; another AutoLR
    start (0.01) that must be ignored."""
    rows = []
    for s in (0, 1, 2):
        rows += [
            ("NGDiff+AutoLR", 0.1, s, auto_forget[s], auto_retain[s], 2 if s in diverged else None),
            ("NGDiff", 0.3, s, fixed_forget[s], fixed_retain[s], None),
            ("NGDiff+AutoLR", 0.01, s, 0.0, 1.0, None),
        ]
    return finals(rows)


def test_autolr_forgets_flips_and_a_diverged_run_is_a_collapse():
    good = autolr_finals([0.01, 0.02, 0.0], [0.8] * 3, [0.0] * 3, [0.6] * 3)
    rows = lr_verdicts.measure_autolr_forgets(good, "sgd", 0, start=0.1)
    assert rows.value.tolist() == [0.01, 0.02, 0.0]
    assert verdict(rows, "ngdiff.fig5.autolr_forgets.sgd") == "holds"
    bad = autolr_finals([0.3, 0.32, 0.31], [0.8] * 3, [0.0] * 3, [0.6] * 3)
    assert (
        verdict(
            lr_verdicts.measure_autolr_forgets(bad, "sgd", 0, 0.1), "ngdiff.fig5.autolr_forgets.sgd"
        )
        == "fails"
    )
    # a diverged run is a collapse: ROUGE_F 0, never dropped (the utility claims count it 0);
    # seed 1 of ``good`` diverges, the others keep their ROUGE_F
    diverged = autolr_finals(
        [0.01, math.nan, 0.0], [0.8, math.nan, 0.8], [0.0] * 3, [0.6] * 3, diverged={1}
    )
    rows = lr_verdicts.measure_autolr_forgets(diverged, "sgd", 0, 0.1)
    assert rows.value.tolist() == [0.01, 0.0, 0.0]
    out = claims.evaluate(rows).iloc[0]
    assert (out.n_runs, out.n_finished, out.verdict) == (3, 3, "holds")


def test_autolr_beats_the_best_fixed_rate_only_when_it_forgets():
    wins = autolr_finals([0.0] * 3, [0.75, 0.75, 0.74], [0.05] * 3, [0.62, 0.63, 0.6])
    rows = lr_verdicts.measure_autolr_beats_best_fixed(wins, "adam", 0, start=0.1, best=0.3)
    assert rows.value.tolist() == pytest.approx([0.13, 0.12, 0.14])
    claim_id = "ngdiff.fig5.autolr_beats_best_fixed_rate.adam"
    assert verdict(rows, claim_id) == "holds"
    # the same utilities, but AutoLR does not forget: its ROUGE_R counts 0
    keeps_only = wins.assign(
        rouge_forget=np.where(
            wins.rule.eq("NGDiff+AutoLR") & wins.lr.eq(0.1), 0.5, wins.rouge_forget
        )
    )
    rows = lr_verdicts.measure_autolr_beats_best_fixed(keeps_only, "adam", 0, 0.1, 0.3)
    assert rows.value.tolist() == pytest.approx([-0.62, -0.63, -0.6])
    assert verdict(rows, claim_id) == "fails"
    # the best fixed rate does not forget either: 0 - 0, no win. Every seed then gives
    # exactly 0, and a difference has no fixed range (no bounds): runs that do not vary get
    # no interval, so the claim cannot hold (no planted variation can enter a 0 - 0)
    neither = keeps_only.assign(rouge_forget=0.5)
    rows = lr_verdicts.measure_autolr_beats_best_fixed(neither, "adam", 0, 0.1, 0.3)
    assert rows.value.tolist() == [0.0] * 3
    out = claims.evaluate(rows).iloc[0]
    assert math.isnan(out.low) and math.isnan(out.high) and out.verdict == "inconclusive"
    assert out.note.startswith("the runs do not vary: no interval")


def test_every_claim_of_04_is_in_exactly_one_figure():
    shown = [
        i for f in lr_verdicts.FIGURE_CLAIMS for i in lr_verdicts.figure_claims(f, ["adam", "sgd"])
    ]
    ours = [c.id for c in claims.of_notebook("04_lr_sensitivity")]
    assert sorted(shown) == sorted(ours) and len(set(shown)) == len(shown)
    assert lr_verdicts.figure_claims("fig5_ngdiff_lr", ["adam"]) == [
        "ngdiff.fig5.autolr_forgets.adam"
    ]


def test_verdict_table_names_the_setting():
    table = lr_verdicts.measure_autolr_forgets(
        autolr_finals([0.0, 0.01, 0.02], [0.8] * 3, [0.0] * 3, [0.6] * 3), "adam", 0, 0.1
    )
    out = claims.verdict_table(claims.evaluate(table))
    row = out.loc["ngdiff.fig5.autolr_forgets.adam"]
    assert row.setting.startswith("Adam") and row.runs == "3/3" and row.verdict == "holds"


def test_rouge_bands_stay_within_0_and_1_and_loss_bands_are_geometric(band_histories):
    h = band_histories.copy()
    h.loc[h.step == 2, "rouge_forget"] = [0.0, 1.0, 0.0, 1.0]  # mean 0.5 +- 0.71
    rouge = lr_plots.panel_bands(h, "rouge_forget")
    assert (rouge["low"] >= 0).all() and (rouge["high"] <= 1).all()
    loss = lr_plots.panel_bands(h, "loss_forget")
    assert loss.iloc[0]["mean"] == pytest.approx(math.sqrt(2.0)) and (loss["low"] > 0).all()


def test_curves_figure_draws_one_line_per_label_in_each_panel(band_histories):
    h = band_histories.assign(loss_retain=lambda d: d.loss_forget, rouge_retain=1.0)
    lines = {"a": Line("C0", "rate a"), "b": Line("C1", "rate b", "--")}
    fig = lr_plots.curves_figure({"SGD": (h, lines)}, "test")
    axes = fig.axes
    assert len(axes) == 4
    assert all(len(ax.get_lines()) == 2 for ax in axes)
    assert axes[2].get_yscale() == "log"
    plt.close(fig)
