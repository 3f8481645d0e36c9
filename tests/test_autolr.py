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


def test_gen_style_clips_smooths_and_halves():
    gen = AutoLR.gen_style()
    lr, ok = gen.next_lr(0.1, Parabola(1.0, 2.0, 4.0))  # eta* = 0.5, clipped to 0.2
    assert ok and lr == pytest.approx(0.9 * 0.1 + 0.1 * 0.2)
    assert gen.next_lr(0.1, Parabola(1.0, 2.0, -4.0)) == (0.05, False)
    assert not gen.accepts(Parabola(1.0, 2.0, 4.0, r2=0.9))  # R^2 gate


def test_updates_every_k_steps_as_in_algorithm_1():
    assert [t for t in range(35) if AutoLR(period=10).due(t)] == [9, 19, 29]
    assert AutoLR.plain().extra_forwards == 2 and AutoLR.gen_style().extra_forwards == 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"period": 0}, "period"),
        ({"clip": 1.0}, "clip"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"on_failure": "panic"}, "on_failure"),
    ],
)
def test_bad_settings_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        AutoLR(**options)


def test_eta_star_undefined_without_a_minimum():
    assert math.isnan(Parabola(1.0, 1.0, -1.0).eta_star)
    with pytest.raises(ValueError, match="positive"):
        fit_three_point(0.0, 1, 1, 1)
