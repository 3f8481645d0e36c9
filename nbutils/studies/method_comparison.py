"""Notebook 06: the method comparison of NGDiff's Fig. 4, Table 1 and Table 3.

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``,
``split_loss_forget``, ``split_loss_retain``, ...) and ``histories`` (one row per step
and run). Metrics follow the paper's Sec. 5.2 (NOTES.md): Verbmem = ROUGE-L recall on
F's questions, Utility = ROUGE-L recall on R's, TruthRatio = TOFU's retain-side
summary mean(max(0, 1 - TR)).

The paper's success rule (Table 1 caption), one cell at a time: a Verbmem cell succeeds
when the run forgets (``stats.forgets``: below 0.1); a Utility or TruthRatio cell when
it is not lost (``stats.loses_utility``: at least 70% of No-unlearn's value). Cells are
judged on the mean over seeds; ``*_seeds`` columns say on how many seeds the same cell
succeeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import stats
from .style import color

# Table name -> column of ``engine.runs.Grid.finals``.
METRICS = {
    "verbmem": "rouge_forget",
    "utility": "rouge_retain",
    "truth_ratio": "truth_ratio_retain",
}
TITLES = {
    "verbmem": "Verbmem ↓ (ROUGE-L recall on F)",
    "utility": "Utility ↑ (ROUGE-L recall on R)",
    "utility_rel": "Utility / No-unlearn ↑",
    "truth_ratio": "TruthRatio ↑ (retain)",
}
REFERENCE_LABEL = "No-unlearn"

# The paper's Phi-1.5 rows (TOFU forget10), Table 1 and Table 3 (without -> with AutoLR):
# (Verbmem, Utility, TruthRatio). Table 1's NGDiff is NGDiff with AutoLR (Sec. 5.4).
PAPER_PHI15_TABLE1 = {
    "No-unlearn": (1.000, 1.000, 0.385),
    "GDiff-0.9": (0.805, 0.992, 0.205),
    "GDiff-0.5": (0.027, 0.308, 0.216),
    "GDiff-0.1": (0.000, 0.000, 0.221),
    "NPO": (0.000, 0.000, 0.179),
    "LossNorm": (0.432, 0.752, 0.214),
    "NGDiff+AutoLR": (0.024, 0.747, 0.353),
}
PAPER_PHI15_TABLE3 = {  # method: ((without), (with AutoLR))
    "GDiff-0.9": ((0.81, 0.99, 0.21), (0.20, 0.42, 0.31)),
    "GDiff-0.5": ((0.03, 0.31, 0.22), (0.00, 0.03, 0.30)),
    "GDiff-0.1": ((0.00, 0.00, 0.22), (0.00, 0.00, 0.23)),
    "NPO": ((0.00, 0.00, 0.18), (0.00, 0.00, 0.22)),
    "LossNorm": ((0.43, 0.75, 0.21), (0.23, 0.73, 0.34)),
    "NGDiff": ((0.02, 0.61, 0.29), (0.01, 0.75, 0.35)),
}

# --------------------------------------------------------------------------- success rule


def cell_success(metric: str, value: float, reference: float) -> bool:
    """The paper's rule for one cell: Verbmem forgets (< 0.1); Utility or TruthRatio is
    not lost (>= 70% of the No-unlearn value ``reference``; ``utility_rel`` is already
    relative).
    A NaN value (every run diverged) never succeeds."""
    if not math.isfinite(value):
        return False
    if metric == "verbmem":
        return bool(stats.forgets(value))
    if metric in ("utility", "truth_ratio"):
        return not stats.loses_utility(value / reference)
    if metric == "utility_rel":
        return not stats.loses_utility(value)
    raise ValueError(f"no success rule for {metric!r}; known: verbmem, utility, truth_ratio")


# --------------------------------------------------------------------------- tables


def method_table(
    finals: pd.DataFrame, reference: dict, order: list[str] | None = None
) -> pd.DataFrame:
    """The Table 1 analogue: one row per method (``label``), No-unlearn first.

    ``reference`` is No-unlearn's evaluation (``metrics.evaluate`` of the target: keys
    ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``); it is one model, the
    same for every seed, so its std is 0. Columns, per metric m in verbmem, utility,
    utility_rel (Utility / No-unlearn Utility), truth_ratio: ``m`` (mean over finished
    runs), ``m_std`` (ddof=1; 0 for a single run), ``m_ok`` (the paper's rule on the
    mean), ``m_seeds`` (runs whose own value passes the rule); and ``runs``,
    ``diverged``, ``success`` (all three cells Verbmem, Utility, TruthRatio pass).
    """
    ref = {m: float(reference[c]) for m, c in METRICS.items()}
    ref["utility_rel"] = 1.0
    labels = order or list(dict.fromkeys(finals["label"]))
    missing = [label for label in labels if label not in set(finals["label"])]
    if missing:
        raise KeyError(f"no runs labelled {missing} in the finals")
    finals = finals.assign(utility_rel=finals[METRICS["utility"]] / ref["utility"])
    columns = {**METRICS, "utility_rel": "utility_rel"}
    summary = stats.group_stats(finals, "label", list(columns.values())).set_index("label")
    finished = finals[~stats.diverged_mask(finals)]
    rows = [_reference_row(ref)]
    for label in labels:
        row = {"label": label, "runs": summary.loc[label, "runs"]}
        row["diverged"] = summary.loc[label, "diverged"]
        own = finished[finished["label"] == label]
        for m, c in columns.items():
            mean = float(summary.loc[label, f"{c}_mean"])
            row[m] = mean
            row[f"{m}_std"] = float(np.nan_to_num(summary.loc[label, f"{c}_std"], nan=0.0))
            row[f"{m}_ok"] = cell_success(m, mean, ref[m])
            row[f"{m}_seeds"] = int(sum(cell_success(m, x, ref[m]) for x in own[c]))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("label")
    table["success"] = table[["verbmem_ok", "utility_ok", "truth_ratio_ok"]].all(axis=1)
    return table


def _reference_row(ref: dict) -> dict:
    row = {"label": REFERENCE_LABEL, "runs": 1, "diverged": 0}
    for m, value in ref.items():
        row.update({m: value, f"{m}_std": 0.0})
        row[f"{m}_ok"] = cell_success(m, value, ref[m])
        row[f"{m}_seeds"] = int(row[f"{m}_ok"])
    return row


def format_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``method_table`` as text: "mean ± std", with ✓ where the paper's rule marks the
    cell (bold in the paper) and the number of seeds that pass."""

    def cell(row, m):
        text = f"{row[m]:.{digits}f} ± {row[f'{m}_std']:.{digits}f}"
        if row.name != REFERENCE_LABEL:
            text += f" {'✓' if row[f'{m}_ok'] else '✗'} ({row[f'{m}_seeds']}/{row['runs']})"
        return text

    out = pd.DataFrame(
        {TITLES[m]: table.apply(cell, axis=1, m=m) for m in TITLES}, index=table.index
    )
    out["runs (diverged)"] = [f"{r} ({d})" for r, d in zip(table["runs"], table["diverged"])]
    return out


