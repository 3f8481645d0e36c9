"""Notebook 02: the Pareto sweep of NGDiff's Fig. 1 (GDiff over c, the MTO rules as markers).

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``split_loss_forget``,
``split_loss_retain``, ...). Points live in ROUGE space (1 - ROUGE_F, ROUGE_R) or loss
space (L_F, -L_R), both maximized (``core.pareto``); a method's score against the GDiff(c)
sweep is the hypervolume it adds to the sweep's frontier, seed by seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import pareto
from ..stats import group_stats
from .style import color, gdiff_color, marker

POINT_COLUMNS = ("rouge_forget", "rouge_retain", "split_loss_forget", "split_loss_retain")


def mean_points(finals: pd.DataFrame, columns=POINT_COLUMNS) -> pd.DataFrame:
    """Per ``label`` (index, first-seen order) over finished runs: the mean ``<col>`` and
    the std ``<col>_std`` (ddof=1; 0 for a single finished run), from
    ``stats.group_stats``."""
    table = group_stats(finals, "label", list(columns)).set_index("label")
    out = pd.DataFrame(index=table.index)
    for column in columns:
        out[column] = table[f"{column}_mean"]
    for column in columns:
        out[f"{column}_std"] = table[f"{column}_std"].fillna(0.0)
    return out


def frontier_scores(
    finals: pd.DataFrame,
    sweep_labels: list[str],
    method_labels: list[str],
    reference: tuple[float, float] = (0.0, 0.0),
) -> pd.DataFrame:
    """Each method against the GDiff(c) sweep, seed by seed.

    For every seed and method: ``sweep_hv``, the hypervolume of that seed's GDiff
    points; ``added_hv``, the hypervolume the method's final point
    adds to that seed's GDiff frontier in ROUGE space (1 - ROUGE_F, ROUGE_R) from
    ``reference``; ``dominated_rouge`` and ``dominated_loss``, whether some GDiff(c)
    point of the same seed dominates it in ROUGE space or in loss space (L_F, -L_R,
    Definition 1). Diverged runs are left out of both sides.
    """
    done = finals[finals["diverged_at"].isna()] if "diverged_at" in finals else finals
    rows = []
    for seed, runs in done.groupby("seed"):
        sweep = runs[runs["label"].isin(sweep_labels)]
        sweep_rouge = pareto.rouge_space(sweep["rouge_forget"], sweep["rouge_retain"])
        sweep_loss = pareto.loss_space(sweep["split_loss_forget"], sweep["split_loss_retain"])
        sweep_hv = pareto.hypervolume(sweep_rouge, reference)
        for label in method_labels:
            for _, run in runs[runs["label"] == label].iterrows():
                rouge = pareto.rouge_space([run["rouge_forget"]], [run["rouge_retain"]])
                loss = pareto.loss_space([run["split_loss_forget"]], [run["split_loss_retain"]])
                rows.append(
                    {
                        "label": label,
                        "seed": seed,
                        "added_hv": pareto.added_hypervolume(rouge, sweep_rouge, reference),
                        "sweep_hv": sweep_hv,
                        "dominated_rouge": bool(pareto.dominated_by(rouge, sweep_rouge).any()),
                        "dominated_loss": bool(pareto.dominated_by(loss, sweep_loss).any()),
                    }
                )
    return pd.DataFrame(rows)


def finished_points(points: pd.DataFrame) -> pd.DataFrame:
    """The rows of a ``mean_points`` table with at least one finished run (a label whose
    every run diverged has NaN means and no place in a Pareto comparison)."""
    return points.dropna(subset=["rouge_forget", "rouge_retain"])


def dominated_on_means(points: pd.DataFrame, sweep_labels: list[str], label: str) -> bool:
    """Whether some GDiff(c) mean point dominates ``label``'s mean point in ROUGE space
    (finished labels only; a label without a finished run is not dominated)."""
    done = finished_points(points)
    if label not in done.index:
        return False
    rouge = pareto.rouge_space(done.rouge_forget, done.rouge_retain)
    sweep = rouge[done.index.isin(sweep_labels)]
    return bool(pareto.dominated_by(rouge[done.index.get_loc(label)], sweep).any())


def score_summary(scores: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Per method: mean and std of the added hypervolume, and on how many seeds a
    GDiff(c) point dominates it (ROUGE space, loss space)."""
    order = order or list(dict.fromkeys(scores["label"]))
    hv = group_stats(scores, "label", ["added_hv", "sweep_hv"]).set_index("label")
    counted = scores.groupby("label")
    return pd.DataFrame(
        {
            "added_hv": hv["added_hv_mean"],
            "added_hv_std": hv["added_hv_std"].fillna(0.0),
            "sweep_hv": hv["sweep_hv_mean"],
            "seeds": counted.size(),
            "dominated_rouge_seeds": counted["dominated_rouge"].sum().astype(int),
            "dominated_loss_seeds": counted["dominated_loss"].sum().astype(int),
        }
    ).reindex(order)


