"""Theorem 5 of NGDiff on real NGDiff steps: (1) a small enough step along -d lowers L_R
and raises L_F; (2) with positive curvatures d^T H_R d and d^T H_F d, below a bound on
the rate. ``theorem5_visit`` probes theta_t (exact slopes and curvatures by double
backward, measured changes along -eta d); ``theorem5_summary`` shares them over steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ...engine import directions
from ...engine.gradients import Grads
from ...engine.probes import directional_many, loss_along


def theorem5_visit(etas: Sequence[float]):
    """A visit (``engine.lm.unlearn_lm(..., visit=...)``) checking Theorem 5 at theta_t
    along the NGDiff direction d of the step's own batches: the exact g_R.d, g_F.d, d^T H_R d and
    d^T H_F d (double backward), and the measured changes
    L_w(theta - eta d) - L_w(theta) for each eta in ``etas`` and for the step's rate."""

    def visit(ctx) -> dict:
        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}

        def ngdiff(grads: dict) -> Grads:
            return directions.direction("ngdiff", grads["retain"], grads["forget"]).d

        d, exact = directional_many(losses, ctx.params, ngdiff)
        row = {}
        sizes = [*etas, ctx.lr]
        for task, loss_fn in losses.items():
            row[f"slope_{task}"] = exact[task].slope
            row[f"curvature_{task}"] = exact[task].curvature
            values = loss_along(loss_fn, ctx.params, d, [0.0, *sizes])
            for name, change in zip([*map(eta_name, etas), "lr"], values[1:] - values[0]):
                row[f"change_{task}_{name}"] = float(change)
        return row

    return visit


def eta_name(eta: float) -> str:
    return f"{eta:g}"


def theorem5_summary(steps: pd.DataFrame, etas: Sequence[float]) -> dict:
    """Shares over steps: L_R decreases and L_F increases along -eta d (each eta and the
    step's own rate); the curvature condition of part (2) fails; the rate used lies
    below part (2)'s bound 2 g_R.d / d^T H_R d (where that bound exists)."""
    out = {"steps": int(len(steps))}
    for name in [*map(eta_name, etas), "lr"]:
        both = (steps[f"change_retain_{name}"] < 0) & (steps[f"change_forget_{name}"] > 0)
        out[f"share_both_{name}"] = float(both.mean())
        out[f"share_retain_down_{name}"] = float((steps[f"change_retain_{name}"] < 0).mean())
        out[f"share_forget_up_{name}"] = float((steps[f"change_forget_{name}"] > 0).mean())
    fails = (steps["curvature_retain"] <= 0) | (steps["curvature_forget"] <= 0)
    out["share_curvature_condition_fails"] = float(fails.mean())
    out["share_retain_curvature_nonpositive"] = float((steps["curvature_retain"] <= 0).mean())
    out["share_forget_curvature_nonpositive"] = float((steps["curvature_forget"] <= 0).mean())
    # part (2)'s guarantee for L_R at the rate used: positive curvature and lr < bound
    bound = (
        2 * steps["slope_retain"] / steps["curvature_retain"].where(steps["curvature_retain"] > 0)
    )
    out["share_lr_below_bound"] = float((steps["lr"] < bound).mean())
    out["share_slope_signs_eq7"] = float(
        ((steps["slope_retain"] >= 0) & (steps["slope_forget"] <= 0)).mean()
    )
    return out
