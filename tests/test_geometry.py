"""Gradient geometry (NGDiff Fig. 2, Eq. 7, Lemma 4, Theorem 5) on known cases."""

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from nbutils import claims
from nbutils.engine import directions, lm
from nbutils.engine.methods import weights as method_weights
from nbutils.studies import geometry as G

matplotlib.use("Agg")


def area(polygon: np.ndarray) -> float:
    """Shoelace area of a polygon (k, 2)."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


# ------------------------------------------------------------------ 2-D


def test_pair_2d_has_the_requested_angle_and_ratio():
    g_r, g_f = G.plane.pair_2d(120, 5.0)
    assert np.linalg.norm(g_r) == 1.0 and np.linalg.norm(g_f) == pytest.approx(5.0)
    assert g_r @ g_f / 5.0 == pytest.approx(math.cos(math.radians(120)))


@pytest.mark.parametrize(
    "d, inside",
    [((1, -1), True), ((1, 1), False), ((-1, -1), False), ((0.5, -3), True), ((0, 0), True)],
)
def test_green_region_membership_on_hand_picked_vectors(d, inside):
    """g_R = e1, g_F = e2: Eq. 7 is the quadrant x >= 0 >= y."""
    assert (
        G.plane.in_green(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array(d, float)) is inside
    )


def test_gdiff_leaves_and_ngdiff_stays_on_a_near_parallel_pair():
    """g_F ten times longer and 6 degrees from g_R: GDiff(0.5) = (g_R - g_F)/2 points
    against g_R, so it climbs L_R; NGDiff stays in the green region (Lemma 4)."""
    g_r, g_f = G.plane.pair_2d(6, 10.0)
    assert not G.plane.in_green(g_r, g_f, G.plane.direction_2d("GDiff-0.5", g_r, g_f))
    assert G.plane.in_green(g_r, g_f, G.plane.direction_2d("NGDiff", g_r, g_f))


def test_clip_halfplane_halves_a_square():
    square = np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]])
    assert area(G.plane.clip_halfplane(square, np.array([1.0, 0.0]))) == pytest.approx(2.0)
    assert area(G.plane.clip_halfplane(square, np.array([1.0, 1.0]))) == pytest.approx(2.0)
    assert len(G.plane.clip_halfplane(square, np.array([1.0, 0.0])) @ np.array([1.0, 0])) >= 3


def test_green_polygon_is_the_eq7_quadrant():
    g_r, g_f = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    poly = G.plane.green_polygon(g_r, g_f, radius=1.0)
    assert area(poly) == pytest.approx(1.0)
    assert np.all(poly[:, 0] >= -1e-12) and np.all(poly[:, 1] <= 1e-12)
    # parallel gradients: only the line perpendicular to both remains (zero area)
    assert area(G.plane.green_polygon(g_r, 3 * g_r, 1.0)) == pytest.approx(0.0, abs=1e-12)
    # a zero gradient imposes nothing: half the square
    assert area(G.plane.green_polygon(g_r, np.zeros(2), 1.0)) == pytest.approx(2.0)


def test_cone_polygon_spans_the_two_vectors():
    u, v = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert area(G.plane.cone_polygon(u, v, 1.0)) == pytest.approx(1.0)
    assert area(G.plane.cone_polygon(v, u, 1.0)) == pytest.approx(1.0)  # orientation-free
    assert len(G.plane.cone_polygon(u, -u, 1.0)) == 0  # anti-parallel: a line, not an area
    inside = G.plane.cone_polygon(u, np.array([1.0, 1.0]), 1.0)
    assert np.all(inside[:, 1] >= -1e-12) and np.all(inside[:, 1] <= inside[:, 0] + 1e-12)


def test_fig2_grid_ngdiff_never_leaves_and_gdiff_does():
    fig, table = G.plane.fig2_grid(angles=(20, 90, 170), ratios=(0.1, 1.0, 10.0))
    assert len(table) == 9 * len(G.plane.FIG2_METHODS)
    by = table.groupby("method")["in_green"].mean()
    assert by["NGDiff"] == 1.0 and by["IMTL-G"] == 1.0
    assert by["GDiff-0.5"] < 1.0 and by["GDiff-0.1"] < 1.0 and by["GDiff-0.9"] < 1.0
    matplotlib.pyplot.close(fig)


def test_explorer_builds_a_widget_that_draws_its_initial_state():
    widget = G.plane.explorer()
    assert widget is not None
    assert [c.description for c in widget.children[:2]] == ["angle °", "log10 ratio"]
    shown = widget.children[2].outputs
    assert "image/png" in shown[0]["data"]  # the panel, set as the Output's contents
    assert "angle 100°" in shown[1]["text"] and "outside Eq. 7" in shown[1]["text"]
    widget.children[0].value = 10.0  # a slider move redraws: one panel, the new verdict
    shown = widget.children[2].outputs
    assert len(shown) == 2 and shown[1]["text"].startswith("angle 10°")
    matplotlib.pyplot.close("all")


def test_explorer_prints_the_eq7_verdict_of_its_angle_and_ratio():
    for angle, log10_ratio, gdiff_outside in ((10.0, 1.0, True), (170.0, 0.0, False)):
        g_r, g_f = G.plane.pair_2d(angle, 10.0**log10_ratio)
        outside = [
            m
            for m in G.plane.FIG2_METHODS
            if not G.plane.in_green(g_r, g_f, G.plane.direction_2d(m, g_r, g_f))
        ]
        assert ("GDiff-0.5" in outside) == gdiff_outside
        _, lines = G.plane.explorer_panel(angle, log10_ratio)
        assert lines[0].endswith("outside Eq. 7: " + (", ".join(outside) or "none")), lines
        verdicts = dict(line.strip().split(": ", 1) for line in lines[1:])
        assert list(verdicts) == list(G.plane.FIG2_METHODS)
        for method, verdict in verdicts.items():
            assert verdict.startswith("outside") == (method in outside), (method, verdict)
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ random pairs


def test_random_pairs_have_the_drawn_cosines_norms_and_ratios():
    chunks = list(
        G.random_checks.random_pair_chunks(50, 300, seed=3, dtype=torch.float64, chunk=16)
    )
    assert [len(c[2]) for c in chunks] == [16, 16, 16, 2]
    for g_r, g_f, draws in chunks:
        nr, nf = g_r.norm(dim=1).numpy(), g_f.norm(dim=1).numpy()
        cos = (g_r * g_f).sum(dim=1).numpy() / (nr * nf)
        np.testing.assert_allclose(cos, draws["cos"], atol=1e-12)
        np.testing.assert_allclose(nr, draws["norm_retain"], rtol=1e-12)
        np.testing.assert_allclose(np.log10(nf / nr), draws["log10_ratio"], atol=1e-12)
    all_draws = pd.concat([c[2] for c in chunks])
    assert all_draws["pair"].tolist() == list(range(50))


def test_random_pairs_are_reproducible_and_chunk_to_a_memory_budget():
    a = next(G.random_checks.random_pair_chunks(4, 100, seed=1))
    b = next(G.random_checks.random_pair_chunks(4, 100, seed=1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert G.random_checks.chunk_rows(100_000) * 100_000 * 4 <= 2**25
    assert G.random_checks.chunk_rows(10**9) == 1


def test_lemma4_on_random_float32_pairs_and_gdiff_failures():
    checks, draws = G.random_checks.random_sign_checks(600, 2000, seed=0, progress=False)
    table = G.eq7.shares(checks)
    assert table.loc["NGDiff", "eq7_share"] == 1.0 and table.loc["IMTL-G", "eq7_share"] == 1.0
    for method in ("GDiff-0.1", "GDiff-0.5", "GDiff-0.9", "LossNorm", "RLW", "GD", "GA"):
        assert table.loc[method, "eq7_share"] < 0.8, method
    # GD fails exactly when g_R.g_F > 0 (it never ascends F then); the paper's PCGrad
    # never harms R but can fail to forget; the canonical PCGrad never leaves Eq. 7
    gd = checks[checks.method == "GD"].merge(draws, on="pair")
    assert ((gd["cos"] > 1e-6) == ~gd["holds"]).all()
    assert table.loc["PCGrad (paper)", "retain_side_fails"] == 0.0
    assert table.loc["PCGrad (paper)", "forget_side_fails"] > 0.1
    assert table.loc["PCGrad", "eq7_share"] == 1.0
    assert (checks.loc[checks.method == "NGDiff", "d_formed"]).all()


def test_gdiff_closed_form_boundary_matches_the_checks():
    checks, draws = G.random_checks.random_sign_checks(800, 500, seed=4, progress=False)
    for c in (0.1, 0.5, 0.9):
        rows = checks[checks.method == f"GDiff-{c:g}"].merge(draws, on="pair")
        bound = G.eq7.gdiff_boundary(c, rows["log10_ratio"])
        clear = np.abs(rows["cos"] - bound) > 1e-4  # away from the boundary itself
        assert ((rows["cos"] <= bound) == rows["holds"])[clear].all()


def test_check_batch_agrees_with_the_engine_path():
    """The batched check and directions.direction + satisfies_eq7 agree pair by pair."""
    g_r, g_f, draws = next(G.random_checks.random_pair_chunks(40, 257, seed=5, chunk=40))
    methods = [m for m in G.eq7.CHECK_METHODS if m != "RLW"]  # RLW: random weights
    batched = G.random_checks.check_batch(g_r, g_f, draws, methods).set_index(["pair", "method"])
    for i in range(len(draws)):
        losses = draws.iloc[i][["loss_retain", "loss_forget"]].tolist()
        geo = directions.Geometry.of([g_r[i]], [g_f[i]], *losses)
        for method in methods:
            w = method_weights(method, geo)
            d = w.retain * g_r[i] - w.forget * g_f[i]
            scale = w.retain * geo.norm_retain + w.forget * geo.norm_forget
            engine = directions.satisfies_eq7([g_r[i]], [g_f[i]], [d], G.eq7.TOL32, d_scale=scale)
            assert bool(batched.loc[(i, method), "holds"]) == engine, (i, method)


def test_buffered_chunks_are_the_fresh_chunks_bit_for_bit():
    """Drawing and checking in reused ChunkBuffers changes no value (notebook 01's claims)."""
    buffers = G.random_checks.ChunkBuffers.allocate(16, 300)
    fresh = G.random_checks.random_pair_chunks(40, 300, seed=2, chunk=16)
    reused = G.random_checks.random_pair_chunks(40, 300, seed=2, chunk=16, buffers=buffers)
    for (a_r, a_f, a_draws), (b_r, b_f, b_draws) in zip(fresh, reused, strict=True):
        assert torch.equal(a_r, b_r) and torch.equal(a_f, b_f)
        assert b_r.data_ptr() == buffers.g_r.data_ptr()  # drawn into the buffers
        assert b_f.data_ptr() == buffers.g_f.data_ptr()
        pd.testing.assert_frame_equal(a_draws, b_draws)
        plain = G.random_checks.check_batch(
            a_r, a_f, a_draws, generator=torch.Generator().manual_seed(0)
        )
        buffered = G.random_checks.check_batch(
            b_r, b_f, b_draws, generator=torch.Generator().manual_seed(0), buffers=buffers
        )
        pd.testing.assert_frame_equal(plain, buffered, check_exact=True)


def test_random_sign_checks_allocate_chunk_sized_arrays_once():
    """Notebook 01 reached 13.8 GB because every chunk allocated 16 fresh chunk-sized
    temporaries (just under glibc's mmap ceiling at 10^5 dims, so from a heap that the
    small objects kept per chunk fragmented). Now the four ChunkBuffers are the only
    chunk-sized allocations, however many chunks there are."""
    from torch.profiler import ProfilerActivity, profile

    rows, dim = 8, 1000
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        checks, _ = G.random_checks.random_sign_checks(
            8 * rows, dim, seed=0, progress=False, chunk=rows
        )
    assert len(checks) == 8 * rows * len(G.eq7.CHECK_METHODS)
    chunk_bytes = rows * dim * 4
    big = [e.name for e in prof.events() if e.self_cpu_memory_usage >= chunk_bytes]
    assert len(big) == 4, big


# ------------------------------------------------------------------ adversarial


@pytest.mark.parametrize("case", G.adversarial_checks.ADVERSARIAL_CASES)
def test_adversarial_cases_have_their_geometry(case):
    g_r, g_f = G.adversarial_checks.adversarial_pair(case, 1000, seed=0)
    geo = directions.Geometry.of(g_r, g_f)
    expected_cos = {
        "identical (g_F = g_R)": 1.0,
        "parallel (g_F = 4 g_R)": 1.0,
        "anti-parallel (g_F = -g_R/2)": -1.0,
        "near-parallel (1e-3 rad)": math.cos(1e-3),
        "orthogonal": 0.0,
    }
    if case in expected_cos:
        assert geo.cosine == pytest.approx(expected_cos[case], abs=1e-6)
    ratio = {"ratio 1e-8": 1e-8, "ratio 1e+8": 1e8, "near-parallel, ratio 1e+6": 1e6}
    if case in ratio:
        assert geo.norm_forget / geo.norm_retain == pytest.approx(ratio[case], rel=1e-5)
    if case == "tiny norms (1e-12)":
        assert geo.norm_retain == pytest.approx(1e-12, rel=1e-5)
    if case == "g_R = 0":
        assert geo.rr == 0 and geo.ff > 0
    if case == "g_F = 0":
        assert geo.ff == 0 and geo.rr > 0
    assert len(g_r) > 1 and g_r[1].dim() == 2  # several tensors, like a model


def test_adversarial_checks_ngdiff_always_holds():
    checks = G.adversarial_checks.adversarial_sign_checks(3000, seed=0, instances=2)
    assert set(checks["case"]) == set(G.adversarial_checks.ADVERSARIAL_CASES)
    table = G.eq7.shares(checks)
    assert table.loc["NGDiff", "eq7_share"] == 1.0 and table.loc["IMTL-G", "eq7_share"] == 1.0
    assert table.loc["GDiff-0.5", "eq7_share"] < 1.0
    ng = checks[(checks.method == "NGDiff") & (checks.case == "anti-parallel (g_F = -g_R/2)")]
    assert (ng["margin_retain"] > 0.99).all()  # d = 2 g_R/||g_R||: s = 2, g_R.d = 2 ||g_R||


def test_unknown_adversarial_case_is_rejected():
    with pytest.raises(ValueError, match="unknown adversarial case"):
        G.adversarial_checks.adversarial_pair("spiral", 10, 0)


# ------------------------------------------------------------------ histories and summaries


def test_history_sign_checks_by_hand():
    history = pd.DataFrame(
        {
            "label": ["A", "A", "B", "B"],
            "dot_retain_d": [1.0, -1e-9, -0.5, np.nan],
            "dot_forget_d": [-1.0, -1.0, -0.5, np.nan],
            "weight_retain": [1.0, 1.0, 1.0, np.nan],
            "weight_forget": [1.0, 1.0, 1.0, np.nan],
            "grad_norm_retain": [1.0, 1.0, 1.0, np.nan],
            "grad_norm_forget": [1.0, 1.0, 1.0, np.nan],
        }
    )
    checked = G.real_checks.history_sign_checks(history)
    assert len(checked) == 3  # the final-evaluation row has no step
    assert checked["holds"].tolist() == [True, True, False]  # -1e-9/2 is within tolerance
    table = G.eq7.shares(checked, by="label")
    assert table.loc["A", "eq7_share"] == 1.0 and table.loc["B", "retain_side_fails"] == 1.0


def test_eq7_margins_are_normalized():
    geo = directions.Geometry(rr=4.0, ff=1.0, rf=0.0)
    w = directions.Weights(0.5, 1.0)  # NGDiff's weights for ||g_R|| = 2, ||g_F|| = 1
    rel_r, rel_f = G.eq7.eq7_margins(geo, w)
    assert rel_r == pytest.approx(2.0 / (2.0 * 2.0)) and rel_f == pytest.approx(-1.0 / 2.0)


def test_theorem5_summary_by_hand():
    steps = pd.DataFrame(
        {
            "change_retain_0.01": [-1.0, -1.0, 1.0],
            "change_forget_0.01": [1.0, -1.0, 1.0],
            "change_retain_lr": [-1.0, -1.0, -1.0],
            "change_forget_lr": [1.0, 1.0, 1.0],
            "curvature_retain": [1.0, -1.0, 2.0],
            "curvature_forget": [1.0, 1.0, 1.0],
            "slope_retain": [1.0, 1.0, 1.0],
            "slope_forget": [-1.0, -1.0, -1.0],
            "lr": [0.5, 0.5, 1.5],
        }
    )
    out = G.theorem5.theorem5_summary(steps, [0.01])
    assert out["share_both_0.01"] == pytest.approx(1 / 3)
    assert out["share_both_lr"] == 1.0
    assert out["share_curvature_condition_fails"] == pytest.approx(1 / 3)
    assert out["share_lr_below_bound"] == pytest.approx(1 / 3)  # bounds 2, -, 1


def test_theorem5_on_real_steps_of_the_small_target(small_target, small_bench):
    etas = [1e-3, 1e-2]
    steps = lm.unlearn_lm(
        small_target.model,
        small_target.tokenizer,
        small_bench,
        "NGDiff",
        lr=0.3,
        steps=2,
        batch_size=8,
        visit=G.theorem5.theorem5_visit(etas),
        evaluate=False,
        progress=False,
    ).history
    # Lemma 4 on the exact derivatives, and the engine's own Eq. 7 dots agree with them
    assert (steps["slope_retain"] > 0).all() and (steps["slope_forget"] < 0).all()
    # NGDiff's d = g_R/|g_R| - g_F/|g_F|; the engine's dots are of the same d
    np.testing.assert_allclose(steps["slope_retain"], steps["dot_retain_d"], rtol=1e-4)
    np.testing.assert_allclose(steps["slope_forget"], steps["dot_forget_d"], rtol=1e-4)
    # part (1): a small step moves L_R down and L_F up, at first order -eta g.d
    for eta in etas:
        change = steps[f"change_retain_{eta:g}"]
        np.testing.assert_allclose(change, -eta * steps["slope_retain"], rtol=0.2)
    summary = G.theorem5.theorem5_summary(steps, etas)
    assert summary["share_both_0.001"] == 1.0


# ------------------------------------------------------------------ claims


def test_fig2_panels_claim_is_one_unit_per_panel_and_an_identity():
    _, panels = G.plane.fig2_grid(angles=(30, 150), ratios=(0.2, 5.0))
    rows = G.claims.measure_fig2_panels(panels, draw=2)
    assert len(rows) == 4 and (rows.value == 1.0).all() and (rows.draw == 2).all()
    assert rows.unit.iloc[0] == "angle 30, ratio 0.2"
    row = claims.evaluate(rows).iloc[0]
    assert row["kind"] == "sanity" and row["verdict"] == "holds"
    # a planted panel outside the region: "all" is the smallest unit
    planted = panels.copy()
    planted.loc[planted.index[planted.method == "NGDiff"][0], "in_green"] = False
    assert claims.evaluate(G.claims.measure_fig2_panels(planted, 2)).iloc[0]["verdict"] == "fails"


def _checks(method_holds: dict, by: str = "method", seeds=None) -> pd.DataFrame:
    rows = []
    for method, holds in method_holds.items():
        for i, h in enumerate(holds):
            row = {by: method, "holds": h}
            if seeds is not None:
                row["seed"] = seeds[i]
            rows.append(row)
    return pd.DataFrame(rows)


def test_identity_claims_take_a_share_per_unit():
    random = _checks({"PCGrad": [True] * 4, "PCGrad (paper)": [True, False, False, True]})
    adversarial = _checks({"PCGrad": [True, None, True]})  # None: the rule raised
    real = _checks({"PCGrad": [True, True, True, False]}, by="label", seeds=[0, 0, 1, 1])
    rows = G.claims.measure_identity("PCGrad", 5, random, adversarial, real, seed=5)
    assert rows.unit.tolist() == ["random pairs", "adversarial pairs", "real run", "real run"]
    assert rows.value.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.5])
    assert set(rows.claim) == {G.claims.PCGRAD_IDENTITY} and rows.seed.tolist() == [5, 5, 0, 1]
    row = claims.evaluate(rows).iloc[0]
    assert row["kind"] == "sanity" and row["value"] == 0.5 and row["verdict"] == "fails"
    only_pairs = G.claims.measure_identity("IMTL-G", 0, _checks({"IMTL-G": [True, True]}))
    assert claims.evaluate(only_pairs).iloc[0]["verdict"] == "holds"


