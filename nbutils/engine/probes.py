"""Probing the loss along a direction (NGDiff Sec. 4.1, Eq. 6, Fig. 3, Remark 4.1; GeN).

Along a direction d the task loss is a function of the step size x,

    L(x) := L_w(theta - x d) = L_w(theta) - x g_w.d + (x^2 / 2) d^T H_w d + o(x^2)   (Eq. 6),

the parabola that ``autolr.Parabola`` writes as loss0 - slope x + (curvature / 2) x^2.
This module measures it three ways:

- probes: ``loss_along`` evaluates L at any grid of x, each point formed once from the
  saved theta (theta - x d rounded once; the parameters are restored bit for bit), and
  ``fit_along`` fits a least-squares parabola with its R^2 (Fig. 3);
- exact: ``directional`` gives g.d by autograd and d^T H d by a Hessian-vector product
  (double backward) in the same pass;
- GeN: ``gen_probe_errors`` compares GeN's three-point finite differences (probe size
  eta) with the exact values, showing truncation error (~eta^2) at large eta and
  round-off (~eps / eta, eps / eta^2) at small eta.

Double backward through GPT-2: the default attention of ``transformers`` calls
``torch.nn.functional.scaled_dot_product_attention``, which on CPU (and on CUDA) runs a
fused flash-attention kernel whose backward has no derivative of its own ("derivative
for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented").
``differentiable_attention`` selects SDPA's MATH backend, the same attention written
with differentiable matmul/softmax ops, for the forward passes of a Hessian-vector
product only; the model, its weights and its configuration are untouched, and the
losses agree with the fused kernel's to float rounding.

The landscape walks of notebooks 01 and 03 call these from a visit at theta_t before
each step of a run (``engine.lm.unlearn_lm(..., visit=...)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from .autolr import Parabola, fit_parabola, fit_three_point
from .gradients import Grads, dot

LossFn = Callable[[], torch.Tensor]


@contextmanager
def differentiable_attention() -> Iterator[None]:
    """Run scaled-dot-product attention on its MATH backend, which supports double
    backward (the fused flash/efficient kernels do not); no effect on models that do
    not use SDPA."""
    with sdpa_kernel([SDPBackend.MATH]):
        yield


# --------------------------------------------------------------------------- probes


def loss_along(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads, xs
) -> np.ndarray:
    """L(x) = loss(theta - x d) for each x in ``xs`` (float64 array of the losses).

    Each probe point is formed once from the saved theta, so no rounding drift builds up
    between probes; afterwards the parameters hold theta again, bit for bit.
    """
    params = list(params)
    saved = [p.detach().clone() for p in params]
    losses = []
    try:
        with torch.no_grad():
            for x in np.asarray(xs, dtype=float):
                for p, p0, v in zip(params, saved, direction):
                    torch.add(p0, v.to(p0.dtype), alpha=-float(x), out=p.data)
                losses.append(float(loss_fn()))
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, saved):
                p.copy_(p0)
    return np.asarray(losses, dtype=float)


def fit_along(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads, xs
) -> tuple[Parabola, np.ndarray]:
    """The least-squares parabola (with R^2) through L(x) = loss(theta - x d) at ``xs``,
    and the probed losses."""
    losses = loss_along(loss_fn, params, direction, xs)
    return fit_parabola(xs, losses), losses


def useful_range(
    loss_fn: LossFn,
    params: Sequence[torch.nn.Parameter],
    direction: Grads,
    eta0: float,
    max_doublings: int = 40,
    bisections: int = 6,
) -> float:
    """The step size at which L(theta - eta d) first climbs back to L(theta): about
    2 eta* for a parabola with positive slope and curvature (Eq. 8: eta* = b / a;
    Q(2 eta*) = Q(0)). Found by doubling from ``eta0`` and then ``bisections`` halvings
    of the last doubling (to 2^-bisections of it, so a grid around it is not up to twice
    too wide). Returns the last size tried when the loss never climbs back within
    ``max_doublings``; ``eta0`` itself when the loss rises at once (the direction does
    not descend this loss)."""
    if not eta0 > 0:
        raise ValueError(f"eta0 must be positive, got {eta0!r}")
    loss0 = loss_along(loss_fn, params, direction, [0.0])[0]

    def climbed(eta: float) -> bool:
        return loss_along(loss_fn, params, direction, [eta])[0] >= loss0

    eta = eta0
    for _ in range(max_doublings):
        if climbed(eta):
            break
        eta *= 2
    else:
        return eta / 2
    if eta == eta0:
        return eta0
    low, high = eta / 2, eta
    for _ in range(bisections):
        middle = (low + high) / 2
        low, high = (low, middle) if climbed(middle) else (middle, high)
    return high


def range_grid(eta_max: float, n: int = 13, low: float = -0.25, high: float = 1.25) -> np.ndarray:
    """``n`` evenly spaced step sizes from ``low * eta_max`` to ``high * eta_max``, with 0
    among them when the spacing allows (Fig. 3's grid around the useful range)."""
    if n < 3:
        raise ValueError(f"a parabola needs at least 3 probe points, got n={n}")
    return np.linspace(low, high, n) * eta_max


# --------------------------------------------------------------------------- exact values


@dataclass(frozen=True)
class Directional:
    """Exact first and second directional derivatives of a loss at theta along d."""

    loss: float
    slope: float  # g . d
    curvature: float  # d^T H d

    @property
    def eta_star(self) -> float:
        """Eq. 8: b / a, NaN without a minimum along -d."""
        return self.slope / self.curvature if self.curvature > 0 else math.nan

    def parabola(self) -> Parabola:
        return Parabola(self.loss, self.slope, self.curvature)


def hessian_vector_product(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], vector: Grads
) -> tuple[float, Grads, Grads]:
    """(loss, g, H v) at the current parameters, by double backward.

    Parameters the loss does not reach get zero gradient and zero H v.
    """
    params = list(params)
    with differentiable_attention():  # both backwards: checkpointing recomputes in them
        loss = loss_fn()
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        reached = [i for i, g in enumerate(grads) if g is not None]
        if not reached:
            zeros = [torch.zeros_like(p) for p in params]
            return loss.detach().item(), zeros, [z.clone() for z in zeros]
        inner = torch.stack(
            [(grads[i] * vector[i].to(grads[i].dtype)).sum() for i in reached]
        ).sum()
        hv_reached = torch.autograd.grad(inner, [params[i] for i in reached], allow_unused=True)
    g_out = [torch.zeros_like(p) for p in params]
    hv_out = [torch.zeros_like(p) for p in params]
    for i, h in zip(reached, hv_reached):
        g_out[i] = grads[i].detach()
        if h is not None:
            hv_out[i] = h.detach()
    return loss.detach().item(), g_out, hv_out


