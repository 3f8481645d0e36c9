"""Notebook 02's study: collapse points, the c grid refined where forgetting flips, the
two GDiff(c) frontiers, the Fig. 1 claims (each flipped by a planted world), the plot."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils import claims  # noqa: E402
from nbutils.engine import runs  # noqa: E402
from nbutils.engine.loop import Run  # noqa: E402
from nbutils.studies.pareto import frontier as pareto_frontier  # noqa: E402
from nbutils.studies.pareto import plots as pareto_plots  # noqa: E402
from nbutils.studies.pareto import sweep as pareto_sweep  # noqa: E402
from nbutils.studies.pareto import verdicts as pareto_verdicts  # noqa: E402

LOG_V = 7.0
NO_UNLEARN = {"rouge_forget": 1.0, "rouge_retain": 0.8}


def rows(points):
    """Finals from (label, seed, ROUGE_F, ROUGE_R) with losses 1, 1; None ROUGE = diverged."""
    frame = pd.DataFrame(
        [
            {
                "label": label,
                "seed": seed,
                "rouge_forget": f,
                "rouge_retain": r,
                "split_loss_forget": 1.0 if f is not None else np.nan,
                "split_loss_retain": 1.0 if f is not None else np.nan,
                "diverged_at": np.nan if f is not None else 5.0,
            }
            for label, seed, f, r in points
        ]
    )
    return frame.astype({"rouge_forget": float, "rouge_retain": float})


def test_labels_parse_back_to_methods():
    assert pareto_sweep.sweep_label(0.30000000000000004) == "GDiff-0.3"
    assert pareto_sweep.sweep_label(0.0625) == "GDiff-0.0625"
    assert pareto_sweep.tuned_label(0.7) == "GDiff-0.7 @ tuned"
    assert pareto_sweep.tuned_methods()[:5] == [f"GDiff-{c:g}" for c in pareto_sweep.TUNED_CS]
    assert (
        "PCGrad (paper)" in pareto_sweep.tuned_methods()
        and "PCGrad" in pareto_sweep.tuned_methods()
    )
    assert pareto_sweep.tuned_methods(verdicts_only=True)[5:] == ["NGDiff", "NPO"]
    assert pareto_sweep.tuned_methods(smoke=True)[5:] == ["NGDiff", "PCGrad (paper)", "NPO"]
    assert pareto_sweep.markers() == pareto_sweep.MARKER_METHODS
    assert pareto_sweep.markers(verdicts_only=True, smoke=True) == ["NPO"]


def test_diverged_runs_become_collapse_points():
    frame = pareto_sweep.collapse(rows([("A", 0, 0.4, 0.6), ("A", 1, None, None)]), LOG_V)
    assert frame["collapsed"].tolist() == [False, True]
    assert frame.loc[1, ["rouge_forget", "rouge_retain"]].tolist() == [0.0, 0.0]
    assert frame.loc[1, ["split_loss_forget", "split_loss_retain"]].tolist() == [LOG_V, LOG_V]
    assert "diverged_at" not in frame and frame.loc[1, "collapsed_at"] == 5
    points = pareto_frontier.mean_points(frame)
    assert points.loc["A", "rouge_forget"] == pytest.approx(0.2)  # the collapse counts
    assert points.loc["A", "collapsed"] == 1 and points.loc["A", "runs"] == 2


def test_refinement_halves_where_forgetting_flips():
    shares = pd.Series({0.0: 1.0, 0.25: 1.0, 0.5: 0.5, 0.75: 0.0, 1.0: 0.0})
    assert pareto_sweep.refine_cs(shares) == [0.375, 0.625]
    assert pareto_sweep.refine_cs(pd.Series({0.0: 1.0, 1.0: 1.0})) == []
    frame = pareto_sweep.collapse(
        rows([("GDiff-0", 0, None, None), ("GDiff-0.5", 0, 0.05, 0.3), ("GDiff-0.5", 1, 0.2, 0.5)]),
        LOG_V,
    )
    assert pareto_sweep.forget_shares(frame, [0.0, 0.5]).tolist() == [
        1.0,
        0.5,
    ]  # a collapse forgets
    with pytest.raises(KeyError, match="GDiff-1"):
        pareto_sweep.forget_shares(frame, [1.0])


def test_refine_sweep_closes_in_on_the_flip():
    asked = []

    def run(cs):  # forgets below c = 0.3, and keeps R growing with c
        asked.append(list(cs))
        return rows(
            [(pareto_sweep.sweep_label(c), 0, 0.0 if c < 0.3 else 0.5, min(1.0, c)) for c in cs]
        )

    finals, cs = pareto_sweep.refine_sweep(run, [0.0, 0.5, 1.0], rounds=3, log_v=LOG_V)
    assert asked == [[0.0, 0.5, 1.0], [0.25], [0.375], [0.3125]]
    assert cs == [0.0, 0.25, 0.3125, 0.375, 0.5, 1.0]
    assert len(finals) == 6 and "collapsed" in finals
    _, cs = pareto_sweep.refine_sweep(run, [0.0, 1.0], rounds=0, log_v=LOG_V)
    assert cs == [0.0, 1.0]


def test_run_fig1_runs_both_sweeps_and_the_markers(monkeypatch):
    seen = []

    def fake_grid(target, bench, configs, seeds, protocol, **kwargs):
        grid = runs.Grid()
        for config in configs:
            seen.append((config.label, config.method, config.lr, protocol.eval_every))
            f = 0.0 if config.method in ("GDiff-0", "GDiff-0.1") else 0.5
            history = pd.DataFrame([{"step": 3, "rouge_forget": f, "rouge_retain": 0.5}])
            for s in seeds:
                grid.records.append(Run(config.label, s, history, 0.0, config=config))
        return grid

    monkeypatch.setattr(pareto_sweep, "run_grid", fake_grid)
    rates = {m: 0.01 * (i + 1) for i, m in enumerate(pareto_sweep.tuned_methods())}
    sweep, methods = runs.Protocol(), runs.Protocol(eval_every=5, truth_ratio=True)
    out = pareto_sweep.run_fig1(
        None, None, rates, [0, 1], sweep, methods, [0.0, 0.5, 1.0], 1, LOG_V
    )
    assert out.common_lr == rates["GDiff-0.5"]
    assert out.common_cs == [0.0, 0.25, 0.5, 1.0]  # forgetting flips between 0 and 0.5
    assert out.tuned_labels == [pareto_sweep.tuned_label(c) for c in pareto_sweep.TUNED_CS]
    assert out.markers == [*pareto_sweep.MARKER_METHODS, pareto_sweep.NGDIFF_AUTOLR]
    by_label = {label: (method, lr, every) for label, method, lr, every in seen}
    assert by_label["GDiff-0.25"] == ("GDiff-0.25", rates["GDiff-0.5"], None)
    assert by_label["GDiff-0.3 @ tuned"] == ("GDiff-0.3", rates["GDiff-0.3"], 5)
    assert by_label["NGDiff+AutoLR"] == ("NGDiff", rates["NGDiff"], 5)
    assert len(out.finals) == 2 * (4 + 5 + len(out.markers))
    only = pareto_sweep.run_fig1(None, None, rates, [0], sweep, methods, [0.0, 1.0], 0, LOG_V, True)
    assert only.markers == ["NPO", pareto_sweep.NGDIFF_AUTOLR]
    small = pareto_sweep.run_fig1(
        None, None, rates, [0], sweep, methods, [0.0, 1.0], 0, LOG_V, smoke=True
    )
    assert small.markers == [*pareto_sweep.SMOKE_MARKERS, pareto_sweep.NGDIFF_AUTOLR]


TUNED = ["GDiff-0.1 @ tuned", "GDiff-0.5 @ tuned", "GDiff-0.9 @ tuned"]


def fig1_world(balance=0.25, ngdiff=(0.02, 0.75), npo=(0.0, 0.1)):
    """Common sweep: c = 0 forgets, c = 1 keeps (drawn, no claim reads it). Tuned sweep: a
    staircase whose c = 0.1 forgets with ROUGE_R ``balance`` x 0.8 (No-unlearn's). Three
    seeds with small noise."""
    points = []
    for seed, e in ((0, -0.005), (1, 0.0), (2, 0.005)):
        points += [
            ("GDiff-0", seed, 0.0, 0.4 + e),
            ("GDiff-1", seed, 0.9, 0.8 + e),
            ("GDiff-0.1 @ tuned", seed, 0.0, balance * 0.8 + e),
            ("GDiff-0.5 @ tuned", seed, 0.3, 0.5 + e),
            ("GDiff-0.9 @ tuned", seed, 0.8, 0.8 + e),
            (pareto_sweep.NGDIFF_AUTOLR, seed, ngdiff[0], ngdiff[1] + e),
            ("NPO", seed, npo[0], npo[1] + e),
        ]
    return pareto_sweep.collapse(rows(points), LOG_V)


def fig1_verdicts(frame, claim_id=None, optimizer="adam"):
    measured = pareto_verdicts.claim_measurements(frame, TUNED, NO_UNLEARN, 0, optimizer)
    if claim_id is not None:
        measured = measured[measured["claim"] == claim_id]
    return claims.evaluate(measured).set_index("id")["verdict"]


def test_every_claim_of_02_holds_in_the_planted_world():
    verdicts = fig1_verdicts(fig1_world())
    ids = {c.id for c in claims.of_notebook("02_pareto_sweep") if c.id.endswith(".adam")}
    assert set(verdicts.index) == ids == {f"{name}.adam" for name in pareto_verdicts.FIG1_CLAIMS}
    assert (verdicts == "holds").all(), verdicts
    assert set(fig1_verdicts(fig1_world(), optimizer="sgd").index) == {
        f"{name}.sgd" for name in pareto_verdicts.FIG1_CLAIMS
    }


@pytest.mark.parametrize(
    "name, planted",
    [
        ("no_single_c_balances", dict(balance=1.0)),  # the tuned c = 0.1 forgets, keeps all
        ("ngdiff_beats_npo", dict(npo=(0.0, 0.8))),
        ("ngdiff_beats_npo", dict(ngdiff=(0.5, 0.75))),  # keeps more, but does not forget
    ],
)
def test_a_planted_world_flips_each_claim_of_02(name, planted):
    claim_id = f"ngdiff.fig1.{name}.adam"
    assert fig1_verdicts(fig1_world(), claim_id)[claim_id] == "holds"
    assert fig1_verdicts(fig1_world(**planted), claim_id)[claim_id] == "fails"


def test_ngdiff_under_the_stairs_adds_nothing_and_loses_its_verdict():
    claim_id = "ngdiff.fig1.ngdiff_adds_to_gdiff_frontier.adam"
    assert fig1_verdicts(fig1_world(), claim_id)[claim_id] == "holds"
    # NGDiff at (0.5, 0.3 + e), under the stairs on every seed: it adds an area of 0 on
    # each. An area cannot lie below 0, so no interval of any width lies at or below the
    # threshold 0 ("adds more than nothing" can hold or stay open, never fail): 3 runs
    # at the end 0 of [0, 1] give the distribution-free [0, 1 - 0.025^(1/3)] = [0, 0.708]
    measured = pareto_verdicts.claim_measurements(
        fig1_world(ngdiff=(0.5, 0.3)), TUNED, NO_UNLEARN, 0, "adam"
    )
    measured = measured[measured["claim"] == claim_id]
    assert measured.value.tolist() == [0.0, 0.0, 0.0]
    row = claims.evaluate(measured).iloc[0]
    assert (row["low"], row["high"]) == pytest.approx((0.0, 1 - 0.025 ** (1 / 3)))
    assert row["verdict"] == "inconclusive"


def test_claims_by_hand_and_collapses():
    frame = fig1_world()
    measured = pareto_verdicts.claim_measurements(
        frame, ["GDiff-0.1 @ tuned"], NO_UNLEARN, 3, "adam"
    ).set_index(["claim", "seed"])["value"]
    assert measured["ngdiff.fig1.no_single_c_balances.adam", 1] == pytest.approx(0.25)
    # NGDiff (0.98, 0.75) over the single tuned point (1.0, 0.2): 0.98 x 0.75 - 0.98 x 0.2
    added = measured["ngdiff.fig1.ngdiff_adds_to_gdiff_frontier.adam", 1]
    assert added == pytest.approx(0.98 * 0.55)
    # both forget: ROUGE_R / No-unlearn, 0.75 / 0.8 - 0.1 / 0.8
    assert measured["ngdiff.fig1.ngdiff_beats_npo.adam", 1] == pytest.approx(0.65 / 0.8)
    # collapses forget with ROUGE_R 0: the best balance is 0, NGDiff adds and brings nothing
    raw = rows([("GDiff-0.1 @ tuned", 0, None, None), (pareto_sweep.NGDIFF_AUTOLR, 0, None, None),
                ("NPO", 0, 0.0, 0.5)])  # fmt: skip
    values = pareto_verdicts.claim_measurements(
        pareto_sweep.collapse(raw, LOG_V), ["GDiff-0.1 @ tuned"], NO_UNLEARN, 0, "adam"
    ).set_index("claim")["value"]
    assert values["ngdiff.fig1.no_single_c_balances.adam"] == 0.0
    assert values["ngdiff.fig1.ngdiff_adds_to_gdiff_frontier.adam"] == 0.0
    assert values["ngdiff.fig1.ngdiff_beats_npo.adam"] == pytest.approx(-0.5 / 0.8)


def test_forget_rows_and_scores_against_a_frontier():
    frame = fig1_world().assign(forget_quality=0.5, rouge_f_gap=0.1)
    table = pareto_frontier.forget_rows(frame, NO_UNLEARN)
    assert table.loc["NPO", "utility_rel"] == pytest.approx(0.1 / 0.8)
    assert table.loc["NPO", "forget_quality"] == 0.5
    scores = pareto_frontier.frontier_scores(frame, ["GDiff-0.9 @ tuned"], ["NPO"])
    assert scores["added_hv"].gt(0).all()  # (1.0, 0.1) adds a strip below (0.2, 0.8)


def test_plot_pareto_draws_both_sweeps_and_crosses_collapses():
    frame = fig1_world()
    frame.loc[0, ["rouge_forget", "rouge_retain", "collapsed"]] = [0.0, 0.0, True]
    points = pareto_frontier.mean_points(frame)
    fig, axes = plt.subplots(1, 2)
    pareto_plots.plot_pareto(
        axes,
        points.loc[["GDiff-0", "GDiff-1"]],
        [0.0, 1.0],
        points.loc[["GDiff-0.1 @ tuned", "GDiff-0.5 @ tuned", "GDiff-0.9 @ tuned"]],
        [0.1, 0.5, 0.9],
        points.loc[["NPO", pareto_sweep.NGDIFF_AUTOLR]],
        LOG_V,
        [pareto_sweep.NGDIFF_AUTOLR],
        common_lr=1e-3,
    )
    assert axes[0].get_xscale() == "log"
    texts = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert "GDiff(c), one rate 0.001" in texts and "GDiff(c), each c tuned" in texts
    assert any(t.startswith("† some runs diverged") for t in texts)
    plt.close(fig)
    assert math.isclose(points.loc["GDiff-0", "collapsed"], 1)


def test_score_table_against_both_sweeps():
    frame = fig1_world()
    frame["truth_ratio_forget_values"] = [[0.2, 0.4, 0.6]] * len(frame)
    runs = pareto_sweep.Fig1Runs(
        frame, [0.0, 1.0], [0.1, 0.5, 0.9], 1e-3, ["NPO", pareto_sweep.NGDIFF_AUTOLR]
    )
    retain_only = {"rouge_forget": 0.5, "truth_ratio_forget_values": [0.2, 0.4, 0.6]}
    table = pareto_frontier.score_table(runs, NO_UNLEARN, retain_only)
    assert list(table.index) == ["NPO", pareto_sweep.NGDIFF_AUTOLR]
    ng = table.loc[pareto_sweep.NGDIFF_AUTOLR]
    assert ng["added_hv"] > 0 and ng["dominated_rouge_seeds"] == 0
    assert ng["added_hv_vs_common"] > 0  # over (1, 0.4) and (0.1, 0.8)
    assert ng["forget_quality"] == pytest.approx(1.0)
    assert ng["rouge_f_gap"] == pytest.approx(0.48)  # 0.02 vs the retain-only 0.5
    assert table.loc["NPO", "utility_rel"] == pytest.approx(0.1 / 0.8)
    assert math.isnan(
        pareto_frontier.score_table(runs, NO_UNLEARN, None).loc["NPO", "forget_quality"]
    )
