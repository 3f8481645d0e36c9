"""Notebook 00: the setting (benchmark, target, a retain-only reference), no paper figure.

Claims (``claim_measurements``, one model per draw): the target ("No-unlearn")
reproduces F (NGDiff Sec. 5.1, Table 1's No-unlearn row), and the retain-only model,
which never saw F, still answers F's questions in form: its ROUGE_F is not below the
forget threshold, so ROUGE_F near 0 is over-forgetting, not the gold standard.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .. import claims
from .style import color

MEMORIZES = "ngdiff.sec5_1.no_unlearn_memorizes"
RETAIN_ONLY = "ngdiff.sec5_1.retain_only_keeps_answer_form"
CLAIMS = (MEMORIZES, RETAIN_ONLY)


def claim_measurements(
    target_rouge_forget: float, retain_only_rouge_forget: float, draw: int, seed: int
) -> pd.DataFrame:
    """Both claims of notebook 00 for one draw: the target's ROUGE_F (No-unlearn
    memorizes F) and the retain-only model's (the over-forgetting reference), one row
    each, ``seed`` being the models' training seed."""
    return pd.concat(
        [
            claims.measurement(MEMORIZES, draw, [target_rouge_forget], seeds=[seed]),
            claims.measurement(RETAIN_ONLY, draw, [retain_only_rouge_forget], seeds=[seed]),
        ],
        ignore_index=True,
    )


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
