"""Notebook 06's figures: Fig. 4's curves over unlearning steps, Table 1 as bars and
Table 3 as arrows (without -> with AutoLR)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ... import stats
from ..style import color, marker
from .tables import REFERENCE_LABEL, RETAIN_ONLY, TITLES

CURVES = (
    ("rouge_forget", "ROUGE_F (ROUGE-L recall on F)", False),
    ("rouge_retain", "ROUGE_R (ROUGE-L recall on R)", False),
    ("loss_forget", "L_F (forget batch CE, nats/token)", True),
    ("loss_retain", "L_R (retain batch CE, nats/token)", True),
)


def curve_band(histories: pd.DataFrame, label: str, column: str) -> pd.DataFrame:
    """Mean, min and max over seeds of ``column`` per step for one label (steps where
    the column was recorded: evaluation steps for ROUGE, every step for batch losses)."""
    band = stats.bands(histories[histories["label"] == label], column)
    return band.set_index("step")[["mean", "min", "max"]]


# Fig. 4 draws three GDiff(c) in neighbouring blues: dashes and markers tell them apart.
CURVE_DASHES = {"GDiff-0.5": "-", "GDiff-0.7": "--", "GDiff-0.9": ":"}
CURVE_MARKERS = {"GDiff-0.5": "o", "GDiff-0.7": "s", "GDiff-0.9": "^"}


def curve_style(label: str) -> dict:
    """How one Fig. 4 curve is drawn: colour, dash, marker (GDiff-0.5 / 0.7 / 0.9 each
    its own dash and marker; NGDiff + AutoLR thick)."""
    return {
        "color": color(label),
        "ls": CURVE_DASHES.get(label, "-"),
        "marker": CURVE_MARKERS.get(label, marker(label)),
        "lw": 2.4 if label.startswith("NGDiff") else 1.6,
    }


def plot_method_curves(
    axes,
    histories: pd.DataFrame,
    labels: list[str],
    log_v: float,
    retain_only_forget: float | None = None,
):
    """Fig. 4: ROUGE_F, ROUGE_R, L_F, L_R over unlearning steps; line = mean over seeds,
    band = min to max over seeds; ROUGE at the evaluation steps (markers), losses of
    every step's batches. Losses on a log axis with log V as a grey line; the retain-only
    model's ROUGE_F (``retain_only_forget``) dotted on the ROUGE_F panel."""
    for ax, (column, ylabel, log) in zip(np.ravel(axes), CURVES):
        for label in labels:
            band = curve_band(histories, label, column)
            style = curve_style(label)
            ax.plot(
                band.index,
                band["mean"],
                color=style["color"],
                ls=style["ls"],
                lw=style["lw"],
                label=label,
                marker=style["marker"] if not log else None,
                ms=4,
            )
            ax.fill_between(band.index, band["min"], band["max"], color=style["color"], alpha=0.15)
        if log:
            ax.axhline(log_v, color="grey", ls="--", lw=1, label="random guess log V")
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.05, 1.05)
        if column == "rouge_forget" and retain_only_forget is not None:
            ax.axhline(
                retain_only_forget,
                color=color(RETAIN_ONLY),
                ls=":",
                lw=1.2,
                label="retain-only (below: over-forgetting)",
            )
            ax.legend(loc="upper right", fontsize=7)
        ax.set(xlabel="unlearning step", ylabel=ylabel)
    return axes


