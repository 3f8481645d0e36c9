"""Notebook 08: unlearning on images (NGDiff Appendix D, Table 4; the DualOptim slides'
image tables), on the digits of ``core.digits``.

A small CNN trained on every training image (the *original*, "No-unlearn" model) is
unlearned with the engine's direction rules (``engine.unlearner.unlearn``, the same run
loop as the language model, with the batch cross-entropy of images as the task loss) in
two scenarios: *class* (a sample of one class's training images, as in Appendix D) and
*random* (a random 10% of the training images, as in the slides). RT, the model
retrained from scratch on R alone, is the gold reference.

Metrics (slides): forget accuracy FA, retain accuracy RA, test accuracy TA (with its
share on the forgotten class and on the other classes), and MIA, the share of F that a
membership-inference attack calls members (``core.mia``); each method's *Gap* is its
mean absolute difference to RT over FA, RA, TA, MIA, and its *Std* the mean over those
four of the standard deviation over seeds. Everything is a fraction in [0, 1]. A run
forgets when its FA is below ``stats.FORGET_BELOW``, the threshold of every notebook.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import stats
from ..core.digits import (
    Digits,
    Split,
    batch_stream,
    cpu_threads,
    cross_entropy,
    evaluate,
    train_classifier,
)
from ..engine.autolr import AutoLR
from ..engine.loop import stream_seeds
from ..engine.runs import Config, Protocol, Tuning, tune_rate, tuning_seeds
from ..engine.unlearner import unlearn
from .style import color

METRICS = ("FA", "RA", "TA", "MIA")  # the slides' four; Gap and Std run over these
PRETRAIN_EPOCHS = 30  # the original model's and RT's training (Adam)
SMOKE_PRETRAIN_EPOCHS = 5
PROTOCOL = Protocol(
    optimizer="sgd",
    steps=50,
    batch_size=32,
    lr_grid=(1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0),
)
SMOKE_PROTOCOL = replace(PROTOCOL, steps=10, lr_grid=(0.01, 0.3), tuning_seeds=1)


def protocol(smoke: bool, steps: int | None = None) -> Protocol:
    """The unlearning protocol (SGD, as in Algorithm 1), or the smoke one; ``steps``
    overrides the unlearning steps."""
    base = SMOKE_PROTOCOL if smoke else PROTOCOL
    return base if steps is None or smoke else replace(base, steps=steps)


def pretrain_epochs(smoke: bool) -> int:
    return SMOKE_PRETRAIN_EPOCHS if smoke else PRETRAIN_EPOCHS


def gap_to_reference(means: pd.DataFrame, reference: str = "RT") -> pd.Series:
    """The slides' Gap: per row, mean over FA, RA, TA, MIA of |value - reference row's|."""
    cols = list(METRICS)
    return (means[cols] - means.loc[reference, cols]).abs().mean(axis=1)


def std_column(stds: pd.DataFrame) -> pd.Series:
    """The slides' Std: per row, the mean over FA, RA, TA, MIA of the std over seeds."""
    return stds[list(METRICS)].mean(axis=1)


TABLE4 = [
    Config("GDiff-0.9", "GDiff-0.9", math.nan),
    Config("GDiff-0.5", "GDiff-0.5", math.nan),
    Config("GDiff-0.1", "GDiff-0.1", math.nan),
    Config("LossNorm", "LossNorm", math.nan),
    Config("NGDiff", "NGDiff", math.nan),
    Config("NGDiff+AutoLR", "NGDiff", math.nan, AutoLR.plain()),
]


def image_streams(split: Split, data: Digits, batch_size: int, seed: int) -> dict:
    """The run's ``retain``, ``forget`` and ``probe`` (retain) batch streams of images."""
    sets, seeds = split.sets(data), stream_seeds(seed)
    return {
        "retain": batch_stream(*sets["retain"], batch_size, seeds.retain),
        "forget": batch_stream(*sets["forget"], batch_size, seeds.forget),
        "probe": batch_stream(*sets["retain"], batch_size, seeds.probe),
    }


