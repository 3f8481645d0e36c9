"""Comparing unlearning methods: the Table 1 / Table 3 analogues, Pareto scores, plots.

Inputs are the tables of ``experiments.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``,
``split_loss_forget``, ``split_loss_retain``, ...) and ``histories`` (one row per step
and run). Metrics follow the paper's Sec. 5.2 (NOTES.md): Verbmem = ROUGE-L recall on
F's questions, Utility = ROUGE-L recall on R's, TruthRatio = TOFU's retain-side
summary mean(max(0, 1 - TR)).

The paper's success rule (Table 1 caption), one cell at a time: a Verbmem cell succeeds
below 0.1; a Utility or TruthRatio cell succeeds at 70% or more of No-unlearn's value.
Cells are judged on the mean over seeds; ``*_seeds`` columns say on how many seeds
the same cell succeeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import experiments, pareto
from .figures import gdiff_color, method_color

# Table name -> column of ``experiments.Grid.finals``.
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
FORGET_BELOW = 0.1  # Verbmem < 0.1 (Table 1)
KEEP_SHARE = 0.7  # >= 70% of No-unlearn's Utility and TruthRatio (Table 1)
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

MARKERS = {
    "LossNorm": "s",
    "RLW": "P",
    "PCGrad": "X",
    "IMTL-G": "D",
    "NGDiff": "*",
    "NGDiff+AutoLR": "*",
    "NPO": "v",
    "No-unlearn": "^",
    "retain-only": "o",
}
REFERENCE_COLORS = {"No-unlearn": "#7f7f7f", "retain-only": "#000000"}


# --------------------------------------------------------------------------- success rule


def cell_success(metric: str, value: float, reference: float) -> bool:
    """The paper's rule for one cell: Verbmem < 0.1; Utility or TruthRatio >= 70% of the
    No-unlearn value ``reference`` (``utility_rel`` is already relative: >= 0.7).
    A NaN value (every run diverged) never succeeds."""
    if not math.isfinite(value):
        return False
    if metric == "verbmem":
        return value < FORGET_BELOW
    if metric in ("utility", "truth_ratio"):
        return value >= KEEP_SHARE * reference
    if metric == "utility_rel":
        return value >= KEEP_SHARE
    raise ValueError(f"no success rule for {metric!r}; known: verbmem, utility, truth_ratio")


# --------------------------------------------------------------------------- rates


def tune_rates(target, bench, methods: list[str], protocol, seed: int) -> pd.DataFrame:
    """Each method's learning rate from ``experiments.tune_lr`` on the held-out seed
    ``seed + 1000`` (cached runs: a method tuned by another notebook under the same
    protocol costs nothing). One row per method: ``lr``, ``rule`` and the ROUGE_F /
    ROUGE_R of every grid rate (``grid``, text)."""
    rows = []
    for name in tqdm(methods, desc="tuning learning rates"):
        tuning = experiments.tune_lr(target, bench, name, protocol, seed)
        grid = ", ".join(
            f"{r.lr:g}: "
            + (
                f"diverged at step {r.diverged_at:.0f}"
                if pd.notna(r.diverged_at)
                else f"F {r.rouge_forget:.2f} R {r.rouge_retain:.2f}"
            )
            for r in tuning.table.itertuples()
        )
        rows.append({"method": name, "lr": tuning.lr, "rule": tuning.rule, "grid": grid})
    return pd.DataFrame(rows).set_index("method")


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
    rows = [_reference_row(ref)]
    for label in labels:
        runs = finals[finals["label"] == label]
        if runs.empty:
            raise KeyError(f"no runs labelled {label!r} in the finals")
        done = runs[runs["diverged_at"].isna()] if "diverged_at" in runs else runs
        values = {m: done[c].to_numpy(float) for m, c in METRICS.items()}
        values["utility_rel"] = values["utility"] / ref["utility"]
        row = {"label": label, "runs": len(runs), "diverged": len(runs) - len(done)}
        for m, v in values.items():
            mean = float(v.mean()) if v.size else math.nan
            row[m] = mean
            row[f"{m}_std"] = float(v.std(ddof=1)) if v.size > 1 else 0.0
            row[f"{m}_ok"] = cell_success(m, mean, ref[m])
            row[f"{m}_seeds"] = int(sum(cell_success(m, x, ref[m]) for x in v))
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


def finite_claims(values: dict) -> dict:
    """Claims for a sidecar: NaN / inf (every run diverged) become a string saying so."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = finite_claims(value)
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            out[key] = "not finite (every run diverged)"
        else:
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


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