def plot_method_bars(
    axes, table: pd.DataFrame, metrics=("verbmem", "utility_rel", "truth_ratio", "forget_quality")
):
    """Table 1 as bars: mean ± std per method and metric, the success threshold of each
    metric as a dashed line (0.1 for Verbmem, 70% of No-unlearn for the others); the
    bars of cells that pass the paper's rule are edged black. Verbmem also shows the
    retain-only model's ROUGE_F (dotted: below it is over-forgetting); forget quality
    (a KS p-value, no success rule) on a log axis."""
    labels = list(table.index)
    for ax, m in zip(axes, metrics):
        values = table[m].to_numpy(dtype=float)
        ok = table[f"{m}_ok"].to_numpy() if f"{m}_ok" in table else np.zeros(len(labels), bool)
        log = m == "forget_quality"
        ax.bar(
            range(len(labels)),
            np.nan_to_num(values, nan=0.0),
            yerr=None if log else table[f"{m}_std"],
            capsize=3,
            color=[color(label) if label != REFERENCE_LABEL else "#dddddd" for label in labels],
            edgecolor=["black" if good else "none" for good in ok],
        )
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        if log:
            finite = values[np.isfinite(values) & (values > 0)]
            low = max(float(finite.min()) / 3, 1e-30) if finite.size else 1e-6
            ax.set(title=TITLES[m], yscale="log", ylim=(low, 2.0))
            for i, v in enumerate(values):
                if not np.isfinite(v):
                    ax.text(i, low, "n/a", ha="center", va="bottom", fontsize=8)
            continue
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.KEEP_SHARE * (1.0 if m == "utility_rel" else table.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1, label="success threshold")
        if m == "verbmem" and RETAIN_ONLY in table.index:
            ax.axhline(
                table.loc[RETAIN_ONLY, m],
                color=color(RETAIN_ONLY),
                ls=":",
                lw=1.2,
                label="retain-only ROUGE_F (below: over-forgetting)",
            )
            ax.legend(loc="upper right", fontsize=7)
        for i, good in enumerate(ok):
            if good and labels[i] not in (REFERENCE_LABEL, RETAIN_ONLY):
                ax.text(
                    i,
                    values[i] + table[f"{m}_std"].iloc[i] + 0.02,
                    "✓",
                    ha="center",
                    va="bottom",
                    fontsize=11,
                )
        top = np.nanmax(values) if np.isfinite(values).any() else 1.0
        ax.set(title=TITLES[m], ylim=(0, max(1.1, float(top) * 1.15)))
    return axes


def plot_autolr_arrows(
    axes,
    without: pd.DataFrame,
    with_autolr: pd.DataFrame,
    metrics=("verbmem", "utility_rel", "truth_ratio"),
    retain_only: dict | None = None,
):
    """Table 3 as arrows: for each method, from the mean without AutoLR (circle) to the
    mean with AutoLR (arrow head), with the success threshold dashed; a method whose
    every run diverged has no arrow. With ``retain_only`` (a ``method_table`` row or a
    dict of the same columns), its value dotted on each panel (on Verbmem: below it is
    over-forgetting). Forget quality (no threshold) on a log axis."""
    methods = [label for label in without.index if label != REFERENCE_LABEL]
    for ax, m in zip(axes, metrics):
        log = m == "forget_quality"
        for i, label in enumerate(methods):
            a, b = without.loc[label, m], with_autolr.loc[label, m]
            ax.plot(i, a, "o", color=color(label), ms=7)
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            ax.annotate(
                "",
                xy=(i, b),
                xytext=(i, a),
                arrowprops=dict(arrowstyle="-|>", color=color(label), lw=1.6),
            )
            ax.errorbar(
                i,
                b,
                yerr=None if log else with_autolr.loc[label, f"{m}_std"],
                fmt="none",
                ecolor=color(label),
                capsize=3,
                elinewidth=0.8,
            )
        if retain_only is not None and math.isfinite(float(retain_only[m])):
            ax.axhline(float(retain_only[m]), color=color(RETAIN_ONLY), ls=":", lw=1.2)
        ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right")
        ax.set(title=TITLES[m], xlim=(-0.6, len(methods) - 0.4))
        if log:
            shown = pd.concat([without[m], with_autolr[m]]).to_numpy(dtype=float)
            if (np.isfinite(shown) & (shown > 0)).any():
                ax.set_yscale("log")
            else:  # forget quality needs the retain-only model (not trained: verdicts_only)
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center")
            continue
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.KEEP_SHARE * (1.0 if m == "utility_rel" else without.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1)
        ax.set(ylim=(-0.05, 1.1))
    return axes