def image_run(
    original, data: Digits, split: Split, config: Config, protocol: Protocol, seed: int
) -> dict:
    """Algorithm 1 on a copy of ``original`` (``engine.unlearner.unlearn``, single CPU
    thread): ``protocol.steps`` steps, each on a fresh retain batch and a fresh forget
    batch, then ``evaluate``. One row: ``lr``, ``final_lr``, ``seconds``, ``diverged_at``
    and the metrics (NaN for a run whose loss, gradient or parameters became non-finite)."""
    start = time.perf_counter()
    with cpu_threads(1):
        run = unlearn(
            original,
            config.method,
            image_streams(split, data, protocol.batch_size, seed),
            steps=protocol.steps,
            lr=config.lr,
            seed=seed,
            optimizer=protocol.optimizer,
            autolr=config.autolr,
            loss=cross_entropy,
            evaluate=lambda model: evaluate(model, data, split, seed),
            label=config.label,
        )
    final = {k: v for k, v in run.final.items() if k in (*METRICS, "TA_forgotten", "TA_rest")}
    return {
        "lr": config.lr,
        "final_lr": run.final_lr,
        "seconds": time.perf_counter() - start,
        "diverged_at": run.diverged_at,
        **(final if run.diverged_at is None else {m: math.nan for m in METRICS}),
    }


def retrain_run(data: Digits, split: Split, epochs: int, seed: int) -> dict:
    """RT: a fresh model trained on R alone with the original's recipe (``epochs``),
    evaluated."""
    start = time.perf_counter()
    model = train_classifier(*split.sets(data)["retain"], epochs=epochs, seed=seed)
    metrics = evaluate(model, data, split, seed)
    return {"seconds": time.perf_counter() - start, "diverged_at": None, **metrics}


# --------------------------------------------------------------------------- rates


def choose_lr(table: pd.DataFrame, scenario: str) -> tuple[float, str]:
    """The rate a tuning table picks (diverged rows are never chosen; ties go to the
    smaller rate). class: ``stats.choose_rate`` with FA for ROUGE_F and RA for ROUGE_R
    (the highest RA among rates that forget). random: the smallest Gap to RT
    (random-subset forgetting has no target FA: RT still classifies most of F
    correctly, so "forgetting" means resembling RT)."""
    if scenario != "random":
        return stats.choose_rate(table, "FA", "RA", ("FA", "RA"))
    ok = table[~stats.rates_that_diverged(table)]
    if ok.empty:
        raise ValueError(f"every rate of the grid diverged: {list(table.lr)}")
    best = ok.sort_values(["gap", "lr"]).iloc[0]
    return float(best.lr), "smallest Gap to RT"


def tune(
    original,
    data: Digits,
    split: Split,
    config: Config,
    protocol: Protocol,
    seed: int,
    references: dict[int, dict[str, float]] | None = None,
) -> Tuning:
    """``config``'s rate from ``protocol.lr_grid`` by ``choose_lr`` on the median over
    ``protocol.tuning_seeds`` held-out seeds (``engine.runs.tune_rate``). The random
    scenario's Gap is to ``references[seed]``, RT's metrics at each held-out seed."""

    def run_at(lr: float, held_out: int) -> dict:
        row = image_run(original, data, split, replace(config, lr=lr), protocol, held_out)
        if references is not None:
            reference = pd.Series(references[held_out])[list(METRICS)]
            row["gap"] = float(
                pd.Series(row)[list(METRICS)].astype(float).sub(reference).abs().mean()
            )
        return row

    return tune_rate(
        config.label,
        run_at,
        protocol.lr_grid,
        seed,
        n_seeds=protocol.tuning_seeds,
        choose=lambda table: choose_lr(table, split.scenario),
    )


