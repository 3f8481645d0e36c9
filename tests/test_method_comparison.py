"""The Table 1 / Table 3 builders, the paper's success rule and the Pareto scores, on
hand-made finals whose answers are known."""

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils import claims  # noqa: E402
from nbutils.studies import style  # noqa: E402
from nbutils.studies.comparison import configs as cmp  # noqa: E402
from nbutils.studies.comparison import plots as cmp_plots  # noqa: E402
from nbutils.studies.comparison import tables as cmp_tables  # noqa: E402
from nbutils.studies.comparison import verdicts as cmp_verdicts  # noqa: E402
from nbutils.studies.pareto import frontier as pareto_frontier  # noqa: E402

REFERENCE = {"rouge_forget": 1.0, "rouge_retain": 0.8, "truth_ratio_retain": 0.4}


def finals(rows):
    """Grid.finals-like rows: (label, seed, rouge_forget, rouge_retain, truth_ratio, L_F, L_R)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "label",
            "seed",
            "rouge_forget",
            "rouge_retain",
            "truth_ratio_retain",
            "split_loss_forget",
            "split_loss_retain",
        ],
    )
    frame["diverged_at"] = np.nan
    return frame


def test_success_rule_is_the_papers_table_1_caption():
    assert cmp_tables.cell_success("verbmem", 0.099, REFERENCE["rouge_forget"])
    assert not cmp_tables.cell_success("verbmem", 0.1, REFERENCE["rouge_forget"])  # strict
    assert cmp_tables.cell_success("utility", 0.56, 0.8)  # exactly 70%
    assert not cmp_tables.cell_success("utility", 0.55, 0.8)
    assert cmp_tables.cell_success("truth_ratio", 0.28, 0.4)
    assert not cmp_tables.cell_success("truth_ratio", 0.27, 0.4)
    assert cmp_tables.cell_success("utility_rel", 0.7, 1.0)
    assert not cmp_tables.cell_success("verbmem", math.nan, 1.0)
    with pytest.raises(ValueError, match="no success rule"):
        cmp_tables.cell_success("knowmem", 0.0, 1.0)


def test_phi_row_of_table_1_gets_the_papers_bold_cells():
    # Phi-1.5 row, NGDiff and GDiff-0.9: Verbmem 0.024 bold, Utility 0.747 bold,
    # TruthRatio 0.353 >= 0.7 * 0.385 bold; GDiff-0.9 only its Utility.
    phi = {"rouge_forget": 1.0, "rouge_retain": 1.0, "truth_ratio_retain": 0.385}
    table = cmp_tables.method_table(
        finals(
            [("NGDiff", 0, 0.024, 0.747, 0.353, 5, 1), ("GDiff-0.9", 0, 0.805, 0.992, 0.205, 1, 0)]
        ),
        phi,
    )
    assert table.loc["NGDiff", ["verbmem_ok", "utility_ok", "truth_ratio_ok"]].all()
    assert table.loc["NGDiff", "success"]
    assert table.loc["GDiff-0.9", ["verbmem_ok", "utility_ok", "truth_ratio_ok"]].tolist() == [
        False,
        True,
        False,
    ]
    assert not table.loc["GDiff-0.9", "success"]


def test_method_table_means_stds_relative_utility_and_seed_counts():
    rows = [
        ("NGDiff", 0, 0.00, 0.80, 0.40, 5.0, 0.1),
        ("NGDiff", 1, 0.10, 0.60, 0.30, 6.0, 0.2),
        ("NGDiff", 2, 0.05, 0.40, 0.20, 7.0, 0.3),
        ("GA", 0, 0.0, 0.0, 0.1, 50.0, 40.0),
    ]
    table = cmp_tables.method_table(finals(rows), REFERENCE)
    assert list(table.index) == ["No-unlearn", "NGDiff", "GA"]
    ng = table.loc["NGDiff"]
    assert ng["verbmem"] == pytest.approx(0.05)
    assert ng["verbmem_std"] == pytest.approx(0.05)  # ddof=1 of 0, 0.1, 0.05
    assert ng["utility"] == pytest.approx(0.6)
    assert ng["utility_std"] == pytest.approx(0.2)
    assert ng["utility_rel"] == pytest.approx(0.75)  # 0.6 / 0.8
    assert ng["utility_rel_std"] == pytest.approx(0.25)
    assert ng["verbmem_seeds"] == 2  # 0.10 is not below 0.1
    assert ng["utility_seeds"] == 2  # 0.80 and 0.60 >= 0.56; 0.40 is not
    assert ng["truth_ratio_seeds"] == 2  # 0.40 and 0.30 >= 0.28
    assert bool(ng["success"])
    assert table.loc["GA", "utility_std"] == 0.0  # one run
    assert not table.loc["GA", "success"]
    ref = table.loc["No-unlearn"]
    assert ref["utility_rel"] == 1.0 and ref["verbmem_std"] == 0.0
    assert not ref["verbmem_ok"] and ref["utility_ok"]


def test_method_table_leaves_diverged_runs_out_and_counts_them():
    frame = finals([("GDiff-0.1", 0, 0.0, 0.0, 0.1, 9, 9), ("GDiff-0.1", 1, 0.0, 0.2, 0.1, 9, 9)])
    frame.loc[1, ["rouge_forget", "rouge_retain", "truth_ratio_retain"]] = np.nan
    frame.loc[1, "diverged_at"] = 12
    row = cmp_tables.method_table(frame, REFERENCE).loc["GDiff-0.1"]
    assert row["runs"] == 2 and row["diverged"] == 1
    assert row["utility"] == 0.0 and row["utility_std"] == 0.0


def test_order_and_unknown_labels():
    frame = finals([("A", 0, 0.5, 0.5, 0.3, 1, 1), ("B", 0, 0.0, 0.7, 0.3, 2, 1)])
    assert list(cmp_tables.method_table(frame, REFERENCE, order=["B", "A"]).index) == [
        "No-unlearn",
        "B",
        "A",
    ]
    with pytest.raises(KeyError, match="C"):
        cmp_tables.method_table(frame, REFERENCE, order=["C"])


def test_format_table_marks_cells_and_counts_seeds():
    frame = finals(
        [("NGDiff", 0, 0.02, 0.78, 0.38, 5, 0.1), ("NGDiff", 1, 0.04, 0.74, 0.36, 5, 0.1)]
    )
    text = cmp_tables.format_table(cmp_tables.method_table(frame, REFERENCE), digits=2)
    verbmem = text.loc["NGDiff", cmp_tables.TITLES["verbmem"]]
    assert verbmem == "0.03 ± 0.01 ✓ (2/2)"
    assert text.loc["No-unlearn", cmp_tables.TITLES["utility"]] == "0.80 ± 0.00"


def test_autolr_table_pairs_without_and_with():
    without = cmp_tables.method_table(finals([("GDiff-0.9", 0, 0.81, 0.79, 0.2, 1, 0)]), REFERENCE)
    with_ = cmp_tables.method_table(finals([("GDiff-0.9", 0, 0.20, 0.34, 0.3, 2, 1)]), REFERENCE)
    text, change = cmp_tables.autolr_table(without, with_)
    assert text.loc["GDiff-0.9", cmp_tables.TITLES["verbmem"]] == "0.81 → 0.20"
    assert text.loc["No-unlearn", cmp_tables.TITLES["verbmem"]] == "1.00"
    assert change.loc["GDiff-0.9", "verbmem"] == pytest.approx(-0.61)
    assert change.loc["GDiff-0.9", "utility_rel"] == pytest.approx((0.34 - 0.79) / 0.8)
    assert "No-unlearn" not in change.index
    with pytest.raises(ValueError, match="same methods"):
        cmp_tables.autolr_table(without, cmp_tables.method_table(finals([]), REFERENCE, []))


def sweep_and_methods():
    # seed 0: a GDiff staircase in ROUGE space (1 - F, R): (0.2, 1.0), (0.6, 0.6), (1.0, 0.2)
    # -> hypervolume 1.0*0.2 + 0.6*0.4 + 0.2*0.4 = 0.52 from (0, 0).
    rows = [
        ("GDiff-1", 0, 0.8, 1.0, 0.4, 0.01, 0.01),
        ("GDiff-0.5", 0, 0.4, 0.6, 0.3, 2.0, 1.0),
        ("GDiff-0", 0, 0.0, 0.2, 0.1, 30.0, 20.0),
        ("NGDiff", 0, 0.0, 0.9, 0.4, 8.0, 0.05),  # (1.0, 0.9): beyond the staircase
        ("LossNorm", 0, 0.5, 0.5, 0.3, 1.0, 1.5),  # (0.5, 0.5): under (0.6, 0.6)
    ]
    return finals(rows)


def test_frontier_scores_by_hand():
    scores = pareto_frontier.frontier_scores(
        sweep_and_methods(), ["GDiff-1", "GDiff-0.5", "GDiff-0"], ["NGDiff", "LossNorm"]
    )
    ng = scores.set_index("label").loc["NGDiff"]
    # (1.0, 0.9) covers 1.0 x 0.9 = 0.9, of which the staircase already covers its
    # 0.52 minus the strip 0.2 x 0.1 above R = 0.9 -> adds 0.9 - 0.50 = 0.40
    assert ng["added_hv"] == pytest.approx(0.40)
    assert not ng["dominated_rouge"] and not ng["dominated_loss"]
    ln = scores.set_index("label").loc["LossNorm"]
    assert ln["added_hv"] == 0.0 and ln["dominated_rouge"]
    assert ln["dominated_loss"]  # GDiff-0.5: L_F 2.0 > 1.0 and L_R 1.0 < 1.5
    summary = pareto_frontier.score_summary(scores)
    assert summary.loc["NGDiff", "dominated_rouge_seeds"] == 0
    assert summary.loc["LossNorm", "dominated_rouge_seeds"] == 1
    assert summary.loc["NGDiff", "added_hv_std"] == 0.0


def test_mean_points_and_curve_band():
    frame = finals([("A", 0, 0.2, 0.6, 0.3, 1.0, 2.0), ("A", 1, 0.4, 0.8, 0.3, 3.0, 4.0)])
    points = pareto_frontier.mean_points(frame)
    assert points.loc["A", "rouge_forget"] == pytest.approx(0.3)
    assert points.loc["A", "split_loss_retain_std"] == pytest.approx(math.sqrt(2))
    hist = pd.DataFrame(
        {
            "label": ["A"] * 4,
            "seed": [0, 0, 1, 1],
            "step": [0, 10, 0, 10],
            "rouge_forget": [1.0, 0.2, 1.0, 0.6],
        }
    )
    band = cmp_plots.curve_band(hist, "A", "rouge_forget")
    assert band.loc[10].tolist() == pytest.approx([0.4, 0.2, 0.6])


def test_colors_follow_the_collection():
    assert style.color("GDiff-0.3") == style.gdiff_color(0.3)
    assert style.color("GDiff-0.3+AutoLR") == style.gdiff_color(0.3)
    assert style.color("NGDiff+AutoLR") == style.COLORS["NGDiff+AutoLR"]
    assert style.color("NGDiff (Adam)") == style.color("NGDiff @ 0.1") == style.COLORS["NGDiff"]
    assert style.color("LossNorm+AutoLR") == style.COLORS["LossNorm"]
    assert style.color("something else") == style.OTHER


# What the bars and arrows of sweep_and_methods() must show, by hand from its rows (one
# seed: the means are the rows; Utility relative to No-unlearn's ROUGE_R 0.8).
SHOWN = {
    "verbmem": [1.0, 0.8, 0.4, 0.0, 0.0, 0.5],
    "utility_rel": [1.0, 1.25, 0.75, 0.25, 1.125, 0.625],
    "truth_ratio": [0.4, 0.4, 0.3, 0.1, 0.4, 0.3],
}
THRESHOLDS = {"verbmem": 0.1, "utility_rel": 0.7, "truth_ratio": 0.7 * 0.4}
PASSING = {  # the cells that pass the paper's rule: their bars are edged black
    "verbmem": ["GDiff-0", "NGDiff"],
    "utility_rel": ["No-unlearn", "GDiff-1", "GDiff-0.5", "NGDiff"],
    "truth_ratio": ["No-unlearn", "GDiff-1", "GDiff-0.5", "NGDiff", "LossNorm"],
}
SHOWN_LABELS = ["No-unlearn", "GDiff-1", "GDiff-0.5", "GDiff-0", "NGDiff", "LossNorm"]


def dashed_levels(ax) -> list[list[float]]:
    return [list(line.get_ydata()) for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_method_bars_show_the_tables_means_thresholds_and_passing_cells():
    table = cmp_tables.method_table(sweep_and_methods(), REFERENCE)
    fig, axes = plt.subplots(1, 3)
    cmp_plots.plot_method_bars(axes, table, metrics=tuple(SHOWN))
    for ax, m in zip(axes, SHOWN):
        assert [t.get_text() for t in ax.get_xticklabels()] == SHOWN_LABELS
        assert [bar.get_height() for bar in ax.patches] == pytest.approx(SHOWN[m])
        edged = [label for label, bar in zip(SHOWN_LABELS, ax.patches)
                 if bar.get_edgecolor() == (0, 0, 0, 1)]  # fmt: skip
        assert edged == PASSING[m]
        assert dashed_levels(ax) == [pytest.approx([THRESHOLDS[m]] * 2)]
        # a tick over each passing method's bar (not over No-unlearn's)
        ticks = [SHOWN_LABELS[round(t.get_position()[0])] for t in ax.texts if t.get_text() == "✓"]
        assert ticks == [label for label in PASSING[m] if label != "No-unlearn"]
    plt.close(fig)


def test_autolr_arrows_go_from_the_mean_without_to_the_mean_with():
    frame = sweep_and_methods()
    without = cmp_tables.method_table(frame, REFERENCE)
    halved = frame.assign(rouge_forget=frame.rouge_forget / 2)  # AutoLR halves Verbmem
    with_autolr = cmp_tables.method_table(halved, REFERENCE)
    fig, axes = plt.subplots(1, 3)
    cmp_plots.plot_autolr_arrows(axes, without, with_autolr)
    for ax, m in zip(axes, SHOWN):
        assert [t.get_text() for t in ax.get_xticklabels()] == SHOWN_LABELS[1:]  # no reference
        before = SHOWN[m][1:]
        after = [v / 2 for v in before] if m == "verbmem" else before
        lines = ax.get_lines()
        circles = [tuple(line.get_xydata()[0]) for line in lines if line.get_marker() == "o"]
        assert circles == [pytest.approx((i, v)) for i, v in enumerate(before)]
        arrows = [(*a.xyann, *a.xy) for a in ax.texts if hasattr(a, "xyann")]  # tail, head
        expected = [(i, a, i, b) for i, (a, b) in enumerate(zip(before, after))]
        assert arrows == [pytest.approx(arrow) for arrow in expected]
        assert dashed_levels(ax) == [pytest.approx([THRESHOLDS[m]] * 2)]
    plt.close(fig)


# --------------------------------------------------------------------------- issue 15/16


def test_optimizers_and_curve_schedule():
    assert cmp.optimizers_to_run(["adam", "sgd"]) == ["adam", "sgd"]
    assert cmp.optimizers_to_run(["sgd", "adam"]) == ["sgd", "adam"]  # each has claims
    with pytest.raises(ValueError, match="rmsprop"):
        cmp.optimizers_to_run(["rmsprop"])
    assert cmp.evaluation_seeds([3, 4, 5], smoke=False) == [3, 4, 5]
    assert cmp.evaluation_seeds([3, 4], smoke=True) == [3]
    assert cmp.curve_eval_every(40) == 5  # 8 points before the final one
    assert cmp.curve_eval_every(6, 2) == 3
    assert cmp.curve_eval_every(6, smoke=True) == 6
    assert cmp.curve_eval_every(3) == 1
    with pytest.raises(ValueError):
        cmp.curve_eval_every(0)


def test_comparison_configs_cover_tables_and_fig4_at_tuned_rates():
    rates = {m: 0.1 * (i + 1) for i, m in enumerate(cmp.TUNED_METHODS)}
    configs = cmp.comparison_configs(rates)
    labels = [c.label for c in configs]
    assert labels[:6] == cmp.TABLE_METHODS
    assert labels[6:12] == [f"{m}+AutoLR" for m in cmp.TABLE_METHODS]
    assert labels[12] == "GDiff-0.7" and set(cmp.CURVE_METHODS) <= set(labels)
    auto = {c.label: c for c in configs}["NGDiff+AutoLR"]
    assert auto.method == "NGDiff" and auto.lr == rates["NGDiff"] and auto.autolr is not None
    assert {c.label: c for c in configs}["GDiff-0.9"].autolr is None


RETAIN_ONLY = {"rouge_forget": 0.5, "rouge_retain": 0.8, "truth_ratio_retain": 0.4,
               "truth_ratio_forget_values": [0.2, 0.4, 0.6, 0.8]}  # fmt: skip


def test_forget_quality_and_rouge_distance_per_run():
    frame = finals([("A", 0, 0.0, 0.8, 0.4, 1, 1), ("A", 1, 0.5, 0.8, 0.4, 1, 1),
                    ("A", 2, 0.0, 0.0, 0.0, 1, 1)])  # fmt: skip
    frame["truth_ratio_forget_values"] = [[0.2, 0.4, 0.6, 0.8], [1e-6] * 4, None]
    frame.loc[2, "diverged_at"] = 3
    out = cmp_tables.with_forget_quality(frame, RETAIN_ONLY)
    assert out.loc[0, "forget_quality"] == pytest.approx(1.0)  # the same sample
    assert out.loc[1, "forget_quality"] < 0.05  # every TR far below the retain-only's
    assert math.isnan(out.loc[2, "forget_quality"])  # diverged: no values
    assert out.loc[0, "rouge_f_gap"] == pytest.approx(0.5)  # over-forgetting: 0 vs 0.5
    assert out.loc[1, "rouge_f_gap"] == pytest.approx(0.0)
    none = cmp_tables.with_forget_quality(frame, None)
    assert none["forget_quality"].isna().all() and none["rouge_f_gap"].isna().all()


def test_tables_carry_forget_quality_and_the_retain_only_row():
    rows = []
    for label in [*cmp.TABLE_METHODS, *[f"{m}+AutoLR" for m in cmp.TABLE_METHODS]]:
        rows += [(label, s, 0.05, 0.7, 0.3, 5.0, 0.1) for s in (0, 1)]
    frame = finals(rows)
    frame["truth_ratio_forget_values"] = [[0.2, 0.4, 0.6, 0.8]] * len(frame)
    frame = cmp_tables.with_forget_quality(frame, RETAIN_ONLY)
    no_unlearn = {**REFERENCE, "truth_ratio_forget_values": [1e-6] * 4}
    table = cmp_tables.table1(frame, no_unlearn, RETAIN_ONLY)
    assert list(table.index) == ["No-unlearn", *cmp.TABLE_METHODS, "NGDiff+AutoLR",
                                 "retain-only"]  # fmt: skip
    assert table.loc["retain-only", "forget_quality"] == pytest.approx(1.0)
    assert table.loc["retain-only", "rouge_f_gap"] == 0.0
    assert table.loc["No-unlearn", "forget_quality"] < 0.05
    assert table.loc["No-unlearn", "rouge_f_gap"] == pytest.approx(0.5)
    assert table.loc["NPO", "rouge_f_gap"] == pytest.approx(0.45)
    text = cmp_tables.format_table(table)
    assert text.loc["retain-only", cmp_tables.TITLES["forget_quality"]] == "1.0e+00 ± 0.0e+00"
    refs = cmp_tables.references_table(no_unlearn, RETAIN_ONLY)
    assert list(refs.index) == ["No-unlearn", "retain-only"]
    assert "truth_ratio_forget_values" not in refs
    text3, change, without, with_autolr = cmp_tables.table3(frame, no_unlearn, RETAIN_ONLY)
    assert list(change.index) == cmp.TABLE_METHODS
    assert cmp_tables.TITLES["forget_quality"] in text3
    assert text3.index[-1] == "retain-only"
    assert text3.loc["retain-only", cmp_tables.TITLES["verbmem"]] == "0.50"
    assert (change["verbmem"] == 0).all()
    fig, axes = plt.subplots(1, 4)
    metrics = ("verbmem", "utility_rel", "truth_ratio", "forget_quality")
    cmp_plots.plot_autolr_arrows(axes, without, with_autolr, metrics, table.loc["retain-only"])
    assert axes[3].get_yscale() == "log"
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in axes[0].get_lines())
    plt.close(fig)
    bare = cmp_tables.table1(frame.assign(forget_quality=np.nan), REFERENCE, None)
    assert "retain-only" not in bare.index
    assert cmp_tables.format_table(bare).loc["NPO", cmp_tables.TITLES["forget_quality"]] == "n/a"
    fig, axes = plt.subplots(1, 4)
    cmp_plots.plot_method_bars(axes, table)
    assert axes[3].get_yscale() == "log"
    plt.close(fig)
    # verdicts_only trains no retain-only model: no forget quality, and the figure saves
    _, _, bare_without, bare_with = cmp_tables.table3(
        frame.assign(forget_quality=np.nan), no_unlearn, None
    )
    fig, axes = plt.subplots(1, 4)
    cmp_plots.plot_autolr_arrows(axes, bare_without, bare_with, metrics)
    fig.savefig(io.BytesIO(), format="png")
    assert axes[3].get_yscale() == "linear" and "not measured" in axes[3].texts[0].get_text()
    plt.close(fig)


# A world where every claim of notebook 06 holds; each flip below makes one fail.
WORLD = {  # label: (ROUGE_F, ROUGE_R, retain TruthRatio); No-unlearn: ROUGE_R 0.8, TR 0.4
    "NGDiff+AutoLR": (0.02, 0.78, 0.40),
    "GDiff-0.9": (0.80, 0.70, 0.30),
    "GDiff-0.7": (0.05, 0.50, 0.30),
    "GDiff-0.5": (0.02, 0.20, 0.30),
    "GDiff-0.1": (0.03, 0.00, 0.30),
    "NPO": (0.03, 0.10, 0.30),
    "LossNorm": (0.40, 0.70, 0.30),
    "NGDiff": (0.05, 0.60, 0.30),
}


NOISE = (-0.002, 0.0, 0.002)  # seeds 0, 1, 2: each run's offset from its method's value


def seed_noise(label, seed):
    """The offset of ``label``'s run ``seed`` from its planted value: AutoLR's runs vary a
    little more (x 1.5) than those without it, so that its paired changes (Table 3) and
    head-to-heads (Table 1) vary by seed too: runs that all gave one value would get no
    interval."""
    return NOISE[seed] * (1.5 if label.endswith("+AutoLR") else 1.0)


def world(changes=None, lowest_retain=0.77, autolr_forget=-0.015, autolr_truth=0.05):
    """Finals (3 seeds, small seed-to-seed noise) and Fig. 4's histories: NGDiff + AutoLR's
    ROUGE_R dips to ``lowest_retain`` mid-run; the other Fig. 4 methods start at 0.8 and
    stay at their final ROUGE_R from mid-run on. Every run starts at 0.8 (the model
    before unlearning); later points carry the seed's noise, the final one the run's."""
    values = {**WORLD, **(changes or {})}
    for m in cmp.TABLE_METHODS:
        if f"{m}+AutoLR" not in values or m == "NGDiff":
            f, r, t = values[m]
            values.setdefault(f"{m}+AutoLR", (max(f + autolr_forget, 0.0), r, t + autolr_truth))
    rows, history = [], []
    for label, (f, r, t) in values.items():
        for seed in (0, 1, 2):
            noise = seed_noise(label, seed)
            rows.append((label, seed, max(f + noise, 0.0), max(r + noise, 0.0), t + noise, 1, 1))
    curves = {"NGDiff+AutoLR": (lowest_retain, values["NGDiff+AutoLR"][1])}
    curves |= {m: (values[m][1], values[m][1]) for m in cmp_verdicts.FIG4_OTHERS}
    for label, (mid, final) in curves.items():
        for seed in (0, 1, 2):
            points = (0.8, max(mid + NOISE[seed], 0.0), max(final + seed_noise(label, seed), 0.0))
            for step, r in zip((0, 5, 40), points):
                history.append({"label": label, "seed": seed, "step": step, "rouge_retain": r})
    return finals(rows), pd.DataFrame(history)


def verdicts_of(frame, histories, claim_id=None, optimizer="adam"):
    measured = cmp_verdicts.claim_measurements(frame, histories, REFERENCE, 0, optimizer)
    if claim_id is not None:
        measured = measured[measured["claim"] == claim_id]
    return claims.evaluate(measured).set_index("id")["verdict"]


def test_every_claim_of_06_holds_in_the_planted_world():
    verdicts = verdicts_of(*world())
    adam = {c.id for c in claims.of_notebook("06_method_comparison") if c.id.endswith(".adam")}
    assert set(verdicts.index) == adam
    assert (verdicts == "holds").all(), verdicts[verdicts != "holds"]
    ids = cmp.claim_ids(cmp_verdicts.TABLE1 + cmp_verdicts.TABLE3 + cmp_verdicts.FIG4, ["adam"])
    assert sorted(ids) == sorted(verdicts.index)  # each claim in exactly one figure


def test_each_optimizer_has_its_own_claims():
    verdicts = verdicts_of(*world(), optimizer="sgd")
    assert all(i.endswith(".sgd") for i in verdicts.index) and (verdicts == "holds").all()
    assert {claims.claim(i).setting for i in verdicts.index} == {claims.SGD}
    both = cmp.claim_ids(cmp_verdicts.FIG4, ["adam", "sgd"])
    assert both[0].endswith(".adam") and both[-1].endswith(".sgd") and len(both) == 6


@pytest.mark.parametrize(
    "name, planted",
    [
        ("table1.ngdiff_autolr_forgets", dict(changes={"NGDiff+AutoLR": (0.3, 0.78, 0.4)})),
        ("table1.ngdiff_autolr_keeps_utility", dict(changes={"NGDiff+AutoLR": (0.02, 0.3, 0.4)})),
        ("table1.ngdiff_autolr_keeps_truth_ratio",
         dict(changes={"NGDiff+AutoLR": (0.02, 0.78, 0.2)})),
        ("table1.gdiff09_fails_to_forget", dict(changes={"GDiff-0.9": (0.01, 0.7, 0.3)})),
        ("table1.gdiff01_loses_utility", dict(changes={"GDiff-0.1": (0.03, 0.3, 0.3)})),
        ("table1.gdiff05_loses_utility", dict(changes={"GDiff-0.5": (0.02, 0.3, 0.3)})),
        ("table1.npo_loses_utility", dict(changes={"NPO": (0.03, 0.3, 0.3)})),
        ("table1.ngdiff_autolr_beats_gdiff05", dict(changes={"GDiff-0.5": (0.02, 0.8, 0.3)})),
        ("table1.ngdiff_autolr_beats_npo", dict(changes={"NPO": (0.03, 0.8, 0.3)})),
        # comparable forgetting first: NGDiff + AutoLR that does not forget cannot win
        ("table1.ngdiff_autolr_beats_npo", dict(changes={"NGDiff+AutoLR": (0.3, 0.78, 0.4)})),
        ("table3.autolr_lowers_verbmem", dict(autolr_forget=0.1)),
        # every method: one method whose Verbmem rises with AutoLR is enough
        ("table3.autolr_lowers_verbmem", dict(changes={"LossNorm+AutoLR": (0.5, 0.7, 0.35)})),
        ("table3.autolr_raises_truth_ratio", dict(autolr_truth=-0.1)),
        ("table3.autolr_raises_truth_ratio", dict(changes={"NPO+AutoLR": (0.02, 0.1, 0.2)})),
        ("fig4.ngdiff_keeps_retain_throughout", dict(lowest_retain=0.6)),
        ("fig4.only_ngdiff_keeps_retain", dict(changes={"LossNorm": (0.4, 0.79, 0.3)})),
        ("fig4.gdiff07_forgets", dict(changes={"GDiff-0.7": (0.5, 0.7, 0.3)})),
    ],
)  # fmt: skip
def test_a_planted_world_flips_each_claim_of_06(name, planted):
    claim_id = f"ngdiff.{name}.adam"
    assert verdicts_of(*world(), claim_id)[claim_id] == "holds"
    assert verdicts_of(*world(**planted), claim_id)[claim_id] == "fails"


def test_diverged_runs_count_as_collapses():
    frame, histories = world()
    # GDiff-0.9 diverges on seeds 0 and 1 and forgets on seed 2. A collapse forgets
    # (ROUGE_F 0): "fails to forget" fails on 0, 0, 0.01; left out, the one run left
    # would give no interval (and three collapses alone, all 0, give [0, 0.708]).
    gd09 = frame["label"] == "GDiff-0.9"
    gone = gd09 & (frame.seed < 2)
    frame.loc[gone, ["rouge_forget", "rouge_retain", "truth_ratio_retain"]] = np.nan
    frame.loc[gone, "diverged_at"] = 7
    frame.loc[gd09 & (frame.seed == 2), "rouge_forget"] = 0.01
    assert cmp_verdicts.per_seed(frame, "GDiff-0.9", "rouge_forget").tolist() == [0, 0, 0.01]
    gd09_id = "ngdiff.table1.gdiff09_fails_to_forget.adam"
    assert verdicts_of(frame, histories, gd09_id)[gd09_id] == "fails"
    ng = frame["label"] == "NGDiff+AutoLR"
    frame.loc[ng & (frame.seed == 1), ["rouge_forget", "rouge_retain"]] = np.nan
    frame.loc[ng & (frame.seed == 1), "diverged_at"] = 3
    lowest = cmp_verdicts.lowest_retain(histories, frame, "NGDiff+AutoLR")
    # seed 0 by hand: its dip 0.77 plus its noise -0.002
    assert lowest.loc[1] == 0.0 and lowest.loc[0] == pytest.approx(0.768)
    assert cmp_verdicts.relative(frame, "NGDiff+AutoLR", REFERENCE).loc[1] == 0.0
    # a collapse forgets (ROUGE_F 0) but brings no utility to a head-to-head
    assert cmp_verdicts.forgetting_utility(frame, "NGDiff+AutoLR", REFERENCE).loc[1] == 0.0
    with pytest.raises(KeyError, match="nothing"):
        cmp_verdicts.per_seed(frame, "nothing", "rouge_forget")


def test_verdict_table_names_each_claims_setting():
    measured = cmp_verdicts.claim_measurements(*world(), REFERENCE, 0, "adam")
    table = claims.verdict_table(claims.evaluate(measured))
    assert (table["setting"] == claims.ADAM).all()
    assert table.loc["ngdiff.fig4.gdiff07_forgets.adam", "threshold"] == "below 0.1"
    assert table["verdict"].eq("holds").all()


def test_fig4_tells_gdiff07_from_gdiff09():
    a, b, c = (cmp_plots.curve_style(m) for m in ("GDiff-0.5", "GDiff-0.7", "GDiff-0.9"))
    assert (
        len({a["ls"], b["ls"], c["ls"]}) == 3 and len({a["marker"], b["marker"], c["marker"]}) == 3
    )
    assert cmp_plots.curve_style("NGDiff+AutoLR")["lw"] > a["lw"]