def test_gdiff_leaving_eq7_on_real_steps_is_measured_per_run_and_flips():
    real = _checks(
        {"GDiff-0.5": [True, False, True, True, True, False], "NGDiff": [True] * 2},
        by="label",
        seeds=[0, 0, 1, 1, 2, 2],
    )
    rows = G.claims.measure_gdiff_leaves(real, draw=0)
    assert rows.seed.tolist() == [0, 1, 2] and rows.value.tolist() == pytest.approx([0.5, 0, 0.5])
    assert (rows.unit == "real run").all()
    assert claims.evaluate(rows).iloc[0]["verdict"] == "inconclusive"  # one run never left
    # seeds that leave Eq. 7 on most of their 20 steps: shares 0.9, 0.95, 1.0, mean 0.95,
    # s = 0.05: 0.95 -+ q(3) 0.05 / sqrt(3) = 0.95 -+ 0.394, above 0: holds
    mostly = _checks(
        {"GDiff-0.5": [i < k for k in (2, 1, 0) for i in range(20)]},
        by="label",
        seeds=[s for s in range(3) for _ in range(20)],
    )
    rows = G.claims.measure_gdiff_leaves(mostly, 0)
    assert rows.value.tolist() == pytest.approx([0.9, 0.95, 1.0])
    row = claims.evaluate(rows).iloc[0]
    assert row["low"] == pytest.approx(0.95 - 0.394, abs=1e-3) and row["verdict"] == "holds"
    # every step of every seed outside Eq. 7: shares all 1, the end of [0, 1]; 3 runs give
    # the distribution-free [0.025^(1/3), 1] = [0.292, 1], above 0: holds
    leaves = real.assign(holds=False)
    row = claims.evaluate(G.claims.measure_gdiff_leaves(leaves, 0)).iloc[0]
    assert row["low"] == pytest.approx(0.025 ** (1 / 3)) and row["verdict"] == "holds"
    # GDiff inside Eq. 7 at every real step: shares all 0, [0, 1 - 0.025^(1/3)] = [0, 0.708].
    # A share cannot lie below 0, so no interval of any width lies at or below the
    # threshold 0: "more than no step" can only hold or stay open, and here it stays open
    stays = real.assign(holds=True)
    row = claims.evaluate(G.claims.measure_gdiff_leaves(stays, 0)).iloc[0]
    assert (row["low"], row["high"]) == pytest.approx((0.0, 1 - 0.025 ** (1 / 3)))
    assert row["verdict"] == "inconclusive"


