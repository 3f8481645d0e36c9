"""NGDiff's Fig. 1: final losses and final ROUGE of both GDiff(c) sweeps and the markers,
the tuned sweep's dominated area and the non-dominated points."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..style import color, gdiff_color, marker

UNFILLED = ("x", "+", "1", "2", "3", "4")
COLLAPSE_MARK = r"$\dagger$"  # a mean point with diverged (collapsed) runs


def _sweep(ax, points: pd.DataFrame, cs, x: str, y: str, *, fmt: str, ls: str, text: str):
    """One GDiff(c) sweep on one panel: a line through the mean points in the order of c,
    a marker per c coloured by c, error bars of one std over seeds."""
    ax.plot(points[x], points[y], ls, color=gdiff_color(0.6), lw=1.2, zorder=1)
    for i, ((_, row), c) in enumerate(zip(points.iterrows(), cs)):
        ax.errorbar(
            row[x],
            row[y],
            xerr=row[f"{x}_std"],
            yerr=row[f"{y}_std"],
            fmt=fmt,
            ms=6,
            color=gdiff_color(c),
            mec="black" if fmt == "s" else gdiff_color(c),
            mew=0.5,
            ecolor=gdiff_color(c),
            elinewidth=0.8,
            label=text if i == 0 else None,
            zorder=2,
        )


def plot_pareto(
    axes,
    common: pd.DataFrame,
    common_cs: list[float],
    tuned: pd.DataFrame,
    tuned_cs: list[float],
    methods: pd.DataFrame,
    log_v: float,
    frontier_labels: list[str],
    common_lr: float | None = None,
):
    """Fig. 1: (a) final L_F vs L_R, (b) final ROUGE_F vs ROUGE_R.

    ``common`` and ``tuned`` are ``mean_points`` tables of the two GDiff(c) sweeps (rows
    in the order of ``common_cs`` and ``tuned_cs``), ``methods`` of the markers and the
    reference models, all from collapsed finals (``collapse``). Common-rate sweep:
    circles joined by a dashed line; tuned sweep: squares joined by a solid line; both
    coloured by c. A point with collapsed runs carries a dagger (†): some of its runs
    diverged and count as collapse points (ROUGE 0, losses at log V). Error bars: one
    std over seeds. The shaded area of panel (b) is what the tuned sweep's mean points
    dominate down to (ROUGE_F, ROUGE_R) = (1, 0): its hypervolume, the frontier the
    claims score against.
    ``frontier_labels``: the non-dominated points of panel (b), ringed in black.
    """
    loss_ax, rouge_ax = axes
    rate = f" {common_lr:.3g}" if common_lr is not None else ""
    panels = (
        (loss_ax, "split_loss_forget", "split_loss_retain"),
        (rouge_ax, "rouge_forget", "rouge_retain"),
    )
    every = pd.concat([common, tuned, methods])
    crossed = every[every.get("collapsed", pd.Series(0, index=every.index)) > 0]
    for ax, x, y in panels:
        _sweep(ax, common, common_cs, x, y, fmt="o", ls="--", text=f"GDiff(c), one rate{rate}")
        _sweep(ax, tuned, tuned_cs, x, y, fmt="s", ls="-", text="GDiff(c), each c tuned")
        for label, row in methods.iterrows():
            ax.errorbar(
                row[x],
                row[y],
                xerr=row[f"{x}_std"],
                yerr=row[f"{y}_std"],
                fmt=marker(label),
                ms=13 if label.startswith("NGDiff") else 8,
                color=color(label),
                mec=color(label) if marker(label) in UNFILLED else "black",
                mew=0.6,
                elinewidth=0.8,
                label=label,
                zorder=3,
            )
        if len(crossed):
            ax.scatter(
                crossed[x],
                crossed[y],
                marker=COLLAPSE_MARK,
                s=90,
                color="black",
                label="† some runs diverged: collapse points (ROUGE 0, losses at log V)",
                zorder=5,
            )
    order = np.argsort(tuned["rouge_forget"].to_numpy())
    forget = np.append(tuned["rouge_forget"].to_numpy()[order], 1.0)
    kept = np.maximum.accumulate(tuned["rouge_retain"].to_numpy()[order])
    rouge_ax.fill_between(
        forget,
        0,
        np.append(kept, kept[-1]) if len(kept) else [0],
        step="post",
        color=gdiff_color(0.5),
        alpha=0.12,
        lw=0,
        label="dominated by the tuned GDiff(c) (hypervolume)",
        zorder=0,
    )
    ringed = every.loc[[label for label in frontier_labels if label in every.index]]
    rouge_ax.scatter(
        ringed["rouge_forget"],
        ringed["rouge_retain"],
        s=260,
        facecolors="none",
        edgecolors="black",
        lw=1.0,
        label="non-dominated (ROUGE space)",
        zorder=4,
    )
    loss_ax.axvline(log_v, color="grey", ls="--", lw=1)
    loss_ax.axhline(log_v, color="grey", ls="--", lw=1, label=f"random guess log V = {log_v:.2f}")
    loss_ax.legend(handles=loss_ax.get_lines()[-1:], loc="upper left", fontsize=8)
    loss_ax.set(
        xscale="log",
        yscale="log",
        xlabel="forget loss L_F (nats/token, log scale) → forgets",
        ylabel="retain loss L_R (nats/token, log scale) ↓",
        title="(a) final losses",
    )
    rouge_ax.set(
        xlabel="ROUGE_F (Verbmem, ROUGE-L recall on F) ↓",
        ylabel="ROUGE_R (Utility, ROUGE-L recall on R) ↑",
        xlim=(-0.05, 1.05),
        ylim=(-0.05, 1.05),
        title="(b) final ROUGE",
    )
    rouge_ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    return axes
