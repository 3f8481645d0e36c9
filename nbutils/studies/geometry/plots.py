"""Notebook 01's figures beyond Fig. 2 (``plane``): the Eq. 7 (Lemma 4) sign checks per
rule with the random pairs' map, and Theorem 5 on real NGDiff steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..style import color, gdiff_color, signed_step_axes
from .claims import IDENTITIES
from .eq7 import gdiff_boundary
from .theorem5 import eta_name


def plot_sign_checks(
    table: pd.DataFrame,
    random_checks: pd.DataFrame,
    draws: pd.DataFrame,
    *,
    map_method: str = "GDiff-0.5",
    max_points: int = 4000,
    seeds_note: str = "",
    identities: Sequence[str] = tuple(IDENTITIES),
):
    """Two panels: (a) share of cases satisfying Eq. 7 per method for the random,
    adversarial and real columns of ``table`` (index: methods), the rules in
    ``identities`` (Eq. 7 by Cauchy-Schwarz: sanity, not evidence) marked in their tick
    labels; (b) the random pairs in the (cos, log10 ratio) plane, coloured by whether
    ``map_method`` satisfies Eq. 7, with the closed-form GDiff(c) boundaries."""
    fig, (ax, ax_map) = plt.subplots(1, 2, figsize=(13, 4.6), width_ratios=[1.5, 1])
    columns = [c for c in ("random", "adversarial", "real") if c in table]
    x = np.arange(len(table))
    width = 0.8 / len(columns)
    hatches = {"random": "", "adversarial": "//", "real": ".."}
    for k, column in enumerate(columns):
        ax.bar(
            x + (k - (len(columns) - 1) / 2) * width,
            table[column],
            width,
            color=[color(m) for m in table.index],
            edgecolor="black",
            hatch=hatches[column],
            label=column,
        )
    ticks = [f"{m} (identity)" if m in identities else m for m in table.index]
    ax.set_xticks(x, ticks, rotation=35, ha="right")
    ax.set(ylim=(0, 1.16), ylabel="share of cases with $g_R\\cdot d \\geq 0 \\geq g_F\\cdot d$")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_title("(a) Eq. 7 satisfied, per rule" + (f" ({seeds_note})" if seeds_note else ""))
    legend_bars = [
        plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch=hatches[c])
        for c in columns
    ]
    ax.legend(legend_bars, columns, loc="upper center", ncol=len(columns), fontsize="small")

    merged = random_checks[random_checks.method == map_method].merge(draws, on="pair")
    if len(merged) > max_points:
        merged = merged.sample(max_points, random_state=0)
    for holds, style in ((True, dict(color="#bbbbbb", s=4)), (False, dict(color="#d62728", s=6))):
        part = merged[merged.holds == holds]
        ax_map.scatter(
            part.cos,
            part.log10_ratio,
            label=f"{map_method}: {'holds' if holds else 'violates'} Eq. 7",
            **style,
        )
    lr_axis = np.linspace(draws.log10_ratio.min(), draws.log10_ratio.max(), 400)
    for c in (0.1, 0.5, 0.9):
        ax_map.plot(
            np.clip(gdiff_boundary(c, lr_axis), -1, 1),
            lr_axis,
            color=gdiff_color(c),
            lw=1.6,
            label=f"GDiff-{c:g} boundary",
        )
    ax_map.set(
        xlabel="cos($g_R$, $g_F$)",
        ylabel="log$_{10}$ $\\|g_F\\| / \\|g_R\\|$",
        title=f"(b) {len(merged)} random pairs: where {map_method} leaves Eq. 7",
        xlim=(-1, 1),
    )
    ax_map.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, markerscale=2
    )
    ax_map.text(
        -0.97,
        ax_map.get_ylim()[1],
        "GDiff(c) satisfies Eq. 7 left of its line",
        fontsize=8,
        va="top",
    )
    return fig


def plot_theorem5(steps: pd.DataFrame, etas: Sequence[float], seeds_note: str = ""):
    """Three panels over the steps of NGDiff runs: the measured change of L_R and of L_F
    along -eta d for each eta (and the step's own rate), and the exact curvatures
    d^T H_R d, d^T H_F d. Symmetric-log axes; the zero line separates the signs."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    names = [*map(eta_name, etas), "lr"]
    palette = plt.cm.viridis(np.linspace(0, 0.9, len(names)))
    for ax, task, want in zip(axes[:2], ("retain", "forget"), ("< 0", "> 0")):
        for name, col in zip(names, palette):
            label = f"$\\eta$ = {name}" if name != "lr" else "$\\eta$ = the step's rate"
            ax.scatter(steps["step"], steps[f"change_{task}_{name}"], s=8, color=col, label=label)
        sym = "R" if task == "retain" else "F"
        signed_step_axes(
            ax,
            1e-6,
            f"$L_{sym}(\\theta_t - \\eta d) - L_{sym}(\\theta_t)$ (nats/token)",
            f"$L_{sym}$ change along NGDiff d (want {want})",
        )
    axes[0].legend(fontsize=7, loc="best")
    ax = axes[2]
    for task, marker in (("retain", "o"), ("forget", "s")):
        sym = "R" if task == "retain" else "F"
        ax.scatter(
            steps["step"], steps[f"curvature_{task}"], s=10, marker=marker, label=f"$d^T H_{sym} d$"
        )
    signed_step_axes(
        ax,
        1e-3,
        "exact curvature (double backward)",
        "Theorem 5 (2): curvature along d (want > 0)",
    )
    ax.legend(fontsize=8)
    if seeds_note:
        fig.suptitle(f"Theorem 5 on real NGDiff steps ({seeds_note})", fontsize=11)
    return fig
