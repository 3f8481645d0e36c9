"""The Table 1 / Table 3 builders, the paper's success rule and the Pareto scores, on
hand-made finals whose answers are known."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils.studies import method_comparison as comparison  # noqa: E402
from nbutils.studies import pareto_sweep, style  # noqa: E402

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
    assert comparison.cell_success("verbmem", 0.099, REFERENCE["rouge_forget"])
    assert not comparison.cell_success("verbmem", 0.1, REFERENCE["rouge_forget"])  # strict
    assert comparison.cell_success("utility", 0.56, 0.8)  # exactly 70%
    assert not comparison.cell_success("utility", 0.55, 0.8)
    assert comparison.cell_success("truth_ratio", 0.28, 0.4)
    assert not comparison.cell_success("truth_ratio", 0.27, 0.4)
    assert comparison.cell_success("utility_rel", 0.7, 1.0)
    assert not comparison.cell_success("verbmem", math.nan, 1.0)
    with pytest.raises(ValueError, match="no success rule"):
        comparison.cell_success("knowmem", 0.0, 1.0)


def test_phi_row_of_table_1_gets_the_papers_bold_cells():
    # Phi-1.5 row, NGDiff and GDiff-0.9: Verbmem 0.024 bold, Utility 0.747 bold,
    # TruthRatio 0.353 >= 0.7 * 0.385 bold; GDiff-0.9 only its Utility.
    phi = {"rouge_forget": 1.0, "rouge_retain": 1.0, "truth_ratio_retain": 0.385}
    table = comparison.method_table(
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
    table = comparison.method_table(finals(rows), REFERENCE)
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
    row = comparison.method_table(frame, REFERENCE).loc["GDiff-0.1"]
    assert row["runs"] == 2 and row["diverged"] == 1
    assert row["utility"] == 0.0 and row["utility_std"] == 0.0


def test_order_and_unknown_labels():
    frame = finals([("A", 0, 0.5, 0.5, 0.3, 1, 1), ("B", 0, 0.0, 0.7, 0.3, 2, 1)])
    assert list(comparison.method_table(frame, REFERENCE, order=["B", "A"]).index) == [
        "No-unlearn",
        "B",
        "A",
    ]
    with pytest.raises(KeyError, match="C"):
        comparison.method_table(frame, REFERENCE, order=["C"])


def test_format_table_marks_cells_and_counts_seeds():
    frame = finals(
        [("NGDiff", 0, 0.02, 0.78, 0.38, 5, 0.1), ("NGDiff", 1, 0.04, 0.74, 0.36, 5, 0.1)]
    )
    text = comparison.format_table(comparison.method_table(frame, REFERENCE), digits=2)
    verbmem = text.loc["NGDiff", comparison.TITLES["verbmem"]]
    assert verbmem == "0.03 ± 0.01 ✓ (2/2)"
    assert text.loc["No-unlearn", comparison.TITLES["utility"]] == "0.80 ± 0.00"


def test_autolr_table_pairs_without_and_with():
    without = comparison.method_table(finals([("GDiff-0.9", 0, 0.81, 0.79, 0.2, 1, 0)]), REFERENCE)
    with_ = comparison.method_table(finals([("GDiff-0.9", 0, 0.20, 0.34, 0.3, 2, 1)]), REFERENCE)
    text, change = comparison.autolr_table(without, with_)
    assert text.loc["GDiff-0.9", comparison.TITLES["verbmem"]] == "0.81 → 0.20"
    assert text.loc["No-unlearn", comparison.TITLES["verbmem"]] == "1.00"
    assert change.loc["GDiff-0.9", "verbmem"] == pytest.approx(-0.61)
    assert change.loc["GDiff-0.9", "utility_rel"] == pytest.approx((0.34 - 0.79) / 0.8)
    assert "No-unlearn" not in change.index
    with pytest.raises(ValueError, match="same methods"):
        comparison.autolr_table(without, comparison.method_table(finals([]), REFERENCE, []))


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
    scores = pareto_sweep.frontier_scores(
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
    summary = pareto_sweep.score_summary(scores)
    assert summary.loc["NGDiff", "dominated_rouge_seeds"] == 0
    assert summary.loc["LossNorm", "dominated_rouge_seeds"] == 1
    assert summary.loc["NGDiff", "added_hv_std"] == 0.0


def test_mean_points_and_curve_band():
    frame = finals([("A", 0, 0.2, 0.6, 0.3, 1.0, 2.0), ("A", 1, 0.4, 0.8, 0.3, 3.0, 4.0)])
    points = pareto_sweep.mean_points(frame)
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
    band = comparison.curve_band(hist, "A", "rouge_forget")
    assert band.loc[10].tolist() == pytest.approx([0.4, 0.2, 0.6])


def test_colors_follow_the_collection():
    assert style.color("GDiff-0.3") == style.gdiff_color(0.3)
    assert style.color("GDiff-0.3+AutoLR") == style.gdiff_color(0.3)
    assert style.color("NGDiff+AutoLR") == style.COLORS["NGDiff+AutoLR"]
    assert style.color("NGDiff (Adam)") == style.color("NGDiff @ 0.1") == style.COLORS["NGDiff"]
    assert style.color("LossNorm+AutoLR") == style.COLORS["LossNorm"]
    assert style.color("something else") == style.OTHER


def test_plot_helpers_draw_without_error():
    frame = sweep_and_methods()
    points = pareto_sweep.mean_points(frame)
    sweep = points.loc[["GDiff-1", "GDiff-0.5", "GDiff-0"]]
    fig, axes = plt.subplots(1, 2)
    pareto_sweep.plot_pareto(
        axes, sweep, [1.0, 0.5, 0.0], points.loc[["NGDiff", "LossNorm"]], 7.6, ["NGDiff"]
    )
    assert axes[0].get_xscale() == "log"
    table = comparison.method_table(frame, REFERENCE)
    fig, axes = plt.subplots(1, 3)
    comparison.plot_method_bars(axes, table)
    comparison.plot_autolr_arrows(axes, table, table)
    plt.close("all")


def test_labels_whose_every_run_diverged_have_no_point():
    frame = sweep_and_methods()
    frame.loc[frame.label == "GDiff-0", ["rouge_forget", "rouge_retain", "diverged_at"]] = [
        np.nan,
        np.nan,
        12,
    ]
    points = pareto_sweep.mean_points(frame)
    assert "GDiff-0" not in pareto_sweep.finished_points(points).index
    sweep = ["GDiff-1", "GDiff-0.5", "GDiff-0"]
    assert pareto_sweep.dominated_on_means(points, sweep, "LossNorm")  # under (0.6, 0.6)
    assert not pareto_sweep.dominated_on_means(points, sweep, "NGDiff")
    assert not pareto_sweep.dominated_on_means(points, sweep, "GDiff-0")
    fig, axes = plt.subplots(1, 2)
    pareto_sweep.plot_pareto(
        axes, points.loc[sweep], [1.0, 0.5, 0.0], points.loc[["NGDiff", "LossNorm"]], 7.6, []
    )
    notes = [t.get_text() for t in axes[1].texts]
    assert notes == ["no point (every run diverged): GDiff c = 0"]
    plt.close(fig)


def test_paper_checks_use_the_common_thresholds():
    frame = finals(
        [
            ("NGDiff+AutoLR", 0, 0.05, 0.76, 0.4, 5.0, 0.1),  # forgets, keeps 0.95
            ("NGDiff+AutoLR", 1, 0.05, 0.70, 0.4, 5.0, 0.1),  # keeps only 0.875 < 0.9
            ("GDiff-0.1", 0, 0.0, 0.5, 0.4, 9.0, 3.0),  # 0.625: lost
            ("GDiff-0.5", 0, 0.0, 0.6, 0.4, 9.0, 3.0),  # 0.75: not lost
            ("NPO", 0, 0.0, 0.0, 0.4, 9.0, 3.0),
            ("GDiff-0.9", 0, 0.1, 0.8, 0.4, 1.0, 0.1),  # 0.1 is not below 0.1
        ]
    )
    checks = comparison.paper_checks(frame, REFERENCE).set_index("method")
    assert checks.loc["NGDiff+AutoLR", "runs_supporting"] == "1/2"
    assert not checks.loc["NGDiff+AutoLR", "holds"]
    assert checks.loc["GDiff-0.1", "holds"] and not checks.loc["GDiff-0.5", "holds"]
    assert checks.loc["NPO", "holds"] and checks.loc["GDiff-0.9", "holds"]
    assert "0.9 x No-unlearn" in checks.loc["NGDiff+AutoLR", "claim"]