def tune_all(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: list[Config],
    protocol: Protocol,
    seed: int,
    epochs: int,
    progress: bool = True,
) -> tuple[dict[str, list[Config]], pd.DataFrame]:
    """Tune every config without AutoLR in every scenario (``tune``); a config with
    AutoLR starts from the tuned rate of the same method without it (RT, the random
    scenario's reference, is trained for ``epochs`` at each held-out seed). Returns the
    configs with their rates per scenario and a table of the choices (the median
    tuning metrics at the chosen rate)."""
    held_out = tuning_seeds(seed, protocol.tuning_seeds)
    references = {  # RT per held-out seed for each scenario that needs it
        name: {s: retrain_run(data, split, epochs, s) for s in held_out}
        for name, split in splits.items()
        if split.scenario == "random"
    }
    tuned: dict[tuple[str, str], Tuning] = {}
    jobs = [(s, c) for s in splits for c in configs if c.autolr is None]
    for scenario, config in tqdm(jobs, desc="tuning", disable=not progress):
        tuned[scenario, config.method] = tune(
            original, data, splits[scenario], config, protocol, seed, references.get(scenario)
        )
    chosen, rows = {}, []
    for scenario in splits:
        chosen[scenario] = []
        for config in configs:
            tuning = tuned[scenario, config.method]
            chosen[scenario].append(replace(config, lr=tuning.lr))
            at = tuning.table[tuning.table.lr == tuning.lr].iloc[0]
            rule = tuning.rule if config.autolr is None else f"start at {tuning.label}'s rate"
            rows.append(
                {"scenario": scenario, "label": config.label, "lr": tuning.lr, "rule": rule}
                | {f"tuning {m}": at[m] for m in ("FA", "RA")}
            )
    return chosen, pd.DataFrame(rows)


# --------------------------------------------------------------------------- the table


def run_table(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: dict[str, list[Config]],
    protocol: Protocol,
    seeds: list[int],
    epochs: int,
    progress: bool = True,
) -> pd.DataFrame:
    """Every scenario x (No-unlearn, RT, each config) x seed: one row per run with
    scenario, label, seed, lr, final_lr (AutoLR's last rate), seconds, diverged_at and
    the metrics. ``configs[scenario]`` carry their tuned rates; RT trains ``epochs``."""
    jobs = [
        (scenario, config, seed)
        for scenario in splits
        for config in [None, "RT", *configs[scenario]]
        for seed in seeds
    ]
    rows = []
    for scenario, config, seed in tqdm(jobs, desc="runs", disable=not progress):
        split = splits[scenario]
        if config is None:
            label, row = (
                "No-unlearn",
                {"diverged_at": None, **evaluate(original, data, split, seed)},
            )
        elif config == "RT":
            label, row = "RT", retrain_run(data, split, epochs, seed)
        else:
            label, row = config.label, image_run(original, data, split, config, protocol, seed)
        rows.append({"scenario": scenario, "label": label, "seed": seed, **row})
    table = pd.DataFrame(rows)
    table["diverged_at"] = table["diverged_at"].astype(float)
    return table


