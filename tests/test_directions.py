"""Direction rules (NGDiff Sec. 3.2, Lemma 4, Eq. 7) on random and adversarial gradients."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nbutils.engine import directions as D
from nbutils.engine.gradients import dot, sq_norm

# Eq. 7 is checked in float64 up to TOL * ||g|| * (a ||g_R|| + b ||g_F||): forming
# d = a g_R - b g_F rounds by a few ulps of the summands (which nearly cancel for
# near-parallel pairs), and a dot product of up to 1e5 terms adds a few hundred ulps.
# TOL = 1e-12 is about 4500 ulps.
TOL = 1e-12


def rounding_scale(out: D.Direction, g_r, g_f) -> float:
    return out.weights.retain * math.sqrt(sq_norm(g_r)) + out.weights.forget * math.sqrt(
        sq_norm(g_f)
    )


def split(v: torch.Tensor, cuts: list[int]) -> list[torch.Tensor]:
    """A flat vector as a list of tensors of several sizes and shapes, like a model's."""
    n = v.numel()
    pieces = [v[a:b] for a, b in zip([0, *cuts], [*cuts, n]) if b > a]
    return [p.reshape(-1, 1) if i % 2 else p.clone() for i, p in enumerate(pieces)]


def pair(kind: str, dim: int, log_ratio: float, seed: int):
    """(g_R, g_F) of a given kind with ||g_F|| / ||g_R|| = 10**log_ratio."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(dim, generator=gen, dtype=torch.float64)
    noise = torch.randn(dim, generator=gen, dtype=torch.float64)
    f = {
        "random": noise,
        "near_parallel": r + 1e-7 * noise * r.norm() / noise.norm(),
        "near_antiparallel": -r + 1e-7 * noise * r.norm() / noise.norm(),
        "parallel": 3.0 * r,
        "antiparallel": -0.5 * r,
        "orthogonal": noise - (noise @ r) / (r @ r) * r,
    }[kind]
    f = f / f.norm() * r.norm() * 10.0**log_ratio
    cuts = sorted(torch.randint(0, dim + 1, (3,), generator=gen).tolist())
    return split(r, cuts), split(f, cuts)


KINDS = ["random", "near_parallel", "near_antiparallel", "parallel", "antiparallel", "orthogonal"]


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    dim=st.sampled_from([2, 3, 10, 1000, 100_000]),
    log_ratio=st.floats(-6, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_ngdiff_satisfies_eq7_for_any_pair(kind, dim, log_ratio, seed):
    """Lemma 4: g_R.d >= 0 >= g_F.d for d = g_R/||g_R|| - g_F/||g_F||."""
    g_r, g_f = pair(kind, dim, log_ratio, seed)
    out = D.direction("ngdiff", g_r, g_f)
    assert D.satisfies_eq7(g_r, g_f, out.d, tol=TOL, d_scale=rounding_scale(out, g_r, g_f))


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    dim=st.sampled_from([2, 50, 5000]),
    log_ratio=st.floats(-6, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_imtlg_is_a_positive_multiple_of_ngdiff(kind, dim, log_ratio, seed):
    g_r, g_f = pair(kind, dim, log_ratio, seed)
    ng, im = D.direction("ngdiff", g_r, g_f), D.direction("imtlg", g_r, g_f)
    assert im.implied_c == pytest.approx(ng.implied_c, rel=1e-12)
    assert D.satisfies_eq7(g_r, g_f, im.d, tol=TOL, d_scale=rounding_scale(im, g_r, g_f))


def test_gdiff_leaves_the_green_region_on_a_constructed_case():
    g_r, g_f = [torch.tensor([1.0, 0.0])], [torch.tensor([10.0, 1.0])]
    d = D.direction("gdiff", g_r, g_f, c=0.5).d  # 0.5 (g_R - g_F) = (-4.5, -0.5)
    assert dot(g_r, d) < 0  # a small step raises L_R: Eq. 7 fails
    assert not D.satisfies_eq7(g_r, g_f, d)
    assert D.satisfies_eq7(g_r, g_f, D.direction("ngdiff", g_r, g_f).d)


# Small gradients as a model's (a vector and a 1x1 matrix), flat: g_R = (3, 0, 4)
# (||g_R|| = 5) with a forget gradient that conflicts with it (g_R.g_F = 11 > 0) and one
# that does not (g_R.g_F = -5 < 0).
RETAIN = np.array([3.0, 0.0, 4.0])
FORGET = {"conflict": np.array([1.0, 2.0, 2.0]), "no_conflict": np.array([1.0, -2.0, -2.0])}
LOSSES = dict(loss_retain=0.7, loss_forget=2.0)
RLW_SEED = 7


def as_grads(v: np.ndarray) -> list[torch.Tensor]:
    return [torch.tensor(v[:2]), torch.tensor(v[2:]).reshape(1, 1)]


def project(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PCGrad's projection of task a onto the normal plane of task b."""
    return a - (a @ b) / (b @ b) * b


