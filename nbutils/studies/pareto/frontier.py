"""Fig. 1's Pareto frontier: mean points and each method's score against a GDiff(c) sweep.

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``split_loss_forget``,
``split_loss_retain``, ...). Points live in ROUGE space (1 - ROUGE_F, ROUGE_R) or loss
space (L_F, -L_R), both maximized (``core.pareto``); a method's score against a GDiff(c)
sweep is the hypervolume it adds to the sweep's frontier, seed by seed.
"""

from __future__ import annotations

import pandas as pd

from ...core import pareto
from ...stats import group_stats
from ..comparison.tables import with_forget_quality
from .sweep import Fig1Runs

POINT_COLUMNS = ("rouge_forget", "rouge_retain", "split_loss_forget", "split_loss_retain")


def mean_points(finals: pd.DataFrame, columns=POINT_COLUMNS) -> pd.DataFrame:
    """Per ``label`` (index, first-seen order) over finished runs: the mean ``<col>`` and
    the std ``<col>_std`` (ddof=1; 0 for a single finished run), from
    ``stats.group_stats``; with collapsed finals (``collapse``) the collapse points count
    as points and ``collapsed`` says how many of ``runs`` collapsed."""
    table = group_stats(finals, "label", list(columns)).set_index("label")
    out = pd.DataFrame(index=table.index)
    for column in columns:
        out[column] = table[f"{column}_mean"]
    for column in columns:
        out[f"{column}_std"] = table[f"{column}_std"].fillna(0.0)
    out["runs"] = table["runs"]
    if "collapsed" in finals:
        out["collapsed"] = finals.groupby("label", sort=False)["collapsed"].sum().astype(int)
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


def forget_rows(finals: pd.DataFrame, no_unlearn: dict) -> pd.DataFrame:
    """Per method label: mean ROUGE_F, ROUGE_R / No-unlearn and, where the finals have
    them (``comparison.tables.with_forget_quality``), forget quality and the distance of
    ROUGE_F to the retain-only model's, over seeds (collapses included)."""
    columns = [
        c for c in ("rouge_forget", "rouge_retain", "forget_quality", "rouge_f_gap") if c in finals
    ]
    table = group_stats(finals, "label", columns).set_index("label")
    out = pd.DataFrame({c: table[f"{c}_mean"] for c in columns})
    out["utility_rel"] = out["rouge_retain"] / float(no_unlearn["rouge_retain"])
    return out


def score_table(runs: Fig1Runs, no_unlearn: dict, retain_only: dict | None) -> pd.DataFrame:
    """Per marker: its scores against the tuned sweep (``score_summary``: ``added_hv``,
    ``dominated_rouge_seeds``, ...) and against the common-rate sweep (``*_vs_common``),
    with ROUGE_R / No-unlearn, forget quality and the ROUGE_F distance to the retain-only
    model (``comparison.tables.with_forget_quality``; NaN without it)."""
    tuned = score_summary(
        frontier_scores(runs.finals, runs.tuned_labels, runs.markers), runs.markers
    )
    common = score_summary(
        frontier_scores(runs.finals, runs.common_labels, runs.markers), runs.markers
    )[["added_hv", "dominated_rouge_seeds"]].add_suffix("_vs_common")
    quality = forget_rows(with_forget_quality(runs.finals, retain_only), no_unlearn)
    return tuned.join(common).join(
        quality.loc[runs.markers, ["utility_rel", "forget_quality", "rouge_f_gap"]]
    )