def summarize(runs: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """One row per label (index, in run order) for one scenario: ``<metric>_mean`` and
    ``<metric>_std`` over the finished runs (``stats.group_stats``), Gap to RT, Std, and
    runs / diverged counts."""
    rows = runs[runs.scenario == scenario]
    columns = [
        c for c in (*METRICS, "TA_forgotten", "TA_rest") if c in rows and rows[c].notna().any()
    ]
    table = stats.group_stats(rows, "label", columns).set_index("label")
    means = table[[f"{c}_mean" for c in columns]].set_axis(columns, axis=1)
    stds = table[[f"{c}_std" for c in columns]].set_axis(columns, axis=1)
    out = table[[f"{c}_{s}" for c in columns for s in ("mean", "std")]].copy()
    out["Gap"] = gap_to_reference(means)
    out["Std"] = std_column(stds)
    out["runs"], out["diverged"] = table["runs"], table["diverged"]
    return out


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """``summarize``'s table as the slides print it: "mean ± std" cells, Gap, Std."""
    out = pd.DataFrame(index=table.index)
    metrics = [c.removesuffix("_mean") for c in table.columns if c.endswith("_mean")]
    for metric in metrics:
        out[metric] = [
            f"{m:.3f} ± {s:.3f}" for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_std"])
        ]
    for column in ("Gap", "Std", "runs", "diverged"):
        out[column] = table[column].round(3)
    return out


def closest_to_reference(table: pd.DataFrame, candidates: list[str]) -> tuple[str, float]:
    """Among ``candidates``, the label with the smallest Gap to RT, and that Gap."""
    gaps = table.loc[candidates, "Gap"]
    return gaps.idxmin(), float(gaps.min())


def best_retainer(table: pd.DataFrame, candidates: list[str]) -> tuple[str | None, float]:
    """Among ``candidates`` whose mean FA forgets (``stats.forgets``), the label with the
    highest mean RA and that RA (None, NaN when none forgets)."""
    rows = table.loc[candidates]
    forgetting = rows[stats.forgets(rows["FA_mean"])]
    if forgetting.empty:
        return None, math.nan
    label = forgetting["RA_mean"].idxmax()
    return label, float(forgetting.loc[label, "RA_mean"])


def table_claims(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per label: mean and std of each metric, Gap and Std (finite numbers only)."""
    out = {}
    for label, row in table.iterrows():
        out[label] = {k: float(v) for k, v in row.items() if np.isfinite(v)}
    return out


# --------------------------------------------------------------------------- figure


METRIC_TITLES = {
    "FA": "FA: accuracy on F",
    "RA": "RA: accuracy on R",
    "TA": "TA: accuracy on test",
    "MIA": "MIA: share of F called members",
}


def _tick(label: str, lrs: pd.Series) -> str:
    lr = lrs.dropna()
    if not len(lr):
        return label
    return f"{label} (lr {'from ' if 'AutoLR' in label else ''}{lr.iloc[0]:g})"


def plot_table(runs: pd.DataFrame, titles: dict[str, str], n_seeds: int):
    """Dot plot: one row of panels per scenario, one panel per metric; per method (its
    tuned rate in the tick label) the seeds as small dots and mean ± std as a bar; RT's
    mean as a dashed line. Diverged runs are left out."""
    scenarios = [s for s in titles if s in set(runs.scenario)]
    fig, axes = plt.subplots(
        len(scenarios), len(METRICS), figsize=(14, 2.1 + 2.3 * len(scenarios)), sharey="row"
    )
    axes = np.atleast_2d(axes)
    for row, scenario in zip(axes, scenarios):
        rows = runs[(runs.scenario == scenario) & runs.diverged_at.isna()]
        labels = list(dict.fromkeys(rows.label))
        ticks = [_tick(label, rows.loc[rows.label == label, "lr"]) for label in labels]
        for ax, metric in zip(row, METRICS):
            for y, label in enumerate(labels):
                values = rows.loc[rows.label == label, metric].to_numpy(float)
                hue = color(label)
                ax.scatter(values, np.full(len(values), y), s=12, color=hue, alpha=0.5)
                std = values.std(ddof=1) if len(values) > 1 else 0.0
                ax.errorbar(values.mean(), y, xerr=std, fmt="D", color=hue, ms=6, capsize=3)
            reference = rows.loc[rows.label == "RT", metric].mean()
            ax.axvline(reference, color="black", ls="--", lw=1)
            ax.set(xlim=(-0.05, 1.05), xlabel="fraction of images", title=METRIC_TITLES[metric])
            ax.set_yticks(range(len(labels)), ticks)
        row[0].set_ylabel(titles[scenario])
        row[0].invert_yaxis()
    fig.suptitle(
        f"Digits unlearning: mean ± std (bars) over {n_seeds} seeds, seeds as dots; "
        "dashed line = RT (retrained on R), the gold reference",
        fontsize=11,
    )
    return fig
