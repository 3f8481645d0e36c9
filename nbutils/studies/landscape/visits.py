"""Notebook 03's visits of a run's steps (``engine.lm.unlearn_lm(..., visit=...)``):
``Snapshot`` measures Fig. 3 (L_R, L_F along their own gradients, against Eq. 6's exact
parabola) and GeN's three-point probes at one step; ``ngdiff_fit_visit`` fits parabolas
to L_R and L_F along the NGDiff direction at every step (Remark 4.1) and, at one step,
GeN's estimate at AutoLR's own probe size; ``fit_walks`` walks every rule with it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch

from ...engine.directions import direction
from ...engine.executor import execute
from ...engine.gradients import Grads, task_gradient
from ...engine.probes import (
    directional,
    fit_along,
    gen_probe_errors,
    range_grid,
    useful_range,
)
from ...engine.runs import Grid, walk_job
from ...engine.unlearner import StepContext


def rules(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The rules whose landscapes are fitted along g_NGDiff at every step: NGDiff (the
    claims), GDiff-0.5 and LossNorm beside it (two at smoke size; NGDiff alone with
    ``verdicts_only``)."""
    if verdicts_only:
        return ["NGDiff"]
    return ["NGDiff", "GDiff-0.5"] if smoke else ["NGDiff", "GDiff-0.5", "LossNorm"]


def _norm(grads: Grads) -> float:
    return math.sqrt(
        sum(float(torch.dot(g.reshape(-1).double(), g.reshape(-1).double())) for g in grads)
    )


def _ngdiff(g_retain: Grads, g_forget: Grads) -> Grads:
    return direction("ngdiff", g_retain, g_forget).d


PROBE_SIZES = tuple(np.logspace(-7, 0, 15))  # GeN probe sizes eta: 1e-7 ... 1


class Snapshot:
    """A visit that, at step ``step``, measures Fig. 3 and the GeN probes.

    Fig. 3: L_R(theta - eta g_R) and L_F(theta - eta g_F) on the step's own batches over
    ``n_grid`` step sizes from -0.25 to 1.25 times the useful range (where the loss climbs
    back to L(theta), about 2 eta*), a least-squares parabola with R^2, and the exact
    Eq. 6 parabola (g.g by autograd, g^T H g by double backward).
    GeN: along NGDiff's d, the three-point estimates of g_R.d and d^T H_R d at each probe
    size in ``sizes``, in float32 (the model) and float64 (a copy), against the exact
    float64 values. Results are stored on the object (``fig3``, ``gen``).
    """

    def __init__(self, step: int, sizes=PROBE_SIZES, n_grid: int = 13):
        self.step, self.sizes, self.n_grid = step, np.asarray(sizes, dtype=float), n_grid
        self.fig3: dict = {}
        self.gen: dict = {}

    def __call__(self, ctx: StepContext) -> dict:
        if ctx.t != self.step:
            return {}
        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}
        grads = {k: task_gradient(f(), ctx.params) for k, f in losses.items()}
        for task, loss_fn in losses.items():
            g = grads[task]
            eta_max = useful_range(loss_fn, ctx.params, g, eta0=1e-4 / max(_norm(g) ** 2, 1e-12))
            etas = range_grid(eta_max, self.n_grid)
            fit, values = fit_along(loss_fn, ctx.params, g, etas)
            self.fig3[task] = {
                "eta": etas,
                "loss": values,
                "fit": fit,
                "exact": directional(loss_fn, ctx.params, g),
            }
        d = _ngdiff(grads["retain"], grads["forget"])
        loss64, params64, d64 = _float64_retain(ctx, d)
        loss32 = ctx.retain_loss()
        exact64 = directional(loss64, params64, d64)
        exact32 = directional(ctx.retain_loss(), ctx.params, d)
        self.gen = {
            "exact64": exact64,
            "exact32": exact32,
            "float32": gen_probe_errors(loss32, ctx.params, d, self.sizes, exact64),
            "float64": gen_probe_errors(loss64, params64, d64, self.sizes, exact64),
            "at_lr": gen_probe_errors(loss32, ctx.params, d, [ctx.lr], exact64),
            "lr": ctx.lr,
        }
        return {"snapshot": True}


def _float64_retain(ctx: StepContext, d: Grads):
    """The retain loss of a float64 copy of the model on the step's retain batch, its
    parameters and d in float64: for exact derivatives (double backward)."""
    model64 = copy.deepcopy(ctx.model).double()
    params64 = [p for p in model64.parameters() if p.requires_grad]
    loss64 = lambda: ctx.loss(model64, ctx.batch_retain)  # noqa: E731
    return loss64, params64, [v.double() for v in d]


def gen_at_rate(ctx: StepContext, d: Grads) -> dict:
    """GeN's three-point estimates of g_R.d and d^T H_R d at AutoLR's own probe size,
    the step's rate (float32 model, the step's retain batch), against the exact float64
    values: ``gen_size``, ``gen_slope_rel_error``, ``gen_curvature_rel_error``,
    ``gen_exact_curvature``."""
    loss64, params64, d64 = _float64_retain(ctx, d)
    exact64 = directional(loss64, params64, d64)
    at = gen_probe_errors(ctx.retain_loss(), ctx.params, d, [ctx.lr], exact64).iloc[0]
    return {
        "gen_size": float(ctx.lr),
        "gen_slope_rel_error": float(at["slope_rel_error"]),
        "gen_curvature_rel_error": float(at["curvature_rel_error"]),
        "gen_exact_curvature": exact64.curvature,
    }


def ngdiff_fit_visit(xs, gen_step: int | None = None) -> Callable[[StepContext], dict]:
    """A visit: at theta_t, on the step's batches, fit parabolas to L_R and
    L_F along -x d for x in ``xs``, with d the NGDiff direction of the step's gradients
    (Eq. 6, Remark 4.1): columns ``r2_<task>``, ``slope_<task>``, ``curvature_<task>``;
    at step ``gen_step`` also ``gen_at_rate``'s columns."""
    xs = np.asarray(xs, dtype=float)

    def visit(ctx: StepContext) -> dict:
        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}
        grads = {k: task_gradient(f(), ctx.params) for k, f in losses.items()}
        d = _ngdiff(grads["retain"], grads["forget"])
        row = {}
        for task, loss_fn in losses.items():
            fit, _ = fit_along(loss_fn, ctx.params, d, xs)
            row.update(
                {
                    f"r2_{task}": fit.r2,
                    f"slope_{task}": fit.slope,
                    f"curvature_{task}": fit.curvature,
                }
            )
        if ctx.t == gen_step:
            row.update(gen_at_rate(ctx, d))
        return row

    return visit


def fit_walks(target, bench, rates: dict[str, float], protocol, seeds, xs, gen_step: int):
    """Every rule (name -> its tuned rate) walked on every seed with ``ngdiff_fit_visit``
    (GeN's probe at ``gen_step`` on NGDiff's own walks only), in one batch of the
    executor: the histories with ``label`` and ``seed``."""
    xs = tuple(float(x) for x in xs)
    jobs = [
        walk_job(target, bench, rule, lr, protocol, s, ngdiff_fit_visit, (xs, gen))
        for rule, lr in rates.items()
        for s in seeds
        for gen in [gen_step if rule == "NGDiff" else None]
    ]
    return Grid(execute(jobs, desc="fits along g_NGDiff")).histories
