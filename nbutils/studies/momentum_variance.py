"""Notebook 07: shared vs decoupled optimizer state in alternating unlearning (DualOptim).

Part 1, the slides' theorem on noisy quadratics (Recipe 2, Eq. 1): many independent
replicas of a scalar theta run the slides' Algorithm 1 (``engine.alternator``) with one
heavy-ball buffer for both tasks (shared) or one per task (decoupled); ``compare`` gives
the variance of theta over replicas with exact chi-square / F intervals and the exact
value from the covariance recursion (``exact_variance``); ``grid`` repeats it over
settings.

Part 2, Algorithm 1 on the language model (``engine.lm.alternate_lm``): Alternate,
DualOptim and DualOptim+ (``engine.optim.make_states``), Recipe 1's gradient norms and
the spread of the final metrics over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import stats
from ..engine import lm
from ..engine.alternator import Alternator
from ..engine.gradients import Grads
from ..engine.loop import Run, run_loop
from ..engine.optim import SGD, TASKS, TaskStates, check_task, make_states
from ..engine.runs import Tuning, finals_table, tune_rate
from ..stats import ratio_interval, variance_interval
from .style import color

ADAM_LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3)  # Adam rates tried when tuning (held-out seed)
SMOKE_ADAM_LR_GRID = (1e-3,)


# --------------------------------------------------------------------------- the theorem


@dataclass(frozen=True)
class Quadratics:
    """The slides' setting in one dimension, for many independent replicas of theta.

    L_f = (lam_f/2)(theta - mu_f)^2 and L_r = (lam_r/2)(theta - mu_r)^2, minima on
    opposite sides (L-smooth with L = max |lam|). A stochastic gradient is the exact one
    plus sigma * e_task,t, where e is an AR(1) sequence with unit variance per task,
    e_t = tau e_{t-1} + sqrt(1 - tau^2) xi_t (correlation tau^|t1 - t2| <= tau across
    steps, the slides' bound), and the two tasks' innovations xi_f, xi_r have correlation
    rho at the same t (the slides assume rho ~ 0; rho != 0 breaks that on purpose).
    Every replica starts at ``start``: theta's spread comes from the noise alone, and
    theta is Gaussian (a linear recurrence driven by Gaussian noise)."""

    curvature_forget: float = 1.0
    curvature_retain: float = 1.0
    minimum_forget: float = -1.0
    minimum_retain: float = 1.0
    noise: float = 1.0
    tau: float = 0.0
    rho: float = 0.0
    start: float = 0.0

    def __post_init__(self):
        if not (0 <= self.tau < 1 and -1 <= self.rho <= 1 and self.noise >= 0):
            raise ValueError(f"need 0 <= tau < 1, -1 <= rho <= 1, noise >= 0: {self}")

    def curvature(self, task: str) -> float:
        return self.curvature_forget if check_task(task) == "forget" else self.curvature_retain

    def minimum(self, task: str) -> float:
        return self.minimum_forget if check_task(task) == "forget" else self.minimum_retain


class _NoisyGradients:
    """Gradient oracle of ``Quadratics`` for ``engine.alternator.Alternator`` with
    T_f = T_r = 1: each forget call opens a new outer step t and draws both tasks' noise
    for it. Both tasks descend their own quadratic."""

    def __init__(self, problem: Quadratics, theta: torch.Tensor, generator: torch.Generator):
        self.problem, self.theta, self.generator = problem, theta, generator
        self.noise: dict[str, torch.Tensor] | None = None

    def _draw(self) -> dict[str, torch.Tensor]:
        z = torch.randn((2, *self.theta.shape), generator=self.generator, dtype=self.theta.dtype)
        rho = self.problem.rho
        return {"forget": z[0], "retain": rho * z[0] + (1 - rho**2) ** 0.5 * z[1]}

    def __call__(self, task: str) -> tuple[Grads, dict]:
        p = self.problem
        if task == "forget":
            xi = self._draw()
            if self.noise is None:  # stationary start: e_0 = xi_0
                self.noise = xi
            else:
                self.noise = {
                    k: p.tau * self.noise[k] + (1 - p.tau**2) ** 0.5 * xi[k] for k in TASKS
                }
        exact = p.curvature(task) * (self.theta - p.minimum(task))
        return [exact + p.noise * self.noise[task]], {}


MOMENTUM_SCHEMES = ("shared", "decoupled")


def momentum_states(scheme: str, params, momentum: float) -> TaskStates:
    """Eq. 1: one heavy-ball buffer for both tasks ("shared") or one per task
    ("decoupled"), m <- a m + g, theta <- theta - eta m."""
    if scheme == "shared":
        return TaskStates.shared(SGD(params, momentum))
    if scheme == "decoupled":
        return TaskStates(SGD(params, momentum), SGD(params, momentum))
    raise ValueError(f"scheme must be one of {MOMENTUM_SCHEMES}, got {scheme!r}")


def simulate(
    problem: Quadratics,
    scheme: str,
    *,
    momentum: float,
    lr: float,
    steps: int,
    replicas: int,
    seed: int = 0,
) -> pd.DataFrame:
    """Eq. 1 on ``replicas`` independent copies of theta (float64), ``steps`` outer steps.

    One row per t = 1..steps: ``var_forget`` = Var(theta_f,t) after the forget update,
    ``var_retain`` = Var(theta_r,t) after the retain update (variance over replicas,
    ddof=1), ``mean_retain``. A diverged run gives inf/NaN."""
    if replicas < 2 or steps < 1:
        raise ValueError(f"need replicas >= 2 and steps >= 1, got {replicas}, {steps}")
    theta = torch.full((replicas,), float(problem.start), dtype=torch.float64)
    oracle = _NoisyGradients(problem, theta, torch.Generator().manual_seed(seed))
    states = momentum_states(scheme, [theta], momentum)
    alternator = Alternator([theta], states, oracle, lr_forget=lr, lr_retain=lr)

    def step(t: int) -> dict:
        row = alternator.step(t)
        return {"task": row["task"], "var": theta.var().item(), "mean": theta.mean().item()}

    with torch.no_grad():
        run = run_loop(step, 2 * steps, label=f"{scheme} momentum", seed=seed)
    by_task = {task: part.reset_index(drop=True) for task, part in run.history.groupby("task")}
    return pd.DataFrame(
        {
            "t": range(1, steps + 1),
            "var_forget": by_task["forget"]["var"],
            "var_retain": by_task["retain"]["var"],
            "mean_retain": by_task["retain"]["mean"],
        }
    )


THETA, M_F, M_R, E_F, E_R = range(5)  # the state of Eq. 1 on ``Quadratics``


def _update_matrices(problem: Quadratics, scheme: str, momentum: float, lr: float):
    """The linear maps of the forget and the retain update on (theta, m_f, m_r, e_f, e_r),
    constants (the minima) left out: m_task <- a m_prev + lam theta + sigma e_task,
    theta <- theta - eta m_task, where m_prev is the other task's buffer when shared."""
    if scheme not in MOMENTUM_SCHEMES:
        raise ValueError(f"scheme must be one of {MOMENTUM_SCHEMES}, got {scheme!r}")
    maps = []
    for task, own, other, noise in (("forget", M_F, M_R, E_F), ("retain", M_R, M_F, E_R)):
        buffer = np.zeros(5)
        buffer[other if scheme == "shared" else own] = momentum
        buffer[THETA] += problem.curvature(task)
        buffer[noise] += problem.noise
        update = np.eye(5)
        update[own] = buffer
        update[THETA] = np.eye(5)[THETA] - lr * buffer
        maps.append(update)
    return maps


def growth_factor(problem: Quadratics, scheme: str, *, momentum: float, lr: float) -> float:
    """Spectral radius of one outer step of Eq. 1 on (theta, m_f, m_r): above 1 the
    scheme diverges on ``problem`` (theta's variance grows without bound)."""
    forget, retain = _update_matrices(problem, scheme, momentum, lr)
    return float(np.abs(np.linalg.eigvals((retain @ forget)[:3, :3])).max())


def exact_variance(
    problem: Quadratics, scheme: str, *, momentum: float, lr: float, steps: int
) -> pd.DataFrame:
    """Var(theta_f,t) and Var(theta_r,t) of Eq. 1 on ``problem`` in closed form: the
    covariance of (theta, m_f, m_r, e_f, e_r) propagated through each (linear) update.
    Without momentum it reduces to Var <- (1 - eta lam)^2 Var + eta^2 sigma^2 per update."""
    maps = dict(zip(TASKS, _update_matrices(problem, scheme, momentum, lr)))
    innovation = np.zeros((5, 5))
    innovation[[E_F, E_R], [E_F, E_R]] = 1.0
    innovation[E_F, E_R] = innovation[E_R, E_F] = problem.rho
    cov = innovation.copy()  # e_0 = xi_0
    ar = np.eye(5)
    ar[E_F, E_F] = ar[E_R, E_R] = problem.tau
    rows: dict[str, list[float]] = {"var_forget": [], "var_retain": []}
    for t in range(steps):
        if t:
            cov = ar @ cov @ ar.T + (1 - problem.tau**2) * innovation
        for task in TASKS:
            cov = maps[task] @ cov @ maps[task].T
            rows[f"var_{task}"].append(cov[THETA, THETA])
    return pd.DataFrame({"t": range(1, steps + 1), **rows})


def compare(
    problem: Quadratics,
    *,
    momentum: float,
    lr: float,
    steps: int,
    replicas: int,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Shared vs decoupled momentum (Eq. 1) on ``problem``, one row per t: for each scheme
    and each of theta_f,t / theta_r,t the variance over replicas, its ``confidence``
    interval (``_low``, ``_high``) and the exact value (``_exact``); the ratio
    decoupled / shared with its F interval. The schemes draw independent noise
    (generator seeds 2 seed and 2 seed + 1)."""
    out = None
    for k, scheme in enumerate(MOMENTUM_SCHEMES):
        options = dict(momentum=momentum, lr=lr, steps=steps)
        mc = simulate(problem, scheme, replicas=replicas, seed=2 * seed + k, **options)
        exact = exact_variance(problem, scheme, **options)
        part = pd.DataFrame({"t": mc.t})
        for which in ("forget", "retain"):
            col = f"{scheme}_{which}"
            part[col] = mc[f"var_{which}"]
            part[f"{col}_low"], part[f"{col}_high"] = variance_interval(
                mc[f"var_{which}"], replicas, confidence
            )
            part[f"{col}_exact"] = exact[f"var_{which}"]
        out = part if out is None else out.merge(part, on="t")
    with np.errstate(divide="ignore", invalid="ignore"):
        for which in ("forget", "retain"):
            ratio = out[f"decoupled_{which}"] / out[f"shared_{which}"]
            out[f"ratio_{which}"] = ratio
            out[f"ratio_{which}_low"], out[f"ratio_{which}_high"] = ratio_interval(
                ratio, replicas, confidence
            )
            out[f"ratio_{which}_exact"] = (
                out[f"decoupled_{which}_exact"] / out[f"shared_{which}_exact"]
            )
    return out


def grid(
    problem: Quadratics,
    axes: dict[str, list],
    *,
    momentum: float = 0.9,
    lr: float = 0.1,
    steps: int,
    replicas: int,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = True,
) -> pd.DataFrame:
    """``compare`` at every combination of ``axes`` (names: ``momentum``, ``lr`` or a
    field of ``Quadratics``; the others keep the given values), one row per
    configuration with the final-t ratio Var_decoupled / Var_shared of theta_r (MC, its
    interval, exact), ``share_le`` (share of t where the MC ratio <= 1), the growth
    factors of both schemes and ``diverged`` (either factor above 1)."""
    from itertools import product

    from tqdm.auto import tqdm

    names = list(axes)
    rows = []
    for values in tqdm(list(product(*axes.values())), desc="simulations", disable=not progress):
        setting = dict(zip(names, values))
        options = {"momentum": momentum, "lr": lr}
        options.update({k: v for k, v in setting.items() if k in options})
        fields = {k: v for k, v in setting.items() if k not in options}
        table = compare(
            replace(problem, **fields),
            steps=steps,
            replicas=replicas,
            seed=seed,
            confidence=confidence,
            **options,
        )
        last = table.iloc[-1]
        growth = {
            f"growth_{scheme}": growth_factor(replace(problem, **fields), scheme, **options)
            for scheme in MOMENTUM_SCHEMES
        }
        rows.append(
            {
                **setting,
                "ratio": last.ratio_retain,
                "ratio_low": last.ratio_retain_low,
                "ratio_high": last.ratio_retain_high,
                "ratio_exact": last.ratio_retain_exact,
                "share_le": float((table.ratio_retain <= 1).mean()),
                **growth,
                "diverged": max(growth.values()) > 1,
            }
        )
    return pd.DataFrame(rows)


def variance_claims(table: pd.DataFrame, sweep: pd.DataFrame, replicas: int) -> dict:
    """The theorem's measured numbers: from ``compare``'s ``table`` the final-t ratio
    Var_decoupled / Var_shared of theta_r (MC, 95% interval, exact) and the share of t
    where decoupled <= shared (MC for theta_r and theta_f, exact); from the rho
    ``sweep`` (a ``grid``) the cells whose ratio interval lies above 1."""
    final = table.iloc[-1]
    return {
        "ratio_final": float(final.ratio_retain),
        "ratio_final_ci_low": float(final.ratio_retain_low),
        "ratio_final_ci_high": float(final.ratio_retain_high),
        "ratio_final_exact": float(final.ratio_retain_exact),
        "share_t_decoupled_le_shared": float((table.ratio_retain <= 1).mean()),
        "share_t_decoupled_le_shared_exact": float((table.ratio_retain_exact <= 1).mean()),
        "share_t_decoupled_le_shared_theta_f": float((table.ratio_forget <= 1).mean()),
        "rho_sweep_cells_above_1": int((sweep.ratio_low > 1).sum()),
        "rho_sweep_cells": len(sweep),
        "replicas": replicas,
    }


def grid_claims(grid_table: pd.DataFrame) -> dict:
    """Counts over a ``grid``: cells whose ratio interval lies below / above 1, cells
    where decoupled momentum diverges, cells whose exact ratio is at most 1."""
    return {
        "cells": len(grid_table),
        "cells_ratio_ci_below_1": int((grid_table.ratio_high < 1).sum()),
        "cells_ratio_ci_above_1": int((grid_table.ratio_low > 1).sum()),
        "cells_decoupled_diverges": int(grid_table.diverged.sum()),
        "cells_exact_le_1": int((grid_table.ratio_exact <= 1).sum()),
    }


def theorem_verdict(variance: dict, grid_counts: dict) -> str:
    """The theorem's verdict in words from ``variance_claims`` and ``grid_claims``: it
    holds at the default setting when the final ratio's interval lies below 1 and
    decoupled <= shared at >= 95% of t."""
    holds = variance["ratio_final_ci_high"] < 1 and variance["share_t_decoupled_le_shared"] >= 0.95
    return (
        f"Theorem at the default setting: Var_D/Var_S = {variance['ratio_final']:.3f} (95% CI "
        f"{variance['ratio_final_ci_low']:.3f}-{variance['ratio_final_ci_high']:.3f}, exact "
        f"{variance['ratio_final_exact']:.3f}); decoupled <= shared at "
        f"{variance['share_t_decoupled_le_shared']:.0%} of t -> "
        f"{'holds' if holds else 'does not hold'}.\n"
        f"Grid (assumptions kept): ratio CI below 1 in {grid_counts['cells_ratio_ci_below_1']}, "
        f"above 1 in {grid_counts['cells_ratio_ci_above_1']}, decoupled diverges in "
        f"{grid_counts['cells_decoupled_diverges']} of {grid_counts['cells']} settings."
    )


# --------------------------------------------------------------------------- the language model


def lm_run(
    target,
    bench,
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
) -> Run:
    """One run of ``budget`` gradient evaluations on a copy of ``target`` (a
    ``core.models.Target``), evaluated every ``eval_every`` of them (``None``: after the
    last only). Alternating (``engine.lm.alternate_lm``): T_f forget steps then T_r
    retain steps, one gradient each, eta_f = eta_r = ``lr``, the scheme's optimizer
    states. Joint (``joint=True``, ours, beyond both sources): NGDiff steps of two
    gradients each (``engine.lm.unlearn_lm``) whose normalized task gradients feed the
    scheme's states: with shared states this is the engine's NGDiff, with decoupled
    states each normalized gradient has its own optimizer state."""
    per_update = 2 if joint else forget_steps + retain_steps
    if budget < per_update or lr <= 0:
        raise ValueError(f"need budget >= {per_update} and lr > 0, got {budget}, {lr}")
    budget -= budget % per_update
    common = dict(
        batch_size=batch_size,
        eval_retain=eval_retain,
        max_new_tokens=max_new_tokens,
        seed=seed,
        label=label or scheme,
    )
    if joint:
        return lm.unlearn_lm(
            target.model,
            target.tokenizer,
            bench,
            "NGDiff",
            steps=budget // 2,
            lr=lr,
            optimizer=lambda params: make_states(scheme, params, optimizer),
            eval_every=eval_every // 2 if eval_every else None,
            progress=False,
            **common,
        )
    return lm.alternate_lm(
        target.model,
        target.tokenizer,
        bench,
        scheme,
        lr_forget=lr,
        lr_retain=lr,
        optimizer=optimizer,
        steps=budget,
        forget_steps=forget_steps,
        retain_steps=retain_steps,
        eval_every=eval_every,
        **common,
    )


def tune(target, bench, scheme: str, grid, seed: int, **options) -> Tuning:
    """A scheme's rate from ``grid`` by ``stats.choose_rate`` on the held-out seed
    (``engine.runs.tune_rate``; evaluation after the last update only)."""
    return tune_rate(
        scheme,
        lambda lr, s: (
            lm_run(target, bench, scheme, lr=lr, seed=s, **options, eval_every=None).final
        ),
        grid,
        seed,
    )


def run_all(target, bench, configs: dict[str, dict], seeds, **options) -> list[Run]:
    """Every labelled config (``lm_run``'s keyword arguments: scheme, lr, ...) with every
    seed, one progress bar over all runs."""
    from tqdm.auto import tqdm

    jobs = [(label, config, seed) for label, config in configs.items() for seed in seeds]
    return [
        lm_run(target, bench, label=label, seed=seed, **{**options, **config})
        for label, config, seed in tqdm(jobs, desc="alternating runs")
    ]


def _alternating(run: Run) -> bool:
    """One gradient per step (Algorithm 1 of the slides), not two (joint)."""
    return "task" in run.history


def steps_table(runs, **columns) -> pd.DataFrame:
    """The per-update rows of alternating ``runs`` (``task``, ``loss``, ``grad_norm``) in
    one long table, with ``budget`` (gradient evaluations so far), ``label``, ``seed`` and
    the given constant ``columns``."""
    parts = []
    for r in runs:
        steps = r.history[r.history["task"].notna()]
        parts.append(
            steps[["task", "loss", "grad_norm"]].assign(
                budget=steps["step"].astype(int) + 1, label=r.label, seed=r.seed, **columns
            )
        )
    return pd.concat(parts, ignore_index=True)


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
    """One long table (label, seed, budget, metrics...) of the evaluations of ``runs``:
    an alternating run's evaluation at step s is at budget s (one gradient per step), a
    joint run's at 2 s (two). ``start``: the target's evaluation, put at budget 0 of every
    run in place of the run's own evaluation there."""
    parts = []
    for r in runs:
        h = r.history.dropna(subset=["rouge_forget"])
        table = h.drop(columns="step").assign(budget=h.step * (1 if _alternating(r) else 2))
        if start is not None:
            table = pd.concat([pd.DataFrame([{"budget": 0, **start}]), table[table.budget > 0]])
        parts.append(table.assign(label=r.label, seed=r.seed))
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


FINAL_METRICS = ("rouge_forget", "rouge_retain")


def summary(runs) -> pd.DataFrame:
    """Per label (index): mean and std over seeds of the final ROUGE_F and ROUGE_R
    (``stats.group_stats``), runs and diverged runs."""
    return stats.group_stats(finals_table(runs), "label", FINAL_METRICS).set_index("label")


def spread(table: pd.DataFrame, *, reference: str, n: int) -> pd.DataFrame:
    """Per label of a ``summary`` table: the std of each final metric over seeds, and
    std_R / std_R(``reference``) with the 95% interval of an F test on the variance
    ratio (``n`` seeds each; Gaussian assumption)."""
    std_r = table["rouge_retain_std"]
    ratio = std_r / std_r[reference]
    low, high = ratio_interval(ratio**2, n)
    return pd.DataFrame(
        {
            "std_rouge_forget": table["rouge_forget_std"],
            "std_rouge_retain": std_r,
            f"std_R / {reference}": ratio,
            "ci_low": low**0.5,
            "ci_high": high**0.5,
        }
    )


def lm_claims(table: pd.DataFrame) -> dict:
    """Mean and std of the final ROUGE per label, and diverged runs, as sidecar claims
    (undefined values, e.g. the std of fewer than two finished runs, are left out)."""
    out = {}
    for metric in FINAL_METRICS:
        for stat in ("mean", "std"):
            values = table[f"{metric}_{stat}"]
            out[f"final_{stat}_{metric}"] = {k: float(v) for k, v in values.items() if v == v}
    out["diverged_runs"] = {k: int(v) for k, v in table["diverged"].items()}
    return out


def std_verdict(table: pd.DataFrame, n_seeds: int, reference: str = "Alternate") -> str:
    """The final std of ROUGE_R over seeds per label, and whether each decoupled scheme
    has a smaller one than ``reference`` (point values: see ``spread`` for intervals)."""
    std_r = table["rouge_retain_std"]
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


# --------------------------------------------------------------------------- figures


def plot_variance(table: pd.DataFrame, sweep: pd.DataFrame, *, title: str):
    """Three panels: Var(theta_r,t) over t for both schemes (MC with its 95% band, exact
    dashed); the ratio decoupled/shared over t; the final ratio against the cross-task
    correlation rho for each tau of ``sweep`` (a ``grid`` over rho x tau)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for scheme in MOMENTUM_SCHEMES:
        col = f"{scheme}_retain"
        ax.plot(table.t, table[col], color=color(scheme), label=f"{scheme} (MC)")
        ax.fill_between(
            table.t,
            table[f"{col}_low"],
            table[f"{col}_high"],
            color=color(scheme),
            alpha=0.25,
            lw=0,
        )
        ax.plot(table.t, table[f"{col}_exact"], color=color(scheme), ls="--", lw=1, label="exact")
    ax.set(xlabel="outer step t", ylabel="Var(θ_r,t) over replicas", title="Variance of θ")
    ax.legend()
    ax = axes[1]
    ax.plot(table.t, table.ratio_retain, color=color("decoupled"), label="MC")
    ax.fill_between(
        table.t,
        table.ratio_retain_low,
        table.ratio_retain_high,
        color=color("decoupled"),
        alpha=0.25,
        lw=0,
        label="95% CI",
    )
    ax.plot(table.t, table.ratio_retain_exact, color="k", ls="--", lw=1, label="exact")
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(
        xlabel="outer step t",
        ylabel="Var_decoupled / Var_shared",
        title="Ratio (theorem: ≤ 1 at every t)",
    )
    ax.legend()
    ax = axes[2]
    for tau, part in sweep.groupby("tau"):
        line = ax.plot(part.rho, part.ratio_exact, ls="--", lw=1)[0]
        ax.errorbar(
            part.rho,
            part.ratio,
            yerr=[part.ratio - part.ratio_low, part.ratio_high - part.ratio],
            fmt="o",
            ms=4,
            capsize=2,
            color=line.get_color(),
            label=f"τ = {tau:g}",
        )
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(
        xscale="linear",
        yscale="log",
        xlabel="cross-task noise correlation ρ",
        ylabel="final Var_decoupled / Var_shared",
        title="Assumption broken: ρ ≠ 0 (dots: MC, 95% CI)",
    )
    ax.legend(title="temporal corr.")
    fig.suptitle(title)
    return fig


def plot_grid(table: pd.DataFrame, *, title: str):
    """Heatmaps of the final ratio Var_decoupled / Var_shared (MC) over momentum a (rows)
    and step size eta (columns), one panel per (noise sigma, correlation tau); cells where
    decoupled momentum diverges are marked."""
    from matplotlib.colors import LogNorm

    sigmas, taus = sorted(table.noise.unique()), sorted(table.tau.unique())
    fig, axes = plt.subplots(
        len(sigmas), len(taus), squeeze=False, figsize=(3.6 * len(taus) + 1, 3.1 * len(sigmas))
    )
    norm = LogNorm(0.25, 4)
    for i, sigma in enumerate(sigmas):
        for j, tau in enumerate(taus):
            ax = axes[i, j]
            part = table[(table.noise == sigma) & (table.tau == tau)]
            cells = part.pivot(index="momentum", columns="lr", values="ratio")
            unstable = part.pivot(index="momentum", columns="lr", values="diverged")
            shown = cells.where(~unstable.astype(bool)).clip(0.25, 4)
            image = ax.imshow(shown.to_numpy(dtype=float), cmap="RdBu_r", norm=norm, aspect="auto")
            for (r, c), value in np.ndenumerate(cells.to_numpy(dtype=float)):
                text = "div." if unstable.iloc[r, c] else f"{value:.2f}"
                ax.text(c, r, text, ha="center", va="center", fontsize=8)
            ax.set_xticks(range(len(cells.columns)), [f"{v:g}" for v in cells.columns])
            ax.set_yticks(range(len(cells.index)), [f"{v:g}" for v in cells.index])
            ax.set(
                xlabel="step size η (L = 1)",
                ylabel="momentum a",
                title=f"σ = {sigma:g}, τ = {tau:g}",
            )
            ax.grid(False)
    fig.colorbar(
        image, ax=axes, label="final Var_decoupled / Var_shared (blue: theorem holds)", shrink=0.8
    )
    fig.suptitle(title)
    return fig


def plot_grad_norms(steps: pd.DataFrame, *, title: str):
    """Recipe 1: ||grad L_f|| and ||grad L_r|| over gradient evaluations, one panel per
    optimizer (column ``optimizer`` of the long ``steps`` table, which also has ``seed``):
    median over seeds and min-max band, log scale."""
    panels = list(dict.fromkeys(steps.optimizer))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), sharey=True, squeeze=False
    )
    for ax, name in zip(axes[0], panels):
        part = steps[steps.optimizer == name]
        for task, hue in (("forget", "#d55e00"), ("retain", "#0173b2")):
            median = (
                part[part.task == task].groupby("budget").grad_norm.agg(["median", "min", "max"])
            )
            ax.plot(median.index, median["median"], color=hue, label=f"‖∇L_{task[0]}‖")
            ax.fill_between(median.index, median["min"], median["max"], color=hue, alpha=0.2, lw=0)
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


NGDIFF_DASHES = {"SGD": "-", "Adam": "--", "DualOptim": ":"}


def line_style(label: str) -> dict:
    """Colour and dash of a label: schemes by ``style.color``; ``NGDiff (...)`` labels in
    NGDiff's red, dashed by variant."""
    if label.startswith("NGDiff"):
        kind = next((k for k in NGDIFF_DASHES if k in label), "SGD")
        return {"color": color("NGDiff"), "ls": NGDIFF_DASHES[kind]}
    return {"color": color(label), "ls": "-"}


def plot_alternating_curves(long: pd.DataFrame, *, title: str):
    """ROUGE_F and ROUGE_R over the budget (gradient evaluations) per label: mean over
    seeds, band +-1 standard deviation (``stats.bands``)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), sharex=True)
    for ax, metric, name in zip(
        axes,
        ("rouge_forget", "rouge_retain"),
        ("ROUGE-L recall on F (lower: forgotten)", "ROUGE-L recall on R (higher: kept)"),
    ):
        band = stats.bands(long, metric, by="label", x="budget")
        for label, part in band.groupby("label", sort=False):
            look = line_style(label)
            ax.plot(part["budget"], part["mean"], marker="o", ms=3, label=label, **look)
            ax.fill_between(
                part["budget"], part["low"], part["high"], color=look["color"], alpha=0.12, lw=0
            )
        ax.set(xlabel="gradient evaluations (batch 16 each)", ylabel=name, ylim=(-0.03, 1.03))
    n = long.seed.nunique()
    axes[0].set_title(f"Forget set: mean of {n} seeds, band ±1 std")
    axes[1].set_title(f"Retain set: mean of {n} seeds, band ±1 std")
    axes[1].legend(loc="lower left", fontsize=9)
    fig.suptitle(title)
    return fig
