"""Learning-rate sensitivity (NGDiff Figs. 5, 6) and the AutoLR trace (Fig. 7).

Tables first, plots after. Every table function takes the long tables of
``experiments.Grid``: ``finals`` (one row per run: ``lr``, ``seed``, ``diverged_at``,
``final_lr``, ``rouge_forget``, ``rouge_retain``, ...) and ``histories`` (one row per
step and run, with ``label`` and ``seed``).

- ``per_rate``: mean and standard deviation over seeds of the final metrics, per rate.
- ``spread``: the sensitivity number, max - min across rates of the per-rate means.
- ``best_fixed_rate``: the fixed rate a practitioner would pick with hindsight, by an
  explicit rule (highest mean ROUGE_R among rates whose mean ROUGE_F <= 0.1).
- ``bands``: mean curve and mean +- one standard deviation over seeds, per label.
- ``trace``, ``kept_share``, ``forward_cost``: what AutoLR did during a run (Fig. 7),
  and what it cost in forward passes (Appendix C.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import experiments
from .autolr import AutoLR
from .experiments import FORGETS, Config, Grid, Protocol
from .figures import method_color

METRICS = ("rouge_forget", "rouge_retain")
NAMES = {
    "rouge_forget": "ROUGE_F (forget)",
    "rouge_retain": "ROUGE_R (retain)",
    "loss_forget": "L_F (forget batch)",
    "loss_retain": "L_R (retain batch)",
}
FORWARDS_PER_STEP = 2  # one forward per task (R and F) in every step of Algorithm 1
UNITS_PER_STEP = 6  # 1 forward + 1 backward (= 2 forwards) per task: 3 units x 2 tasks


# --------------------------------------------------------------------------- tables


def per_rate(
    finals: pd.DataFrame, by: str | Sequence[str] = "lr", columns: Sequence[str] = METRICS
) -> pd.DataFrame:
    """Per group (default: per learning rate), over seeds: ``<column>_mean``,
    ``<column>_std`` (ddof=1; 0 for a single run) of the runs that finished, ``runs``
    (all runs) and ``diverged`` (runs stopped by a non-finite loss, left out of the
    means). Groups keep the order in which they first appear."""
    by = [by] if isinstance(by, str) else list(by)
    diverged = (
        finals["diverged_at"].notna()
        if "diverged_at" in finals
        else pd.Series(False, index=finals.index)
    )
    done = finals[~diverged]
    rows = []
    for key, group in finals.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        finished = done.loc[done.index.intersection(group.index)]
        row = dict(zip(by, key))
        for column in columns:
            values = (
                finished[column].astype(float).to_numpy() if column in finished else np.array([])
            )
            values = values[np.isfinite(values)]
            row[f"{column}_mean"] = float(values.mean()) if values.size else math.nan
            row[f"{column}_std"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
        row["runs"] = len(group)
        row["diverged"] = int(diverged.loc[group.index].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def spread(table: pd.DataFrame, column: str) -> float:
    """Sensitivity to the rate: max - min across the rows of ``table`` (one per rate) of
    ``<column>_mean``; rows without a finished run are left out. NaN with no rows."""
    values = table[f"{column}_mean"].astype(float).to_numpy()
    values = values[np.isfinite(values)]
    return float(values.max() - values.min()) if values.size else math.nan


@dataclass(frozen=True)
class BestRate:
    """The best fixed rate of a table and why it was chosen."""

    lr: float
    rouge_forget: float
    rouge_retain: float
    forgets: bool  # whether it met ROUGE_F <= forget_max
    rule: str


def best_fixed_rate(table: pd.DataFrame, forget_max: float = FORGETS) -> BestRate:
    """The rate with the highest mean ROUGE_R among the rates whose mean ROUGE_F is at
    most ``forget_max`` (Table 1's Verbmem < 0.1) and none of whose runs diverged; ties
    go to the smaller rate. When no rate forgets, the rate with the lowest mean ROUGE_F
    is returned with ``forgets=False`` (the comparison then favours any rule that does
    forget, and the caller should say so). ``table`` is a ``per_rate`` table by ``lr``."""
    usable = table[(table["diverged"] == 0) & table["rouge_forget_mean"].notna()]
    if usable.empty:
        raise ValueError("no rate has a finished run without divergence")
    forgetting = usable[usable["rouge_forget_mean"] <= forget_max]
    if not forgetting.empty:
        row = forgetting.sort_values(["rouge_retain_mean", "lr"], ascending=[False, True]).iloc[0]
        rule = f"highest mean ROUGE_R among rates with mean ROUGE_F <= {forget_max:g}"
        forgets = True
    else:
        row = usable.sort_values(
            ["rouge_forget_mean", "rouge_retain_mean", "lr"], ascending=[True, False, True]
        ).iloc[0]
        rule = f"no rate reached mean ROUGE_F <= {forget_max:g}: lowest mean ROUGE_F"
        forgets = False
    return BestRate(
        float(row["lr"]),
        float(row["rouge_forget_mean"]),
        float(row["rouge_retain_mean"]),
        forgets,
        rule,
    )


def retain_advantage(retain: float, best: BestRate) -> dict[str, float]:
    """How much higher ``retain`` (AutoLR's mean final ROUGE_R) is than the best fixed
    rate's: absolute difference and relative difference in percent (the paper's "19.5%
    higher" reads as relative: 0.747 against about 0.625)."""
    difference = retain - best.rouge_retain
    relative = 100 * difference / best.rouge_retain if best.rouge_retain > 0 else math.inf
    return {"absolute": float(difference), "relative_percent": float(relative)}


def bands(histories: pd.DataFrame, column: str, by: str = "label", x: str = "step") -> pd.DataFrame:
    """Mean of ``column`` over seeds at each ``x``, per ``by``, with the band mean +- one
    standard deviation (ddof=1; zero width with one seed) and ``n`` (seeds present at
    that x: a diverged run stops early). Rows where ``column`` is missing (a loss at the
    final evaluation row, a ROUGE between evaluations) are skipped."""
    present = histories[histories[column].notna()]
    present = present.assign(**{column: present[column].astype(float)})
    stats = present.groupby([by, x], sort=False)[column].agg(["mean", "std", "count"])
    out = stats.reset_index().rename(columns={"count": "n"})
    out["std"] = out["std"].fillna(0.0)
    out["low"] = out["mean"] - out["std"]
    out["high"] = out["mean"] + out["std"]
    order = {label: i for i, label in enumerate(dict.fromkeys(histories[by]))}
    out = out.assign(order=out[by].map(order)).sort_values(["order", x], kind="stable")
    return out[[by, x, "mean", "low", "high", "std", "n"]].reset_index(drop=True)


# --------------------------------------------------------------------------- AutoLR


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
            trace(r.history).assign(label=r.config.label, seed=r.seed)
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


# --------------------------------------------------------------------------- studies

FIXED_RULES = ("GDiff-0.5", "NGDiff")  # Fig. 6 (vanilla GDiff) and Fig. 5 (NGDiff)
AUTOLR_RULE = "NGDiff+AutoLR"
AUTOLR_COLORS = ("#ff7f0e", "#a63603")  # NGDiff+AutoLR from the smallest / largest rate
# Adam's fixed rates (the SGD grid is the protocol's ``lr_grid``). Default: chosen on the
# held-out seed 1000 so that the grid runs from a rate at which GDiff barely forgets to
# one at which it destroys R (see notebook 04). Paper scale: the paper's Adam rates
# (Appendix F.3: 1e-5 to 1e-4) widened to two orders of magnitude.
ADAM_RATES = {
    "default": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3),
    "paper": (3e-6, 1e-5, 3e-5, 1e-4, 3e-4),
}


def protocols(session) -> dict[str, Protocol]:
    """Notebook 04's protocol per optimizer: the session's protocol with ROUGE evaluated
    every ``steps // 2`` steps (steps 0, 20, 40 by default; at smoke size only at the
    start and the end, and SGD only)."""
    from . import presets

    base = presets.protocol(session)
    every = base.steps if session.smoke else max(1, base.steps // 2)
    optimizers = ("sgd",) if session.smoke else ("sgd", "adam")
    return {opt: presets.protocol(session, optimizer=opt, eval_every=every) for opt in optimizers}


def rate_grid(session, optimizer: str) -> tuple[float, ...]:
    """The fixed rates of notebook 04 for ``optimizer``: SGD's is the protocol's
    ``lr_grid``, Adam's ``ADAM_RATES[scale]``; at smoke size only the two end rates."""
    if optimizer == "sgd":
        from . import presets

        grid = tuple(presets.protocol(session).lr_grid)
    else:
        grid = ADAM_RATES[session.params["scale"]]
    grid = tuple(sorted(grid))
    return (grid[0], grid[-1]) if session.smoke else grid


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
        """``per_rate`` by (rule, lr); an AutoLR row's lr is its starting rate."""
        extra = ["final_lr"]
        return per_rate(self.finals, by=["rule", "lr"], columns=[*METRICS, *extra])

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
                out[f"spread_{column}_{name}"] = _finite(spread(table, column))
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
            forgets = bool(row["rouge_forget_mean"] <= FORGETS)
            advantage = retain_advantage(row["rouge_retain_mean"], best)
            out |= {
                f"{key}_rouge_forget": _finite(row["rouge_forget_mean"]),
                f"{key}_rouge_retain": _finite(row["rouge_retain_mean"]),
                f"{key}_final_lr": _finite(row["final_lr_mean"]),
                f"{key}_retain_minus_best_fixed": _finite(advantage["absolute"]),
                f"{key}_retain_vs_best_fixed_percent": _finite(
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
    grid = experiments.run_grid(
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

START_FACTORS = (0.01, 0.1, 1.0, 10.0)  # initial eta = tuned rate x these: 3 orders
PERIODS = (1, 5, 10, 20)


def settings_grid(session, period: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Notebook 05's starting factors and periods: ``START_FACTORS`` and ``PERIODS``; at
    smoke size (6 steps) three factors and the periods 1 and ``period``."""
    if session.smoke:
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
    rows = []
    for config in configs:
        records = [r for r in grid.records if r.config.label == config.label]
        finished = [r for r in records if r.diverged_at is None]
        finals = pd.DataFrame([r.final for r in finished]) if finished else pd.DataFrame()
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
            values = finals[column].astype(float) if column in finals else pd.Series([])
            row[f"{column}_mean"] = float(values.mean()) if len(values) else math.nan
            row[f"{column}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
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


def _finite(value, missing: str = "n/a (no finished run)"):
    """A claim value: the float when finite, else a string saying why there is none."""
    value = float(value)
    return value if math.isfinite(value) else missing


# --------------------------------------------------------------------------- plots


def rate_colors(rates: Sequence[float]) -> dict[float, tuple]:
    """One colour per rate along viridis (dark = small rate, green = large), evenly in
    the order of the rates, so two figures with the same grid use the same colours."""
    rates = sorted(rates)
    span = max(len(rates) - 1, 1)
    return {lr: plt.cm.viridis(0.88 * i / span) for i, lr in enumerate(rates)}


@dataclass(frozen=True)
class Line:
    """How one label is drawn: colour, dash, legend text."""

    color: object
    text: str
    dash: str = "-"
    width: float = 1.6


CURVE_PANELS = ("rouge_forget", "rouge_retain", "loss_forget", "loss_retain")


def plot_curves(axes, histories: pd.DataFrame, lines: dict[str, Line]) -> None:
    """The four panels of Figs. 5 and 6 on ``axes`` (one row of four): ROUGE_F, ROUGE_R
    (at the evaluation steps) and L_F, L_R (per-step batch losses, log scale) against
    the step, one line per label with its mean +- std band over seeds."""
    for ax, column in zip(axes, CURVE_PANELS):
        table = bands(histories, column)
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
        plot_curves(row_axes, histories, lines)
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
        fixed = {rule: (study.rule(rule), method_color(rule.split("-")[0])) for rule in FIXED_RULES}
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
        row_axes[0].axhline(FORGETS, color="grey", lw=0.8, ls=":")
        row_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(
        f"Sensitivity to the learning rate after the last step (mean, bars/bands = ±1 std "
        f"over {n_seeds} seeds; dotted: ROUGE_F = {FORGETS:g})"
    )
    return fig


def _label_records(grid: Grid, label: str):
    return [r for r in grid.records if r.config.label == label and r.diverged_at is None]


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
            pair, (method_color("gd"), method_color("ga")), ("retain (R)", "forget (F)")
        ):
            band = bands(ours, column)
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
    colors = {"rouge_forget": method_color("ga"), "rouge_retain": method_color("gd")}
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
        ax.axhline(FORGETS, color="grey", lw=0.8, ls=":")
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
        color=method_color("ngdiff+autolr"),
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
    ax.bar(positions, by_period["extra_forwards_per_step"], color=method_color("ngdiff+autolr"))
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


def curve_data(histories: pd.DataFrame, labels: Sequence[str]) -> dict:
    """The plotted numbers of a curves figure: ``bands`` of each panel's column for
    ``labels`` (for a sidecar: a few hundred numbers, not every step of every run)."""
    chosen = histories[histories["label"].isin(list(labels))]
    return {column: bands(chosen, column) for column in CURVE_PANELS}


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
                f" (AutoLR does not forget: ROUGE_F > {FORGETS:g})"
                if not (isinstance(forget, float) and forget <= FORGETS)
                else ""
            )
        )
    return "\n".join(lines)


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
        "fixed_rouge_forget": _finite(by.loc[reference, "rouge_forget_mean"]),
        "fixed_rouge_retain": _finite(by.loc[reference, "rouge_retain_mean"]),
        "initial_lr_span": float(initial.max() / initial.min()),
        "final_lr_min_over_starts": _finite(finals.min()),
        "final_lr_max_over_starts": _finite(finals.max()),
        "final_lr_span": _finite(finals.max() / finals.min()),
        "kept_share_plain": _finite(kept_share(pd.concat(plain)), "n/a (no AutoLR update)")
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
            out[f"{key}_{column.removesuffix('_mean')}"] = _finite(row[column])
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
        works = "forgets" if row["rouge_forget_mean"] <= FORGETS else "does NOT forget"
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
