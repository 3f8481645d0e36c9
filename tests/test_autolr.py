"""AutoLR / GeN (NGDiff Sec. 4.3, Eq. 8, Remark 4.1, Appendix C)."""

import math

import numpy as np
import pytest
import torch

from nbutils.engine.autolr import AutoLR, Parabola, fit_parabola, fit_three_point, probe


def quadratic_problem(seed=0, n=6):
    """L(theta) = 1/2 theta^T A theta - c^T theta with A positive definite, in float64."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=gen, dtype=torch.float64)
    a = m @ m.T + n * torch.eye(n, dtype=torch.float64)
    c = torch.randn(n, generator=gen, dtype=torch.float64)
    theta = torch.randn(n, generator=gen, dtype=torch.float64)
    d = torch.randn(n, generator=gen, dtype=torch.float64)
    return a, c, theta, d


def test_gen_recovers_the_exact_step_on_a_quadratic():
    a, c, theta, d = quadratic_problem()
    params = [theta.clone()]
    loss = lambda: float(0.5 * params[0] @ a @ params[0] - c @ params[0])  # noqa: E731
    grad = a @ theta - c
    fit = probe(loss, params, [d], eta=0.05)
    assert fit.slope == pytest.approx(float(grad @ d), rel=1e-9)  # b = g.d
    assert fit.curvature == pytest.approx(float(d @ a @ d), rel=1e-9)  # a = d^T H d
    exact = float(grad @ d) / float(d @ a @ d)  # Eq. 8
    assert fit.eta_star == pytest.approx(exact, rel=1e-6)
    # and eta* minimizes the loss along -d
    along = lambda x: float(0.5 * (theta - x * d) @ a @ (theta - x * d) - c @ (theta - x * d))  # noqa: E731
    assert along(exact) < min(along(exact * 0.99), along(exact * 1.01))


def test_probing_puts_the_parameters_back():
    a, c, theta, d = quadratic_problem(1)
    params = [theta.clone()]
    probe(lambda: 0.0, params, [d], eta=0.3)
    torch.testing.assert_close(params[0], theta, rtol=0, atol=1e-15)


def test_probe_reuses_a_known_loss0():
    calls = []
    params = [torch.zeros(2, dtype=torch.float64)]
    probe(
        lambda: calls.append(1) or 1.0, params, [torch.ones(2, dtype=torch.float64)], 0.1, loss0=1.0
    )
    assert len(calls) == 2  # two extra forwards, as in Algorithm 1


def test_three_point_formulas_from_the_notes():
    # L- = L(theta + eta d), L+ = L(theta - eta d)
    fit = fit_three_point(0.5, loss_minus=3.0, loss0=2.0, loss_plus=1.5)
    assert fit.slope == pytest.approx((3.0 - 1.5) / 1.0)
    assert fit.curvature == pytest.approx((1.5 - 4.0 + 3.0) / 0.25)
    # eta* = eta (L- - L+) / (2 (L+ + L- - 2 L0))
    assert fit.eta_star == pytest.approx(0.5 * 1.5 / (2 * 0.5))


def test_least_squares_fit_over_many_probes():
    xs = np.linspace(-1, 2, 9)
    exact = Parabola(2.0, 0.7, 1.3)
    fit = fit_parabola(xs, exact(xs))
    assert (fit.loss0, fit.slope, fit.curvature) == pytest.approx((2.0, 0.7, 1.3))
    assert fit.r2 == pytest.approx(1.0)
    noisy = fit_parabola(xs, exact(xs) + np.random.default_rng(0).normal(0, 0.3, xs.size))
    assert noisy.r2 < 0.99
    with pytest.raises(ValueError, match="three distinct"):
        fit_parabola([0, 0, 1], [1, 1, 2])


@pytest.mark.parametrize("slope, curvature", [(1.0, -2.0), (1.0, 0.0), (-1.0, 2.0), (0.0, 1.0)])
def test_autolr_keeps_eta_when_curvature_or_slope_is_not_positive(slope, curvature):
    """Remark 4.1."""
    lr, accepted = AutoLR.plain().next_lr(0.1, Parabola(1.0, slope, curvature))
    assert lr == 0.1 and not accepted


def test_autolr_plain_takes_eta_star():
    lr, accepted = AutoLR.plain().next_lr(0.1, Parabola(1.0, 2.0, 4.0))
    assert accepted and lr == pytest.approx(0.5)


def test_gen_style_clips_smooths_keeps_a_rejected_fit_and_halves_a_failed_probe():
    """GeN's lr_parabola: a rejected fit (a <= 0, b <= 0, R^2 <= 0.99) keeps eta; only a
    non-finite probe loss (its ``except`` branch) halves it."""
    gen = AutoLR.gen_style()
    lr, ok = gen.next_lr(0.1, Parabola(1.0, 2.0, 4.0))  # eta* = 0.5, clipped to 0.2
    assert ok and lr == pytest.approx(0.9 * 0.1 + 0.1 * 0.2)
    assert gen.next_lr(0.1, Parabola(1.0, 2.0, -4.0)) == (0.1, False)  # a <= 0: kept
    assert gen.next_lr(0.1, Parabola(1.0, -2.0, 4.0)) == (0.1, False)  # b <= 0: kept
    assert gen.next_lr(0.1, Parabola(1.0, 2.0, 4.0, r2=0.9)) == (0.1, False)  # R^2 gate
    nonfinite = fit_three_point(0.1, math.inf, 1.0, 0.5)
    assert gen.next_lr(0.1, nonfinite) == (0.05, False)
    assert AutoLR.plain().next_lr(0.1, nonfinite) == (0.1, False)  # Remark 4.1: keep


def test_anchored_fit_passes_through_the_loss_at_zero():
    xs = [-2.0, -1.0, 0.0, 1.0, 2.0]
    losses = [5.0, 1.9, 1.0, 0.1, 1.2]  # not a parabola: the free fit misses L(0)
    anchored = fit_parabola(xs, losses, anchored=True)
    free = fit_parabola(xs, losses)
    assert anchored.loss0 == 1.0 and free.loss0 != pytest.approx(1.0)
    exact = [1.0 - 0.5 * x + 0.75 * x**2 for x in xs]  # b = 0.5, a = 1.5
    fit = fit_parabola(xs, exact, anchored=True)
    assert (fit.slope, fit.curvature, fit.r2) == pytest.approx((0.5, 1.5, 1.0))
    with pytest.raises(ValueError, match="x = 0"):
        fit_parabola([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], anchored=True)


def test_updates_every_k_steps_as_in_algorithm_1():
    assert [t for t in range(35) if AutoLR(period=10).due(t)] == [9, 19, 29]
    assert AutoLR.plain().extra_forwards == 2 and AutoLR.gen_style().extra_forwards == 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"period": 0}, "period"),
        ({"clip": 1.0}, "clip"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"on_nonfinite": "panic"}, "on_nonfinite"),
    ],
)
def test_bad_settings_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        AutoLR(**options)


def test_eta_star_undefined_without_a_minimum():
    assert math.isnan(Parabola(1.0, 1.0, -1.0).eta_star)
    with pytest.raises(ValueError, match="positive"):
        fit_three_point(0.0, 1, 1, 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_plain_autolr_l0_equals_a_probe_forward_under_autocast(small_bench, small_target, dtype):
    """Plain AutoLR takes L0 from the step's training forward (grad enabled) and L+- from
    no-grad forwards: the fit is only right if both kinds of forward give the same loss,
    also under autocast (the paper-scale path). Checked on the devices at hand."""
    import copy

    from nbutils.core import runtime
    from nbutils.core.batches import answer_loss, collate, encode_records

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    items = encode_records(small_target.tokenizer, small_bench.retain[:16])
    for device in devices:
        model = copy.deepcopy(small_target.model).to(device).eval()
        if dtype != torch.float32:
            runtime.autocast_forward(model, dtype)
        batch = collate(items, small_target.tokenizer.pad_token_id).to(device)
        training = answer_loss(model, batch)
        with torch.no_grad():
            probing = answer_loss(model, batch)
        assert training.requires_grad and training.item() == probing.item(), device
