"""Notebook 03: the loss landscape along gradient directions (NGDiff Fig. 3, Eq. 6,
Remark 4.1) and how well GeN's three-point probe sees it.

Two visits for a run's steps (``engine.lm.unlearn_lm(..., visit=...)``): ``Snapshot``
measures Fig. 3 and the GeN probes at one step; ``ngdiff_fit_visit`` fits parabolas to
L_R and L_F along the NGDiff direction at every step (Remark 4.1). The measuring itself
(probes, exact derivatives by double backward) is ``engine.probes``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from ..engine.directions import direction
from ..engine.gradients import Grads, task_gradient
from ..engine.probes import (
    directional,
    fit_along,
    gen_probe_errors,
    range_grid,
    useful_range,
)
from ..engine.unlearner import StepContext
from .style import color


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
        model64 = copy.deepcopy(ctx.model).double()
        params64 = [p for p in model64.parameters() if p.requires_grad]
        d64 = [v.double() for v in d]
        loss64 = lambda: ctx.loss(model64, ctx.batch_retain)  # noqa: E731
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


def ngdiff_fit_visit(xs) -> Callable[[StepContext], dict]:
    """A visit: at theta_t, on the step's batches, fit parabolas to L_R and
    L_F along -x d for x in ``xs``, with d the NGDiff direction of the step's gradients
    (Eq. 6, Remark 4.1): columns ``r2_<task>``, ``slope_<task>``, ``curvature_<task>``."""
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
        return row

    return visit


# --------------------------------------------------------------------------- summaries


def curvature_summary(fits: pd.DataFrame, tasks=("retain", "forget")) -> dict:
    """Median R^2, share of R^2 >= 0.95 and share of positive fitted curvature per task,
    from columns ``r2_<task>`` and ``curvature_<task>``."""
    out = {}
    for task in tasks:
        r2 = fits[f"r2_{task}"].to_numpy(float)
        curv = fits[f"curvature_{task}"].to_numpy(float)
        out[f"median_r2_{task}"] = float(np.median(r2))
        out[f"share_r2_ge_095_{task}"] = float(np.mean(r2 >= 0.95))
        out[f"share_positive_curvature_{task}"] = float(np.mean(curv > 0))
    return out


# --------------------------------------------------------------------------- figures


def plot_fig3(snapshot: Snapshot, note: str = ""):
    """Fig. 3: markers L_R(theta - eta g_R), L_F(theta - eta g_F); the least-squares
    parabola (solid, R^2 in the panel) and Eq. 6 with the exact derivatives (dashed)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, task in zip(axes, ("retain", "forget")):
        sym = "R" if task == "retain" else "F"
        part = snapshot.fig3[task]
        etas, fit, exact = part["eta"], part["fit"], part["exact"]
        fine = np.linspace(etas.min(), etas.max(), 200)
        ax.plot(etas, part["loss"], "o", color="black", label="measured")
        ax.plot(fine, fit(fine), color="#d62728", label="least-squares quadratic")
        ax.plot(fine, exact.parabola()(fine), "--", color="#1f77b4", label="Eq. 6, exact g, H")
        ax.set(
            xlabel="learning rate $\\eta$",
            ylabel=f"$L_{sym}(\\theta_t - \\eta g_{sym})$ (nats/token)",
            title=f"$L_{sym}$ along $-g_{sym}$ at step {snapshot.step}",
            ylim=(min(part["loss"].min(), fit(fine).min()) * 0.9 - 1e-3, part["loss"].max() * 1.15),
        )
        ax.text(
            0.5,
            0.95,
            f"$R^2$ = {fit.r2:.4f}\nfitted $\\eta^*$ = {fit.eta_star:.3g}, "
            f"exact $\\eta^*$ = {exact.eta_star:.3g}",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9,
        )
        ax.legend(loc="lower left", fontsize=8)
    if note:
        fig.suptitle(note, fontsize=10)
    return fig