def autolr_table(without: pd.DataFrame, with_autolr: pd.DataFrame, digits: int = 2):
    """The Table 3 analogue: "without → with AutoLR" for each method both tables share
    (``method_table`` outputs, matched by row order after No-unlearn), and the change
    of each mean (with minus without) as numbers."""
    if len(without) != len(with_autolr):
        raise ValueError("the two tables must list the same methods in the same order")
    text, change = {}, {}
    for m in ("verbmem", "utility", "utility_rel", "truth_ratio"):
        text[TITLES[m]] = [
            f"{a:.{digits}f}" if name == REFERENCE_LABEL else f"{a:.{digits}f} → {b:.{digits}f}"
            for name, a, b in zip(without.index, without[m], with_autolr[m])
        ]
        change[m] = with_autolr[m].to_numpy() - without[m].to_numpy()
    return (
        pd.DataFrame(text, index=without.index),
        pd.DataFrame(change, index=without.index).drop(index=REFERENCE_LABEL, errors="ignore"),
    )


def check_claim(finals: pd.DataFrame, label: str, reference: dict, claim: str, test) -> dict:
    """One qualitative claim of the paper about one method, checked run by run.

    ``test(verbmem, utility_rel)`` says whether a run supports the claim (Utility
    relative to No-unlearn's ``rouge_retain``). A diverged run supports no claim.
    Returns ``method``, ``claim``, ``runs_supporting`` ("k/n"), ``holds`` (every run
    supports it) and the mean Verbmem and relative Utility of the finished runs.
    """
    runs = finals[finals["label"] == label]
    if runs.empty:
        raise KeyError(f"no runs labelled {label!r} in the finals")
    done = runs[runs["diverged_at"].isna()] if "diverged_at" in runs else runs
    verbmem = done[METRICS["verbmem"]].to_numpy(float)
    utility_rel = done[METRICS["utility"]].to_numpy(float) / float(reference["rouge_retain"])
    supporting = sum(bool(test(v, u)) for v, u in zip(verbmem, utility_rel))
    return {
        "method": label,
        "claim": claim,
        "runs_supporting": f"{supporting}/{len(runs)}",
        "holds": supporting == len(runs),
        "verbmem": float(verbmem.mean()) if verbmem.size else math.nan,
        "utility_rel": float(utility_rel.mean()) if utility_rel.size else math.nan,
    }


