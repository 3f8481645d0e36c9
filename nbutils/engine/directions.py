"""Direction rules of NGDiff Sec. 3.2: every one a dynamic scalarization (Eq. 5),

    d = a * g_R - b * g_F,   a, b >= 0,   implied c_t = a / (a + b),

so a rule only decides the weights (a, b) from the task geometry (||g_R||^2,
||g_F||^2, g_R.g_F) and, where it needs them, the losses and a random generator.
``direction`` forms d from the two gradients (a pure function); ``combine_`` forms it
in place into g_R's buffer, which keeps NGDiff within one gradient-sized buffer of
GDiff's memory.

Zero and non-finite gradients (DESIGN.md): a non-finite gradient raises
``NonFiniteGradientError``. A rule that divides by a task's gradient norm (NGDiff,
both PCGrads, IMTL-G) drops a task whose gradient is exactly zero, since it has no
direction; if both are zero there is no direction at all and ``ZeroGradientError``
is raised. Rules that only weight the gradients (GD, GA, GDiff, RLW, LossNorm) return
d = 0 when both are zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .gradients import Grads, dot, sq_norm


class NonFiniteGradientError(ValueError):
    """A task gradient holds NaN or inf."""


class ZeroGradientError(ValueError):
    """Both task gradients are zero: no direction exists."""


@dataclass(frozen=True)
class Geometry:
    """What every rule may look at: the Gram scalars of (g_R, g_F) and the two losses."""

    rr: float  # ||g_R||^2
    ff: float  # ||g_F||^2
    rf: float  # g_R . g_F
    loss_retain: float = math.nan
    loss_forget: float = math.nan

    @classmethod
    def of(
        cls,
        g_retain: Grads,
        g_forget: Grads,
        loss_retain: float = math.nan,
        loss_forget: float = math.nan,
    ) -> Geometry:
        rr, ff = sq_norm(g_retain), sq_norm(g_forget)
        for name, value in (("g_R", rr), ("g_F", ff)):
            if not math.isfinite(value):  # NaN or inf anywhere in g makes ||g||^2 non-finite
                raise NonFiniteGradientError(
                    f"{name} holds NaN or inf (or overflows): no direction can be formed"
                )
        return cls(rr, ff, dot(g_retain, g_forget), float(loss_retain), float(loss_forget))

    @property
    def norm_retain(self) -> float:
        return math.sqrt(self.rr)

    @property
    def norm_forget(self) -> float:
        return math.sqrt(self.ff)

    @property
    def cosine(self) -> float:
        """cos(g_R, g_F); NaN when either gradient is zero."""
        denom = self.norm_retain * self.norm_forget
        return self.rf / denom if denom > 0 else math.nan


@dataclass(frozen=True)
class Weights:
    """d = retain * g_R - forget * g_F."""

    retain: float
    forget: float

    @property
    def implied_c(self) -> float:
        """c_t of Eq. 5 (d is a positive multiple of c_t g_R - (1 - c_t) g_F)."""
        total = self.retain + self.forget
        return self.retain / total if total > 0 else math.nan

    def dots(self, geo: Geometry) -> tuple[float, float]:
        """(g_R . d, g_F . d), the two signs of Eq. 7, from the Gram scalars."""
        return (
            self.retain * geo.rr - self.forget * geo.rf,
            self.retain * geo.rf - self.forget * geo.ff,
        )


@dataclass(frozen=True)
class Direction:
    d: Grads
    weights: Weights

    @property
    def implied_c(self) -> float:
        return self.weights.implied_c


Rule = Callable[..., Weights]


def _needs_a_direction(geo: Geometry) -> None:
    if geo.rr == 0 and geo.ff == 0:
        raise ZeroGradientError("g_R and g_F are both zero: no direction exists")


def gd(geo: Geometry, generator=None) -> Weights:
    """Gradient descent on R alone: c_t = 1."""
    return Weights(1.0, 0.0)


def ga(geo: Geometry, generator=None) -> Weights:
    """Gradient ascent on F alone: c_t = 0."""
    return Weights(0.0, 1.0)


def gdiff(geo: Geometry, generator=None, c: float = 0.5) -> Weights:
    """Extended GDiff, the static scalarization of Eq. 3: d = c g_R - (1 - c) g_F."""
    if not 0 <= c <= 1:
        raise ValueError(f"GDiff needs c in [0, 1], got c={c!r}")
    return Weights(c, 1.0 - c)


def lossnorm(geo: Geometry, generator=None) -> Weights:
    """LossNorm: d = g_R / L_R - g_F / L_F, so c_t / (1 - c_t) = L_F / L_R."""
    for name, loss in (("L_R", geo.loss_retain), ("L_F", geo.loss_forget)):
        if not (math.isfinite(loss) and loss > 0):
            raise ValueError(f"LossNorm divides by the losses: {name}={loss!r} must be positive")
    return Weights(1.0 / geo.loss_retain, 1.0 / geo.loss_forget)


def rlw(geo: Geometry, generator: torch.Generator | None = None) -> Weights:
    """RLW: c_t = e^l1 / (e^l1 + e^l2) with l1, l2 ~ N(0, 1) drawn fresh each call."""
    l1, l2 = torch.randn(2, generator=generator, dtype=torch.float64).tolist()
    return Weights(1.0 / (1.0 + math.exp(l2 - l1)), 1.0 / (1.0 + math.exp(l1 - l2)))


def pcgrad(geo: Geometry, generator=None) -> Weights:
    """PCGrad as Yu et al. (2020) and LibMTL (``weighting/PCGrad.py``) compute it, on the
    two tasks g_R and -g_F: when they conflict (g_R . (-g_F) < 0, i.e. rf = g_R.g_F > 0)
    BOTH are projected onto the normal plane of the other and summed,

        d = (1 + rf/rr) g_R - (1 + rf/ff) g_F,

    else d = g_R - g_F. It satisfies Eq. 7 for every pair: g_R.d = rr - rf^2/ff >= 0 and
    g_F.d = rf^2/rr - ff <= 0 (Cauchy-Schwarz). A zero gradient never conflicts, so d is
    the other task's own direction (-g_F or g_R)."""
    _needs_a_direction(geo)
    if geo.rf > 0:
        return Weights(1.0 + geo.rf / geo.rr, 1.0 + geo.rf / geo.ff)
    return Weights(1.0, 1.0)