def directional(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads
) -> Directional:
    """loss, g.d (autograd) and d^T H d (Hessian-vector product) at theta along d."""
    loss, grads, hv = hessian_vector_product(loss_fn, params, direction)
    return Directional(loss, dot(grads, direction), dot(hv, direction))


def directional_many(
    loss_fns: dict[str, LossFn],
    params: Sequence[torch.nn.Parameter],
    make_direction: Callable[[dict[str, Grads]], Grads],
) -> tuple[Grads, dict[str, Directional]]:
    """Exact derivatives of several losses along a direction formed from their own
    gradients (e.g. NGDiff's d from g_R and g_F): one forward and backward per loss,
    kept for one double backward each. Returns (d, {name: Directional})."""
    params = list(params)
    graphs, grads = {}, {}
    with differentiable_attention():
        for name, loss_fn in loss_fns.items():
            loss = loss_fn()
            g = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
            graphs[name] = (loss, g)
            grads[name] = [
                x.detach() if x is not None else torch.zeros_like(p) for x, p in zip(g, params)
            ]
    d = [v.detach() for v in make_direction({k: [x.clone() for x in v] for k, v in grads.items()})]
    out = {}
    for name, (loss, g) in graphs.items():
        reached = [i for i, x in enumerate(g) if x is not None]
        inner = torch.stack([(g[i] * d[i].to(g[i].dtype)).sum() for i in reached]).sum()
        with differentiable_attention():  # a checkpointed layer recomputes as it first ran
            hv = torch.autograd.grad(inner, [params[i] for i in reached], allow_unused=True)
        curvature = sum(
            float(torch.dot(h.reshape(-1).double(), d[i].reshape(-1).double()))
            for i, h in zip(reached, hv)
            if h is not None
        )
        out[name] = Directional(loss.detach().item(), dot(grads[name], d), curvature)
    return d, out


# --------------------------------------------------------------------------- GeN probes


def gen_probe_errors(
    loss_fn: LossFn,
    params: Sequence[torch.nn.Parameter],
    direction: Grads,
    sizes,
    exact: Directional,
) -> pd.DataFrame:
    """GeN's three-point estimates of g.d and d^T H d (``autolr.fit_three_point``) at each
    probe size eta, against ``exact``: columns size, slope, curvature, slope_rel_error,
    curvature_rel_error. The loss at theta is probed with the same forward as the
    others (so that its rounding is the probes' own)."""
    rows = []
    loss0 = loss_along(loss_fn, params, direction, [0.0])[0]
    for eta in np.asarray(sizes, dtype=float):
        loss_plus, loss_minus = loss_along(loss_fn, params, direction, [eta, -eta])
        fit = fit_three_point(float(eta), loss_minus, loss0, loss_plus)
        rows.append(
            {
                "size": float(eta),
                "slope": fit.slope,
                "curvature": fit.curvature,
                "slope_rel_error": abs(fit.slope - exact.slope) / abs(exact.slope),
                "curvature_rel_error": abs(fit.curvature - exact.curvature) / abs(exact.curvature),
            }
        )
    return pd.DataFrame(rows)


def best_probe(errors: pd.DataFrame, column: str) -> tuple[float, float]:
    """(probe size, relative error) where ``column`` is smallest."""
    row = errors.loc[errors[column].idxmin()]
    return float(row["size"]), float(row[column])
