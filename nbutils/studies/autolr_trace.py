"""Notebook 05: what AutoLR does during unlearning (NGDiff Fig. 7), its cost
(Appendix C.1) and its sensitivity to its own settings (initial rate, period).

- ``trace``, ``kept_share``, ``forward_cost``: what AutoLR did during a run and what it
  cost in forward passes;
- ``autolr_configs``, ``settings_table``: the runs of notebook 05 and their summary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import stats
from ..claims import finite_or
from ..engine.autolr import AutoLR
from ..engine.runs import Config, Grid
from ..stats import FORGET_BELOW
from . import style
from .lr_sensitivity import METRICS, NAMES
from .style import Line

FORWARDS_PER_STEP = 2  # one forward per task (R and F) in every step of Algorithm 1


UNITS_PER_STEP = 6  # 1 forward + 1 backward (= 2 forwards) per task: 3 units x 2 tasks


def _accepted(history: pd.DataFrame) -> pd.Series:
    """``autolr_accepted`` at the AutoLR update steps only, as bools."""
    if "autolr_accepted" not in history:
        return pd.Series([], dtype=bool)
    column = history["autolr_accepted"]
    return column[column.notna()].astype(bool)


def trace(history: pd.DataFrame) -> pd.DataFrame:
    """One run's optimization trace (Fig. 7), one row per step: ``step``,
    ``grad_norm_retain``, ``grad_norm_forget``, ``lr`` (eta_t used at the step),
    ``step_retain = lr / ||g_R||`` and ``step_forget = lr / ||g_F||`` (the rate at which
    NGDiff's d = g_R/||g_R|| - g_F/||g_F|| moves along each raw task gradient under SGD),
    ``autolr_step`` (AutoLR updated eta at this step) and ``kept`` (its fit was
    rejected and eta kept, Remark 4.1)."""
    steps = history[history["loss_retain"].notna()].copy()
    out = steps[["step", "grad_norm_retain", "grad_norm_forget", "lr"]].astype(float)
    out["step"] = out["step"].astype(int)
    out["step_retain"] = out["lr"] / out["grad_norm_retain"]
    out["step_forget"] = out["lr"] / out["grad_norm_forget"]
    accepted = _accepted(steps)
    out["autolr_step"] = out.index.isin(accepted.index)
    out["kept"] = out.index.isin(accepted.index[~accepted.to_numpy()])
    return out.reset_index(drop=True)


def traces(grid: Grid) -> pd.DataFrame:
    """``trace`` of every finished run of ``grid``, with its ``label`` and ``seed``."""
    return pd.concat(
        [
            trace(r.history).assign(label=r.label, seed=r.seed)
            for r in grid.records
            if r.diverged_at is None
        ],
        ignore_index=True,
    )


def kept_share(histories: pd.DataFrame) -> float:
    """Share of AutoLR updates whose fit was rejected (eta kept or, GeN-style, halved),
    over all runs in ``histories``; NaN when no update happened."""
    accepted = _accepted(histories)
    return float((~accepted).mean()) if len(accepted) else math.nan


def forward_cost(history: pd.DataFrame) -> dict[str, float]:
    """Cost of one run from its forward-pass counter (Appendix C.1): ``forwards_per_step``,
    ``extra_forwards_per_step`` (AutoLR's probes: 2 every k steps for the plain rule, 3
    with a fresh batch) and ``overhead`` = extra / 6, the relative cost when a step costs
    6 forward units (1 forward + 1 backward of twice its cost, for each of R and F)."""
    steps = int(history["loss_retain"].notna().sum())
    forwards = float(history["forward_passes"].max())
    extra = forwards / steps - FORWARDS_PER_STEP
    return {
        "forwards_per_step": forwards / steps,
        "extra_forwards_per_step": extra,
        "overhead": extra / UNITS_PER_STEP,
    }


START_FACTORS = (0.01, 0.1, 1.0, 10.0)  # initial eta = tuned rate x these: 3 orders


PERIODS = (1, 5, 10, 20)


def settings_grid(smoke: bool, period: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Notebook 05's starting factors and periods: ``START_FACTORS`` and ``PERIODS``; at
    smoke size (6 steps) three factors and the periods 1 and ``period``."""
    if smoke:
        return (0.1, 1.0, 10.0), tuple(sorted({1, period}))
    return START_FACTORS, PERIODS


def rule_name(autolr: AutoLR) -> str:
    return "GeN-style" if autolr.smoothing else "plain"


def autolr_config_label(autolr: AutoLR, lr: float) -> str:
    return f"NGDiff + AutoLR {rule_name(autolr)} k={autolr.period} from {lr:g}"


def autolr_configs(
    tuned: float,
    period: int,
    factors: Sequence[float] = START_FACTORS,
    periods: Sequence[int] = PERIODS,
    gen_factors: Sequence[float] = (0.1, 1.0),
) -> dict[str, list[Config]]:
    """Notebook 05's runs of NGDiff + AutoLR, by purpose: ``starts`` (plain rule, period
    ``period``, initial eta = tuned x factors), ``periods`` (plain rule from the tuned
    rate, every period), ``gen`` (GeN-style from tuned x gen_factors). The plain run
    from the tuned rate with period ``period`` appears in the first two (run once)."""

    def config(autolr: AutoLR, lr: float) -> Config:
        return Config(autolr_config_label(autolr, lr), "NGDiff", lr, autolr)

    return {
        "starts": [config(AutoLR.plain(period), tuned * f) for f in factors],
        "periods": [config(AutoLR.plain(k), tuned) for k in periods],
        "gen": [config(AutoLR.gen_style(period), tuned * f) for f in gen_factors],
    }


def unique(configs: Sequence[Config]) -> list[Config]:
    """Configs without repeats (same label), in order."""
    return list({c.label: c for c in configs}.values())


def eta_path(history: pd.DataFrame, start: float) -> np.ndarray:
    """eta before the first step and after every AutoLR update: [start, eta_1, ...]."""
    steps = history[history["loss_retain"].notna()]
    updates = steps.index[steps.index.isin(_accepted(steps).index)]
    return np.array([start, *steps.loc[updates, "lr"].astype(float)])


def eta_moves(path: np.ndarray) -> dict[str, float]:
    """How eta moved along ``eta_path``: ``final_over_start`` and the largest factor by
    which one update changed it (``largest_jump`` >= 1, in either direction)."""
    ratios = path[1:] / path[:-1]
    jump = float(np.exp(np.abs(np.log(ratios)).max())) if ratios.size else 1.0
    return {"final_over_start": float(path[-1] / path[0]), "largest_jump": jump}


def settings_table(grid: Grid, configs: Sequence[Config]) -> pd.DataFrame:
    """One row per config of ``configs``: rule, period k, initial and final eta (mean
    over seeds, and min/max), final ROUGE_F and ROUGE_R (mean, std), kept-update share,
    forward passes per step and extra ones, the overhead in forward units, and how eta
    moved (median over seeds of ``eta_moves``). A config without AutoLR has the rule
    ``"fixed rate"`` and k NaN."""
    summary = stats.group_stats(grid.finals, "label", METRICS).set_index("label")
    rows = []
    for config in configs:
        records = [r for r in grid.records if r.label == config.label]
        finished = [r for r in records if r.diverged_at is None]
        row = {
            "label": config.label,
            "rule": rule_name(config.autolr) if config.autolr else "fixed rate",
            "k": config.autolr.period if config.autolr else math.nan,
            "initial_lr": config.lr,
            "runs": len(records),
            "diverged": len(records) - len(finished),
        }
        final_lrs = np.array([r.final_lr for r in finished])
        row |= {
            "final_lr_mean": float(final_lrs.mean()) if finished else math.nan,
            "final_lr_min": float(final_lrs.min()) if finished else math.nan,
            "final_lr_max": float(final_lrs.max()) if finished else math.nan,
        }
        for column in METRICS:
            row[f"{column}_mean"] = summary.loc[config.label, f"{column}_mean"]
            row[f"{column}_std"] = np.nan_to_num(summary.loc[config.label, f"{column}_std"])
        histories = [r.history for r in finished]
        row["kept_share"] = kept_share(pd.concat(histories)) if histories else math.nan
        costs = [forward_cost(h) for h in histories]
        for key in ("forwards_per_step", "extra_forwards_per_step", "overhead"):
            row[key] = float(np.mean([c[key] for c in costs])) if costs else math.nan
        moves = [eta_moves(eta_path(h, config.lr)) for h in histories]
        for key in ("final_over_start", "largest_jump"):
            row[key] = float(np.median([m[key] for m in moves])) if moves else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- plots


def trace_figure(grid: Grid, main: str, eta_lines: dict[str, Line], n_seeds: int):
    """Fig. 7: (a) ||g_R|| and ||g_F|| during the run ``main`` (mean, band over seeds),
    (b) eta_t of the runs in ``eta_lines`` (one thin line per seed), (c) the effective
    step of each task eta_t / ||g_R|| and eta_t / ||g_F|| during ``main``. Crosses mark
    AutoLR updates whose fit was rejected (eta kept); dotted verticals AutoLR updates."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    every = traces(grid)
    ours = every[every["label"] == main]
    for ax, pair, ylabel in (
        (axes[0], ("grad_norm_retain", "grad_norm_forget"), "gradient norm (L2, all parameters)"),
        (axes[2], ("step_retain", "step_forget"), "effective step on the task gradient"),
    ):
        for column, color, text in zip(
            pair, (style.color("retain"), style.color("forget")), ("retain (R)", "forget (F)")
        ):
            band = stats.bands(ours, column)
            ax.plot(band["step"], band["mean"], color=color, label=text)
            ax.fill_between(band["step"], band["low"], band["high"], color=color, alpha=0.2)
            kept = ours[ours["kept"]]
            ax.scatter(kept["step"], kept[column], marker="x", color="black", zorder=3, s=30)
        for step in sorted(ours.loc[ours["autolr_step"], "step"].unique()):
            ax.axvline(step, color="grey", lw=0.6, ls=":")
        ax.set(yscale="log", xlabel="unlearning step", ylabel=ylabel)
        ax.legend(fontsize="small")
    axes[0].set_title("(a) ||g_R|| and ||g_F||", loc="left", fontsize="medium")
    axes[2].set_title(
        "(c) eta_t/||g_R|| and eta_t/||g_F|| (NGDiff under SGD)", loc="left", fontsize="medium"
    )
    ax = axes[1]
    for label, line in eta_lines.items():
        runs = every[every["label"] == label]
        for i, (_, run) in enumerate(runs.groupby("seed")):
            ax.plot(
                run["step"],
                run["lr"],
                color=line.color,
                ls=line.dash,
                lw=line.width,
                label=line.text if i == 0 else None,
            )
            kept = run[run["kept"]]
            ax.scatter(kept["step"], kept["lr"], marker="x", color="black", zorder=3, s=30)
    ax.scatter([], [], marker="x", color="black", label="fit rejected: eta kept")
    ax.set(yscale="log", xlabel="unlearning step", ylabel="learning rate eta_t")
    ax.set_title("(b) eta_t, one line per seed", loc="left", fontsize="medium")
    ax.legend(fontsize="x-small")
    fig.suptitle(f"NGDiff + AutoLR during unlearning ({main}; bands: ±1 std over {n_seeds} seeds)")
    return fig


def settings_figure(table: pd.DataFrame, starts: list[str], periods: list[str], n_seeds: int):
    """AutoLR's sensitivity to its own settings, from a ``settings_table``: final ROUGE
    and final eta against the initial eta (rows ``starts``), final ROUGE and extra
    forward passes per step against the period k (rows ``periods``)."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    by_start = table.set_index("label").loc[starts]
    by_period = table.set_index("label").loc[periods]
    colors = {"rouge_forget": style.color("forget"), "rouge_retain": style.color("retain")}
    for ax, frame, x in ((axes[0], by_start, "initial_lr"), (axes[2], by_period, "k")):
        for column, color in colors.items():
            ax.errorbar(
                frame[x],
                frame[f"{column}_mean"],
                yerr=frame[f"{column}_std"],
                color=color,
                marker="o",
                capsize=3,
                label="final " + NAMES[column],
            )
        ax.axhline(FORGET_BELOW, color="grey", lw=0.8, ls=":")
        ax.set(ylim=(-0.03, 1.03), ylabel="final ROUGE-L recall")
        ax.legend(fontsize="small")
    axes[0].set(xscale="log", xlabel="initial eta (k fixed)")
    axes[0].set_title("(a) final metrics vs initial eta", loc="left", fontsize="medium")
    axes[2].set(xscale="log", xlabel="AutoLR period k (steps; initial eta fixed)")
    axes[2].set_xticks(by_period["k"], [f"{k:g}" for k in by_period["k"]])
    axes[2].minorticks_off()
    axes[2].set_title("(c) final metrics vs period k", loc="left", fontsize="medium")
    ax = axes[1]
    low = by_start["final_lr_mean"] - by_start["final_lr_min"]
    high = by_start["final_lr_max"] - by_start["final_lr_mean"]
    ax.errorbar(
        by_start["initial_lr"],
        by_start["final_lr_mean"],
        yerr=[low, high],
        color=style.color("NGDiff+AutoLR"),
        marker="o",
        capsize=3,
        label="final eta (mean; bars: min-max)",
    )
    span = [by_start["initial_lr"].min(), by_start["initial_lr"].max()]
    ax.plot(span, span, color="grey", ls="--", lw=0.8, label="final = initial")
    ax.set(xscale="log", yscale="log", xlabel="initial eta", ylabel="eta after the last step")
    ax.set_title("(b) where AutoLR takes eta", loc="left", fontsize="medium")
    ax.legend(fontsize="small")
    ax = axes[3]
    positions = np.arange(len(by_period))
    ax.bar(positions, by_period["extra_forwards_per_step"], color=style.color("NGDiff+AutoLR"))
    for pos, (extra, overhead) in enumerate(
        zip(by_period["extra_forwards_per_step"], by_period["overhead"])
    ):
        ax.annotate(
            f"+{100 * overhead:.1f}%", (pos, extra), ha="center", va="bottom", fontsize="small"
        )
    ax.set_xticks(positions, [f"k={k:g}" for k in by_period["k"]])
    ax.set(ylabel="extra forward passes per step", xlabel="AutoLR period")
    ax.set_title("(d) cost (% of a step's 6 forward units)", loc="left", fontsize="medium")
    fig.suptitle(
        f"AutoLR (plain rule) and its own settings: mean over {n_seeds} seeds, "
        "bars ±1 std unless stated"
    )
    return fig


def settings_claims(grid: Grid, table: pd.DataFrame, starts: Sequence[str], reference: str) -> dict:
    """Notebook 05's measured numbers (flat, finite) from a ``settings_table``: the final
    eta reached from every start in ``starts`` and the spans (max / min) of the initial
    and final rates, the share of rejected fits over the plain-rule runs, and per AutoLR
    configuration the final ROUGE, final eta and extra forward passes per step;
    ``reference`` is the fixed-rate row."""
    by = table.set_index("label")
    finals = by.loc[list(starts), "final_lr_mean"]
    initial = by.loc[list(starts), "initial_lr"]
    plain = [
        r.history
        for r in grid.records
        if r.diverged_at is None and r.config.autolr and not r.config.autolr.smoothing
    ]
    out = {
        "fixed_lr": float(by.loc[reference, "initial_lr"]),
        "fixed_rouge_forget": finite_or(by.loc[reference, "rouge_forget_mean"]),
        "fixed_rouge_retain": finite_or(by.loc[reference, "rouge_retain_mean"]),
        "initial_lr_span": float(initial.max() / initial.min()),
        "final_lr_min_over_starts": finite_or(finals.min()),
        "final_lr_max_over_starts": finite_or(finals.max()),
        "final_lr_span": finite_or(finals.max() / finals.min()),
        "kept_share_plain": finite_or(kept_share(pd.concat(plain)), "n/a (no AutoLR update)")
        if plain
        else "n/a (no finished run)",
        "diverged_runs": int(table["diverged"].sum()),
    }
    for _, row in by.drop(index=reference).iterrows():
        key = f"{row['rule']}_k{row['k']:g}_from_{row['initial_lr']:g}"
        for column in (
            "rouge_forget_mean",
            "rouge_retain_mean",
            "final_lr_mean",
            "extra_forwards_per_step",
        ):
            out[f"{key}_{column.removesuffix('_mean')}"] = finite_or(row[column])
    return out


def settings_verdict(
    table: pd.DataFrame, starts: Sequence[str], periods: Sequence[str], reference: str
) -> str:
    """Notebook 05's findings in words, computed from a ``settings_table``."""
    by = table.set_index("label")

    def result(label: str) -> str:
        row = by.loc[label]
        if row["diverged"] == row["runs"]:
            return "every run diverged"
        works = "forgets" if row["rouge_forget_mean"] < FORGET_BELOW else "does NOT forget"
        return (
            f"{works} (ROUGE_F {row['rouge_forget_mean']:.3f}, ROUGE_R "
            f"{row['rouge_retain_mean']:.3f}, final eta {row['final_lr_mean']:.3g})"
        )

    initial = by.loc[list(starts), "initial_lr"]
    final = by.loc[list(starts), "final_lr_mean"]
    lines = [
        f"Fixed NGDiff at {by.loc[reference, 'initial_lr']:g}: {result(reference)}.",
        f"Starting rates spanning {initial.max() / initial.min():.0f}x end spanning "
        f"{final.max() / final.min():.1f}x "
        + (
            "(AutoLR pulls eta together)."
            if final.max() / final.min() < initial.max() / initial.min()
            else "(AutoLR does NOT pull eta together)."
        ),
    ]
    lines += [
        f"  from {by.loc[s, 'initial_lr']:g} (k={by.loc[s, 'k']:g}): {result(s)}" for s in starts
    ]
    for label in periods:
        row = by.loc[label]
        lines.append(
            f"  k={row['k']:g}: {result(label)}; +{row['extra_forwards_per_step']:.2f} "
            f"forwards per step ({100 * row['overhead']:.1f}% of a step)"
        )
    gen = [label for label in by.index if by.loc[label, "rule"] == "GeN-style"]
    lines += [f"  GeN-style from {by.loc[g, 'initial_lr']:g}: {result(g)}" for g in gen]
    return "\n".join(lines)
