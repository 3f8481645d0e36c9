"""Probing the loss along a direction (NGDiff Eq. 6, Fig. 3) and GeN's finite differences;
notebook 03's summaries of the fits."""

import copy
import math

import numpy as np
import pandas as pd
import pytest
import torch

from nbutils import claims
from nbutils.core import runtime
from nbutils.core.batches import answer_loss, collate, encode_records
from nbutils.engine import lm
from nbutils.engine import probes as L
from nbutils.engine.gradients import trainable
from nbutils.studies import landscape


class Quadratic(torch.nn.Module):
    """loss(theta) = 0.5 theta^T A theta - b . theta, Hessian A, gradient A theta - b,
    spread over two parameters (and one the loss never reaches)."""

    def __init__(self, n: int = 5, seed: int = 0, dtype=torch.float64):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        m = torch.randn(n, n, generator=gen, dtype=dtype)
        self.A = m @ m.T - 0.5 * torch.eye(n, dtype=dtype)  # symmetric, maybe indefinite
        self.b = torch.randn(n, generator=gen, dtype=dtype)
        theta = torch.randn(n, generator=gen, dtype=dtype)
        self.head = torch.nn.Parameter(theta[:2].clone())
        self.tail = torch.nn.Parameter(theta[2:].clone())
        self.unused = torch.nn.Parameter(torch.ones(3, dtype=dtype))

    @property
    def theta(self) -> torch.Tensor:
        return torch.cat([self.head, self.tail])

    def loss(self) -> torch.Tensor:
        t = self.theta
        return 0.5 * t @ self.A @ t - self.b @ t

    def split(self, v: torch.Tensor) -> list[torch.Tensor]:
        return [v[:2].clone(), v[2:].clone(), torch.zeros(3, dtype=v.dtype)]


def random_direction(model: Quadratic, seed: int = 1) -> tuple[torch.Tensor, list]:
    v = torch.randn(model.theta.numel(), generator=torch.Generator().manual_seed(seed))
    v = v.to(model.theta.dtype)
    return v, model.split(v)


def test_hvp_on_a_quadratic_is_the_known_hessian_times_v():
    model = Quadratic()
    v, v_list = random_direction(model)
    loss, grads, hv = L.hessian_vector_product(model.loss, list(model.parameters()), v_list)
    theta = model.theta.detach()
    assert loss == pytest.approx(float(0.5 * theta @ model.A @ theta - model.b @ theta))
    assert torch.allclose(torch.cat(grads[:2]), model.A @ theta - model.b, atol=1e-12)
    assert torch.allclose(torch.cat(hv[:2]), model.A @ v, atol=1e-12)
    assert torch.equal(hv[2], torch.zeros(3, dtype=torch.float64))  # unreached parameter


def test_exact_directional_derivatives_on_a_quadratic():
    model = Quadratic()
    v, v_list = random_direction(model)
    theta = model.theta.detach()
    exact = L.directional(model.loss, list(model.parameters()), v_list)
    assert exact.slope == pytest.approx(float((model.A @ theta - model.b) @ v), rel=1e-12)
    assert exact.curvature == pytest.approx(float(v @ model.A @ v), rel=1e-12)
    if exact.curvature > 0:
        assert exact.eta_star == pytest.approx(exact.slope / exact.curvature)


def test_loss_along_is_the_loss_at_each_point_and_restores_theta_bit_for_bit():
    model = Quadratic(dtype=torch.float32)
    params = list(model.parameters())
    before = [p.detach().clone() for p in params]
    v, v_list = random_direction(model)
    xs = [-0.3, 0.0, 0.1, 1.7]
    losses = L.loss_along(model.loss, params, v_list, xs)
    for x, value in zip(xs, losses):
        t = torch.cat(before[:2]) - x * v
        assert value == pytest.approx(float(0.5 * t @ model.A @ t - model.b @ t), rel=1e-5)
    assert all(torch.equal(p, q) for p, q in zip(params, before))


