"""Notebook 04: learning-rate sensitivity (NGDiff Fig. 6: GDiff; Fig. 5: NGDiff vs AutoLR).

Tables first, plots after. Every table function takes the long tables of
``engine.runs.Grid``: ``finals`` (one row per run: ``lr``, ``seed``, ``diverged_at``,
``final_lr``, ``rouge_forget``, ``rouge_retain``, ...) and ``histories`` (one row per
step and run, with ``label`` and ``seed``).

- ``lr_study``: per optimizer, NGDiff's rate tuned on held-out seeds (``engine.tuning``:
  the median rule over ``Protocol.tuning_seeds`` seeds draw + 1000, ...; never an
  evaluation seed), then GDiff-0.5 and NGDiff at every fixed rate and NGDiff + AutoLR
  started from the smallest rate, the middle of the grid (the paper's 5e-5 in
  {1e-5, 5e-5, 1e-4}), the tuned rate and the largest rate (Figs. 5 and 6).
- The *best fixed rate* against which AutoLR is compared is that tuned rate: chosen
  without looking at the evaluation seeds.
- ``claim_measurements``: the registry's claims of notebook 04, one value per run and
  draw (``measure_gdiff_sensitivity``, ``measure_autolr_forgets``,
  ``measure_autolr_beats_best_fixed``); ``FIGURE_CLAIMS`` says which figure shows which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import claims, stats
from ..engine.autolr import AutoLR
from ..engine.runs import Config, Grid, Protocol, run_grid
from ..engine.tuning import Tuning
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

OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD"}

FIXED_RULES = ("GDiff-0.5", "NGDiff")  # Fig. 6 (vanilla GDiff) and Fig. 5 (NGDiff)


AUTOLR_RULE = "NGDiff+AutoLR"


# AutoLR's starting rates: role -> (colour, dash); the middle one is the paper's
AUTOLR_STARTS = {
    "smallest": ("#fdae6b", ":"),
    "middle": ("#ff7f0e", "-"),
    "tuned": ("#a63603", "--"),
    "largest": ("#e6550d", "-."),
}


def middle_rate(rates: Sequence[float]) -> float:
    """The middle of a rate grid (the paper's 5e-5 in {1e-5, 5e-5, 1e-4}): the median
    rate of an odd grid, the geometric mean of the two middle rates of an even one
    (rounded to 3 significant digits), e.g. 3e-4 for the smoke grid {3e-5, 3e-3}."""
    rates = sorted(rates)
    if not rates:
        raise ValueError("an empty rate grid has no middle")
    n = len(rates)
    if n % 2:
        return float(rates[n // 2])
    return float(f"{math.sqrt(rates[n // 2 - 1] * rates[n // 2]):.3g}")


def autolr_starts(rates: Sequence[float], tuned: float) -> dict[str, float]:
    """AutoLR's starting rates by role: the grid's smallest, its middle, the tuned rate
    (the best fixed rate, chosen on held-out seeds) and the largest."""
    rates = sorted(rates)
    return {
        "smallest": float(rates[0]),
        "middle": middle_rate(rates),
        "tuned": float(tuned),
        "largest": float(rates[-1]),
    }


def start_roles(starts: dict[str, float]) -> dict[float, list[str]]:
    """Starting rate -> its roles (a rate may be both the middle and the tuned one)."""
    out: dict[float, list[str]] = {}
    for role, lr in starts.items():
        out.setdefault(lr, []).append(role)
    return out


def retain_advantage(retain: float, best: float) -> dict[str, float]:
    """How much higher ``retain`` (AutoLR's mean final ROUGE_R) is than ``best`` (the best
    fixed rate's): absolute difference and relative difference in percent (the paper's
    "19.5% higher" reads as relative: 0.747 against about 0.625)."""
    difference = retain - best
    relative = 100 * difference / best if best > 0 else math.inf
    return {"absolute": float(difference), "relative_percent": float(relative)}


def autolr_period(protocol: Protocol, period: int = 10) -> int:
    """AutoLR's period k: the paper's 10, or half the steps when a run is shorter than
    three periods (smoke size), so that AutoLR acts at least once."""
    return period if protocol.steps >= 3 * period else max(1, protocol.steps // 2)


def fixed_label(method: str, lr: float) -> str:
    return f"{method} @ {lr:g}"


def autolr_label(lr: float) -> str:
    return f"{AUTOLR_RULE} from {lr:g}"


def autolr_roles(smoke: bool) -> tuple[str, ...]:
    """AutoLR's starts drawn: all four; at smoke size (a grid of two rates, the tuned one
    among them) the middle and the tuned rate only."""
    return ("middle", "tuned") if smoke else tuple(AUTOLR_STARTS)


def sensitivity_configs(
    rates: Sequence[float],
    autolr: AutoLR,
    starts: dict[str, float],
    verdicts_only: bool = False,
) -> list[Config]:
    """GDiff-0.5 and NGDiff at every fixed rate, and NGDiff + AutoLR from every start of
    ``starts`` (Figs. 5 and 6). ``verdicts_only``: only what the claims need: GDiff-0.5
    at every rate, NGDiff at the tuned rate, AutoLR from the middle (``starts`` must
    have the roles "middle" and "tuned")."""
    rates = sorted(rates)
    if verdicts_only:
        return [
            *(Config(fixed_label("GDiff-0.5", lr), "GDiff-0.5", lr) for lr in rates),
            Config(fixed_label("NGDiff", starts["tuned"]), "NGDiff", starts["tuned"]),
            Config(autolr_label(starts["middle"]), "NGDiff", starts["middle"], autolr),
        ]
    configs = [Config(fixed_label(m, lr), m, lr) for m in FIXED_RULES for lr in rates]
    return configs + [Config(autolr_label(lr), "NGDiff", lr, autolr) for lr in start_roles(starts)]


@dataclass
class Study:
    """The runs of one optimizer in notebook 04: the tuning on held-out seeds and the
    grid on the evaluation seeds."""

    optimizer: str
    rates: tuple[float, ...]
    tuning: Tuning
    starts: dict[str, float]
    grid: Grid
    autolr: AutoLR

    @property
    def best_fixed(self) -> float:
        """NGDiff's best fixed rate: tuned on held-out seeds, never the evaluation seeds."""
        return self.tuning.lr

    @property
    def finals(self) -> pd.DataFrame:
        return with_rule(self.grid.finals)

    @property
    def table(self) -> pd.DataFrame:
        """``stats.group_stats`` by (rule, lr); an AutoLR row's lr is its starting rate."""
        return stats.group_stats(self.finals, ["rule", "lr"], [*METRICS, "final_lr"])

    def rule(self, rule: str) -> pd.DataFrame:
        table = self.table
        return table[table["rule"] == rule].reset_index(drop=True)

    def lines(self, rules: Sequence[str]) -> dict[str, Line]:
        """Line styles: one viridis colour per fixed rate (the best fixed rate thicker),
        AutoLR in oranges, one dash per start (solid: from the middle, the paper's)."""
        colors = rate_colors(self.rates)
        out = {}
        for rule in rules:
            if rule == AUTOLR_RULE:
                for lr, roles in start_roles(self.starts).items():
                    color, dash = AUTOLR_STARTS[roles[0]]
                    text = f"AutoLR from {lr:g} ({', '.join(roles)})"
                    out[autolr_label(lr)] = Line(color, text, dash, 2.4)
                continue
            for lr in self.rates:
                best = rule == "NGDiff" and math.isclose(lr, self.best_fixed)
                text = f"{rule}, lr = {lr:g}" + (" (best fixed, held-out)" if best else "")
                out[fixed_label(rule, lr)] = Line(colors[lr], text, "-", 2.4 if best else 1.6)
        return out

    def setting(self) -> str:
        """The study's rates in words, for verdicts."""
        grid = ", ".join(f"{lr:g}" for lr in self.rates)
        return (
            f"{OPTIMIZER_NAMES[self.optimizer]}: fixed rates {grid}; AutoLR (plain rule, "
            f"k = {self.autolr.period}) from the middle {self.starts['middle']:g}; best "
            f"fixed NGDiff rate {self.best_fixed:g}, tuned: {self.tuning.rule}"
        )

    def measurements(self, draw: int) -> pd.DataFrame:
        return claim_measurements(
            self.finals, self.optimizer, draw, self.starts["middle"], self.best_fixed
        )

    def summary(self) -> dict:
        """Numbers for the summary sidecar's ``data``: the grid, the starts, the tuning
        (medians on held-out seeds) and the paper's arithmetic for AutoLR from the middle
        against the best fixed rate on the evaluation seeds (means over seeds)."""
        table = self.table.set_index(["rule", "lr"])
        auto = table.loc[(AUTOLR_RULE, self.starts["middle"]), "rouge_retain_mean"]
        best = table.loc[("NGDiff", self.best_fixed), "rouge_retain_mean"]
        advantage = retain_advantage(auto, best) if np.isfinite([auto, best]).all() else {}
        return {
            "rates": list(self.rates),
            "starts": self.starts,
            "best_fixed_lr": self.best_fixed,
            "best_fixed_rule": self.tuning.rule,
            "tuning_table": self.tuning.table,
            "autolr_middle_vs_best_fixed_rouge_retain": advantage,
        }


