"""Notebook 02: the Pareto sweep of NGDiff's Fig. 1 (GDiff over c, the MTO rules as markers).

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``split_loss_forget``,
``split_loss_retain``, ...). Points live in ROUGE space (1 - ROUGE_F, ROUGE_R) or loss
space (L_F, -L_R), both maximized (``core.pareto``); a method's score against a GDiff(c)
sweep is the hypervolume it adds to the sweep's frontier, seed by seed.

Two sweeps: GDiff(c) at one common rate on a grid of c refined where forgetting flips
(``refine_cs``: Fig. 1's question, what c does at a fixed budget), and GDiff(c) for
c in ``TUNED_CS``, each at its own tuned rate (the frontier a practitioner who tunes
would reach). A run that diverged is not dropped: it is a *collapse* point
(``collapse``: ROUGE_F 0, ROUGE_R 0, both losses at the random-guess loss log V), the
model that gradient ascent leaves behind. The registry claims of the notebook (ids
``ngdiff.fig1.*``) are measured per seed by ``claim_measurements``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import claims, stats
from ..core import pareto
from ..engine.autolr import AutoLR
from ..engine.runs import Config, Protocol, run_grid
from ..stats import group_stats
from .style import color, gdiff_color, marker

POINT_COLUMNS = ("rouge_forget", "rouge_retain", "split_loss_forget", "split_loss_retain")
TUNED_CS = (0.1, 0.3, 0.5, 0.7, 0.9)  # the per-c tuned sweep
# The multi-task rules of Fig. 1 as markers (each at its tuned rate), NGDiff + AutoLR
# (from NGDiff's tuned rate) and NPO; only the last two are needed by a claim.
MARKER_METHODS = ["LossNorm", "RLW", "PCGrad", "PCGrad (paper)", "IMTL-G", "NGDiff", "NPO"]
CLAIM_METHODS = ["NPO"]
SMOKE_MARKERS = ["PCGrad (paper)", "NGDiff", "NPO"]  # smoke size: a few, one of each kind
NGDIFF_AUTOLR = "NGDiff+AutoLR"
UNFILLED = ("x", "+", "1", "2", "3", "4")
COLLAPSE_MARK = r"$\dagger$"  # a mean point with diverged (collapsed) runs


def sweep_label(c: float) -> str:
    """The common-rate sweep's label of c (a ``methods.method`` name: ``GDiff-<c>``)."""
    return f"GDiff-{round(float(c), 6):g}"


def tuned_label(c: float) -> str:
    """The tuned sweep's label of c (drawn in GDiff(c)'s colour)."""
    return f"{sweep_label(c)} @ tuned"