def test_fit_along_recovers_the_exact_parabola_with_r2_one():
    model = Quadratic()
    v, v_list = random_direction(model)
    params = list(model.parameters())
    fit, losses = L.fit_along(model.loss, params, v_list, np.linspace(-1, 2, 9))
    exact = L.directional(model.loss, params, v_list)
    assert fit.slope == pytest.approx(exact.slope, rel=1e-9)
    assert fit.curvature == pytest.approx(exact.curvature, rel=1e-9)
    assert fit.loss0 == pytest.approx(exact.loss, rel=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert len(losses) == 9


def test_directional_many_forms_d_from_the_gradients_and_matches_directional():
    model = Quadratic()
    params = list(model.parameters())
    other = lambda: (model.theta**2).sum() + model.theta.sum()  # noqa: E731  Hessian 2 I

    def difference(grads):
        return [a - b for a, b in zip(grads["first"], grads["second"])]

    d, exact = L.directional_many({"first": model.loss, "second": other}, params, difference)
    theta = model.theta.detach()
    expected_d = (model.A @ theta - model.b) - (2 * theta + 1)
    assert torch.allclose(torch.cat(d[:2]), expected_d, atol=1e-12)
    assert exact["second"].curvature == pytest.approx(2 * float(expected_d @ expected_d))
    assert exact["first"].curvature == pytest.approx(
        L.directional(model.loss, params, d).curvature, rel=1e-12
    )


def test_useful_range_finds_where_the_parabola_climbs_back():
    """Q(eta) = Q(0) again at 2 eta*; doubling then 6 bisections land within 2^-6 of the
    last doubling above it (the doubling alone could be up to twice too far)."""
    model = Quadratic()
    params = list(model.parameters())
    theta = model.theta.detach()
    g = model.A @ theta - model.b
    g_list = model.split(g)
    exact = L.directional(model.loss, params, g_list)
    if exact.curvature <= 0:
        pytest.skip("this draw is not convex along g")
    eta = L.useful_range(model.loss, params, g_list, eta0=exact.eta_star / 1000)
    assert 2 * exact.eta_star <= eta <= 2 * exact.eta_star * (1 + 2**-6) * (1 + 1e-6)
    with pytest.raises(ValueError, match="eta0"):
        L.useful_range(model.loss, params, g_list, eta0=0.0)


def test_range_grid_spans_the_useful_range():
    grid = L.range_grid(2.0, n=13)
    assert len(grid) == 13 and grid[0] == pytest.approx(-0.5) and grid[-1] == pytest.approx(2.5)
    assert np.any(np.isclose(grid, 0.0))
    with pytest.raises(ValueError):
        L.range_grid(1.0, n=2)


class Scalar(torch.nn.Module):
    """loss(x) = exp(x) sin(x) + x^4 at x0: smooth, with non-zero third and fourth
    derivatives, so central differences err by ~eta^2."""

    def __init__(self, x0: float, dtype):
        super().__init__()
        self.x = torch.nn.Parameter(torch.tensor([x0], dtype=dtype))

    def loss(self):
        return (torch.exp(self.x) * torch.sin(self.x) + self.x**4).sum()


def test_gen_finite_differences_are_second_order_in_float64():
    model = Scalar(0.3, torch.float64)
    params, d = list(model.parameters()), [torch.tensor([1.0], dtype=torch.float64)]
    exact = L.directional(model.loss, params, d)
    errors = L.gen_probe_errors(model.loss, params, d, [1e-2, 5e-3], exact)
    ratio = errors.iloc[0] / errors.iloc[1]
    assert ratio["slope_rel_error"] == pytest.approx(4.0, rel=0.02)
    assert ratio["curvature_rel_error"] == pytest.approx(4.0, rel=0.02)


def test_float32_round_off_takes_over_at_small_probes():
    """In float32 the curvature estimate's error grows like eps / eta^2 below the best
    probe size, and float64 at the same size is far more accurate."""
    sizes = np.logspace(-5, -1, 9)
    model32, model64 = Scalar(0.3, torch.float32), Scalar(0.3, torch.float64)
    exact = L.directional(model64.loss, list(model64.parameters()), [torch.ones(1).double()])
    params32 = list(model32.parameters())
    e32 = L.gen_probe_errors(model32.loss, params32, [torch.ones(1)], sizes, exact)
    e64 = L.gen_probe_errors(
        model64.loss, list(model64.parameters()), [torch.ones(1).double()], sizes, exact
    )
    best_size, best_error = L.best_probe(e32, "curvature_rel_error")
    assert 1e-4 < best_size < 1e-1 and best_error < 1e-2
    assert e32["curvature_rel_error"].iloc[0] > 100 * best_error  # eta = 1e-5: round-off
    assert e64["curvature_rel_error"].iloc[0] < 1e-3  # same size, float64: still accurate


def test_curvature_summary_counts_by_hand():
    fits = pd.DataFrame(
        {
            "r2_retain": [0.99, 0.5, 0.97, 1.0],
            "curvature_retain": [1.0, -1.0, 2.0, 0.0],
            "r2_forget": [0.9, 0.96, 0.2, 0.99],
            "curvature_forget": [3.0, 1.0, 1.0, 1.0],
        }
    )
    out = landscape.claims.curvature_summary(fits)
    assert out["median_r2_retain"] == pytest.approx(0.98)
    assert out["share_r2_ge_095_retain"] == 0.75
    assert out["share_positive_curvature_retain"] == 0.5
    assert out["share_r2_ge_095_forget"] == 0.5
    assert out["share_positive_curvature_forget"] == 1.0


# ------------------------------------------------------------------ through the tiny GPT-2


def _batch(target, bench, n=4):
    items = encode_records(target.tokenizer, bench.retain[:n])
    return collate(items, target.tokenizer.pad_token_id)


def test_hvp_works_through_gpt2_with_its_default_attention(small_target, small_bench):
    """Double backward through SDPA's fused kernel is not implemented in torch; the
    module's MATH-backend context makes it work, and it agrees with central
    differences of the gradient in float64 (loss in float64 throughout)."""
    model = copy.deepcopy(small_target.model).double()
    batch = _batch(small_target, small_bench)
    params = trainable(model)
    loss_fn = lambda: answer_loss(model, batch)  # noqa: E731
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    norm = math.sqrt(sum(float((x * x).sum()) for x in v))
    v = [x / norm for x in v]  # unit length: the central difference errs by ~eps^2
    exact = L.directional(loss_fn, params, v)
    eps = 1e-4

    def grad_dot_v():
        g = torch.autograd.grad(loss_fn(), params, allow_unused=True)
        return sum(float((x * y).sum()) for x, y in zip(g, v) if x is not None)

    with torch.no_grad():
        for p, x in zip(params, v):
            p.add_(x, alpha=eps)
    plus = grad_dot_v()
    with torch.no_grad():
        for p, x in zip(params, v):
            p.add_(x, alpha=-2 * eps)
    minus = grad_dot_v()
    assert exact.curvature == pytest.approx((plus - minus) / (2 * eps), rel=1e-7)
    with torch.no_grad():
        for p, x in zip(params, v):
            p.add_(x, alpha=eps)
    assert exact.slope == pytest.approx(grad_dot_v(), rel=1e-9)


def test_hvp_through_checkpointed_layers_recomputes_them_as_they_ran(small_target, small_bench):
    """With gradient checkpointing (paper scale), the double backward recomputes each
    layer: it must do so on the attention backend the forward ran on (an error before
    the fix), and give the numbers of the model without checkpointing."""
    plain = copy.deepcopy(small_target.model)
    ckpt = copy.deepcopy(small_target.model)
    runtime.checkpoint_layers(runtime.gradient_checkpointing(ckpt))
    batch = _batch(small_target, small_bench)
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen) for p in trainable(plain)]
    results = []
    for model in (plain, ckpt):
        params = trainable(model)
        losses = {"R": lambda m=model: answer_loss(m, batch)}
        one = L.directional(losses["R"], params, v)
        _, many = L.directional_many(losses, params, lambda g: g["R"])
        results.append((one.slope, one.curvature, many["R"].curvature))
    assert results[1] == pytest.approx(results[0], rel=1e-4)


