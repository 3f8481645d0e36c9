"""Notebook 08's figure: every image run as a dot per seed, mean ± std per method and
metric, RT as the gold reference (NGDiff Table 4; the DualOptim slides' tables)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..style import color
from .runs import METRICS

METRIC_TITLES = {
    "FA": "FA: accuracy on F",
    "RA": "RA: accuracy on R",
    "TA": "TA: accuracy on test",
    "MIA_entropy": "MIA (official, entropy):\nshare of F called members",
    "MIA": "MIA (ours, loss + confidence):\nshare of F called members",
}


def _tick(label: str, lrs: pd.Series) -> str:
    lr = lrs.dropna()
    if not len(lr):
        return label
    return f"{label} (lr {'from ' if 'AutoLR' in label else ''}{lr.iloc[0]:g})"


def plot_table(runs: pd.DataFrame, titles: dict[str, str], n_seeds: int):
    """Dot plot: one row of panels per scenario, one panel per metric (both MIAs); per
    method (its tuned rate in the tick label) the seeds as small dots and mean ± std
    (ddof 0) as a bar; RT's mean as a dashed line where RT ran. Diverged runs are left
    out."""
    scenarios = [s for s in titles if s in set(runs.scenario)]
    fig, axes = plt.subplots(
        len(scenarios), len(METRICS), figsize=(17, 2.4 + 2.3 * len(scenarios)), sharey="row"
    )
    axes = np.atleast_2d(axes)
    for row, scenario in zip(axes, scenarios):
        rows = runs[(runs.scenario == scenario) & runs.diverged_at.isna()]
        labels = list(dict.fromkeys(rows.label))
        ticks = [_tick(label, rows.loc[rows.label == label, "lr"]) for label in labels]
        for ax, metric in zip(row, METRICS):
            for y, label in enumerate(labels):
                values = rows.loc[rows.label == label, metric].to_numpy(float)
                hue = color(label)
                ax.scatter(values, np.full(len(values), y), s=12, color=hue, alpha=0.5)
                ax.errorbar(
                    values.mean(), y, xerr=values.std(), fmt="D", color=hue, ms=6, capsize=3
                )
            reference = rows.loc[rows.label == "RT", metric]
            if len(reference):
                ax.axvline(reference.mean(), color="black", ls="--", lw=1)
            ax.set(xlim=(-0.05, 1.05), xlabel="fraction of images")
            ax.set_title(METRIC_TITLES[metric], fontsize=9)
            ax.set_yticks(range(len(labels)), ticks)
        row[0].set_ylabel(titles[scenario])
        row[0].invert_yaxis()
    fig.suptitle(
        f"Digits unlearning: mean ± std (bars, ddof 0) over {n_seeds} seeds, seeds as dots; "
        "dashed line = RT (retrained on R), the gold reference",
        fontsize=11,
    )
    return fig
