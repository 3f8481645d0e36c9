"""Every figure of notebook 07: the theorem's variance curves and grid (Recipe 2, Eq. 1),
Recipe 1's gradient norms, and the official runs' ROUGE (Algorithm 1; NGDiff beside it).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import stats
from ..style import color
from .quadratics import MOMENTUM_SCHEMES
from .verdicts import final_rouge_retain


def plot_variance(table: pd.DataFrame, sweep: pd.DataFrame | None, *, title: str):
    """Three panels: Var(theta_r,t) over t for both schemes (MC with its 95% band, exact
    dashed); the ratio decoupled/shared over t; the final ratio against the cross-task
    correlation rho for each tau of ``sweep`` (a ``grid`` over rho x tau; None: the
    panel says it was skipped)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for scheme in MOMENTUM_SCHEMES:
        col = f"{scheme}_retain"
        ax.plot(table.t, table[col], color=color(scheme), label=f"{scheme} (MC)")
        ax.fill_between(
            table.t,
            table[f"{col}_low"],
            table[f"{col}_high"],
            color=color(scheme),
            alpha=0.25,
            lw=0,
        )
        ax.plot(table.t, table[f"{col}_exact"], color=color(scheme), ls="--", lw=1, label="exact")
    ax.set(xlabel="outer step t", ylabel="Var(θ_r,t) over replicas", title="Variance of θ")
    ax.legend()
    ax = axes[1]
    ax.plot(table.t, table.ratio_retain, color=color("decoupled"), label="MC")
    ax.fill_between(
        table.t,
        table.ratio_retain_low,
        table.ratio_retain_high,
        color=color("decoupled"),
        alpha=0.25,
        lw=0,
        label="95% CI",
    )
    ax.plot(table.t, table.ratio_retain_exact, color="k", ls="--", lw=1, label="exact")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(
        xlabel="outer step t",
        ylabel="Var_decoupled / Var_shared",
        title="Ratio (theorem: ≤ 1 at every t)",
    )
    ax.legend()
    ax = axes[2]
    if sweep is None:
        ax.text(0.5, 0.5, "ρ sweep skipped (verdicts_only)", ha="center", va="center")
        ax.set_axis_off()
        fig.suptitle(title)
        return fig
    for tau, part in sweep.groupby("tau"):
        line = ax.plot(part.rho, part.ratio_exact, ls="--", lw=1)[0]
        ax.errorbar(
            part.rho,
            part.ratio,
            yerr=[part.ratio - part.ratio_low, part.ratio_high - part.ratio],
            fmt="o",
            ms=4,
            capsize=2,
            color=line.get_color(),
            label=f"τ = {tau:g}",
        )
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(
        xscale="linear",
        yscale="log",
        xlabel="cross-task noise correlation ρ",
        ylabel="final Var_decoupled / Var_shared",
        title="Assumption broken: ρ ≠ 0 (dots: MC, 95% CI)",
    )
    ax.legend(title="temporal corr.")
    fig.suptitle(title)
    return fig


def plot_theorem_grid(table: pd.DataFrame, *, title: str):
    """The theorem at every distinct setting of a ``theorem_grid``: one heatmap per
    temporal correlation tau, momentum a (rows) by step size eta (columns), coloured by
    the largest exact Var_decoupled / Var_shared over t (theta_f and theta_r); a cell
    where the theorem fails (decoupled above shared at some t, or a scheme diverging)
    is framed red and says why."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    taus = sorted(table.tau.unique())
    fig, axes = plt.subplots(1, len(taus), squeeze=False, figsize=(3.9 * len(taus) + 1, 3.6))
    norm = LogNorm(0.25, 4)
    image = None
    for ax, tau in zip(axes[0], taus):
        part = table[table.tau == tau]
        ratio, holds, div_s, div_d = (
            part.pivot(index="momentum", columns="lr", values=column)
            for column in ("ratio_max", "holds", "diverges_shared", "diverges_decoupled")
        )
        shown = ratio.where(~(div_s.astype(bool) | div_d.astype(bool))).clip(0.25, 4)
        image = ax.imshow(shown.to_numpy(dtype=float), cmap="RdBu_r", norm=norm, aspect="auto")
        for (r, c), value in np.ndenumerate(ratio.to_numpy(dtype=float)):
            s_div, d_div = bool(div_s.iloc[r, c]), bool(div_d.iloc[r, c])
            if s_div or d_div:
                text = "both div." if s_div and d_div else "S div." if s_div else "D div."
            else:
                text = f"{value:.2f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=8)
            if not holds.iloc[r, c]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="#c00000", lw=2))
        ax.set_xticks(range(len(ratio.columns)), [f"{v:g}" for v in ratio.columns])
        ax.set_yticks(range(len(ratio.index)), [f"{v:g}" for v in ratio.index])
        ax.set(xlabel="step size η (L = 1)", ylabel="momentum a", title=f"τ = {tau:g}, ρ = 0")
        ax.grid(False)
    fig.colorbar(
        image, ax=axes, label="max over t of Var_decoupled / Var_shared (exact)", shrink=0.85
    )
    fig.suptitle(title)
    return fig


def plot_grad_norms(steps: pd.DataFrame, *, title: str):
    """Recipe 1: ||grad L_f|| and ||grad L_r|| over gradient evaluations, one panel per
    optimizer (column ``optimizer`` of the long ``steps`` table, which also has ``seed``):
    median over seeds and min-max band, log scale."""
    panels = list(dict.fromkeys(steps.optimizer))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), sharey=True, squeeze=False
    )
    for ax, name in zip(axes[0], panels):
        part = steps[steps.optimizer == name]
        for task, hue in (("forget", "#d55e00"), ("retain", "#0173b2")):
            median = (
                part[part.task == task].groupby("budget").grad_norm.agg(["median", "min", "max"])
            )
            ax.plot(median.index, median["median"], color=hue, label=f"‖∇L_{task[0]}‖")
            ax.fill_between(median.index, median["min"], median["max"], color=hue, alpha=0.2, lw=0)
        n = part.seed.nunique()
        ax.set(
            yscale="log",
            xlabel="gradient evaluations (forget and retain steps)",
            ylabel="gradient norm (global L2)",
            title=f"{name}: median of {n} seeds, band min-max",
        )
        ax.legend()
    fig.suptitle(title)
    return fig


NGDIFF_DASHES = {"SGD": "-", "Adam": "--", "DualOptim": ":"}


def line_style(label: str) -> dict:
    """Colour and dash of a label: schemes by ``style.color``; ``NGDiff (...)`` labels in
    NGDiff's red, dashed by variant."""
    if label.startswith("NGDiff"):
        kind = next((k for k in NGDIFF_DASHES if k in label), "SGD")
        return {"color": color("NGDiff"), "ls": NGDIFF_DASHES[kind]}
    return {"color": color(label), "ls": "-"}