def direction_by_hand(rule: str, r: np.ndarray, f: np.ndarray) -> np.ndarray:
    """d of each rule from the formulas of NOTES.md (paper Sec. 3.2), in numpy."""
    if rule == "gd":
        return r
    if rule == "ga":
        return -f
    if rule == "gdiff":  # c = 0.3
        return 0.3 * r - 0.7 * f
    if rule == "lossnorm":
        return r / LOSSES["loss_retain"] - f / LOSSES["loss_forget"]
    if rule == "rlw":  # l1, l2 ~ N(0, 1): the generator's first two (float64) normals
        gen = torch.Generator().manual_seed(RLW_SEED)
        l1, l2 = torch.randn(2, generator=gen, dtype=torch.float64).tolist()
        c = math.exp(l1) / (math.exp(l1) + math.exp(l2))
        return c * r - (1 - c) * f
    conflict = r @ -f < 0  # the tasks are g_R and -g_F
    if rule == "pcgrad":  # Yu et al.: project both when they conflict, then sum
        return project(r, -f) + project(-f, r) if conflict else r - f
    if rule == "pcgrad_paper":  # the paper's form: only -g_F is projected
        return r + project(-f, r) if conflict else r - f
    if rule == "imtlg":
        u = f / np.linalg.norm(f) - r / np.linalg.norm(r)
        c = (f @ u) / ((f - r) @ u)
        return c * r - (1 - c) * f
    if rule == "ngdiff":
        return r / np.linalg.norm(r) - f / np.linalg.norm(f)
    raise AssertionError(f"no hand formula for {rule}")


@pytest.mark.parametrize("case", sorted(FORGET))
@pytest.mark.parametrize("rule", sorted(D.RULES))
def test_each_rule_forms_the_direction_of_its_formula(rule, case):
    r, f = RETAIN, FORGET[case]
    options = {"c": 0.3} if rule == "gdiff" else {}
    gen = torch.Generator().manual_seed(RLW_SEED)
    out = D.direction(rule, as_grads(r), as_grads(f), generator=gen, **LOSSES, **options)
    got = torch.cat([x.reshape(-1) for x in out.d]).numpy()
    np.testing.assert_allclose(got, direction_by_hand(rule, r, f), rtol=1e-12, atol=1e-12)


def test_known_implied_c_values():
    g_r, g_f = [torch.tensor([3.0, 0.0])], [torch.tensor([0.0, 1.0])]
    assert D.direction("gd", g_r, g_f).implied_c == 1
    assert D.direction("ga", g_r, g_f).implied_c == 0
    assert D.direction("gdiff", g_r, g_f, c=0.9).implied_c == pytest.approx(0.9)
    # NGDiff: (1/3) / (1/3 + 1/1) = 1/4
    assert D.direction("ngdiff", g_r, g_f).implied_c == pytest.approx(0.25)
    # LossNorm: c / (1 - c) = L_F / L_R = 3
    ln = D.direction("lossnorm", g_r, g_f, loss_retain=1.0, loss_forget=3.0)
    assert ln.implied_c / (1 - ln.implied_c) == pytest.approx(3.0)