def paper_checks(finals: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """The paper's qualitative claims of Sec. 5.3-5.4, run by run (``check_claim``):
    NGDiff + AutoLR forgets and keeps its Utility; GDiff-0.1, GDiff-0.5 and NPO lose
    Utility; GDiff-0.9 fails to forget. Thresholds from ``stats``."""
    forget, keep, lose = stats.FORGET_BELOW, stats.KEEP_SHARE, stats.LOSE_BELOW
    checks = [
        (
            "NGDiff+AutoLR",
            f"forgets (Verbmem < {forget:g}) and keeps Utility >= {keep:g} x No-unlearn",
            lambda v, u: stats.forgets(v) and stats.keeps_utility(u),
        ),
        *[
            (
                label,
                f"loses Utility (< {lose:g} x No-unlearn)",
                lambda v, u: stats.loses_utility(u),
            )
            for label in ("GDiff-0.1", "GDiff-0.5", "NPO")
        ],
        (
            "GDiff-0.9",
            f"fails to forget (Verbmem >= {forget:g})",
            lambda v, u: not stats.forgets(v),
        ),
    ]
    return pd.DataFrame(
        [check_claim(finals, label, reference, claim, test) for label, claim, test in checks]
    )


def paper_agreement(table: pd.DataFrame, paper: dict = PAPER_PHI15_TABLE1) -> pd.DataFrame:
    """Cell by cell, does the tiny model get the paper's success mark? For each method
    in both ``table`` (a ``method_table``) and ``paper`` (label -> (Verbmem, Utility,
    TruthRatio), No-unlearn included) and each metric: the paper's value and mark (the
    rule applied with the paper's No-unlearn), ours (mean over seeds) and our mark, and
    ``agrees`` (same mark). Utility is compared relative to No-unlearn on both sides."""
    paper_ref = dict(zip(("verbmem", "utility", "truth_ratio"), paper[REFERENCE_LABEL]))
    rows = []
    for label, values in paper.items():
        if label == REFERENCE_LABEL or label not in table.index:
            continue
        for m, value in zip(("verbmem", "utility", "truth_ratio"), values):
            ours_metric = "utility_rel" if m == "utility" else m
            paper_value = value / paper_ref[m] if m == "utility" else value
            paper_mark = cell_success(ours_metric, paper_value, paper_ref[m])
            rows.append(
                {
                    "method": label,
                    "metric": ours_metric,
                    "paper": paper_value,
                    "paper_success": paper_mark,
                    "ours": float(table.loc[label, ours_metric]),
                    "ours_success": bool(table.loc[label, f"{ours_metric}_ok"]),
                }
            )
    out = pd.DataFrame(rows)
    out["agrees"] = out["paper_success"] == out["ours_success"]
    return out


# --------------------------------------------------------------------------- Pareto scores


# --------------------------------------------------------------------------- plots


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


def plot_method_curves(axes, histories: pd.DataFrame, labels: list[str], log_v: float):
    """Fig. 4: ROUGE_F, ROUGE_R, L_F, L_R over unlearning steps; line = mean over seeds,
    band = min to max over seeds. Losses on a log axis with log V as a grey line."""
    for ax, (column, ylabel, log) in zip(np.ravel(axes), CURVES):
        for label in labels:
            band = curve_band(histories, label, column)
            ax.plot(
                band.index,
                band["mean"],
                color=color(label),
                lw=1.6,
                label=label,
                marker="o" if not log else None,
                ms=3,
            )
            ax.fill_between(band.index, band["min"], band["max"], color=color(label), alpha=0.2)
        if log:
            ax.axhline(log_v, color="grey", ls="--", lw=1, label="random guess log V")
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.05, 1.05)
        ax.set(xlabel="unlearning step", ylabel=ylabel)
    return axes