def _curves(ax, long: pd.DataFrame, x_label: str):
    """ROUGE_R (solid) and ROUGE_F (dotted) over ``budget`` per label: mean over seeds,
    band +-1 std (``stats.bands``)."""
    for metric, dash in (("rouge_retain", None), ("rouge_forget", ":")):
        band = stats.bands(long, metric, by="label", x="budget")
        for label, part in band.groupby("label", sort=False):
            look = line_style(label)
            ls = dash or look["ls"]
            name = label if metric == "rouge_retain" else None
            ax.plot(
                part["budget"],
                part["mean"],
                marker="o",
                ms=3,
                label=name,
                color=look["color"],
                ls=ls,
            )
            ax.fill_between(
                part["budget"], part["low"], part["high"], color=look["color"], alpha=0.12, lw=0
            )
    ax.set(xlabel=x_label, ylabel="ROUGE-L recall (R solid, F dotted)", ylim=(-0.03, 1.03))
    ax.legend(loc="center right", fontsize=8)


def _finals(ax, finals: pd.DataFrame, rates: dict | None = None):
    """Final ROUGE_F against ROUGE_R per run and label; a diverged run is an x at 0.
    The legend gives np.std over seeds (ddof 0) of ROUGE_R (and the tuned rate)."""
    for label, part in finals.groupby("label", sort=False):
        look = line_style(label)
        diverged = part["diverged_at"].notna()
        r = final_rouge_retain(part)
        f = part["rouge_forget"] if "rouge_forget" in part else pd.Series(np.nan, part.index)
        rate = f", lr_f {rates[label]:g}" if rates and label in rates else ""
        ax.scatter(
            f[~diverged],
            r[~diverged],
            color=look["color"],
            s=28,
            alpha=0.8,
            label=f"{label}{rate}: std_R {r.std(ddof=0):.3f}",
        )
        if diverged.any():
            ax.scatter(np.zeros(diverged.sum()), r[diverged], color=look["color"], marker="x")
    ax.axvline(stats.FORGET_BELOW, color="grey", lw=0.8, ls="--")
    ax.set(
        xlabel="final ROUGE_F (left of dashed: forgets)",
        ylabel="final ROUGE_R",
        xlim=(-0.03, 1.03),
        ylim=(-0.03, 1.03),
    )
    ax.legend(loc="lower right", fontsize=8)


def plot_official(
    long: pd.DataFrame,
    finals: pd.DataFrame,
    *,
    title: str,
    rates: dict[str, dict[str, float]] | None = None,
    ngdiff: tuple[pd.DataFrame, pd.DataFrame] | None = None,
):
    """One column per schedule (``schedule`` of ``long`` and ``finals``): ROUGE over the
    run's updates per scheme (``_curves``), and each run's final ROUGE_F against ROUGE_R
    (``_finals``; ``rates``: per schedule, label -> tuned forget rate). ``ngdiff``:
    (long, finals) of the NGDiff runs beyond both sources, a column of their own (over
    gradient evaluations)."""
    schedules = list(dict.fromkeys(finals["schedule"]))
    columns = len(schedules) + (ngdiff is not None)
    fig, axes = plt.subplots(2, columns, figsize=(5.6 * columns, 8.4), squeeze=False)
    for j, schedule in enumerate(schedules):
        _curves(axes[0, j], long[long["schedule"] == schedule], "updates (one batch of 16 each)")
        axes[0, j].set_title(f"T_f:T_r = {schedule}: mean over seeds, band ±1 std")
        _finals(axes[1, j], finals[finals["schedule"] == schedule], (rates or {}).get(schedule))
        axes[1, j].set_title(f"T_f:T_r = {schedule}: each seed's final model")
    if ngdiff is not None:
        curves, ends = ngdiff
        _curves(axes[0, -1], curves, "gradient evaluations (two per step)")
        axes[0, -1].set_title("Beyond both sources: NGDiff")
        _finals(axes[1, -1], ends)
        axes[1, -1].set_title("NGDiff: each seed's final model")
    fig.suptitle(title)
    return fig