def with_rule(finals: pd.DataFrame) -> pd.DataFrame:
    """``finals`` with ``rule``: the method, or ``AUTOLR_RULE`` for an AutoLR run."""
    return finals.assign(rule=np.where(finals["autolr"], AUTOLR_RULE, finals["method"]))


def lr_study(
    target,
    bench,
    protocol: Protocol,
    seeds: Sequence[int],
    rates: Sequence[float],
    autolr: AutoLR,
    tuning: Tuning,
    verdicts_only: bool = False,
    roles: Sequence[str] = tuple(AUTOLR_STARTS),
    progress: bool = True,
) -> Study:
    """``sensitivity_configs`` under ``protocol`` on the evaluation ``seeds`` (one batch
    of the executor; runs from the run cache when done before), NGDiff's best fixed rate
    being ``tuning``'s (tuned over ``rates`` on held-out seeds, ``engine.tuning``), AutoLR
    from the starts of ``roles`` (``autolr_roles``)."""
    rates = tuple(sorted(rates))
    every = autolr_starts(rates, tuning.lr)
    starts = {role: lr for role, lr in every.items() if role in {*roles, "middle", "tuned"}}
    configs = sensitivity_configs(rates, autolr, starts, verdicts_only)
    grid = run_grid(
        target,
        bench,
        configs,
        list(seeds),
        protocol,
        desc=f"{protocol.optimizer}: {len(configs)} configs x {len(seeds)} seeds",
        progress=progress,
    )
    return Study(protocol.optimizer, rates, tuning, starts, grid, autolr)


