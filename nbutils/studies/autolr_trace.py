"""Notebook 05: what AutoLR does during unlearning (NGDiff Fig. 7), its cost
(Appendix C.1) and its sensitivity to its own settings (initial rate, period).

- ``trace``, ``traces``, ``kept_share``, ``forward_cost``, ``eta_path``, ``eta_moves``:
  what AutoLR did during a run;
- ``trace_configs`` (the plain rule and GeN's from the middle of the rate grid, the
  paper's start), ``autolr_configs`` (starts and periods around the tuned rate),
  ``settings_table``, ``rule_comparison``: the runs of notebook 05 and their summary;
- ``timed_pairs``: AutoLR's overhead timed on paired runs (the fixed rate and AutoLR
  k = 10, same seed, same batches, no evaluation), which ``measure_timed_overhead``
  turns into the evidence of Appendix C.1; ``measure_counted_forwards`` is its
  counted (sanity) twin;
- ``measure_forget_gradient_growth``, ``measure_rate_rise``: Fig. 7's claims.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import claims, stats
from ..engine import lm
from ..engine.autolr import AutoLR
from ..engine.loop import Run
from ..engine.runs import Config, Grid, Protocol
from ..stats import FORGET_BELOW
from . import style
from .lr.configs import METRICS
from .lr.plots import NAMES
from .style import Line

PAPER_PERIOD = 10  # Appendix C.1: "if we update the learning rate every 10 iterations"


def _accepted(history: pd.DataFrame) -> pd.Series:
    """``autolr_accepted`` at the AutoLR update steps only, as bools."""
    if "autolr_accepted" not in history:
        return pd.Series([], dtype=bool)
    column = history["autolr_accepted"]
    return column[column.notna()].astype(bool)


def _steps(history: pd.DataFrame) -> pd.DataFrame:
    """The step rows of a history (not the final evaluation row)."""
    return history[history["loss_retain"].notna()]


def trace(history: pd.DataFrame) -> pd.DataFrame:
    """One run's optimization trace (Fig. 7), one row per step: ``step``,
    ``grad_norm_retain``, ``grad_norm_forget``, ``lr`` (eta_t used at the step),
    ``step_retain = lr / ||g_R||`` and ``step_forget = lr / ||g_F||`` (the rate at which
    NGDiff's d = g_R/||g_R|| - g_F/||g_F|| moves along each raw task gradient under SGD),
    ``autolr_step`` (AutoLR updated eta at this step) and ``kept`` (its fit was
    rejected and eta kept, Remark 4.1)."""
    steps = _steps(history).copy()
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
    parts = [
        trace(r.history).assign(label=r.label, seed=r.seed)
        for r in grid.records
        if r.diverged_at is None
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def kept_share(histories: pd.DataFrame) -> float:
    """Share of AutoLR updates whose fit was rejected (eta kept; GeN-style also when a
    probe was not finite, eta halved), over all runs in ``histories``; NaN when no
    update happened."""
    accepted = _accepted(histories)
    return float((~accepted).mean()) if len(accepted) else math.nan


def forward_cost(history: pd.DataFrame, base: float = 2.0) -> dict[str, float]:
    """Cost of one run from its forward-pass counter (Appendix C.1): ``forwards_per_step``,
    ``extra_forwards_per_step`` (beyond ``base``, the 2 forwards of every step of
    Algorithm 1: AutoLR's probes, 2 every k steps for the plain rule, 3 with a fresh
    batch) and ``overhead`` = extra / 6, the relative cost when a step costs 6 forward
    units (1 forward + 1 backward of twice its cost, for each of R and F)."""
    steps = len(_steps(history))
    forwards = float(history["forward_passes"].max())
    extra = forwards / steps - base
    return {
        "forwards_per_step": forwards / steps,
        "extra_forwards_per_step": extra,
        "overhead": extra / 6,
    }


def eta_path(history: pd.DataFrame, start: float) -> np.ndarray:
    """eta before the first step and after every AutoLR update: [start, eta_1, ...]."""
    steps = _steps(history)
    updates = steps.index[steps.index.isin(_accepted(steps).index)]
    return np.array([start, *steps.loc[updates, "lr"].astype(float)])


def eta_moves(path: np.ndarray) -> dict[str, float]:
    """How eta moved along ``eta_path``: ``final_over_start`` and the largest factor by
    which one update changed it (``largest_jump`` >= 1, in either direction)."""
    ratios = path[1:] / path[:-1]
    jump = float(np.exp(np.abs(np.log(ratios)).max())) if ratios.size else 1.0
    return {"final_over_start": float(path[-1] / path[0]), "largest_jump": jump}


SMOOTH_JUMP = 2.0  # "smooth": no single update changes eta by more than GeN's clip, 2x


# --------------------------------------------------------------------------- the runs

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


def _config(autolr: AutoLR, lr: float) -> Config:
    return Config(autolr_config_label(autolr, lr), "NGDiff", lr, autolr)


def trace_configs(start: float, period: int, verdicts_only: bool = False) -> list[Config]:
    """Fig. 7's runs from ``start`` (the middle of the rate grid: the paper's 5e-5 in
    {1e-5, 5e-5, 1e-4}): the plain rule (Algorithm 1, the claims' run) and GeN's rule
    with period ``period`` and with k = 1 (its bounded, smoothed change needs many
    updates to move eta far). ``verdicts_only``: the plain rule only."""
    plain = _config(AutoLR.plain(period), start)
    if verdicts_only:
        return [plain]
    gen = [_config(AutoLR.gen_style(k), start) for k in dict.fromkeys((period, 1))]
    return [plain, *gen]


def autolr_configs(
    tuned: float,
    period: int,
    factors: Sequence[float] = START_FACTORS,
    periods: Sequence[int] = PERIODS,
) -> dict[str, list[Config]]:
    """Notebook 05's settings runs of NGDiff + AutoLR (plain rule), by purpose:
    ``starts`` (period ``period``, initial eta = tuned x factors) and ``periods`` (from
    the tuned rate, every period). The run from the tuned rate with period ``period``
    appears in both (run once: ``unique``)."""
    return {
        "starts": [_config(AutoLR.plain(period), tuned * f) for f in factors],
        "periods": [_config(AutoLR.plain(k), tuned) for k in periods],
    }


def unique(configs: Sequence[Config]) -> list[Config]:
    """Configs without repeats (same label), in order."""
    return list({c.label: c for c in configs}.values())


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


def rule_comparison(table: pd.DataFrame, labels: Sequence[str], setting: str) -> list[str]:
    """Plain vs GeN-style in words, from a ``settings_table``'s rows ``labels``: how far
    each took eta (median final / initial over seeds), its largest single update, the
    share of rejected fits, and whether eta rose smoothly as in the paper's Fig. 7
    (rose, and no update changed it by more than ``SMOOTH_JUMP``)."""
    by = table.set_index("label")
    lines = []
    for label in labels:
        row = by.loc[label]
        if row["diverged"] == row["runs"]:
            lines.append(f"  {setting}, {label}: every run diverged")
            continue
        rises = row["final_over_start"] > 1
        smooth = row["largest_jump"] <= SMOOTH_JUMP
        shape = (
            "rises smoothly (the paper's Fig. 7 shape)"
            if rises and smooth
            else "rises in jumps"
            if rises
            else "does NOT rise"
        )
        lines.append(
            f"  {setting}, {row['rule']} k={row['k']:g} from {row['initial_lr']:g}: eta x "
            f"{row['final_over_start']:.3g} after the last step (largest single update x "
            f"{row['largest_jump']:.3g}, rejected fits {100 * row['kept_share']:.0f}%, "
            f"{row['diverged']:g}/{row['runs']:g} diverged): {shape}; ROUGE_F "
            f"{row['rouge_forget_mean']:.3f}, ROUGE_R {row['rouge_retain_mean']:.3f}"
        )
    return lines


def settings_verdict(
    table: pd.DataFrame, starts: Sequence[str], periods: Sequence[str], reference: str
) -> str:
    """Notebook 05's findings on AutoLR's own settings in words, from a
    ``settings_table``."""
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
            f"forwards per step counted"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- timing


def timing_steps(protocol: Protocol, period: int = PAPER_PERIOD) -> int:
    """Steps of a timed run: the protocol's, at least one AutoLR period, rounded up to
    a whole number of periods (so the counted extra forwards are exactly 2/k)."""
    steps = max(protocol.steps, period)
    return period * math.ceil(steps / period)


TIMED_RULES = ("fixed", "AutoLR")


def timed_pairs(
    target,
    bench,
    protocol: Protocol,
    lr: float,
    seeds: Sequence[int],
    period: int = PAPER_PERIOD,
    progress: bool = True,
) -> pd.DataFrame:
    """AutoLR's cost, timed: per seed, NGDiff at the fixed rate ``lr`` and NGDiff +
    AutoLR (plain rule, ``period``) from ``lr``, ``timing_steps`` steps each under
    ``protocol``'s optimizer and batches, without evaluation (so ``Run.seconds`` is the
    steps' time alone), in the order fixed, AutoLR, AutoLR, fixed (drifts in the
    machine's load cancel to first order), after one untimed warm-up run of ``period``
    steps. Never cached: a timing is of this machine
    now. One row per run: ``seed``, ``rule`` (``TIMED_RULES``), ``repeat``, ``seconds``,
    ``steps`` (finished), ``seconds_per_step``, ``forwards`` (counted), ``diverged_at``."""
    from tqdm.auto import tqdm

    steps = timing_steps(protocol, period)
    autolrs = {"fixed": None, "AutoLR": AutoLR.plain(period)}

    def timed(rule: str, seed: int, steps: int) -> Run:
        return lm.unlearn_lm(
            target.model,
            target.tokenizer,
            bench,
            "NGDiff",
            steps=steps,
            lr=lr,
            optimizer=protocol.optimizer,
            autolr=autolrs[rule],
            batch_size=protocol.batch_size,
            eval_every=None,
            seed=seed,
            evaluate=False,
            progress=False,
        )

    timed("fixed", seeds[0], period)  # warm-up, not timed: first allocations, caches
    order = ("fixed", "AutoLR", "AutoLR", "fixed")
    jobs = [(seed, i, rule) for seed in seeds for i, rule in enumerate(order)]
    rows = []
    for seed, i, rule in tqdm(jobs, desc="timed pairs", disable=not progress):
        run = timed(rule, seed, steps)
        done = len(_steps(run.history))
        rows.append(
            {
                "seed": seed,
                "rule": rule,
                "repeat": i // 2,
                "seconds": run.seconds,
                "steps": done,
                "seconds_per_step": run.seconds / done if done else math.nan,
                "forwards": int(run.history["forward_passes"].max()),
                "diverged_at": run.diverged_at,
            }
        )
    return pd.DataFrame(rows)


def timing_per_seed(timing: pd.DataFrame) -> pd.DataFrame:
    """Per seed, from ``timed_pairs``: mean ``seconds_per_step``, ``forwards`` and
    ``steps`` of each rule (columns ``<quantity>_<rule>``), ``overhead`` = AutoLR's
    seconds per step over the fixed rate's minus 1 (timed) and ``extra_forwards`` =
    AutoLR's forward passes per step minus the fixed rate's (counted: exact integers
    until the one division, so 8 extra forwards in 40 steps give exactly 0.2)."""
    columns = ["seconds_per_step", "forwards", "steps"]
    means = timing.groupby(["seed", "rule"])[columns].mean()
    wide = means.unstack("rule")
    wide.columns = [f"{quantity}_{rule}" for quantity, rule in wide.columns]
    wide["overhead"] = wide["seconds_per_step_AutoLR"] / wide["seconds_per_step_fixed"] - 1
    same = wide["steps_AutoLR"] == wide["steps_fixed"]  # a diverged run ends early
    extra = (wide["forwards_AutoLR"] - wide["forwards_fixed"]) / wide["steps_AutoLR"]
    wide["extra_forwards"] = extra.where(same)
    return wide


# --------------------------------------------------------------------------- claims

FIGURE_CLAIMS = {
    "fig7_autolr_trace": [
        "ngdiff.fig7.forget_gradient_gets_smaller_rate",
        "ngdiff.fig7.autolr_rate_rises",
    ],
    "autolr_settings": [
        "ngdiff.appc1.autolr_overhead_below_10_percent",
        "ngdiff.appc1.autolr_counted_forwards",
    ],
}


def forget_over_retain_norm(history: pd.DataFrame) -> float:
    """The median over a run's steps of ||g_F|| / ||g_R|| (a diverged run: the steps it
    took): above 1, NGDiff's effective rate on the forget gradient, eta / ||g_F||, is the
    smaller of the two. NaN without a step."""
    steps = _steps(history)
    ratio = steps["grad_norm_forget"].astype(float) / steps["grad_norm_retain"].astype(float)
    return float(ratio.median()) if len(ratio) else math.nan


def measure_forget_rate(runs: Sequence[Run], draw: int) -> pd.DataFrame:
    """``ngdiff.fig7.forget_gradient_gets_smaller_rate``: ``forget_over_retain_norm`` of
    each run."""
    return claims.measurement(
        FIGURE_CLAIMS["fig7_autolr_trace"][0],
        draw,
        [forget_over_retain_norm(r.history) for r in runs],
        seeds=[r.seed for r in runs],
    )


def measure_rate_rise(runs: Sequence[Run], draw: int) -> pd.DataFrame:
    """``ngdiff.fig7.autolr_rate_rises``: per run, eta after the last step over the
    initial eta (its config's rate); a diverged run counts 0 (AutoLR did not keep it
    stable, whatever its rate did)."""
    values = [0.0 if r.diverged_at is not None else r.final_lr / r.config.lr for r in runs]
    return claims.measurement(
        FIGURE_CLAIMS["fig7_autolr_trace"][1], draw, values, seeds=[r.seed for r in runs]
    )


def _per_seed(claim_id: str, column: str, timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    per_seed = timing_per_seed(timing)
    return claims.measurement(claim_id, draw, per_seed[column].to_numpy(), seeds=per_seed.index)


def measure_timed_overhead(timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    """``ngdiff.appc1.autolr_overhead_below_10_percent``: per seed, the timed
    ``overhead`` of ``timing_per_seed``."""
    return _per_seed(FIGURE_CLAIMS["autolr_settings"][0], "overhead", timing, draw)


def measure_counted_forwards(timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    """``ngdiff.appc1.autolr_counted_forwards`` (sanity): per seed, the counted extra
    forward passes per step of AutoLR k = 10 (2/k by construction)."""
    return _per_seed(FIGURE_CLAIMS["autolr_settings"][1], "extra_forwards", timing, draw)


def claim_measurements(runs: Sequence[Run], timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    """Every claim of notebook 05: Fig. 7's from ``runs`` (NGDiff + AutoLR, plain rule,
    Adam, from the middle of the grid), Appendix C.1's from ``timed_pairs``."""
    return pd.concat(
        [
            measure_forget_rate(runs, draw),
            measure_rate_rise(runs, draw),
            measure_timed_overhead(timing, draw),
            measure_counted_forwards(timing, draw),
        ],
        ignore_index=True,
    )


