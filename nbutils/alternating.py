"""Algorithm 1 of the DualOptim slides on a language model, and NGDiff with decoupled state.

``run(target, bench, scheme, ...)`` unlearns a copy of the target with alternating
updates (``momentum.algorithm1``): T_f forget steps of gradient ascent on L_F (the
forget objective -L_F is descended), then T_r retain steps of gradient descent on L_R,
repeated; the optimizer state is the scheme's (``momentum.make``: Alternate, DualOptim,
DualOptim+). ``joint=True`` runs NGDiff instead (ours, beyond both sources): each step
takes both gradients, normalizes them (g_R/||g_R||, -g_F/||g_F||) and feeds them to the
scheme's states (``momentum.joint_update``): with shared states this is the engine's
NGDiff, with decoupled states each normalized gradient has its own optimizer state.

The budget is counted in gradient evaluations (one forward + backward of a batch), so
that alternating runs (one gradient per update) and joint ones (two per update) compare
at equal cost: the engine's 40 joint steps are 80 gradient evaluations. Batches come
from the same seeded streams as ``unlearn.run`` (retain ``4 seed + 1``, forget
``4 seed + 2``): runs with equal seeds see the same batches, whatever the method.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from . import experiments, figures, metrics, momentum
from .batches import BatchStream, answer_loss, encode_records
from .data import Benchmark
from .gradients import add_, sq_norm, task_gradient, trainable

ADAM_LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3)  # Adam rates tried when tuning (held-out seed)
SMOKE_ADAM_LR_GRID = (1e-3,)


@dataclass
class AlternatingRun:
    """``steps``: one row per gradient evaluation (``budget`` = evaluations so far,
    ``task``, batch ``loss`` (L_F or L_R, cross-entropy), ``grad_norm`` of that loss's
    gradient); ``evaluations``: ``budget`` and the keys of ``metrics.evaluate``."""

    label: str
    seed: int
    steps: pd.DataFrame
    evaluations: pd.DataFrame
    seconds: float
    diverged_at: int | None = None

    @property
    def final(self) -> dict:
        if self.diverged_at is not None:
            return {"diverged_at": self.diverged_at}
        return self.evaluations.iloc[-1].to_dict()


def run(
    target,
    bench: Benchmark,
    scheme: str,
    *,
    lr: float,
    optimizer: str = "adam",
    joint: bool = False,
    budget: int = 80,
    forget_steps: int = 1,
    retain_steps: int = 1,
    batch_size: int = 16,
    eval_every: int | None = 20,
    eval_retain: int | None = 100,
    max_new_tokens: int = 32,
    seed: int = 0,
    label: str | None = None,
) -> AlternatingRun:
    """Unlearn F from a copy of ``target`` (a ``models.Target``) with ``scheme``'s optimizer
    state, for ``budget`` gradient evaluations, evaluating every ``eval_every`` of them
    (``None``: after the last only). Alternating: T_o = budget // (T_f + T_r) outer loops,
    eta_f = eta_r = ``lr``. Joint (NGDiff): budget // 2 steps. A non-finite loss or
    gradient stops the run and sets ``diverged_at`` (the budget spent)."""
    per_update = 2 if joint else forget_steps + retain_steps
    if budget < per_update or lr <= 0:
        raise ValueError(f"need budget >= {per_update} and lr > 0, got {budget}, {lr}")
    budget -= budget % per_update
    model = copy.deepcopy(target.model).eval()
    params = trainable(model)
    device, pad = next(model.parameters()).device, target.tokenizer.pad_token_id
    streams = {
        task: BatchStream(
            encode_records(target.tokenizer, records), batch_size, pad, 4 * seed + offset, device
        )
        for task, records, offset in (("retain", bench.retain, 1), ("forget", bench.forget, 2))
    }
    states = momentum.make(scheme, params, optimizer)
    steps, evaluations = [], []

    def gradient(task: str) -> list[torch.Tensor]:
        loss = answer_loss(model, next(streams[task]))
        g = task_gradient(loss, params)
        norm = math.sqrt(sq_norm(g))
        steps.append(
            {"budget": len(steps) + 1, "task": task, "loss": loss.item(), "grad_norm": norm}
        )
        if not (math.isfinite(norm) and math.isfinite(steps[-1]["loss"])):
            raise FloatingPointError(task)
        return g

    def evaluate(spent: int) -> None:
        if eval_every is not None and spent % eval_every == 0 or spent == budget:
            values = metrics.evaluate(
                model,
                target.tokenizer,
                bench,
                retain_limit=eval_retain,
                truth_ratios=False,
                max_new_tokens=max_new_tokens,
            )
            evaluations.append({"budget": spent, **values})

    start, diverged_at = time.perf_counter(), None
    try:
        if joint:
            for _ in range(budget // 2):
                g_r, g_f = gradient("retain"), gradient("forget")
                torch._foreach_div_(g_r, steps[-2]["grad_norm"])
                torch._foreach_div_(g_f, -steps[-1]["grad_norm"])
                add_(params, momentum.joint_update(states, g_r, g_f), -lr)
                evaluate(len(steps))
        else:
            momentum.algorithm1(
                params,
                states,
                lambda task, step: (
                    gradient(task) if task == "retain" else torch._foreach_neg(gradient(task))
                ),
                lr_forget=lr,
                lr_retain=lr,
                outer_steps=budget // per_update,
                forget_steps=forget_steps,
                retain_steps=retain_steps,
                after_step=lambda task, step: evaluate(step),
            )
    except FloatingPointError:
        diverged_at = len(steps)
    return AlternatingRun(
        label or scheme,
        seed,
        pd.DataFrame(steps),
        pd.DataFrame(evaluations),
        time.perf_counter() - start,
        diverged_at,
    )


# --------------------------------------------------------------------------- many runs


def tune_lr(
    target, bench: Benchmark, scheme: str, grid, seed: int, *, progress: bool = True, **options
) -> experiments.Tuning:
    """A scheme's rate from ``grid``, chosen by ``experiments.choose_rate`` on the held-out seed
    ``seed + experiments.TUNING_SEED_OFFSET`` (evaluation after the last update only)."""
    held_out = seed + experiments.TUNING_SEED_OFFSET
    rows = []
    for lr in tqdm(grid, desc=f"tuning {scheme}", disable=not progress, leave=False):
        r = run(target, bench, scheme, lr=lr, seed=held_out, **{**options, "eval_every": None})
        final = {k: r.final.get(k, math.nan) for k in ("rouge_forget", "rouge_retain")}
        rows.append({"lr": lr, "diverged_at": r.diverged_at, **final})
    table = pd.DataFrame(rows)
    lr, rule = experiments.choose_rate(table)
    return experiments.Tuning(scheme, lr, table, rule)


def steps_table(runs, **columns) -> pd.DataFrame:
    """The per-update rows of ``runs`` in one long table, with ``label``, ``seed`` and the
    given constant ``columns``."""
    return pd.concat(
        [r.steps.assign(label=r.label, seed=r.seed, **columns) for r in runs], ignore_index=True
    )


def norm_gap(steps: pd.DataFrame) -> dict[str, float]:
    """Recipe 1's two observations in numbers, over a long ``steps`` table: the median
    of ||grad L_f|| / ||grad L_r|| (medians over the runs' forget and retain steps), and
    how much each norm varies during unlearning (max / min of its per-budget median)."""
    by = steps.groupby(["task", "budget"]).grad_norm.median()
    forget, retain = by["forget"], by["retain"]
    return {
        "median_forget_over_retain": float(forget.median() / retain.median()),
        "forget_max_over_min": float(forget.max() / forget.min()),
        "retain_max_over_min": float(retain.max() / retain.min()),
    }


def evaluations(runs, start: dict | None = None) -> pd.DataFrame:
    """One long table (label, seed, budget, metrics...) of ``AlternatingRun``s and of the
    engine's ``experiments.RunRecord``s (their evaluation at step s is put at budget 2 s:
    two gradients per step). ``start``: the target's evaluation, put at budget 0 of every
    run (and replacing an engine run's own evaluation at step 0)."""
    parts = []
    for r in runs:
        if isinstance(r, AlternatingRun):
            label, seed, table = r.label, r.seed, r.evaluations
        else:
            h = r.history.dropna(subset=["rouge_forget"])
            label, seed = r.config.label, r.seed
            table = h.drop(columns="step").assign(budget=2 * h.step)
        table = table[table.budget > 0] if start is not None else table
        if start is not None:
            table = pd.concat([pd.DataFrame([{"budget": 0, **start}]), table])
        parts.append(table.assign(label=label, seed=seed))
    columns = [
        "label",
        "seed",
        "budget",
        "rouge_forget",
        "rouge_retain",
        "split_loss_forget",
        "split_loss_retain",
    ]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def finals(runs) -> pd.DataFrame:
    """One row per run: label, seed, diverged_at and the final evaluation (for
    ``experiments.summarize``)."""
    rows = []
    for r in runs:
        label = r.label if isinstance(r, AlternatingRun) else r.config.label
        rows.append({"label": label, "seed": r.seed, "diverged_at": r.diverged_at, **r.final})
    return pd.DataFrame(rows)


def spread(summary: pd.DataFrame, *, reference: str, n: int) -> pd.DataFrame:
    """Per label of an ``experiments.summarize`` table (columns rouge_forget, rouge_retain):
    the std of each final metric over seeds, and std_R / std_R(``reference``) with the 95%
    interval of an F test on the variance ratio (``n`` seeds each; Gaussian assumption)."""
    std_r = summary[("rouge_retain", "std")]
    ratio = std_r / std_r[reference]
    low, high = momentum.ratio_interval(ratio**2, n)
    return pd.DataFrame(
        {
            "std_rouge_forget": summary[("rouge_forget", "std")],
            "std_rouge_retain": std_r,
            f"std_R / {reference}": ratio,
            "ci_low": low**0.5,
            "ci_high": high**0.5,
        }
    )


def claims(summary: pd.DataFrame) -> dict:
    """Mean and std of the final ROUGE per label, and diverged runs, as sidecar claims
    (undefined values, e.g. the std of fewer than two finished runs, are left out)."""
    out = {}
    for metric in ("rouge_forget", "rouge_retain"):
        for stat in ("mean", "std"):
            values = summary[(metric, stat)]
            out[f"final_{stat}_{metric}"] = {k: float(v) for k, v in values.items() if v == v}
    out["diverged_runs"] = {k: int(v) for k, v in summary[("runs", "diverged")].items()}
    return out


def std_verdict(summary: pd.DataFrame, n_seeds: int, reference: str = "Alternate") -> str:
    """The final std of ROUGE_R over seeds per label, and whether each decoupled scheme
    has a smaller one than ``reference`` (point values: see ``spread`` for intervals)."""
    std_r = summary[("rouge_retain", "std")]
    lines = [
        "Final std of ROUGE_R over seeds: " + ", ".join(f"{k} {v:.3f}" for k, v in std_r.items())
    ]
    for label in ("DualOptim", "DualOptim+"):
        if label in std_r and reference in std_r:
            verb = "reduces" if std_r[label] < std_r[reference] else "does not reduce"
            lines.append(
                f"{label} {verb} the std of ROUGE_R against {reference} "
                f"(point values over {n_seeds} seeds; see the F intervals above)."
            )
    return "\n".join(lines)


def run_all(
    target, bench: Benchmark, configs: dict[str, dict], seeds, *, progress=True, **options
) -> list[AlternatingRun]:
    """Every labelled config (``run``'s keyword arguments: scheme, lr, ...) with every seed,
    one progress bar over all runs."""
    jobs = [(label, config, seed) for label, config in configs.items() for seed in seeds]
    return [
        run(target, bench, label=label, seed=seed, **{**options, **config})
        for label, config, seed in tqdm(jobs, desc="alternating runs", disable=not progress)
    ]


# --------------------------------------------------------------------------- figures

COLORS = {  # schemes of Algorithm 1; NGDiff variants in the red of NGDiff, by line style
    "Alternate": "#404040",
    "DualOptim": "#0173b2",
    "DualOptim+": "#de8f05",
}
NGDIFF_STYLES = {"SGD": "-", "Adam": "--", "DualOptim": ":"}


def style(label: str) -> dict:
    """Colour and line style of a label (``NGDiff (...)`` labels: NGDiff's red)."""
    if label.startswith("NGDiff"):
        kind = next((k for k in NGDIFF_STYLES if k in label), "SGD")
        return {"color": figures.method_color("NGDiff"), "ls": NGDIFF_STYLES[kind]}
    return {"color": COLORS.get(label, "#333333"), "ls": "-"}


def plot_grad_norms(steps: pd.DataFrame, *, title: str):
    """Recipe 1: ||grad L_f|| and ||grad L_r|| over gradient evaluations, one panel per
    optimizer (column ``optimizer`` of the long ``steps`` table, which also has ``seed``):
    median over seeds and min-max band, log scale."""
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(steps.optimizer))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), sharey=True, squeeze=False
    )
    for ax, name in zip(axes[0], panels):
        part = steps[steps.optimizer == name]
        for task, color in (("forget", "#d55e00"), ("retain", "#0173b2")):
            stats = (
                part[part.task == task].groupby("budget").grad_norm.agg(["median", "min", "max"])
            )
            ax.plot(stats.index, stats["median"], color=color, label=f"‖∇L_{task[0]}‖")
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2, lw=0)
        n = part.seed.nunique()
        ax.set(
            yscale="log",
            xlabel="gradient evaluations (forget and retain steps)",
            ylabel="gradient norm (global L2)",
            title=f"{name}: median of {n} seeds, band min-max",
        )
        ax.legend()
    fig.suptitle(title)
    return fig


def plot_curves(long: pd.DataFrame, *, title: str):
    """ROUGE_F and ROUGE_R over the budget (gradient evaluations) per label: mean over
    seeds, band +-1 standard deviation."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), sharex=True)
    for ax, metric, name in zip(
        axes,
        ("rouge_forget", "rouge_retain"),
        ("ROUGE-L recall on F (lower: forgotten)", "ROUGE-L recall on R (higher: kept)"),
    ):
        for label, part in long.groupby("label", sort=False):
            stats = part.groupby("budget")[metric].agg(["mean", "std"])
            ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=label, **style(label))
            ax.fill_between(
                stats.index,
                stats["mean"] - stats["std"],
                stats["mean"] + stats["std"],
                color=style(label)["color"],
                alpha=0.12,
                lw=0,
            )
        ax.set(xlabel="gradient evaluations (batch 16 each)", ylabel=name, ylim=(-0.03, 1.03))
    n = long.seed.nunique()
    axes[0].set_title(f"Forget set: mean of {n} seeds, band ±1 std")
    axes[1].set_title(f"Retain set: mean of {n} seeds, band ±1 std")
    axes[1].legend(loc="lower left", fontsize=9)
    fig.suptitle(title)
    return fig