def pcgrad_paper(geo: Geometry, generator=None) -> Weights:
    """PCGrad in the NGDiff paper's two-task form (Sec. 3.2):
    c_t / (1 - c_t) = 1 + g_F.g_R / ||g_R||^2 when the tasks conflict, i.e. only the
    forget gradient is projected onto the normal plane of g_R (g_R . (-g_F) < 0, i.e.
    g_R . g_F > 0); otherwise d is the plain sum. It keeps g_R.d >= 0 but can descend L_F
    (Eq. 7 can fail on its forget side). With g_R = 0, no projection exists and d = -g_F.
    """
    _needs_a_direction(geo)
    if geo.rr == 0:
        return Weights(0.0, 1.0)
    return Weights(1.0 + max(geo.rf, 0.0) / geo.rr, 1.0)


def imtlg(geo: Geometry, generator=None) -> Weights:
    """IMTL-G as written in Sec. 3.2: c_t = g_F.u / (g_F - g_R).u, u = g_F/||g_F|| - g_R/||g_R||.

    With cos = cos(g_R, g_F): g_F.u = ||g_F|| (1 - cos) and g_R.u = ||g_R|| (cos - 1),
    so c_t = ||g_F|| / (||g_R|| + ||g_F||) whenever g_R is not parallel to g_F: the
    same c_t as NGDiff, hence d is a positive multiple of the NGDiff direction (here
    d = ||g_R|| ||g_F|| / (||g_R|| + ||g_F||) * (g_R/||g_R|| - g_F/||g_F||)), which
    has IMTL-G's defining property: equal projections onto the unit task directions
    g_R/||g_R|| and -g_F/||g_F||. At the parallel limit the formula is 0/0; the
    closed form is its continuous extension. With exactly one zero gradient the zero
    task is dropped and d is NGDiff's fallback (the other task's unit direction).
    """
    _needs_a_direction(geo)
    if geo.rr == 0 or geo.ff == 0:  # one task has no direction: drop it, as NGDiff does
        return ngdiff(geo)
    nr, nf = geo.norm_retain, geo.norm_forget
    return Weights(nf / (nr + nf), nr / (nr + nf))  # not 1 - c: it cancels when c ~ 1