# --------------------------------------------------------------------------- plots


def plot_trace_row(axes, every: pd.DataFrame, main: str, eta_lines: dict[str, Line]) -> None:
    """One row of Fig. 7 on three ``axes`` from ``traces``: (a) ||g_R|| and ||g_F|| of
    the run ``main`` (geometric mean, band x/ geometric std over seeds), (b) eta_t of the
    runs in ``eta_lines`` (one thin line per seed), (c) eta_t / ||g_R|| and eta_t /
    ||g_F|| of ``main``. Crosses mark AutoLR updates whose fit was rejected (eta kept);
    dotted verticals the updates of ``main``."""
    ours = every[every["label"] == main] if len(every) else every
    for ax, pair, ylabel in (
        (axes[0], ("grad_norm_retain", "grad_norm_forget"), "gradient norm (L2, all parameters)"),
        (axes[2], ("step_retain", "step_forget"), "eta_t / ||g||"),
    ):
        for column, color, text in zip(
            pair, (style.color("retain"), style.color("forget")), ("retain (R)", "forget (F)")
        ):
            if ours.empty:
                continue
            band = stats.geometric_bands(ours, column)
            ax.plot(band["step"], band["mean"], color=color, label=text)
            ax.fill_between(band["step"], band["low"], band["high"], color=color, alpha=0.2)
            kept = ours[ours["kept"]]
            ax.scatter(kept["step"], kept[column], marker="x", color="black", zorder=3, s=30)
        if not ours.empty:
            for step in sorted(ours.loc[ours["autolr_step"], "step"].unique()):
                ax.axvline(step, color="grey", lw=0.6, ls=":")
        ax.set(yscale="log", xlabel="unlearning step", ylabel=ylabel)
        ax.legend(fontsize="small")
    ax = axes[1]
    for label, line in eta_lines.items():
        runs = every[every["label"] == label] if len(every) else every
        for i, (_, run) in enumerate(runs.groupby("seed")):
            line.plot(ax, run["step"], run["lr"], label=line.text if i == 0 else None)
            kept = run[run["kept"]]
            ax.scatter(kept["step"], kept["lr"], marker="x", color="black", zorder=3, s=30)
    ax.scatter([], [], marker="x", color="black", label="fit rejected: eta kept")
    ax.set(yscale="log", xlabel="unlearning step", ylabel="learning rate eta_t")
    ax.legend(fontsize="x-small")