def markers(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The marker methods run (each at its tuned rate): every one of ``MARKER_METHODS``;
    at smoke size ``SMOKE_MARKERS``; with ``verdicts_only`` only those a claim needs."""
    if verdicts_only:
        return list(CLAIM_METHODS)
    return list(SMOKE_MARKERS if smoke else MARKER_METHODS)


def tuned_methods(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The methods whose rates are tuned: the tuned sweep's GDiff(c), NGDiff (which
    NGDiff + AutoLR starts from) and the markers (``markers``)."""
    names = [sweep_label(c) for c in TUNED_CS] + ["NGDiff", *markers(verdicts_only, smoke)]
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- collapse


def collapse(finals: pd.DataFrame, log_v: float) -> pd.DataFrame:
    """``finals`` with every diverged run as a collapse point: ROUGE_F 0, ROUGE_R 0 and
    both split losses at ``log_v`` (the random-guess loss); ``collapsed`` marks them and
    ``diverged_at`` becomes ``collapsed_at``, so that statistics count them as points."""
    out = finals.copy()
    diverged = stats.diverged_mask(out).to_numpy()
    out["collapsed"] = diverged
    if "diverged_at" in out:
        out = out.rename(columns={"diverged_at": "collapsed_at"})
    for column, value in (
        ("rouge_forget", 0.0),
        ("rouge_retain", 0.0),
        ("split_loss_forget", log_v),
        ("split_loss_retain", log_v),
    ):
        if column not in out:
            out[column] = math.nan
        out[column] = out[column].astype(float).where(~diverged, value)
    return out


# --------------------------------------------------------------------------- the fine c grid


def forget_shares(finals: pd.DataFrame, cs) -> pd.Series:
    """Per c (sweep label ``sweep_label(c)``): the share of its runs that forget
    (``stats.forgets``: ROUGE_F < 0.1; a collapse forgets). ``finals`` are collapsed."""
    shares = {}
    for c in cs:
        runs = finals[finals["label"] == sweep_label(c)]
        if runs.empty:
            raise KeyError(f"no runs of {sweep_label(c)} in the finals")
        shares[float(c)] = float(np.mean(stats.forgets(runs["rouge_forget"])))
    return pd.Series(shares).sort_index()


def refine_cs(shares: pd.Series, digits: int = 6) -> list[float]:
    """The midpoints of neighbouring c (``shares``: c -> share of runs that forget, sorted
    by c) whose shares differ: where the outcome flips at the common rate."""
    cs, values = shares.index.to_numpy(float), shares.to_numpy(float)
    return [
        round((a + b) / 2, digits)
        for a, b, x, y in zip(cs[:-1], cs[1:], values[:-1], values[1:])
        if x != y and round((a + b) / 2, digits) not in (a, b)
    ]


def refine_sweep(
    run: Callable[[list[float]], pd.DataFrame],
    cs,
    rounds: int,
    log_v: float,
) -> tuple[pd.DataFrame, list[float]]:
    """The common-rate sweep on ``cs``, then ``rounds`` rounds of ``refine_cs``: each adds
    the midpoints where forgetting flips and runs them. ``run(cs)`` returns the finals of
    those values of c (labels ``sweep_label``). Returns every final (collapsed: see
    ``collapse``) and the sorted values of c. Stops early when nothing flips."""
    cs = sorted({round(float(c), 6) for c in cs})
    finals = collapse(run(cs), log_v)
    for _ in range(rounds):
        new = [c for c in refine_cs(forget_shares(finals, cs)) if c not in cs]
        if not new:
            break
        finals = pd.concat([finals, collapse(run(new), log_v)], ignore_index=True)
        cs = sorted(cs + new)
    return finals, cs


@dataclass
class Fig1Runs:
    """The runs of Fig. 1 under one optimizer: ``finals`` (collapsed, every run), the
    values of c of the common-rate sweep (``common_cs``, refined) and of the tuned sweep
    (``tuned_cs``), the common rate, and the labels of the sweeps and the markers."""

    finals: pd.DataFrame
    common_cs: list[float]
    tuned_cs: list[float]
    common_lr: float
    markers: list[str]

    @property
    def common_labels(self) -> list[str]:
        return [sweep_label(c) for c in self.common_cs]

    @property
    def tuned_labels(self) -> list[str]:
        return [tuned_label(c) for c in self.tuned_cs]


def run_fig1(
    target,
    bench,
    rates,
    seeds: list[int],
    sweep_protocol: Protocol,
    method_protocol: Protocol,
    cs,
    rounds: int,
    log_v: float,
    verdicts_only: bool = False,
    smoke: bool = False,
    progress: bool = True,
) -> Fig1Runs:
    """Every run of Fig. 1 on ``seeds``: the common-rate sweep (vanilla GDiff's tuned
    rate, ``rates``: method -> lr) on ``cs`` refined ``rounds`` times where forgetting
    flips (``refine_sweep``; ``sweep_protocol``: evaluated after the last step; the
    figure's, no claim's, so not with ``verdicts_only``), and, under ``method_protocol``
    (notebook 06's, so that the runs are shared), the tuned sweep (``TUNED_CS``) and the
    markers at their tuned rates with NGDiff + AutoLR (plain rule, from NGDiff's rate).
    The markers: ``markers(verdicts_only, smoke)``."""
    common_lr = float(rates["GDiff-0.5"])

    def common(values):
        configs = [Config(sweep_label(c), sweep_label(c), common_lr) for c in values]
        grid = run_grid(
            target,
            bench,
            configs,
            seeds,
            sweep_protocol,
            progress=progress,
            desc=f"GDiff(c) at {common_lr:g}",
        )
        return grid.finals

    sweep, common_cs = (pd.DataFrame(), []) if verdicts_only else refine_sweep(
        common, cs, rounds, log_v
    )
    marks = markers(verdicts_only, smoke)
    configs = [
        Config(tuned_label(c), sweep_label(c), float(rates[sweep_label(c)])) for c in TUNED_CS
    ]
    configs += [Config(m, m, float(rates[m])) for m in marks]
    configs.append(Config(NGDIFF_AUTOLR, "NGDiff", float(rates["NGDiff"]), AutoLR.plain()))
    others = run_grid(
        target,
        bench,
        configs,
        seeds,
        method_protocol,
        progress=progress,
        desc="tuned GDiff(c) and markers",
    ).finals
    finals = pd.concat([sweep, collapse(others, log_v)], ignore_index=True)
    return Fig1Runs(finals, common_cs, list(TUNED_CS), common_lr, [*marks, NGDIFF_AUTOLR])


# --------------------------------------------------------------------------- points and scores


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
    from .comparison.tables import with_forget_quality

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


FIG1_CLAIMS = [
    "ngdiff.fig1.no_single_c_balances",
    "ngdiff.fig1.ngdiff_adds_to_gdiff_frontier",
    "ngdiff.fig1.ngdiff_beats_npo",
]


def claim_measurements(
    finals: pd.DataFrame, tuned_labels: list[str], no_unlearn: dict, draw: int, optimizer: str
) -> pd.DataFrame:
    """Every registry claim of notebook 02 on one optimizer's finals (ids
    ``<claim>.<optimizer>``), per seed, collapsed (``collapse``: a diverged run is a
    collapse point, never dropped), all on the per-c tuned sweep (``tuned_labels``, each
    c at its own tuned rate):

    - ``no_single_c_balances``: the largest ROUGE_R / No-unlearn among the GDiff(c) runs
      that forget (ROUGE_F < 0.1), 0 when none does;
    - ``ngdiff_adds_to_gdiff_frontier``: the hypervolume NGDiff + AutoLR adds to the
      sweep's frontier in ROUGE space;
    - ``ngdiff_beats_npo``: NGDiff + AutoLR's minus NPO's ROUGE_R / No-unlearn, each
      counted only where the run forgets (else 0: comparable forgetting first)."""
    ref = float(no_unlearn["rouge_retain"])
    balanced = {}
    for seed, runs in finals[finals["label"].isin(tuned_labels)].groupby("seed"):
        forgot = runs[stats.forgets(runs["rouge_forget"])]
        balanced[seed] = float(forgot["rouge_retain"].max() / ref) if len(forgot) else 0.0
    balanced = pd.Series(balanced)
    scores = frontier_scores(finals, tuned_labels, [NGDIFF_AUTOLR])
    added = scores.set_index("seed")["added_hv"]

    def useful(label):
        runs = finals[finals["label"] == label].set_index("seed")
        return (runs["rouge_retain"] / ref).where(stats.forgets(runs["rouge_forget"]), 0.0)

    beats = (useful(NGDIFF_AUTOLR) - useful("NPO")).dropna()

    def rows(name, values):
        claim_id = f"{name}.{optimizer}"
        return claims.measurement(claim_id, draw, values.to_numpy(), seeds=values.index)

    return pd.concat(
        [rows(FIG1_CLAIMS[0], balanced), rows(FIG1_CLAIMS[1], added), rows(FIG1_CLAIMS[2], beats)],
        ignore_index=True,
    )


def _sweep(ax, points: pd.DataFrame, cs, x: str, y: str, *, fmt: str, ls: str, text: str):
    """One GDiff(c) sweep on one panel: a line through the mean points in the order of c,
    a marker per c coloured by c, error bars of one std over seeds."""
    ax.plot(points[x], points[y], ls, color=gdiff_color(0.6), lw=1.2, zorder=1)
    for i, ((_, row), c) in enumerate(zip(points.iterrows(), cs)):
        ax.errorbar(
            row[x],
            row[y],
            xerr=row[f"{x}_std"],
            yerr=row[f"{y}_std"],
            fmt=fmt,
            ms=6,
            color=gdiff_color(c),
            mec="black" if fmt == "s" else gdiff_color(c),
            mew=0.5,
            ecolor=gdiff_color(c),
            elinewidth=0.8,
            label=text if i == 0 else None,
            zorder=2,
        )


def plot_pareto(
    axes,
    common: pd.DataFrame,
    common_cs: list[float],
    tuned: pd.DataFrame,
    tuned_cs: list[float],
    methods: pd.DataFrame,
    log_v: float,
    frontier_labels: list[str],
    common_lr: float | None = None,
):
    """Fig. 1: (a) final L_F vs L_R, (b) final ROUGE_F vs ROUGE_R.

    ``common`` and ``tuned`` are ``mean_points`` tables of the two GDiff(c) sweeps (rows
    in the order of ``common_cs`` and ``tuned_cs``), ``methods`` of the markers and the
    reference models, all from collapsed finals (``collapse``). Common-rate sweep:
    circles joined by a dashed line; tuned sweep: squares joined by a solid line; both
    coloured by c. A point with collapsed runs carries a dagger (†): some of its runs
    diverged and count as collapse points (ROUGE 0, losses at log V). Error bars: one
    std over seeds. The shaded area of panel (b) is what the tuned sweep's mean points
    dominate down to (ROUGE_F, ROUGE_R) = (1, 0): its hypervolume, the frontier the
    claims score against.
    ``frontier_labels``: the non-dominated points of panel (b), ringed in black.
    """
    loss_ax, rouge_ax = axes
    rate = f" {common_lr:.3g}" if common_lr is not None else ""
    panels = (
        (loss_ax, "split_loss_forget", "split_loss_retain"),
        (rouge_ax, "rouge_forget", "rouge_retain"),
    )
    every = pd.concat([common, tuned, methods])
    crossed = every[every.get("collapsed", pd.Series(0, index=every.index)) > 0]
    for ax, x, y in panels:
        _sweep(ax, common, common_cs, x, y, fmt="o", ls="--", text=f"GDiff(c), one rate{rate}")
        _sweep(ax, tuned, tuned_cs, x, y, fmt="s", ls="-", text="GDiff(c), each c tuned")
        for label, row in methods.iterrows():
            ax.errorbar(
                row[x],
                row[y],
                xerr=row[f"{x}_std"],
                yerr=row[f"{y}_std"],
                fmt=marker(label),
                ms=13 if label.startswith("NGDiff") else 8,
                color=color(label),
                mec=color(label) if marker(label) in UNFILLED else "black",
                mew=0.6,
                elinewidth=0.8,
                label=label,
                zorder=3,
            )
        if len(crossed):
            ax.scatter(
                crossed[x],
                crossed[y],
                marker=COLLAPSE_MARK,
                s=90,
                color="black",
                label="† some runs diverged: collapse points (ROUGE 0, losses at log V)",
                zorder=5,
            )
    order = np.argsort(tuned["rouge_forget"].to_numpy())
    forget = np.append(tuned["rouge_forget"].to_numpy()[order], 1.0)
    kept = np.maximum.accumulate(tuned["rouge_retain"].to_numpy()[order])
    rouge_ax.fill_between(
        forget,
        0,
        np.append(kept, kept[-1]) if len(kept) else [0],
        step="post",
        color=gdiff_color(0.5),
        alpha=0.12,
        lw=0,
        label="dominated by the tuned GDiff(c) (hypervolume)",
        zorder=0,
    )
    ringed = every.loc[[label for label in frontier_labels if label in every.index]]
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