def display_table(studies: dict[str, Study]) -> pd.DataFrame:
    """The per-(rule, rate) tables of all optimizers, rates written out (``:g``)."""
    table = pd.concat({OPTIMIZER_NAMES[o]: s.table for o, s in studies.items()})
    return table.assign(lr=table["lr"].map("{:g}".format))


# --------------------------------------------------------------------------- claims

FIGURE_CLAIMS = {  # figure -> the claim (one per optimizer) it shows
    "fig6_gdiff_lr": "ngdiff.fig6.gdiff_sensitive_to_rate",
    "fig5_ngdiff_lr": "ngdiff.fig5.autolr_forgets",
    "lr_sensitivity_summary": "ngdiff.fig5.autolr_beats_best_fixed_rate",
}


def figure_claims(figure: str, optimizers: Sequence[str]) -> list[str]:
    """The registry ids a figure of notebook 04 carries: its claim for each optimizer run."""
    return [f"{FIGURE_CLAIMS[figure]}.{opt}" for opt in optimizers]


def _runs(finals: pd.DataFrame, rule: str, lr: float) -> pd.DataFrame:
    """The runs of ``rule`` at (or, AutoLR, from) ``lr``, one per seed, by seed."""
    chosen = finals[(finals["rule"] == rule) & np.isclose(finals["lr"], lr, rtol=1e-9, atol=0)]
    return chosen.set_index("seed").sort_index()


def _finished(runs: pd.DataFrame) -> pd.Series:
    return ~stats.diverged_mask(runs)