def plot_pareto(
    axes,
    sweep: pd.DataFrame,
    cs: list[float],
    methods: pd.DataFrame,
    log_v: float,
    frontier_labels: list[str],
):
    """Fig. 1: (a) final L_F vs L_R, (b) final ROUGE_F vs ROUGE_R.

    ``sweep`` and ``methods`` are ``mean_points`` tables (rows: GDiff(c) labels in the
    order of ``cs``; method labels). Error bars: std over seeds. GDiff(c) points are
    joined by a dashed line, coloured by c; methods are markers; the grey dashed lines
    mark the random-guess loss log V. ``frontier_labels``: labels of the non-dominated
    points of panel (b) among all points, ringed in black. The shaded area of panel (b)
    is what the GDiff(c) mean points dominate down to the reference (ROUGE_F, ROUGE_R) =
    (1, 0): its area is the sweep's hypervolume. Labels whose every run diverged (NaN
    means) have no point; the diverged values of c are named in panel (b).
    """
    loss_ax, rouge_ax = axes
    finished = sweep[["rouge_forget", "rouge_retain"]].notna().all(axis=1).to_numpy()
    lost = [c for c, ok in zip(cs, finished) if not ok]
    sweep, cs = sweep[finished], [c for c, ok in zip(cs, finished) if ok]
    methods = methods.dropna(subset=["rouge_forget", "rouge_retain"])
    if lost:
        rouge_ax.annotate(
            "no point (every run diverged): GDiff c = " + ", ".join(f"{c:g}" for c in lost),
            xy=(0, 0),
            xycoords="axes fraction",
            xytext=(0, -44),
            textcoords="offset points",
            fontsize="small",
        )
    panels = (
        (loss_ax, "split_loss_forget", "split_loss_retain"),
        (rouge_ax, "rouge_forget", "rouge_retain"),
    )
    for ax, x, y in panels:
        ax.plot(sweep[x], sweep[y], "--", color=gdiff_color(0.6), lw=1.2, zorder=1)
        for (_, row), c in zip(sweep.iterrows(), cs):
            ax.errorbar(
                row[x],
                row[y],
                xerr=row[f"{x}_std"],
                yerr=row[f"{y}_std"],
                fmt="o",
                ms=6,
                color=gdiff_color(c),
                ecolor=gdiff_color(c),
                elinewidth=0.8,
                label=f"GDiff c={c:g}" if c in (cs[0], cs[len(cs) // 2], cs[-1]) else None,
                zorder=2,
            )
        for label, row in methods.iterrows():
            ax.errorbar(
                row[x],
                row[y],
                xerr=row[f"{x}_std"],
                yerr=row[f"{y}_std"],
                fmt=marker(label),
                ms=13 if label.startswith("NGDiff") else 8,
                color=color(label),
                mec="black",
                mew=0.6,
                elinewidth=0.8,
                label=label,
                zorder=3,
            )
    order = np.argsort(sweep["rouge_forget"].to_numpy())
    forget = np.append(sweep["rouge_forget"].to_numpy()[order], 1.0)
    kept = np.maximum.accumulate(sweep["rouge_retain"].to_numpy()[order])
    rouge_ax.fill_between(
        forget,
        0,
        np.append(kept, kept[-1]),
        step="post",
        color=gdiff_color(0.5),
        alpha=0.12,
        lw=0,
        label="dominated by GDiff(c) (hypervolume)",
        zorder=0,
    )
    every = pd.concat([sweep, methods])
    ringed = every.loc[frontier_labels]
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