def plot_curvature(fits: pd.DataFrame, note: str = ""):
    """Across steps: (a) the distribution (ECDF) of R^2 of the fits along g_NGDiff for
    L_R and L_F, per rule of the trajectory; (b) the fitted curvature d^T H d per step."""
    import matplotlib.pyplot as plt

    fig, (ax, ax_c) = plt.subplots(1, 2, figsize=(12, 4.3))
    for label, part in fits.groupby("label", sort=False):
        for task, ls in (("retain", "-"), ("forget", "--")):
            r2 = np.sort(part[f"r2_{task}"].to_numpy())
            ax.step(
                r2,
                np.arange(1, len(r2) + 1) / len(r2),
                where="post",
                ls=ls,
                color=color(label),
                label=f"{label}, $L_{'R' if task == 'retain' else 'F'}$",
            )
            ax_c.scatter(
                part["step"],
                part[f"curvature_{task}"],
                s=9,
                marker="o" if task == "retain" else "s",
                color=color(label),
                alpha=0.7,
                label=f"{label}, $d^T H_{'R' if task == 'retain' else 'F'} d$",
            )
    ax.axvline(0.95, color="grey", lw=0.8, ls=":")
    ax.set(
        xlabel="$R^2$ of the quadratic fit along $-\\eta\\, g_{NGDiff}$",
        ylabel="share of steps with $R^2$ at most x",
        title="(a) how quadratic the losses are, every step",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax_c.axhline(0, color="black", lw=0.8)
    ax_c.set_yscale("symlog", linthresh=1e-2)
    ax_c.set(
        xlabel="unlearning step t",
        ylabel="fitted curvature $d^T H d$ (symlog)",
        title="(b) Remark 4.1: curvature along $g_{NGDiff}$ (want > 0)",
    )
    ax_c.legend(fontsize=7, ncol=2)
    if note:
        fig.suptitle(note, fontsize=10)
    return fig


def plot_probe_errors(gen: dict, note: str = ""):
    """GeN's relative error against the probe size eta (log-log), for g_R.d and d^T H_R d,
    in float32 and float64, with the slopes of truncation (eta^2) and round-off
    (eps/eta, eps/eta^2) and the learning rate AutoLR would probe at."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.3), sharey=True)
    for ax, quantity, power, name in (
        (axes[0], "slope", 1, "$g_R \\cdot d$"),
        (axes[1], "curvature", 2, "$d^T H_R d$"),
    ):
        for dtype, style in (("float32", "o-"), ("float64", "s--")):
            errors = gen[dtype]
            ax.loglog(errors["size"], errors[f"{quantity}_rel_error"], style, label=dtype)
        sizes = gen["float32"]["size"].to_numpy()
        e32 = gen["float32"][f"{quantity}_rel_error"].to_numpy()
        anchor = int(np.argmin(e32))
        ax.loglog(
            sizes,
            e32[anchor] * (sizes / sizes[anchor]) ** 2,
            ":",
            color="grey",
            label="$\\propto \\eta^2$ (truncation)",
        )
        ax.loglog(
            sizes,
            e32[anchor] * (sizes[anchor] / sizes) ** power,
            "-.",
            color="grey",
            label=f"$\\propto \\epsilon/\\eta^{power}$ (round-off)",
        )
        ax.axvline(gen["lr"], color="#ff7f0e", lw=1, label=f"AutoLR probe = lr {gen['lr']:g}")
        ax.set(
            xlabel="probe size $\\eta$",
            title=f"GeN's estimate of {name}",
            ylim=(max(1e-14, np.nanmin(gen["float64"][f"{quantity}_rel_error"]) / 10), 1e3),
        )
        ax.legend(fontsize=7, loc="upper center")
    axes[0].set_ylabel("relative error vs exact (double backward, float64)")
    if note:
        fig.suptitle(note, fontsize=10)
    return fig