def plot_method_bars(axes, table: pd.DataFrame, metrics=("verbmem", "utility_rel", "truth_ratio")):
    """Table 1 as bars: mean ± std per method and metric, the success threshold of each
    metric as a dashed line (0.1 for Verbmem, 70% of No-unlearn for the others); the
    bars of cells that pass the paper's rule are hatched-free and edged black."""
    labels = list(table.index)
    for ax, m in zip(axes, metrics):
        ok = table[f"{m}_ok"].to_numpy()
        ax.bar(
            range(len(labels)),
            table[m],
            yerr=table[f"{m}_std"],
            capsize=3,
            color=[color(label) if label != REFERENCE_LABEL else "#dddddd" for label in labels],
            edgecolor=["black" if good else "none" for good in ok],
            hatch=None,
        )
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.LOSE_BELOW * (1.0 if m == "utility_rel" else table.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1, label="success threshold")
        for i, good in enumerate(ok):
            if good and labels[i] != REFERENCE_LABEL:
                ax.text(
                    i,
                    table[m].iloc[i] + table[f"{m}_std"].iloc[i] + 0.02,
                    "✓",
                    ha="center",
                    va="bottom",
                    fontsize=11,
                )
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set(title=TITLES[m], ylim=(0, max(1.1, float(table[m].max()) * 1.15)))
    return axes


def plot_autolr_arrows(
    axes,
    without: pd.DataFrame,
    with_autolr: pd.DataFrame,
    metrics=("verbmem", "utility_rel", "truth_ratio"),
):
    """Table 3 as arrows: for each method, from the mean without AutoLR (circle) to the
    mean with AutoLR (arrow head), with the success threshold dashed."""
    methods = [label for label in without.index if label != REFERENCE_LABEL]
    for ax, m in zip(axes, metrics):
        for i, label in enumerate(methods):
            a, b = without.loc[label, m], with_autolr.loc[label, m]
            ax.plot(i, a, "o", color=color(label), ms=7)
            ax.annotate(
                "",
                xy=(i, b),
                xytext=(i, a),
                arrowprops=dict(arrowstyle="-|>", color=color(label), lw=1.6),
            )
            ax.errorbar(
                i,
                b,
                yerr=with_autolr.loc[label, f"{m}_std"],
                fmt="none",
                ecolor=color(label),
                capsize=3,
                elinewidth=0.8,
            )
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.LOSE_BELOW * (1.0 if m == "utility_rel" else without.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1)
        ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right")
        ax.set(title=TITLES[m], ylim=(-0.05, 1.1), xlim=(-0.6, len(methods) - 0.4))
    return axes