def mean_points(finals: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Mean and std (ddof=1) per ``label`` over finished runs, in first-seen order:
    columns ``<col>`` and ``<col>_std``."""
    columns = columns or ["rouge_forget", "rouge_retain", "split_loss_forget", "split_loss_retain"]
    done = finals[finals["diverged_at"].isna()] if "diverged_at" in finals else finals
    order = list(dict.fromkeys(finals["label"]))
    grouped = done.groupby("label")[columns]
    out = grouped.mean().reindex(order)
    std = grouped.std(ddof=1).reindex(order).fillna(0.0)
    return out.join(std.add_suffix("_std"))


def method_claims(finals: pd.DataFrame, labels: list[str]) -> dict:
    """Per method, the sidecar's final numbers: mean and std over finished runs of
    ROUGE_F, ROUGE_R and the retain-side Truth Ratio."""
    columns = {
        "rouge_forget": "rouge_forget",
        "rouge_retain": "rouge_retain",
        "truth_ratio": "truth_ratio_retain",
    }
    stats = mean_points(finals, list(columns.values()))
    return {
        label: {
            **{name: float(stats.loc[label, col]) for name, col in columns.items()},
            **{
                f"{name}_std": float(stats.loc[label, f"{col}_std"])
                for name, col in columns.items()
            },
        }
        for label in labels
    }


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
    grouped = scores.groupby("label")
    return pd.DataFrame(
        {
            "added_hv": grouped["added_hv"].mean(),
            "added_hv_std": grouped["added_hv"].std(ddof=1).fillna(0.0),
            "sweep_hv": grouped["sweep_hv"].mean(),
            "seeds": grouped.size(),
            "dominated_rouge_seeds": grouped["dominated_rouge"].sum().astype(int),
            "dominated_loss_seeds": grouped["dominated_loss"].sum().astype(int),
        }
    ).reindex(order)


# --------------------------------------------------------------------------- colours


def color(label: str):
    """A method's colour: GDiff-c along the blue ramp, others from ``METHOD_COLORS``."""
    if label in REFERENCE_COLORS:
        return REFERENCE_COLORS[label]
    if label.startswith("GDiff-"):
        return gdiff_color(float(label.split("-")[1].split("+")[0]))
    return method_color(label.replace("IMTL-G", "imtlg"))


# --------------------------------------------------------------------------- plots


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
                fmt=MARKERS.get(label, "o"),
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


CURVES = (
    ("rouge_forget", "ROUGE_F (ROUGE-L recall on F)", False),
    ("rouge_retain", "ROUGE_R (ROUGE-L recall on R)", False),
    ("loss_forget", "L_F (forget batch CE, nats/token)", True),
    ("loss_retain", "L_R (retain batch CE, nats/token)", True),
)


def curve_band(histories: pd.DataFrame, label: str, column: str) -> pd.DataFrame:
    """Mean, min and max over seeds of ``column`` per step for one label (steps where
    the column was recorded: evaluation steps for ROUGE, every step for batch losses)."""
    rows = histories[(histories["label"] == label) & histories[column].notna()]
    return rows.groupby("step")[column].agg(["mean", "min", "max"])


def plot_curves(axes, histories: pd.DataFrame, labels: list[str], log_v: float):
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
            FORGET_BELOW
            if m == "verbmem"
            else KEEP_SHARE * (1.0 if m == "utility_rel" else table.loc[REFERENCE_LABEL, m])
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
            FORGET_BELOW
            if m == "verbmem"
            else KEEP_SHARE * (1.0 if m == "utility_rel" else without.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1)
        ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right")
        ax.set(title=TITLES[m], ylim=(-0.05, 1.1), xlim=(-0.6, len(methods) - 0.4))
    return axes


__all__ = [
    "METRICS",
    "tune_rates",
    "cell_success",
    "check_claim",
    "paper_agreement",
    "PAPER_PHI15_TABLE1",
    "PAPER_PHI15_TABLE3",
    "finite_claims",
    "method_table",
    "format_table",
    "autolr_table",
    "mean_points",
    "method_claims",
    "frontier_scores",
    "score_summary",
    "color",
    "plot_pareto",
    "curve_band",
    "plot_curves",
    "plot_method_bars",
    "plot_autolr_arrows",
]
