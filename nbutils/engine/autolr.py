"""AutoLR: GeN's learning rate (NGDiff Sec. 4.3, Algorithm 1 lines 8-12, Appendix C).

Along the update direction d, the retain loss is a parabola in the step size x
(Eq. 6): L(x) := L_R(theta - x d) ~ Q(x) = L0 - b x + (a/2) x^2 with b = g_R.d and
a = d^T H_R d, minimized at eta* = b / a (Eq. 8). Three probes x in {-eta, 0, +eta}
give b and a by finite differences; only R is used, never F (Appendix C.2).

``AutoLR.plain`` is Algorithm 1 with Remark 4.1: every ``period`` steps set
eta = eta*, keeping eta when the fitted curvature or slope is not positive.
``AutoLR.gen_style`` follows GeN's official ``lr_parabola`` (ShiyunXu/AutoGeN
``GeN/GeN.py``; NOTES.md): probes on a fresh batch, the estimate accepted only if a > 0,
b > 0 and R^2 > 0.99, then clipped to [eta/2, 2 eta] and smoothed
eta <- 0.9 eta + 0.1 eta*. A rejected fit keeps eta; only a failed probe (a non-finite
loss, GeN's ``except`` branch) halves it. With more than three probes GeN fits the
parabola through L(0) (no intercept: ``fit_parabola(..., anchored=True)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .gradients import Grads, add_


@dataclass(frozen=True)
class Parabola:
    """Q(x) = loss0 - slope x + (curvature / 2) x^2, fitted to L(x) = L_R(theta - x d)."""

    loss0: float
    slope: float  # b = g_R . d
    curvature: float  # a = d^T H_R d
    r2: float = 1.0

    @property
    def finite(self) -> bool:
        """Every probe loss was finite (no NaN or inf reached the fit)."""
        return all(math.isfinite(v) for v in (self.loss0, self.slope, self.curvature, self.r2))

    @property
    def eta_star(self) -> float:
        """argmin Q = b / a (Eq. 8); NaN when Q has no minimum (a <= 0)."""
        return self.slope / self.curvature if self.curvature > 0 else math.nan

    def __call__(self, x):
        return self.loss0 - self.slope * np.asarray(x) + 0.5 * self.curvature * np.asarray(x) ** 2


def fit_three_point(eta: float, loss_minus: float, loss0: float, loss_plus: float) -> Parabola:
    """The parabola through x = -eta, 0, +eta, where loss_minus = L_R(theta + eta d) and
    loss_plus = L_R(theta - eta d): b = (L- - L+) / (2 eta), a = (L+ - 2 L0 + L-) / eta^2."""
    if not eta > 0:
        raise ValueError(f"probe size eta must be positive, got {eta!r}")
    return Parabola(
        loss0, (loss_minus - loss_plus) / (2 * eta), (loss_plus - 2 * loss0 + loss_minus) / eta**2
    )


def fit_parabola(xs, losses, anchored: bool = False) -> Parabola:
    """Least-squares parabola through any number (>= 3) of probes (x, L(x)), with R^2.

    ``anchored``: as GeN's ``lr_parabola``, fit L(x) - L(0) = -b x + (a/2) x^2 with no
    intercept (x = 0 must be a probe), and R^2 of that fit on the shifted losses.
    """
    xs, losses = np.asarray(xs, dtype=float), np.asarray(losses, dtype=float)
    if xs.shape != losses.shape or xs.size < 3 or np.unique(xs).size < 3:
        raise ValueError("a parabola needs at least three distinct probe points")
    if anchored:
        if not np.any(xs == 0):
            raise ValueError("an anchored parabola needs the probe at x = 0")
        loss0 = float(losses[xs == 0][0])
        target = losses - loss0
        design = np.stack([-xs, 0.5 * xs**2], axis=1)
        (slope, curvature), *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ np.array([slope, curvature])
    else:
        target = losses
        design = np.stack([np.ones_like(xs), -xs, 0.5 * xs**2], axis=1)
        (loss0, slope, curvature), *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ np.array([loss0, slope, curvature])
    spread = np.sum((target - target.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / spread if spread > 0 else 1.0
    return Parabola(float(loss0), float(slope), float(curvature), float(r2))


def probe(
    loss: Callable[[], float], params, direction: Grads, eta: float, loss0: float | None = None
) -> Parabola:
    """Fit L(x) = loss(theta - x d) through x = -eta, 0, +eta (Algorithm 1, l. 10-11).

    ``loss()`` evaluates the loss at the current parameters; ``params`` are moved in
    place to theta -/+ eta d and back (to within float rounding). ``loss0`` is L(0) when
    already known (the step's own batch), else it is evaluated (a third forward).
    """
    with torch.no_grad():
        add_(params, direction, -eta)
        loss_plus = loss()
        add_(params, direction, 2 * eta)
        loss_minus = loss()
        add_(params, direction, -eta)
        if loss0 is None:
            loss0 = loss()
    return fit_three_point(eta, loss_minus, loss0, loss_plus)


@dataclass(frozen=True)
class AutoLR:
    """When and how the learning rate follows the fitted parabola.

    period: update every ``period`` steps (steps 10, 20, ... of Algorithm 1 for 10).
    clip: bound the change per update to [eta/clip, eta*clip] (None: unbounded).
    smoothing: eta <- smoothing * eta + (1 - smoothing) * estimate (0: no smoothing).
    on_nonfinite: "keep" (Remark 4.1: no fit, no change) or "halve" (GeN's ``except``
        branch) when a probe loss is not finite. A rejected fit always keeps eta.
    min_r2: reject fits with a lower R^2 (matters only with more than 3 probes).
    fresh_batch: probe on a fresh retain batch (3 forwards) instead of the step's own
        retain batch, whose L0 is already known (2 forwards).
    """

    period: int = 10
    clip: float | None = None
    smoothing: float = 0.0
    on_nonfinite: str = "keep"
    min_r2: float = 0.0
    fresh_batch: bool = False

    def __post_init__(self):
        if self.period < 1:
            raise ValueError(f"AutoLR period must be at least 1, got {self.period}")
        if self.clip is not None and self.clip <= 1:
            raise ValueError(f"AutoLR clip must exceed 1, got {self.clip}")
        if not 0 <= self.smoothing < 1:
            raise ValueError(f"AutoLR smoothing must lie in [0, 1), got {self.smoothing}")
        if self.on_nonfinite not in ("keep", "halve"):
            raise ValueError(
                f"AutoLR on_nonfinite must be 'keep' or 'halve', got {self.on_nonfinite!r}"
            )

    @classmethod
    def plain(cls, period: int = 10) -> AutoLR:
        """Algorithm 1 with Remark 4.1, as in the paper."""
        return cls(period=period)

    @classmethod
    def gen_style(cls, period: int = 10) -> AutoLR:
        """GeN's official ``lr_parabola`` rule (NOTES.md)."""
        return cls(
            period=period,
            clip=2.0,
            smoothing=0.9,
            on_nonfinite="halve",
            min_r2=0.99,
            fresh_batch=True,
        )

    @property
    def extra_forwards(self) -> int:
        """Forward passes each update adds."""
        return 3 if self.fresh_batch else 2

    def due(self, step: int) -> bool:
        """Whether 0-based ``step`` updates the rate (Algorithm 1: t mod k == 0, t from 1)."""
        return (step + 1) % self.period == 0

    def accepts(self, fit: Parabola) -> bool:
        return fit.curvature > 0 and fit.slope > 0 and fit.r2 >= self.min_r2

    def next_lr(self, lr: float, fit: Parabola) -> tuple[float, bool]:
        """The next learning rate and whether the fit was accepted: a non-finite probe
        keeps or halves eta (``on_nonfinite``), a rejected fit keeps it."""
        if not fit.finite:
            return (lr if self.on_nonfinite == "keep" else lr / 2), False
        if not self.accepts(fit):
            return lr, False
        estimate = fit.eta_star
        if self.clip is not None:
            estimate = min(max(estimate, lr / self.clip), lr * self.clip)
        return self.smoothing * lr + (1 - self.smoothing) * estimate, True