def gdiff_spread_per_seed(finals: pd.DataFrame) -> pd.Series:
    """Per seed: max - min over the fixed rates of GDiff-0.5's final ROUGE_R, a diverged
    run counting ROUGE_R 0 (it destroyed the model)."""
    runs = finals[finals["rule"] == "GDiff-0.5"]
    retain = runs["rouge_retain"].astype(float).where(_finished(runs), 0.0)
    return retain.groupby(runs["seed"]).agg(stats.spread)


def measure_gdiff_sensitivity(finals: pd.DataFrame, optimizer: str, draw: int) -> pd.DataFrame:
    """``ngdiff.fig6.gdiff_sensitive_to_rate.<optimizer>``: ``gdiff_spread_per_seed``."""
    spread = gdiff_spread_per_seed(finals)
    claim_id = f"{FIGURE_CLAIMS['fig6_gdiff_lr']}.{optimizer}"
    return claims.measurement(claim_id, draw, spread.to_numpy(), seeds=spread.index)


def measure_autolr_forgets(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float
) -> pd.DataFrame:
    """``ngdiff.fig5.autolr_forgets.<optimizer>``: per run of NGDiff + AutoLR from
    ``start`` (the middle of the grid), its final ROUGE_F; a diverged run is a collapse
    (ROUGE_F 0, never dropped: the claims that read its utility count it 0)."""
    runs = _runs(finals, AUTOLR_RULE, start)
    forget = runs["rouge_forget"].astype(float).where(_finished(runs), 0.0)
    claim_id = f"{FIGURE_CLAIMS['fig5_ngdiff_lr']}.{optimizer}"
    return claims.measurement(claim_id, draw, forget.to_numpy(), seeds=runs.index)


def utility_if_forgets(runs: pd.DataFrame) -> pd.Series:
    """Final ROUGE_R of runs that forget (ROUGE_F < 0.1); 0 for a run that does not
    forget or diverged: the paper compares utilities of runs that unlearn."""
    forgot = _finished(runs) & stats.forgets(runs["rouge_forget"].astype(float))
    return runs["rouge_retain"].astype(float).where(forgot, 0.0)


def measure_autolr_beats_best_fixed(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float, best: float
) -> pd.DataFrame:
    """``ngdiff.fig5.autolr_beats_best_fixed_rate.<optimizer>``: per seed, paired,
    ``utility_if_forgets`` of NGDiff + AutoLR from ``start`` minus that of NGDiff at the
    fixed rate ``best`` (tuned on held-out seeds)."""
    auto = utility_if_forgets(_runs(finals, AUTOLR_RULE, start))
    fixed = utility_if_forgets(_runs(finals, "NGDiff", best))
    difference = (auto - fixed).dropna()
    claim_id = f"{FIGURE_CLAIMS['lr_sensitivity_summary']}.{optimizer}"
    return claims.measurement(claim_id, draw, difference.to_numpy(), seeds=difference.index)


def claim_measurements(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float, best: float
) -> pd.DataFrame:
    """Every claim of notebook 04 for one optimizer (``finals`` with ``rule``)."""
    return pd.concat(
        [
            measure_gdiff_sensitivity(finals, optimizer, draw),
            measure_autolr_forgets(finals, optimizer, draw, start),
            measure_autolr_beats_best_fixed(finals, optimizer, draw, start, best),
        ],
        ignore_index=True,
    )


# --------------------------------------------------------------------------- plots

CURVE_PANELS = ("rouge_forget", "rouge_retain", "loss_forget", "loss_retain")


def panel_bands(histories: pd.DataFrame, column: str) -> pd.DataFrame:
    """A panel's bands: mean +- std clipped to [0, 1] for ROUGE (linear axis), the
    geometric mean times / divided by the geometric std for the losses (log axis:
    ``stats.geometric_bands``), so a band never falls to the floor of a log axis."""
    if column.startswith("loss"):
        return stats.geometric_bands(histories, column)
    out = stats.bands(histories, column)
    return out.assign(low=out["low"].clip(lower=0.0), high=out["high"].clip(upper=1.0))


