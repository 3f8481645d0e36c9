"""Notebook 03's figures: Fig. 3 (L_R and L_F along their gradients, the fitted and the
exact Eq. 6 parabola), the fits along g_NGDiff across steps (Remark 4.1), and GeN's
three-point probe error against the probe size.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..style import color, signed_step_axes
from .claims import eta_star_ratio, far_off
from .visits import Snapshot


def plot_fig3(snapshot: Snapshot, note: str = ""):
    """Fig. 3: markers L_R(theta - eta g_R), L_F(theta - eta g_F); the least-squares
    parabola (solid, R^2 in the panel) and Eq. 6 with the exact derivatives (dashed)."""
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
    signed_step_axes(
        ax_c,
        1e-2,
        "fitted curvature $d^T H d$ (symlog)",
        "(b) Remark 4.1: curvature along $g_{NGDiff}$ (want > 0)",
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
