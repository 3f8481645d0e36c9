"""NGDiff's Figs. 5 and 6 (ROUGE and batch losses over steps, one line per rate or AutoLR
start) and the summary panel (final ROUGE against the fixed rate)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ... import stats
from ...stats import FORGET_BELOW
from .. import style
from ..style import Line
from .configs import AUTOLR_RULE, AUTOLR_STARTS, FIXED_RULES, METRICS, start_roles
from .runs import Study

NAMES = {
    "rouge_forget": "ROUGE_F (forget)",
    "rouge_retain": "ROUGE_R (retain)",
    "loss_forget": "L_F (forget batch)",
    "loss_retain": "L_R (retain batch)",
}

CURVE_PANELS = ("rouge_forget", "rouge_retain", "loss_forget", "loss_retain")


def panel_bands(histories: pd.DataFrame, column: str) -> pd.DataFrame:
    """A panel's bands: mean +- std clipped to [0, 1] for ROUGE (linear axis), the
    geometric mean times / divided by the geometric std for the losses (log axis:
    ``stats.geometric_bands``), so a band never falls to the floor of a log axis."""
    if column.startswith("loss"):
        return stats.geometric_bands(histories, column)
    out = stats.bands(histories, column)
    return out.assign(low=out["low"].clip(lower=0.0), high=out["high"].clip(upper=1.0))


def plot_rate_curves(axes, histories: pd.DataFrame, lines: dict[str, Line]) -> None:
    """The four panels of Figs. 5 and 6 on ``axes`` (one row of four): ROUGE_F, ROUGE_R
    (at the evaluation steps; mean, band +- 1 std over seeds within [0, 1]) and L_F, L_R (per-step
    batch losses, log scale; geometric mean, band x/ 1 geometric std) against the step,
    one line per label."""
    for ax, column in zip(axes, CURVE_PANELS):
        table = panel_bands(histories, column)
        for label, line in lines.items():
            curve = table[table["label"] == label]
            if curve.empty:
                continue
            marker = "o" if column.startswith("rouge") else None
            line.plot(ax, curve["step"], curve["mean"], marker=marker, ms=3, label=line.text)
            ax.fill_between(
                curve["step"], curve["low"], curve["high"], color=line.color, alpha=0.15
            )
        ax.set(xlabel="unlearning step", ylabel=NAMES[column])
        if column.startswith("loss"):
            ax.set_yscale("log")
            ax.set_ylabel(NAMES[column] + ", nats/token")
        else:
            ax.set_ylim(-0.03, 1.03)


def curves_figure(rows: dict[str, tuple[pd.DataFrame, dict[str, Line]]], title: str):
    """Figs. 5/6: one row of four panels per entry of ``rows`` (row title -> (histories,
    lines)); the legend of each row sits right of it."""
    fig, axes = plt.subplots(len(rows), 4, figsize=(15, 3.3 * len(rows)), squeeze=False)
    for row_axes, (row_title, (histories, lines)) in zip(axes, rows.items()):
        plot_rate_curves(row_axes, histories, lines)
        row_axes[0].set_title(row_title, loc="left", fontsize="medium")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(title)
    return fig


def plot_rate_summary(ax, column: str, fixed: dict[str, tuple], autolr: dict[str, tuple]):
    """Final ``column`` against the fixed rate (log x), one line with std error bars per
    rule in ``fixed`` (name -> (per_rate table, colour)), and AutoLR runs as horizontal
    bands mean +- std (name -> (mean, std, colour, dash))."""
    for name, (table, color) in fixed.items():
        if table.empty:
            continue
        ax.errorbar(
            table["lr"],
            table[f"{column}_mean"],
            yerr=np.nan_to_num(table[f"{column}_std"]),
            color=color,
            marker="o",
            capsize=3,
            label=f"{name}, fixed rate",
        )
        for _, row in table[table["diverged"] > 0].iterrows():
            ax.annotate(f"{row['diverged']}/{row['runs']} diverged", (row["lr"], 0.5), fontsize=7)
    for name, (mean, std, color, dash) in autolr.items():
        std = 0.0 if not np.isfinite(std) else std
        ax.axhspan(max(mean - std, 0.0), min(mean + std, 1.0), color=color, alpha=0.15)
        ax.axhline(mean, color=color, ls=dash, lw=1.6, label=name)
    ax.set(xscale="log", xlabel="learning rate (fixed, or AutoLR's start)", ylim=(-0.03, 1.03))
    ax.set_ylabel("final " + NAMES[column])


def summary_figure(studies: dict[str, Study], n_seeds: int):
    """The summary panel: final ROUGE_F and ROUGE_R against the fixed rate, GDiff-0.5
    and NGDiff as lines (mean, std bars over seeds), NGDiff + AutoLR from each start as
    horizontal bands (mean +- std), the best fixed rate (held-out tuning) as a grey
    vertical line; one row per optimizer."""
    fig, axes = plt.subplots(len(studies), 2, figsize=(11, 3.4 * len(studies)), squeeze=False)
    for row_axes, (name, study) in zip(axes, studies.items()):
        fixed = {rule: (study.rule(rule), style.color(rule)) for rule in FIXED_RULES}
        auto = study.rule(AUTOLR_RULE)
        roles = start_roles(study.starts)
        for ax, column in zip(row_axes, METRICS):
            these = {}
            for _, row in auto.iterrows():
                role = next(v for k, v in roles.items() if math.isclose(k, row["lr"]))
                color, dash = AUTOLR_STARTS[role[0]]
                these[f"AutoLR from {row['lr']:g} ({', '.join(role)})"] = (
                    row[f"{column}_mean"],
                    row[f"{column}_std"],
                    color,
                    dash,
                )
            plot_rate_summary(ax, column, fixed, these)
            ax.axvline(study.best_fixed, color="grey", lw=1.0, ls="--")
            ax.set_xticks(study.rates, [f"{lr:g}" for lr in study.rates])
            ax.minorticks_off()
            ax.set_title(f"{name}: final {NAMES[column]}", loc="left", fontsize="medium")
        row_axes[0].axhline(FORGET_BELOW, color="grey", lw=0.8, ls=":")
        row_axes[-1].plot([], [], color="grey", ls="--", label="best fixed rate (held-out seeds)")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(
        f"Sensitivity to the learning rate after the last step (mean, bars/bands = ±1 std "
        f"over {n_seeds} seeds; dotted: ROUGE_F = {FORGET_BELOW:g})"
    )
    return fig


def curve_data(histories: pd.DataFrame, labels: Sequence[str]) -> dict:
    """The plotted numbers of a curves figure: ``panel_bands`` of each panel's column
    for ``labels`` (for a sidecar: a few hundred numbers, not every step of every run)."""
    chosen = histories[histories["label"].isin(list(labels))]
    return {column: panel_bands(chosen, column) for column in CURVE_PANELS}