def trace_figure(rows: dict[str, tuple[Grid, str, dict[str, Line]]], n_seeds: int):
    """Fig. 7, one row of three panels per entry of ``rows`` (optimizer name -> (grid,
    the main run's label, the eta lines)): ``plot_trace_row``."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(15, 3.8 * len(rows)), squeeze=False)
    for row_axes, (name, (grid, main, eta_lines)) in zip(axes, rows.items()):
        plot_trace_row(row_axes, traces(grid), main, eta_lines)
        row_axes[0].set_title(f"{name}: (a) ||g_R|| and ||g_F||", loc="left", fontsize="medium")
        row_axes[1].set_title(f"{name}: (b) eta_t, one line per seed", loc="left")
        reading = "" if name == "SGD" else " (SGD's reading; Adam rescales per coordinate)"
        row_axes[2].set_title(f"(c) effective step{reading}", loc="left", fontsize="medium")
    fig.suptitle(
        f"NGDiff + AutoLR during unlearning ((a), (c): the plain rule from the middle of the "
        f"grid; bands: geometric mean x/ geometric std over {n_seeds} seeds)"
    )
    return fig


def plot_cost(ax, timing: pd.DataFrame) -> None:
    """Timed seconds per step of the fixed rate and of AutoLR k = 10 per seed (bars,
    means of the two paired repeats), each AutoLR bar annotated with its timed overhead
    and the counted extra forwards per step."""
    per_seed = timing_per_seed(timing)
    positions = np.arange(len(per_seed))
    width = 0.38
    ax.bar(
        positions - width / 2,
        per_seed["seconds_per_step_fixed"],
        width,
        color=style.color("NGDiff"),
        label="NGDiff, fixed rate",
    )
    ax.bar(
        positions + width / 2,
        per_seed["seconds_per_step_AutoLR"],
        width,
        color=style.color("NGDiff+AutoLR"),
        label="NGDiff + AutoLR (k = 10)",
    )
    for pos, (sps, overhead, extra) in enumerate(
        zip(per_seed["seconds_per_step_AutoLR"], per_seed["overhead"], per_seed["extra_forwards"])
    ):
        ax.annotate(
            f"{100 * overhead:+.1f}% timed\n+{extra:.2f} fwd/step",
            (pos + width / 2, sps),
            ha="center",
            va="bottom",
            fontsize="x-small",
        )
    ax.set_xticks(positions, [f"seed {s}" for s in per_seed.index])
    top = np.nanmax(per_seed[["seconds_per_step_fixed", "seconds_per_step_AutoLR"]].to_numpy())
    ax.set(ylabel="seconds per step (no evaluation)", ylim=(0, 1.6 * top))
    ax.legend(fontsize="small", loc="upper left")


def settings_figure(
    table: pd.DataFrame | None,
    starts: list[str],
    periods: list[str],
    timing: pd.DataFrame,
    n_seeds: int,
    setting: str,
):
    """AutoLR's sensitivity to its own settings, from a ``settings_table`` (``None``:
    the cost panel alone): final ROUGE and final eta against the initial eta (rows
    ``starts``), final ROUGE against the period k (rows ``periods``), and the cost timed
    on paired runs (``plot_cost``)."""
    if table is None:
        fig, ax = plt.subplots(1, 1, figsize=(5, 3.6))
        plot_cost(ax, timing)
        ax.set_title(f"{setting}: AutoLR's cost, timed", loc="left", fontsize="medium")
        return fig
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
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
    plot_cost(axes[3], timing)
    axes[3].set_title("(d) cost, timed on paired runs", loc="left", fontsize="medium")
    fig.suptitle(
        f"{setting}: AutoLR (plain rule) and its own settings, mean over {n_seeds} seeds, "
        "bars ±1 std unless stated"
    )
    return fig
