"""Notebook 05's figures: Fig. 7 (gradient norms, eta_t and the effective step per
task, one row per optimizer) and AutoLR's own settings with its cost timed on paired
runs (Appendix C.1).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import stats
from ...engine.runs import Grid
from ...stats import FORGET_BELOW
from .. import style
from ..lr.plots import NAMES
from ..style import Line
from .timing import timing_per_seed
from .trace import traces


def plot_trace_row(axes, every: pd.DataFrame, main: str, eta_lines: dict[str, Line]) -> None:
    """One row of Fig. 7 on three ``axes`` from ``traces``: (a) ||g_R|| and ||g_F|| of
    the run ``main`` (geometric mean, band x/ geometric std over seeds), (b) eta_t of the
    runs in ``eta_lines`` (one thin line per seed), (c) eta_t / ||g_R|| and eta_t /
    ||g_F|| of ``main``. Crosses mark AutoLR updates whose fit was rejected (eta kept);
    dotted verticals the updates of ``main``."""
    ours = every[every["label"] == main] if len(every) else every
    for ax, pair, ylabel in (
        (axes[0], ("grad_norm_retain", "grad_norm_forget"), "gradient norm (L2, all parameters)"),
        (axes[2], ("step_retain", "step_forget"), "eta_t / ||g||"),
    ):
        for column, color, text in zip(
            pair, (style.color("retain"), style.color("forget")), ("retain (R)", "forget (F)")
        ):
            if ours.empty:
                continue
            band = stats.geometric_bands(ours, column)
            ax.plot(band["step"], band["mean"], color=color, label=text)
            ax.fill_between(band["step"], band["low"], band["high"], color=color, alpha=0.2)
            kept = ours[ours["kept"]]
            ax.scatter(kept["step"], kept[column], marker="x", color="black", zorder=3, s=30)
        if not ours.empty:
            for step in sorted(ours.loc[ours["autolr_step"], "step"].unique()):
                ax.axvline(step, color="grey", lw=0.6, ls=":")
        ax.set(yscale="log", xlabel="unlearning step", ylabel=ylabel)
        ax.legend(fontsize="small")
    ax = axes[1]
    for label, line in eta_lines.items():
        runs = every[every["label"] == label] if len(every) else every
        for i, (_, run) in enumerate(runs.groupby("seed")):
            line.plot(ax, run["step"], run["lr"], label=line.text if i == 0 else None)
            kept = run[run["kept"]]
            ax.scatter(kept["step"], kept["lr"], marker="x", color="black", zorder=3, s=30)
    ax.scatter([], [], marker="x", color="black", label="fit rejected: eta kept")
    ax.set(yscale="log", xlabel="unlearning step", ylabel="learning rate eta_t")
    ax.legend(fontsize="x-small")


def trace_figure(rows: dict[str, tuple[Grid, str, dict[str, Line]]], n_seeds: int):
    """Fig. 7, one row of three panels per entry of ``rows`` (optimizer name -> (grid,
    the main run's label, the eta lines)): ``plot_trace_row``."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(15, 3.8 * len(rows)), squeeze=False)
    for row_axes, (name, (grid, main, eta_lines)) in zip(axes, rows.items()):
        plot_trace_row(row_axes, traces(grid), main, eta_lines)
        row_axes[0].set_title(f"{name}: (a) ||g_R|| and ||g_F||", loc="left", fontsize="medium")
        row_axes[1].set_title(f"{name}: (b) eta_t, one line per seed", loc="left")
        reading = "" if name == "SGD" else " (SGD's reading; Adam rescales per coordinate)"
        row_axes[2].set_title(f"(c) effective step{reading}", loc="left", fontsize="medium")
    fig.suptitle(
        f"NGDiff + AutoLR during unlearning ((a), (c): the plain rule from the middle of the "
        f"grid; bands: geometric mean x/ geometric std over {n_seeds} seeds)"
    )
    return fig


def plot_cost(ax, timing: pd.DataFrame) -> None:
    """Timed seconds per step of the fixed rate and of AutoLR k = 10 per seed (bars,
    means of the two paired repeats), each AutoLR bar annotated with its timed overhead
    and the counted extra forwards per step."""
    per_seed = timing_per_seed(timing)
    positions = np.arange(len(per_seed))
    width = 0.38
    ax.bar(
        positions - width / 2,
        per_seed["seconds_per_step_fixed"],
        width,
        color=style.color("NGDiff"),
        label="NGDiff, fixed rate",
    )
    ax.bar(
        positions + width / 2,
        per_seed["seconds_per_step_AutoLR"],
        width,
        color=style.color("NGDiff+AutoLR"),
        label="NGDiff + AutoLR (k = 10)",
    )
    for pos, (sps, overhead, extra) in enumerate(
        zip(per_seed["seconds_per_step_AutoLR"], per_seed["overhead"], per_seed["extra_forwards"])
    ):
        ax.annotate(
            f"{100 * overhead:+.1f}% timed\n+{extra:.2f} fwd/step",
            (pos + width / 2, sps),
            ha="center",
            va="bottom",
            fontsize="x-small",
        )
    ax.set_xticks(positions, [f"seed {s}" for s in per_seed.index])
    top = np.nanmax(per_seed[["seconds_per_step_fixed", "seconds_per_step_AutoLR"]].to_numpy())
    ax.set(ylabel="seconds per step (no evaluation)", ylim=(0, 1.6 * top))
    ax.legend(fontsize="small", loc="upper left")


def settings_figure(
    table: pd.DataFrame | None,
    starts: list[str],
    periods: list[str],
    timing: pd.DataFrame,
    n_seeds: int,
    setting: str,
):
    """AutoLR's sensitivity to its own settings, from a ``settings_table`` (``None``:
    the cost panel alone): final ROUGE and final eta against the initial eta (rows
    ``starts``), final ROUGE against the period k (rows ``periods``), and the cost timed
    on paired runs (``plot_cost``)."""
    if table is None:
        fig, ax = plt.subplots(1, 1, figsize=(5, 3.6))
        plot_cost(ax, timing)
        ax.set_title(f"{setting}: AutoLR's cost, timed", loc="left", fontsize="medium")
        return fig
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    by_start = table.set_index("label").loc[starts]
    by_period = table.set_index("label").loc[periods]
    colors = {"rouge_forget": style.color("forget"), "rouge_retain": style.color("retain")}
    for ax, frame, x in ((axes[0], by_start, "initial_lr"), (axes[2], by_period, "k")):
        for column, color in colors.items():
            ax.errorbar(
                frame[x],
                frame[f"{column}_mean"],
                yerr=frame[f"{column}_std"],
                color=color,
                marker="o",
                capsize=3,
                label="final " + NAMES[column],
            )
        ax.axhline(FORGET_BELOW, color="grey", lw=0.8, ls=":")
        ax.set(ylim=(-0.03, 1.03), ylabel="final ROUGE-L recall")
        ax.legend(fontsize="small")
    axes[0].set(xscale="log", xlabel="initial eta (k fixed)")
    axes[0].set_title("(a) final metrics vs initial eta", loc="left", fontsize="medium")
    axes[2].set(xscale="log", xlabel="AutoLR period k (steps; initial eta fixed)")
    axes[2].set_xticks(by_period["k"], [f"{k:g}" for k in by_period["k"]])
    axes[2].minorticks_off()
    axes[2].set_title("(c) final metrics vs period k", loc="left", fontsize="medium")
    ax = axes[1]
    low = by_start["final_lr_mean"] - by_start["final_lr_min"]
    high = by_start["final_lr_max"] - by_start["final_lr_mean"]
    ax.errorbar(
        by_start["initial_lr"],
        by_start["final_lr_mean"],
        yerr=[low, high],
        color=style.color("NGDiff+AutoLR"),
        marker="o",
        capsize=3,
        label="final eta (mean; bars: min-max)",
    )
    span = [by_start["initial_lr"].min(), by_start["initial_lr"].max()]
    ax.plot(span, span, color="grey", ls="--", lw=0.8, label="final = initial")
    ax.set(xscale="log", yscale="log", xlabel="initial eta", ylabel="eta after the last step")
    ax.set_title("(b) where AutoLR takes eta", loc="left", fontsize="medium")
    ax.legend(fontsize="small")
    plot_cost(axes[3], timing)
    axes[3].set_title("(d) cost, timed on paired runs", loc="left", fontsize="medium")
    fig.suptitle(
        f"{setting}: AutoLR (plain rule) and its own settings, mean over {n_seeds} seeds, "
        "bars ±1 std unless stated"
    )
    return fig
