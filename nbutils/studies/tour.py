"""Notebook 00: the setting (benchmark, target, a retain-only reference), no paper figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .style import color


def plot_author_losses(losses: dict[str, pd.DataFrame], ax=None):
    """Mean answer NLL per author (``core.metrics.author_losses`` of each model, by name),
    the forget authors shaded: a model that never saw F is low on R and high on F."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    for (name, table), shape in zip(losses.items(), "os"):
        hue = color(name.split(" ")[0] if name.startswith("retain-only") else "No-unlearn")
        ax.scatter(range(len(table)), table["loss"], marker=shape, s=18, label=name, color=hue)
    forget_rows = table.index[table["split"] == "forget"]
    ax.axvspan(
        forget_rows.min() - 0.5,
        forget_rows.max() + 0.5,
        color="grey",
        alpha=0.2,
        label="forget authors (F)",
    )
    ax.set(
        yscale="log",
        xlabel="author (benchmark order)",
        ylabel="mean answer NLL (nats/token)",
        title="Answer loss per author: the retain-only model never saw F",
    )
    ax.legend(loc="center left")
    return ax