def plot_rate_curves(axes, histories: pd.DataFrame, lines: dict[str, Line]) -> None:
    """The four panels of Figs. 5 and 6 on ``axes`` (one row of four): ROUGE_F, ROUGE_R
    (at the evaluation steps; mean, band +- 1 std over seeds within [0, 1]) and L_F, L_R (per-step
    batch losses, log scale; geometric mean, band x/ 1 geometric std) against the step,
    one line per label."""
    for ax, column in zip(axes, CURVE_PANELS):
        table = panel_bands(histories, column)
        for label, line in lines.items():
            curve = table[table["label"] == label]
            if curve.empty:
                continue
            marker = "o" if column.startswith("rouge") else None
            line.plot(ax, curve["step"], curve["mean"], marker=marker, ms=3)
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
    bands mean +- std (name -> (mean, std, colour, dash))."""
    for name, (table, color) in fixed.items():
        if table.empty:
            continue
        ax.errorbar(
            table["lr"],
            table[f"{column}_mean"],
            yerr=np.nan_to_num(table[f"{column}_std"]),
            color=color,
            marker="o",
            capsize=3,
            label=f"{name}, fixed rate",
        )
        for _, row in table[table["diverged"] > 0].iterrows():
            ax.annotate(f"{row['diverged']}/{row['runs']} diverged", (row["lr"], 0.5), fontsize=7)
    for name, (mean, std, color, dash) in autolr.items():
        std = 0.0 if not np.isfinite(std) else std
        ax.axhspan(max(mean - std, 0.0), min(mean + std, 1.0), color=color, alpha=0.15)
        ax.axhline(mean, color=color, ls=dash, lw=1.6, label=name)
    ax.set(xscale="log", xlabel="learning rate (fixed, or AutoLR's start)", ylim=(-0.03, 1.03))
    ax.set_ylabel("final " + NAMES[column])


def summary_figure(studies: dict[str, Study], n_seeds: int):
    """The summary panel: final ROUGE_F and ROUGE_R against the fixed rate, GDiff-0.5
    and NGDiff as lines (mean, std bars over seeds), NGDiff + AutoLR from each start as
    horizontal bands (mean +- std), the best fixed rate (held-out tuning) as a grey
    vertical line; one row per optimizer."""
    fig, axes = plt.subplots(len(studies), 2, figsize=(11, 3.4 * len(studies)), squeeze=False)
    for row_axes, (name, study) in zip(axes, studies.items()):
        fixed = {rule: (study.rule(rule), style.color(rule)) for rule in FIXED_RULES}
        auto = study.rule(AUTOLR_RULE)
        roles = start_roles(study.starts)
        for ax, column in zip(row_axes, METRICS):
            these = {}
            for _, row in auto.iterrows():
                role = next(v for k, v in roles.items() if math.isclose(k, row["lr"]))
                color, dash = AUTOLR_STARTS[role[0]]
                these[f"AutoLR from {row['lr']:g} ({', '.join(role)})"] = (
                    row[f"{column}_mean"],
                    row[f"{column}_std"],
                    color,
                    dash,
                )
            plot_rate_summary(ax, column, fixed, these)
            ax.axvline(study.best_fixed, color="grey", lw=1.0, ls="--")
            ax.set_xticks(study.rates, [f"{lr:g}" for lr in study.rates])
            ax.minorticks_off()
            ax.set_title(f"{name}: final {NAMES[column]}", loc="left", fontsize="medium")
        row_axes[0].axhline(FORGET_BELOW, color="grey", lw=0.8, ls=":")
        row_axes[-1].plot([], [], color="grey", ls="--", label="best fixed rate (held-out seeds)")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(
        f"Sensitivity to the learning rate after the last step (mean, bars/bands = ±1 std "
        f"over {n_seeds} seeds; dotted: ROUGE_F = {FORGET_BELOW:g})"
    )
    return fig


def curve_data(histories: pd.DataFrame, labels: Sequence[str]) -> dict:
    """The plotted numbers of a curves figure: ``panel_bands`` of each panel's column
    for ``labels`` (for a sidecar: a few hundred numbers, not every step of every run)."""
    chosen = histories[histories["label"].isin(list(labels))]
    return {column: panel_bands(chosen, column) for column in CURVE_PANELS}