def test_paper_pcgrad_projects_only_the_forget_gradient_when_they_conflict():
    g_r, g_f = [torch.tensor([2.0, 0.0])], [torch.tensor([1.0, 1.0])]  # g_R.g_F > 0: conflict
    out = D.direction("pcgrad_paper", g_r, g_f)
    # c/(1-c) = 1 + g_F.g_R/||g_R||^2 = 1.5
    assert out.implied_c / (1 - out.implied_c) == pytest.approx(1.5)
    forget_part = out.d[0] - g_r[0]  # -g_F projected onto the normal plane of g_R
    assert float(forget_part @ g_r[0]) == pytest.approx(0.0)
    no_conflict = D.direction("pcgrad_paper", g_r, [torch.tensor([-1.0, 1.0])])
    assert no_conflict.implied_c == pytest.approx(0.5)
    # its forget side can fail Eq. 7: g_F nearly parallel to g_R and much longer
    g_f = [torch.tensor([10.0, 0.1])]
    assert dot(g_f, D.direction("pcgrad_paper", g_r, g_f).d) > 0


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    dim=st.sampled_from([2, 3, 50, 5000]),
    log_ratio=st.floats(-6, 6),
    seed=st.integers(0, 2**31 - 1),
)
def test_canonical_pcgrad_is_libmtls_and_satisfies_eq7_for_any_pair(kind, dim, log_ratio, seed):
    """Yu et al. / LibMTL weighting/PCGrad.py on the tasks (g_R, -g_F): when g_R.g_F > 0
    both are projected, d = (1 + rf/rr) g_R - (1 + rf/ff) g_F; else d = g_R - g_F. It
    cannot leave Eq. 7's region (g_R.d = rr - rf^2/ff, g_F.d = rf^2/rr - ff)."""
    g_r, g_f = pair(kind, dim, log_ratio, seed)
    rr, ff, rf = sq_norm(g_r), sq_norm(g_f), dot(g_r, g_f)
    out = D.direction("pcgrad", g_r, g_f)
    if rf > 0:
        expected = (1 + rf / rr, 1 + rf / ff)
    else:
        expected = (1.0, 1.0)
    assert (out.weights.retain, out.weights.forget) == pytest.approx(expected, rel=1e-12)
    assert D.satisfies_eq7(g_r, g_f, out.d, tol=TOL, d_scale=rounding_scale(out, g_r, g_f))


def test_canonical_pcgrad_projects_both_gradients_by_hand():
    g_r, g_f = [torch.tensor([2.0, 0.0])], [torch.tensor([1.0, 1.0])]
    # rr = 4, ff = 2, rf = 2: g_R' = g_R - (rf/ff) g_F = (1, -1); (-g_F)' = -g_F + (rf/rr)
    # g_R = (0, -1); d = (1, -2) = 1.5 g_R - 2 g_F
    out = D.direction("pcgrad", g_r, g_f)
    torch.testing.assert_close(out.d[0], torch.tensor([1.0, -2.0]))
    assert (out.weights.retain, out.weights.forget) == pytest.approx((1.5, 2.0), rel=1e-6)


def test_imtlg_matches_the_papers_formula():
    gen = torch.Generator().manual_seed(2)
    r, f = (
        torch.randn(20, generator=gen, dtype=torch.float64),
        torch.randn(20, generator=gen, dtype=torch.float64),
    )
    u = f / f.norm() - r / r.norm()
    paper_c = float((f @ u) / ((f - r) @ u))
    out = D.direction("imtlg", [r], [f])
    assert out.implied_c == pytest.approx(paper_c, rel=1e-12)
    # IMTL-G's defining property for the tasks (R, -F): equal projections of d onto the
    # unit task directions g_R/||g_R|| and -g_F/||g_F||
    assert float(out.d[0] @ r / r.norm()) == pytest.approx(float(-out.d[0] @ f / f.norm()))


