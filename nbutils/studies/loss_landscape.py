"""Notebook 03: the loss landscape along gradient directions (NGDiff Fig. 3, Eq. 6,
Remark 4.1) and how well GeN's three-point probe sees it.

Two visits for a run's steps (``engine.lm.unlearn_lm(..., visit=...)``): ``Snapshot``
measures Fig. 3 and the GeN probes at one step; ``ngdiff_fit_visit`` fits parabolas to
L_R and L_F along the NGDiff direction at every step (Remark 4.1) and, at one step,
GeN's three-point estimate at AutoLR's own probe size. The measuring itself (probes,
exact derivatives by double backward) is ``engine.probes``.

Claims (``measure_*``, ``CLAIMS_BY_FIGURE``): Eq. 6 / Fig. 3 (quadratic fits) and
Remark 4.1 (positive fitted curvature) per NGDiff run, on NGDiff's own runs only; GeN's
curvature at the step's rate per NGDiff run (evidence); the Fig. 3 showcase's positive
curvature (sanity: its grid is built around a minimum), each task flagged when its
fitted eta* is 2x or more off the exact one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from .. import claims
from ..engine.directions import direction
from ..engine.executor import execute
from ..engine.gradients import Grads, task_gradient
from ..engine.probes import (
    directional,
    fit_along,
    gen_probe_errors,
    range_grid,
    useful_range,
)
from ..engine.runs import Grid, walk_job
from ..engine.unlearner import StepContext
from .style import color


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


# --------------------------------------------------------------------------- claims

QUADRATIC = "ngdiff.fig3.quadratic_in_most_iterations"
REMARK41 = "ngdiff.remark4_1.fitted_curvature_positive"
SHOWCASE = "ngdiff.fig3.showcase_fit_curvature_positive"
GEN = "gen.three_point_probe_recovers_curvature"
CLAIMS_BY_FIGURE = {
    "fig3_landscape": (SHOWCASE,),
    "fig3_curvature": (QUADRATIC, REMARK41),
    "gen_probe_error": (GEN,),
}
R2_GOOD = 0.95  # "well fitted"
FAR = 2.0  # the showcase's fitted eta* this far (x or 1/x) from the exact one is flagged


def _own_runs(fits: pd.DataFrame, label: str) -> pd.DataFrame:
    rows = fits[fits["label"] == label] if "label" in fits else fits
    return rows.dropna(subset=["r2_retain", "r2_forget"])


def measure_quadratic(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """Eq. 6 / Fig. 3 per run of ``label`` only (``ngdiff_fit_visit`` rows with ``label``
    and ``seed``): the share of its steps where the parabolas of L_R and of L_F along
    g_NGDiff both have R^2 >= 0.95."""
    rows = _own_runs(fits, label)
    good = (rows["r2_retain"] >= R2_GOOD) & (rows["r2_forget"] >= R2_GOOD)
    share = good.groupby(rows["seed"]).mean()
    return claims.measurement(QUADRATIC, draw, share.to_numpy(), seeds=share.index.tolist())


def measure_remark41(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """Remark 4.1 per run of ``label`` only: the share of its steps where the fitted
    curvatures of L_R and of L_F along g_NGDiff are both positive."""
    rows = _own_runs(fits, label)
    convex = (rows["curvature_retain"] > 0) & (rows["curvature_forget"] > 0)
    share = convex.groupby(rows["seed"]).mean()
    return claims.measurement(REMARK41, draw, share.to_numpy(), seeds=share.index.tolist())


def measure_gen(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """GeN per run of ``label``: the relative error of its three-point d^T H_R d at the
    step's rate against the exact float64 value, at the step where the visit measured it
    (``ngdiff_fit_visit(gen_step=...)``); column ``size`` holds that rate."""
    rows = fits[fits["label"] == label] if "label" in fits else fits
    rows = rows.dropna(subset=["gen_curvature_rel_error"])
    out = claims.measurement(
        GEN, draw, rows["gen_curvature_rel_error"].to_numpy(), seeds=rows["seed"].tolist()
    )
    out["size"] = rows["gen_size"].to_numpy()
    return out


def eta_star_ratio(part: dict) -> float:
    """Fitted over exact eta* of one task of the showcase (NaN when either has none)."""
    fitted, exact = part["fit"].eta_star, part["exact"].eta_star
    return fitted / exact if math.isfinite(fitted) and math.isfinite(exact) else math.nan


def far_off(ratio: float, far: float = FAR) -> bool:
    """Whether a fitted/exact eta* ratio is ``far`` or more off (or missing)."""
    return not (1 / far < ratio < far)


def measure_showcase(snapshot: Snapshot, draw: int, seed: int) -> pd.DataFrame:
    """The Fig. 3 showcase (sanity: its grid is built around the minimum, so the fitted
    curvature is positive by construction): one row per task, its fitted curvature,
    with ``task``, ``eta_star_ratio`` (fitted / exact) and ``flagged`` (2x or more off,
    or no exact minimum)."""
    tasks = list(snapshot.fig3)
    out = claims.measurement(
        SHOWCASE,
        draw,
        [snapshot.fig3[t]["fit"].curvature for t in tasks],
        seeds=[seed] * len(tasks),
    )
    ratios = [eta_star_ratio(snapshot.fig3[t]) for t in tasks]
    out["task"] = tasks
    out["eta_star_ratio"] = ratios
    out["flagged"] = [far_off(r) for r in ratios]
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
        ratio = eta_star_ratio(part)
        flag = f"\nFLAG: fitted $\\eta^*$ {ratio:.2g}x the exact one" if far_off(ratio) else ""
        ax.text(
            0.5,
            0.95,
            f"$R^2$ = {fit.r2:.4f}\nfitted $\\eta^*$ = {fit.eta_star:.3g}, "
            f"exact $\\eta^*$ = {exact.eta_star:.3g}{flag}",
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


def plot_probe_errors(gen: dict, note: str = "", per_run: pd.DataFrame | None = None):
    """GeN's relative error against the probe size eta (log-log), for g_R.d and d^T H_R d,
    in float32 and float64, with the slopes of truncation (eta^2) and round-off
    (eps/eta, eps/eta^2) and the learning rate AutoLR would probe at; ``per_run``
    (``measure_gen``'s rows: ``size``, ``value``) adds each run's curvature error at
    its own rate (the evidence of the GeN claim)."""
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
        if quantity == "curvature" and per_run is not None and len(per_run):
            ax.scatter(
                per_run["size"],
                per_run["value"],
                marker="*",
                s=90,
                color="#ff7f0e",
                edgecolor="black",
                zorder=5,
                label="each NGDiff run at its rate",
            )
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