def test_a_visited_run_is_the_plain_run_and_visits_every_step(small_target, small_bench):
    seen = []

    def visit(ctx):
        seen.append(ctx.t)
        d = [torch.ones_like(p) for p in ctx.params]
        L.loss_along(ctx.retain_loss(), ctx.params, d, [-0.1, 0.1])  # must leave theta as is
        return {"visited": True}

    walked = lm.unlearn_lm(
        small_target.model,
        small_target.tokenizer,
        small_bench,
        "GDiff-0.5",
        lr=0.1,
        steps=3,
        batch_size=8,
        seed=2,
        visit=visit,
        evaluate=False,
        progress=False,
    ).history
    run = lm.unlearn_lm(
        small_target.model,
        small_target.tokenizer,
        small_bench,
        "GDiff-0.5",
        steps=3,
        lr=0.1,
        batch_size=8,
        eval_every=None,
        seed=2,
        progress=False,
    )
    engine = run.history.iloc[:-1]
    assert seen == [0, 1, 2] and walked["visited"].all()
    for column in ("loss_retain", "loss_forget", "dot_retain_d", "dot_forget_d", "lr"):
        assert np.array_equal(walked[column].to_numpy(), engine[column].to_numpy()), column


def test_answer_loss_stays_in_float64_and_upcasts_half_precision(small_target, small_bench):
    batch = _batch(small_target, small_bench)
    with torch.no_grad():
        engine = answer_loss(small_target.model, batch)
        in64 = answer_loss(copy.deepcopy(small_target.model).double(), batch)
        in16 = answer_loss(copy.deepcopy(small_target.model).bfloat16(), batch)
    assert engine.dtype == torch.float32 and in16.dtype == torch.float32
    assert in64.dtype == torch.float64 and float(in64) == pytest.approx(float(engine), rel=1e-4)