def test_rlw_draws_fresh_seeded_weights():
    g = [torch.ones(3)]
    draws = [
        D.direction("rlw", g, g, generator=torch.Generator().manual_seed(0)).implied_c
        for _ in range(2)
    ]
    assert draws[0] == draws[1]  # same seed, same draw
    gen = torch.Generator().manual_seed(0)
    many = [D.direction("rlw", g, g, generator=gen).implied_c for _ in range(2000)]
    assert len(set(many)) == 2000 and all(0 < c < 1 for c in many)
    assert sum(many) / len(many) == pytest.approx(0.5, abs=0.02)  # symmetric in l1, l2


def test_lossnorm_needs_positive_losses():
    g = [torch.ones(2)]
    with pytest.raises(ValueError, match="L_R"):
        D.direction("lossnorm", g, g, loss_retain=0.0, loss_forget=1.0)


def test_zero_gradient_behaviour_is_explicit():
    zero, g = [torch.zeros(3)], [torch.tensor([0.0, 3.0, 4.0])]
    only_forget = D.direction("ngdiff", zero, g).d[0]
    torch.testing.assert_close(only_forget, -g[0] / 5.0)  # the task with a direction only
    only_retain = D.direction("ngdiff", g, zero).d[0]
    torch.testing.assert_close(only_retain, g[0] / 5.0)
    for rule in ("ngdiff", "pcgrad", "pcgrad_paper", "imtlg"):
        with pytest.raises(D.ZeroGradientError):
            D.direction(rule, zero, zero)
    # IMTL-G and canonical PCGrad drop the zero task too: NGDiff's fallback direction
    for a, b in ((zero, g), (g, zero)):
        ng = D.direction("ngdiff", a, b).d[0]
        torch.testing.assert_close(D.direction("imtlg", a, b).d[0], ng)
        pc = D.direction("pcgrad", a, b).d[0]
        torch.testing.assert_close(pc / pc.norm(), ng)
    assert torch.equal(D.direction("gdiff", zero, zero, c=0.5).d[0], torch.zeros(3))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_gradients_raise_rather_than_return_nan(bad):
    g, broken = [torch.ones(3)], [torch.tensor([1.0, bad, 0.0])]
    with pytest.raises(D.NonFiniteGradientError, match="g_F"):
        D.direction("ngdiff", g, broken)


def test_unknown_rule_and_bad_c_are_rejected():
    g = [torch.ones(2)]
    with pytest.raises(ValueError, match="unknown direction rule"):
        D.direction("mgda", g, g)
    with pytest.raises(ValueError, match="c in"):
        D.direction("gdiff", g, g, c=1.5)


def test_direction_is_pure_and_combine_writes_in_place():
    g_r, g_f = [torch.tensor([1.0, 2.0])], [torch.tensor([3.0, -1.0])]
    before = [g_r[0].clone(), g_f[0].clone()]
    D.direction("ngdiff", g_r, g_f)
    assert torch.equal(g_r[0], before[0]) and torch.equal(g_f[0], before[1])
    w = D.Weights(2.0, 1.0)
    d = D.combine_(w, g_r, g_f)
    assert d[0] is g_r[0]
    torch.testing.assert_close(d[0], 2 * before[0] - before[1])


def test_eq7_dots_from_the_gram_scalars_equal_direct_dots():
    gen = torch.Generator().manual_seed(3)
    g_r, g_f = (
        [torch.randn(9, generator=gen, dtype=torch.float64)],
        [torch.randn(9, generator=gen, dtype=torch.float64)],
    )
    geo = D.Geometry.of(g_r, g_f)
    assert geo.rr == pytest.approx(sq_norm(g_r)) and geo.cosine == pytest.approx(
        dot(g_r, g_f) / math.sqrt(sq_norm(g_r) * sq_norm(g_f))
    )
    out = D.direction("pcgrad_paper", g_r, g_f)
    dr, df = out.weights.dots(geo)
    assert dr == pytest.approx(dot(g_r, out.d)) and df == pytest.approx(dot(g_f, out.d))
