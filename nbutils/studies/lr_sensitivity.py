"""Notebook 04: learning-rate sensitivity (NGDiff Fig. 6: GDiff; Fig. 5: NGDiff vs AutoLR).

Tables first, plots after. Every table function takes the long tables of
``engine.runs.Grid``: ``finals`` (one row per run: ``lr``, ``seed``, ``diverged_at``,
``final_lr``, ``rouge_forget``, ``rouge_retain``, ...) and ``histories`` (one row per
step and run, with ``label`` and ``seed``).

- ``Study.table``: mean and standard deviation over seeds of the final metrics, per rule
  and rate (``stats.group_stats``); ``stats.spread`` of the per-rate means is the
  sensitivity number.
- ``best_fixed_rate``: the fixed rate a practitioner would pick with hindsight, by the
  project's one rate rule (``stats.choose_rate`` on the per-rate means).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import stats
from ..claims import finite_or
from ..engine.autolr import AutoLR
from ..engine.runs import Config, Grid, Protocol, run_grid
from ..stats import FORGET_BELOW
from . import style
from .style import Line, rate_colors

METRICS = ("rouge_forget", "rouge_retain")


NAMES = {
    "rouge_forget": "ROUGE_F (forget)",
    "rouge_retain": "ROUGE_R (retain)",
    "loss_forget": "L_F (forget batch)",
    "loss_retain": "L_R (retain batch)",
}


@dataclass(frozen=True)
class BestRate:
    """The best fixed rate of a table and why it was chosen."""

    lr: float
    rouge_forget: float
    rouge_retain: float
    forgets: bool  # whether it met ROUGE_F <= forget_max
    rule: str


def best_fixed_rate(table: pd.DataFrame) -> BestRate:
    """The best fixed rate of a per-rate table (``Study.rule``: ``lr``,
    ``rouge_forget_mean``, ``rouge_retain_mean``, ``diverged``) by ``stats.choose_rate``
    on the means: the highest mean ROUGE_R among the rates whose mean ROUGE_F forgets,
    none of whose runs diverged. When no rate forgets, the rate with the lowest mean
    ROUGE_F is returned with ``forgets=False`` (the comparison then favours any rule
    that does forget, and the caller should say so)."""
    lr, rule = stats.choose_rate(
        table, "rouge_forget_mean", "rouge_retain_mean", ("mean ROUGE_F", "mean ROUGE_R")
    )
    row = table[table["lr"] == lr].iloc[0]
    return BestRate(
        lr,
        float(row["rouge_forget_mean"]),
        float(row["rouge_retain_mean"]),
        bool(stats.forgets(row["rouge_forget_mean"])),
        rule,
    )


def retain_advantage(retain: float, best: BestRate) -> dict[str, float]:
    """How much higher ``retain`` (AutoLR's mean final ROUGE_R) is than the best fixed
    rate's: absolute difference and relative difference in percent (the paper's "19.5%
    higher" reads as relative: 0.747 against about 0.625)."""
    difference = retain - best.rouge_retain
    relative = 100 * difference / best.rouge_retain if best.rouge_retain > 0 else math.inf
    return {"absolute": float(difference), "relative_percent": float(relative)}


FIXED_RULES = ("GDiff-0.5", "NGDiff")  # Fig. 6 (vanilla GDiff) and Fig. 5 (NGDiff)


AUTOLR_RULE = "NGDiff+AutoLR"


AUTOLR_COLORS = ("#ff7f0e", "#a63603")  # NGDiff+AutoLR from the smallest / largest rate


def autolr_period(protocol: Protocol, period: int = 10) -> int:
    """AutoLR's period k: the paper's 10, or half the steps when a run is shorter than
    three periods (smoke size), so that AutoLR acts at least once."""
    return period if protocol.steps >= 3 * period else max(1, protocol.steps // 2)


def fixed_label(method: str, lr: float) -> str:
    return f"{method} @ {lr:g}"


def autolr_label(lr: float) -> str:
    return f"{AUTOLR_RULE} from {lr:g}"


def sensitivity_configs(rates: Sequence[float], autolr: AutoLR) -> list[Config]:
    """GDiff-0.5 and NGDiff at every fixed rate, and NGDiff + AutoLR started from the
    smallest and from the largest rate (Figs. 5 and 6)."""
    rates = sorted(rates)
    configs = [Config(fixed_label(m, lr), m, lr) for m in FIXED_RULES for lr in rates]
    starts = dict.fromkeys((rates[0], rates[-1]))
    return configs + [Config(autolr_label(lr), "NGDiff", lr, autolr) for lr in starts]


@dataclass
class Study:
    """The runs of one optimizer in notebook 04."""

    optimizer: str
    rates: tuple[float, ...]
    grid: Grid

    @property
    def finals(self) -> pd.DataFrame:
        finals = self.grid.finals
        rule = np.where(finals["autolr"], AUTOLR_RULE, finals["method"])
        return finals.assign(rule=rule)

    @property
    def table(self) -> pd.DataFrame:
        """``stats.group_stats`` by (rule, lr); an AutoLR row's lr is its starting rate."""
        extra = ["final_lr"]
        return stats.group_stats(self.finals, ["rule", "lr"], [*METRICS, *extra])

    def rule(self, rule: str) -> pd.DataFrame:
        table = self.table
        return table[table["rule"] == rule].reset_index(drop=True)

    def lines(self, rules: Sequence[str]) -> dict[str, Line]:
        """Line styles: one viridis colour per fixed rate, AutoLR in orange (solid from
        the smallest rate, dashed and darker from the largest)."""
        colors = rate_colors(self.rates)
        out = {}
        for rule in rules:
            if rule == AUTOLR_RULE:
                starts = (min(self.rates), max(self.rates))
                for lr, dash, color in zip(starts, ("-", "--"), AUTOLR_COLORS):
                    out[autolr_label(lr)] = Line(color, f"AutoLR from {lr:g}", dash, 2.4)
            else:
                for lr in self.rates:
                    out[fixed_label(rule, lr)] = Line(colors[lr], f"{rule}, lr = {lr:g}")
        return out

    def claims(self) -> dict:
        """The measured numbers of notebook 04 for this optimizer (flat, finite)."""
        out: dict = {"rates": ", ".join(f"{lr:g}" for lr in self.rates)}
        for name, rule in (
            ("gdiff_fixed", "GDiff-0.5"),
            ("ngdiff_fixed", "NGDiff"),
            ("ngdiff_autolr", AUTOLR_RULE),
        ):
            table = self.rule(rule)
            for column in METRICS:
                out[f"spread_{column}_{name}"] = finite_or(stats.spread(table[f"{column}_mean"]))
            out[f"diverged_runs_{name}"] = int(table["diverged"].sum())
        best = best_fixed_rate(self.rule("NGDiff"))
        out |= {
            "best_fixed_ngdiff_lr": best.lr,
            "best_fixed_ngdiff_rouge_forget": best.rouge_forget,
            "best_fixed_ngdiff_rouge_retain": best.rouge_retain,
            "best_fixed_ngdiff_forgets": best.forgets,
            "best_fixed_rule": best.rule,
        }
        for _, row in self.rule(AUTOLR_RULE).iterrows():
            key = f"autolr_from_{row['lr']:g}"
            forgets = bool(stats.forgets(row["rouge_forget_mean"]))
            advantage = retain_advantage(row["rouge_retain_mean"], best)
            out |= {
                f"{key}_rouge_forget": finite_or(row["rouge_forget_mean"]),
                f"{key}_rouge_retain": finite_or(row["rouge_retain_mean"]),
                f"{key}_final_lr": finite_or(row["final_lr_mean"]),
                f"{key}_retain_minus_best_fixed": finite_or(advantage["absolute"]),
                f"{key}_retain_vs_best_fixed_percent": finite_or(
                    advantage["relative_percent"], "undefined: best fixed ROUGE_R is 0"
                ),
                f"{key}_beats_best_fixed": forgets and advantage["absolute"] > 0,
            }
        return out


def lr_study(
    target,
    bench,
    protocol: Protocol,
    seeds: Sequence[int],
    rates: Sequence[float],
    autolr: AutoLR,
    progress: bool = True,
) -> Study:
    """Run (or load from the run cache) ``sensitivity_configs`` under ``protocol``."""
    configs = sensitivity_configs(rates, autolr)
    grid = run_grid(
        target,
        bench,
        configs,
        list(seeds),
        protocol,
        desc=f"{protocol.optimizer}: {len(configs)} configs x {len(seeds)} seeds",
        progress=progress,
    )
    return Study(protocol.optimizer, tuple(sorted(rates)), grid)


# AutoLR's own settings (notebook 05)


# --------------------------------------------------------------------------- plots

CURVE_PANELS = ("rouge_forget", "rouge_retain", "loss_forget", "loss_retain")


def plot_rate_curves(axes, histories: pd.DataFrame, lines: dict[str, Line]) -> None:
    """The four panels of Figs. 5 and 6 on ``axes`` (one row of four): ROUGE_F, ROUGE_R
    (at the evaluation steps) and L_F, L_R (per-step batch losses, log scale) against
    the step, one line per label with its mean +- std band over seeds."""
    for ax, column in zip(axes, CURVE_PANELS):
        table = stats.bands(histories, column)
        for label, line in lines.items():
            curve = table[table["label"] == label]
            if curve.empty:
                continue
            marker = "o" if column.startswith("rouge") else None
            ax.plot(
                curve["step"],
                curve["mean"],
                color=line.color,
                ls=line.dash,
                lw=line.width,
                marker=marker,
                ms=3,
                label=line.text,
            )
            ax.fill_between(
                curve["step"], curve["low"], curve["high"], color=line.color, alpha=0.15
            )
        ax.set(xlabel="unlearning step", ylabel=NAMES[column])
        if column.startswith("loss"):
            ax.set_yscale("log")
            ax.set_ylabel(NAMES[column] + ", nats/token")
        else:
            ax.set_ylim(-0.03, 1.03)


def curves_figure(rows: dict[str, tuple[pd.DataFrame, dict[str, Line]]], title: str):
    """Figs. 5/6: one row of four panels per entry of ``rows`` (row title -> (histories,
    lines)); the legend of each row sits right of it."""
    fig, axes = plt.subplots(len(rows), 4, figsize=(15, 3.3 * len(rows)), squeeze=False)
    for row_axes, (row_title, (histories, lines)) in zip(axes, rows.items()):
        plot_rate_curves(row_axes, histories, lines)
        row_axes[0].set_title(row_title, loc="left", fontsize="medium")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(title)
    return fig


def plot_rate_summary(ax, column: str, fixed: dict[str, tuple], autolr: dict[str, tuple]):
    """Final ``column`` against the fixed rate (log x), one line with std error bars per
    rule in ``fixed`` (name -> (per_rate table, colour)), and AutoLR runs as horizontal
    bands mean +- std (name -> (mean, std, colour))."""
    for name, (table, color) in fixed.items():
        ax.errorbar(
            table["lr"],
            table[f"{column}_mean"],
            yerr=table[f"{column}_std"],
            color=color,
            marker="o",
            capsize=3,
            label=f"{name}, fixed rate",
        )
        for _, row in table[table["diverged"] > 0].iterrows():
            ax.annotate(f"{row['diverged']}/{row['runs']} diverged", (row["lr"], 0.5), fontsize=7)
    for name, (mean, std, color) in autolr.items():
        ax.axhspan(mean - std, mean + std, color=color, alpha=0.2)
        ax.axhline(mean, color=color, ls="--", lw=1.4, label=name)
    ax.set(xscale="log", xlabel="learning rate (fixed, or AutoLR's start)", ylim=(-0.03, 1.03))
    ax.set_ylabel("final " + NAMES[column])


def summary_figure(studies: dict[str, Study], n_seeds: int):
    """The summary panel: final ROUGE_F and ROUGE_R against the fixed rate, GDiff-0.5
    and NGDiff as lines (mean, std bars over seeds), NGDiff + AutoLR as horizontal bands
    (mean +- std), one row per optimizer."""
    fig, axes = plt.subplots(len(studies), 2, figsize=(11, 3.4 * len(studies)), squeeze=False)
    for row_axes, (name, study) in zip(axes, studies.items()):
        fixed = {rule: (study.rule(rule), style.color(rule)) for rule in FIXED_RULES}
        auto = study.rule(AUTOLR_RULE)
        for ax, column in zip(row_axes, METRICS):
            these = {
                f"NGDiff+AutoLR from {row['lr']:g}": (
                    row[f"{column}_mean"],
                    row[f"{column}_std"],
                    color,
                )
                for (_, row), color in zip(auto.iterrows(), AUTOLR_COLORS)
            }
            plot_rate_summary(ax, column, fixed, these)
            ax.set_title(f"{name}: final {NAMES[column]}", loc="left", fontsize="medium")
        row_axes[0].axhline(FORGET_BELOW, color="grey", lw=0.8, ls=":")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(
        f"Sensitivity to the learning rate after the last step (mean, bars/bands = ±1 std "
        f"over {n_seeds} seeds; dotted: ROUGE_F = {FORGET_BELOW:g})"
    )
    return fig


def curve_data(histories: pd.DataFrame, labels: Sequence[str]) -> dict:
    """The plotted numbers of a curves figure: ``bands`` of each panel's column for
    ``labels`` (for a sidecar: a few hundred numbers, not every step of every run)."""
    chosen = histories[histories["label"].isin(list(labels))]
    return {column: stats.bands(chosen, column) for column in CURVE_PANELS}


def _fmt(value, spec: str = ".3f") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def verdict(claims: dict) -> str:
    """One optimizer's verdict on the paper's claims, from ``Study.claims()``."""
    spreads = ", ".join(
        f"{name} {_fmt(claims[f'spread_rouge_retain_{key}'], '.2f')}"
        for name, key in (
            ("GDiff fixed", "gdiff_fixed"),
            ("NGDiff fixed", "ngdiff_fixed"),
            ("NGDiff+AutoLR", "ngdiff_autolr"),
        )
    )
    best = (
        f"best fixed NGDiff rate {claims['best_fixed_ngdiff_lr']:g} "
        f"(ROUGE_F {_fmt(claims['best_fixed_ngdiff_rouge_forget'])}, "
        f"ROUGE_R {_fmt(claims['best_fixed_ngdiff_rouge_retain'])}"
        + ("" if claims["best_fixed_ngdiff_forgets"] else "; no fixed rate forgets")
        + ")"
    )
    lines = [f"spread of final ROUGE_R across rates: {spreads}; {best}."]
    starts = sorted({k.split("_")[2] for k in claims if k.startswith("autolr_from_")}, key=float)
    for start in starts:
        key = f"autolr_from_{start}"
        forget = claims[f"{key}_rouge_forget"]
        lines.append(
            f"  AutoLR from {start}: ROUGE_F {_fmt(forget)}, "
            f"ROUGE_R {_fmt(claims[f'{key}_rouge_retain'])} "
            f"({_fmt(claims[f'{key}_retain_minus_best_fixed'], '+.3f')}, "
            f"{_fmt(claims[f'{key}_retain_vs_best_fixed_percent'], '+.1f')}% vs the best "
            "fixed rate): the paper's claim "
            + ("HOLDS" if claims[f"{key}_beats_best_fixed"] else "does NOT hold")
            + (
                f" (AutoLR does not forget: ROUGE_F > {FORGET_BELOW:g})"
                if not (isinstance(forget, float) and forget < FORGET_BELOW)
                else ""
            )
        )
    return "\n".join(lines)