def ngdiff(geo: Geometry, generator=None) -> Weights:
    """NGDiff (Sec. 4.2): d = g_R/||g_R|| - g_F/||g_F||, c_t = (1/||g_R||)/(1/||g_R|| + 1/||g_F||).

    Satisfies Eq. 7 for every pair (Lemma 4). A zero task gradient is dropped:
    d = -g_F/||g_F|| when g_R = 0, d = g_R/||g_R|| when g_F = 0 (Eq. 7 still holds).
    """
    _needs_a_direction(geo)
    return Weights(
        1.0 / geo.norm_retain if geo.rr > 0 else 0.0, 1.0 / geo.norm_forget if geo.ff > 0 else 0.0
    )


RULES: dict[str, Rule] = {
    "gd": gd,
    "ga": ga,
    "gdiff": gdiff,
    "lossnorm": lossnorm,
    "rlw": rlw,
    "pcgrad": pcgrad,
    "pcgrad_paper": pcgrad_paper,
    "imtlg": imtlg,
    "ngdiff": ngdiff,
}


def weights(
    rule: str, geo: Geometry, generator: torch.Generator | None = None, **options
) -> Weights:
    """The weights a named rule gives (``options``: ``c`` for GDiff)."""
    if rule not in RULES:
        raise ValueError(f"unknown direction rule {rule!r}; known: {', '.join(RULES)}")
    return RULES[rule](geo, generator, **options)


def combine_(w: Weights, g_retain: Grads, g_forget: Grads) -> Grads:
    """d = w.retain g_R - w.forget g_F, written into g_retain's tensors (returned)."""
    torch._foreach_mul_(g_retain, w.retain)
    torch._foreach_add_(g_retain, g_forget, alpha=-w.forget)
    return g_retain


def direction(
    rule: str,
    g_retain: Grads,
    g_forget: Grads,
    *,
    loss_retain: float = math.nan,
    loss_forget: float = math.nan,
    generator: torch.Generator | None = None,
    **options,
) -> Direction:
    """The direction of a named rule for (g_R, g_F), with its weights and implied c_t.
    Pure: the inputs are not modified."""
    geo = Geometry.of(g_retain, g_forget, loss_retain, loss_forget)
    w = weights(rule, geo, generator, **options)
    d = combine_(w, [g.clone() for g in g_retain], g_forget)
    return Direction(d, w)


def satisfies_eq7(
    g_retain: Grads, g_forget: Grads, d: Grads, tol: float = 0.0, d_scale: float | None = None
) -> bool:
    """Eq. 7, g_R.d >= 0 >= g_F.d, up to ``tol * ||g|| * d_scale``.

    ``d_scale`` is the size of what was rounded in forming d: for d = a g_R - b g_F,
    a ||g_R|| + b ||g_F|| (rounding errs by a few ulps of the summands, which matters
    when they nearly cancel); by default ||d||.
    """
    scale = math.sqrt(sq_norm(d)) if d_scale is None else d_scale
    return (
        dot(g_retain, d) >= -tol * math.sqrt(sq_norm(g_retain)) * scale
        and dot(g_forget, d) <= tol * math.sqrt(sq_norm(g_forget)) * scale
    )