# ------------------------------------------------------------------ notebook 03's claims


def _fits(label_rows: dict) -> pd.DataFrame:
    """Per label, rows (seed, r2_retain, r2_forget, curvature_retain, curvature_forget)."""
    rows = []
    for label, values in label_rows.items():
        for seed, r2r, r2f, cr, cf in values:
            rows.append(dict(label=label, seed=seed, r2_retain=r2r, r2_forget=r2f,
                             curvature_retain=cr, curvature_forget=cf))  # fmt: skip
    return pd.DataFrame(rows)


def test_remark41_and_quadratic_fits_are_per_ngdiff_run_not_pooled_over_rules():
    fits = _fits(
        {
            "NGDiff": [(0, 0.99, 0.99, 1, 1), (0, 0.99, 0.5, 1, -1), (1, 0.99, 0.99, 1, -1)],
            "GDiff-0.5": [(0, 0.99, 0.99, 1, 1)] * 6,  # another rule: never counted
        }
    )
    quad = landscape.claims.measure_quadratic(fits, draw=7)
    assert quad.seed.tolist() == [0, 1] and quad.value.tolist() == [0.5, 1.0]
    assert (quad.draw == 7).all()
    convex = landscape.claims.measure_remark41(fits, draw=7)
    assert convex.value.tolist() == [0.5, 0.0]


def _shares(label: str, good: list[int], steps: int, good_row, poor_row) -> pd.DataFrame:
    """``label``'s runs of ``steps`` steps, seed i with ``good[i]`` steps of ``good_row``
    (r2_retain, r2_forget, curvature_retain, curvature_forget), the rest ``poor_row``."""
    return _fits(
        {
            label: [
                (seed, *(good_row if i < k else poor_row))
                for seed, k in enumerate(good)
                for i in range(steps)
            ]
        }
    )


def test_remark41_flips_with_ngdiffs_own_curvature():
    # four runs of 10 steps, both curvatures positive on 10, 9, 10, 9: shares 1, 0.9, 1,
    # 0.9, mean 0.95, s = 0.0577: 0.95 -+ q(4) s / sqrt(4) = 0.95 -+ 0.24, above 0.5: holds
    convex = _shares("NGDiff", [10, 9, 10, 9], 10, (0.99, 0.99, 1.0, 2.0), (0.99, 0.99, 1.0, -1.0))
    rows = landscape.claims.measure_remark41(convex, 0)
    assert rows.value.tolist() == pytest.approx([1.0, 0.9, 1.0, 0.9])
    assert claims.evaluate(rows).iloc[0]["verdict"] == "holds"
    # L_F concave along g_NGDiff on most steps of every run (shares 0.2, 0.1, 0.2, 0.1:
    # 0.15 -+ 0.24, below 0.5): fails, whatever other rules do
    concave = pd.concat(
        [
            _shares("NGDiff", [2, 1, 2, 1], 10, (0.99, 0.99, 1.0, 1.0), (0.99, 0.99, 1.0, -1.0)),
            _fits({"LossNorm": [(s, 0.99, 0.99, 1.0, 1.0) for s in range(4) for _ in range(30)]}),
        ]
    )
    rows = landscape.claims.measure_remark41(concave, 0)
    assert rows.value.tolist() == pytest.approx([0.2, 0.1, 0.2, 0.1])
    assert claims.evaluate(rows).iloc[0]["verdict"] == "fails"