def _walks(change_retain, change_forget, curv_retain, curv_forget, seeds):
    return pd.DataFrame(
        {
            "seed": seeds,
            "change_retain_0.001": change_retain,
            "change_forget_0.001": change_forget,
            "curvature_retain": curv_retain,
            "curvature_forget": curv_forget,
        }
    )


def _walks_with_shares(part1, part2, steps=20):
    """Walks of ``len(part1)`` seeds, ``steps`` steps each: seed i has L_R falling and L_F
    rising (part 1) on a share ``part1[i]`` of its steps, and both curvatures positive
    (part 2) on a share ``part2[i]``."""
    frames = []
    for seed, (s1, s2) in enumerate(zip(part1, part2)):
        both, convex = round(s1 * steps), round(s2 * steps)
        step = np.arange(steps)
        frames.append(
            _walks(
                [-1.0] * steps,
                np.where(step < both, 1.0, -1.0),
                [1.0] * steps,
                np.where(step < convex, 1.0, -1.0),
                [seed] * steps,
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_theorem5_claims_are_per_ngdiff_run_and_flip():
    good = _walks([-1, -1, -1, -1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, -1, 1], [0, 0, 1, 1])
    rows = G.claims.measure_theorem5(good, draw=1).set_index(["claim", "seed"])["value"]
    assert rows[G.claims.THM5_PART1, 0] == 1.0 and rows[G.claims.THM5_PART1, 1] == 1.0
    assert rows[G.claims.THM5_PART2, 0] == 1.0 and rows[G.claims.THM5_PART2, 1] == 0.5
    # five seeds of 20 steps, shares varying per seed. Part 1 (at least 0.9): 1, 1, 0.95,
    # 1, 1: mean 0.99, s = 0.0224, 0.99 -+ q(5) s / sqrt(5) = 0.99 -+ 0.063: holds
    good = _walks_with_shares([1, 1, 0.95, 1, 1], [0.9, 0.95, 1, 0.85, 0.9])
    rows = G.claims.measure_theorem5(good, 1).set_index(["claim", "seed"])["value"]
    assert rows[G.claims.THM5_PART1].tolist() == pytest.approx([1, 1, 0.95, 1, 1])
    verdicts = claims.evaluate(G.claims.measure_theorem5(good, 1)).set_index("id")
    assert verdicts.loc[G.claims.THM5_PART1, "low"] == pytest.approx(0.927, abs=1e-3)
    assert verdicts.loc[G.claims.THM5_PART1, "verdict"] == "holds"
    # part 2 (above 0.5): 0.9, 0.95, 1, 0.85, 0.9: mean 0.92, s = 0.057, 0.92 -+ 0.16: holds
    assert verdicts.loc[G.claims.THM5_PART2, "verdict"] == "holds"
    # L_F falls along d at nearly every step (part 1 broken: 0, 0.05, 0.1, 0, 0.05, mean
    # 0.04 -+ 0.118) and the curvature is negative at nearly every step (part 2: 0.1,
    # 0.05, 0, 0.15, 0.1, mean 0.08 -+ 0.16): both fail
    bad = _walks_with_shares([0, 0.05, 0.1, 0, 0.05], [0.1, 0.05, 0, 0.15, 0.1])
    verdicts = claims.evaluate(G.claims.measure_theorem5(bad, 1)).set_index("id")["verdict"]
    assert verdicts[G.claims.THM5_PART1] == "fails" and verdicts[G.claims.THM5_PART2] == "fails"


def test_every_claim_of_notebook_01_is_in_exactly_one_figure():
    shown = [i for ids in G.claims.CLAIMS_BY_FIGURE.values() for i in ids]
    assert sorted(shown) == sorted(c.id for c in claims.of_notebook("01_gradient_geometry"))
    assert {claims.claim(i).kind for i in G.claims.IDENTITIES.values()} == {"sanity"}
    assert {claims.claim(i).kind for i in (G.claims.GDIFF_LEAVES, G.claims.THM5_PART2)} == {
        "evidence"
    }
    assert (
        claims.claim(G.claims.THM5_PART1).kind == "sanity"
    )  # first order at eta 1e-3, given Lemma 4


def test_verdict_table_puts_evidence_first_and_names_settings():
    rows = pd.concat(
        [
            G.claims.measure_identity("NGDiff", 0, _checks({"NGDiff": [True]})),
            G.claims.measure_gdiff_leaves(_checks({"GDiff-0.5": [False]}, "label", [0]), 0),
        ]
    )
    table = claims.verdict_table(claims.evaluate(rows))
    assert table["kind"].tolist() == ["evidence", "sanity"]
    assert "SGD" in table.loc[G.claims.GDIFF_LEAVES, "setting"]