def test_quadratic_claim_flips_when_fits_are_poor():
    # three runs of 20 steps, both R^2 >= 0.95 on 20, 19, 19: shares 1, 0.95, 0.95, mean
    # 0.967, s = 0.0289: 0.967 -+ q(3) s / sqrt(3) = 0.967 -+ 0.227, above 0.5: holds
    good = _shares("NGDiff", [20, 19, 19], 20, (0.99, 0.97, 1, 1), (0.99, 0.9, 1, 1))
    # poor fits (R^2 of L_F 0.5 on seed 0, 0.9 on the others) on all but 0, 1, 2 steps:
    # shares 0, 0.05, 0.1, 0.05 -+ 0.394, at most 0.444, not above 0.5: fails
    poor = _shares("NGDiff", [0, 1, 2], 20, (0.99, 0.97, 1, 1), (0.99, 0.9, 1, 1))
    poor.loc[poor.seed == 0, "r2_forget"] = 0.5
    quad = landscape.claims.measure_quadratic
    assert quad(good, 0).value.tolist() == pytest.approx([1.0, 0.95, 0.95])
    assert quad(poor, 0).value.tolist() == pytest.approx([0.0, 0.05, 0.1])
    assert claims.evaluate(quad(good, 0)).iloc[0]["verdict"] == "holds"
    assert claims.evaluate(quad(poor, 0)).iloc[0]["verdict"] == "fails"


def test_gen_claim_is_one_error_per_run_and_flips():
    fits = pd.DataFrame(
        {
            "label": ["NGDiff"] * 4 + ["GDiff-0.5"],
            "seed": [0, 0, 1, 1, 0],
            "gen_curvature_rel_error": [np.nan, 0.01, 0.011, np.nan, 5.0],
            "gen_size": [np.nan, 0.3, 0.3, np.nan, 0.3],
        }
    )
    rows = landscape.claims.measure_gen(fits, draw=1)
    assert rows.seed.tolist() == [0, 1] and rows.value.tolist() == [0.01, 0.011]
    assert rows["size"].tolist() == [0.3, 0.3]
    assert claims.evaluate(rows).iloc[0]["verdict"] == "holds"
    rounded_off = fits.assign(gen_curvature_rel_error=[np.nan, 0.5, 0.51, np.nan, 0.0])
    row = claims.evaluate(landscape.claims.measure_gen(rounded_off, 1)).iloc[0]
    assert row["verdict"] == "fails"


def test_showcase_is_sanity_and_flags_a_far_eta_star():
    from nbutils.engine.autolr import Parabola

    snap = landscape.visits.Snapshot(10)
    snap.fig3 = {
        "retain": {"fit": Parabola(1.0, 2.0, 4.0), "exact": L.Directional(1.0, 2.0, 5.0)},
        "forget": {"fit": Parabola(1.0, 2.0, 1.0), "exact": L.Directional(1.0, 2.0, 4.0)},
    }
    rows = landscape.claims.measure_showcase(snap, draw=0, seed=0)
    assert rows.task.tolist() == ["retain", "forget"] and rows.value.tolist() == [4.0, 1.0]
    # eta*: retain 0.5 vs 0.4 (ratio 1.25), forget 2 vs 0.5 (ratio 4: flagged)
    assert rows.eta_star_ratio.tolist() == pytest.approx([1.25, 4.0])
    assert rows.flagged.tolist() == [False, True]
    row = claims.evaluate(rows).iloc[0]
    assert row["kind"] == "sanity" and row["verdict"] == "holds"
    assert landscape.claims.far_off(math.nan) and landscape.claims.far_off(0.5)
    assert not landscape.claims.far_off(0.51)


def test_every_claim_of_notebook_03_is_in_exactly_one_figure():
    shown = [i for ids in landscape.claims.CLAIMS_BY_FIGURE.values() for i in ids]
    assert sorted(shown) == sorted(c.id for c in claims.of_notebook("03_loss_landscape"))


def test_gen_at_rate_on_real_steps_matches_the_snapshot(small_target, small_bench):
    """The walk's GeN columns at one step equal the snapshot's at-rate probe there."""
    xs = 0.3 * np.linspace(-1, 1, 5)
    walk = lm.unlearn_lm(
        small_target.model, small_target.tokenizer, small_bench, "NGDiff", lr=0.3, steps=2,
        batch_size=8, seed=0, evaluate=False, progress=False,
        visit=landscape.visits.ngdiff_fit_visit(xs, gen_step=1),
    ).history  # fmt: skip
    assert walk["gen_curvature_rel_error"].notna().tolist() == [False, True]
    snap = landscape.visits.Snapshot(1, sizes=[1e-2])
    lm.unlearn_lm(
        small_target.model, small_target.tokenizer, small_bench, "NGDiff", lr=0.3, steps=2,
        batch_size=8, seed=0, evaluate=False, progress=False, visit=snap,
    )  # fmt: skip
    at = snap.gen["at_lr"].iloc[0]
    assert walk["gen_curvature_rel_error"].iloc[1] == pytest.approx(at["curvature_rel_error"])
    assert walk["gen_size"].iloc[1] == 0.3
