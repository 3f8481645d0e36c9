"""Optimizer state for alternating forget/retain updates (DualOptim slides), and the theory.

A *task-state* object maps a task's direction to an update direction,
``update(task, d) -> u`` with ``task`` in ``("forget", "retain")``; the caller applies
theta <- theta - lr u (as ``optim.SGD``/``optim.Adam`` do for one task). Three schemes:

- **Alternate**: one optimizer, one state, fed by both tasks in turn
  (``TaskStates.shared(opt)``). With ``optim.SGD(momentum=a)`` this is the slides'
  shared momentum of Eq. 1: m <- a m + g_f, then m <- a m + g_r.
- **DualOptim**: each task its own optimizer and state (``TaskStates(opt_f, opt_r)``;
  Algorithm 1, l. 2: Optim_f = Adam(eta_f), Optim_r = the pretraining optimizer). With two
  ``optim.SGD(momentum=a)`` this is Eq. 1's decoupled momentum.
- **DualOptim+** (``DualOptimPlus``): a shared base state B (factor a1, Eq. 4) updated by
  every gradient and a residual state Delta per task (factor a2, Eq. 5) updated by that
  task's (g - B) right after B (Eq. 6).

How DualOptim+ forms its step (the slides do not say; our choice): the first moment of
the active task is m_task = B + Delta_task, the SVRG analogy of the slides (shared mean
+ the task's residual). With constant gradients its steady state is m_task = g_task
whatever the relation of g_f and g_r, and the states split as the slides say: for
g_f = g_r, B -> g and Delta -> 0, so the step is the shared state alone (Alternate);
for g_f = -g_r, B oscillates with amplitude (1 - a1)/(1 + a1) |g| (about 0 for a1 near
1) and Delta_task -> g_task - B, so the step is the task's own state (DualOptim). The
bias correction divides by the same recurrences run on a constant 1 (for Adam this
gives Adam's 1 - beta1^t): a constant gradient is returned unbiased from the first step.
With ``adaptive=True`` (default, the Adam form used on language models) each task's
gradient is first divided by the root of its own second moment (beta2, bias-corrected by
the task's own step count): Recipe 1's per-task adaptive rate, as DualOptim's two Adams
have; B and Delta are then kept on these preconditioned gradients. Keeping them on raw
gradients with per-task second moments mixes scales: a large forget gradient in B,
divided by the small retain second moment, blew the tiny LM up within 32 updates
(lr 1e-3, measured). A second moment split into base + residual could turn negative.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from . import optim
from .gradients import Grads, add_

TASKS = ("forget", "retain")


def _check(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


class TaskStates:
    """One optimizer per task (DualOptim, decoupled momentum), or the same one for both
    (``TaskStates.shared``: Alternate, shared momentum)."""

    def __init__(self, forget, retain):
        self.states = {"forget": forget, "retain": retain}

    @classmethod
    def shared(cls, optimizer) -> TaskStates:
        return cls(optimizer, optimizer)

    @property
    def is_shared(self) -> bool:
        return self.states["forget"] is self.states["retain"]

    def update(self, task: str, d: Grads) -> Grads:
        """The active task's update direction; advances that task's state once."""
        return self.states[_check(task)].update(d)


class DualOptimPlus:
    """DualOptim+ (slides, Eqs. 4-6) with the step m_task = B + Delta_task (module doc)."""

    def __init__(
        self,
        params,
        base_momentum: float = 0.9,
        residual_momentum: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        adaptive: bool = True,
    ):
        for name, value in (
            ("base_momentum", base_momentum),
            ("residual_momentum", residual_momentum),
        ):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
        self.a1, self.a2 = base_momentum, residual_momentum
        self.beta2, self.eps, self.adaptive = beta2, eps, adaptive
        self.base = [torch.zeros_like(p) for p in params]
        self.residual = {t: [torch.zeros_like(p) for p in params] for t in TASKS}
        self.v = {t: [torch.zeros_like(p) for p in params] for t in TASKS} if adaptive else None
        self.count = dict.fromkeys(TASKS, 0)
        # the same recurrences run on a constant 1: the bias correction
        self.ones_base, self.ones_residual = 0.0, dict.fromkeys(TASKS, 0.0)

    def update(self, task: str, d: Grads) -> Grads:
        residual, a1, a2 = self.residual[_check(task)], self.a1, self.a2
        self.count[task] += 1
        if self.adaptive:  # precondition by the task's own second moment
            v = self.v[task]
            torch._foreach_mul_(v, self.beta2)
            torch._foreach_addcmul_(v, d, d, value=1 - self.beta2)
            scale = torch._foreach_sqrt(v)
            torch._foreach_div_(scale, (1 - self.beta2 ** self.count[task]) ** 0.5)
            torch._foreach_add_(scale, self.eps)
            d = torch._foreach_div(d, scale)
        torch._foreach_mul_(self.base, a1)  # Eq. 6: B <- a1 B + (1 - a1) g
        torch._foreach_add_(self.base, d, alpha=1 - a1)
        torch._foreach_mul_(residual, a2)  # Delta <- a2 Delta + (1 - a2)(g - B)
        torch._foreach_add_(residual, d, alpha=1 - a2)
        torch._foreach_add_(residual, self.base, alpha=-(1 - a2))
        self.ones_base = a1 * self.ones_base + (1 - a1)
        self.ones_residual[task] = a2 * self.ones_residual[task] + (1 - a2) * (1 - self.ones_base)
        u = torch._foreach_add(self.base, residual)
        torch._foreach_div_(u, self.ones_base + self.ones_residual[task])
        return u


SCHEMES = ("alternate", "dualoptim", "dualoptim+")
LABELS = {"alternate": "Alternate", "dualoptim": "DualOptim", "dualoptim+": "DualOptim+"}


def make(scheme: str, params, optimizer: str = "adam"):
    """The task states of a scheme of Algorithm 1. ``optimizer`` is the pretraining
    optimizer ("adam" for the tiny target, fine-tuned with AdamW without weight decay):
    Alternate uses it for both tasks; DualOptim uses Adam for forget steps and it for
    retain steps; DualOptim+ is Adam-like (a1 = a2 = beta1 = 0.9, beta2 = 0.999)."""
    params = list(params)
    if scheme == "alternate":
        return TaskStates.shared(optim.make(optimizer, params))
    if scheme == "dualoptim":
        return TaskStates(optim.Adam(params), optim.make(optimizer, params))
    if scheme == "dualoptim+":
        return DualOptimPlus(params)
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def joint_update(states, d_retain: Grads, d_forget: Grads) -> Grads:
    """One joint step from both tasks' directions: shared states take their sum (one
    state advance, as ``unlearn`` does), decoupled ones each their own, and the two
    update directions add. For SGD momentum the two agree (linearity); for Adam they
    do not."""
    if getattr(states, "is_shared", False):
        return states.update("retain", torch._foreach_add(d_retain, d_forget))
    u = states.update("retain", d_retain)
    u = torch._foreach_add(u, states.update("forget", d_forget))  # a copy: buffers move on
    return u


# --------------------------------------------------------------------------- Algorithm 1


def algorithm1(
    params,
    states,
    gradient,
    *,
    lr_forget: float,
    lr_retain: float,
    outer_steps: int,
    forget_steps: int = 1,
    retain_steps: int = 1,
    after_step=None,
) -> int:
    """The slides' Algorithm 1 (l. 3-14): T_o times, T_f forget steps then T_r retain
    steps, each theta <- theta - eta_task * states.update(task, g).

    ``gradient(task, step)`` returns the task's (stochastic) gradient at the current
    parameters (a list of tensors like ``params``); ``after_step(task, step)`` runs after
    each update (``step`` counts updates, from 1); returning True stops the loop.
    Returns the number of updates done."""
    step = 0
    for _ in range(outer_steps):
        for task, inner, lr in (
            ("forget", forget_steps, lr_forget),
            ("retain", retain_steps, lr_retain),
        ):
            for _ in range(inner):
                add_(params, states.update(task, gradient(task, step)), -lr)
                step += 1
                if after_step is not None and after_step(task, step):
                    return step
    return step


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
        return self.curvature_forget if _check(task) == "forget" else self.curvature_retain

    def minimum(self, task: str) -> float:
        return self.minimum_forget if _check(task) == "forget" else self.minimum_retain


class _NoisyGradients:
    """Gradient oracle of ``Quadratics`` for ``algorithm1`` with T_f = T_r = 1: each forget
    call opens a new outer step t and draws both tasks' noise for it."""

    def __init__(self, problem: Quadratics, theta: torch.Tensor, generator: torch.Generator):
        self.problem, self.theta, self.generator = problem, theta, generator
        self.noise: dict[str, torch.Tensor] | None = None

    def _draw(self) -> dict[str, torch.Tensor]:
        z = torch.randn((2, *self.theta.shape), generator=self.generator, dtype=self.theta.dtype)
        rho = self.problem.rho
        return {"forget": z[0], "retain": rho * z[0] + (1 - rho**2) ** 0.5 * z[1]}

    def __call__(self, task: str, step: int) -> Grads:
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
        return [exact + p.noise * self.noise[task]]


MOMENTUM_SCHEMES = ("shared", "decoupled")


def momentum_states(scheme: str, params, momentum: float) -> TaskStates:
    """Eq. 1: one heavy-ball buffer for both tasks ("shared") or one per task
    ("decoupled"), m <- a m + g, theta <- theta - eta m."""
    if scheme == "shared":
        return TaskStates.shared(optim.SGD(params, momentum))
    if scheme == "decoupled":
        return TaskStates(optim.SGD(params, momentum), optim.SGD(params, momentum))
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
    generator = torch.Generator().manual_seed(seed)
    rows: dict[str, list[float]] = {"var_forget": [], "var_retain": [], "mean_retain": []}

    def record(task: str, step: int) -> None:
        rows[f"var_{task}"].append(theta.var().item())
        if task == "retain":
            rows["mean_retain"].append(theta.mean().item())

    with torch.no_grad():
        algorithm1(
            [theta],
            momentum_states(scheme, [theta], momentum),
            _NoisyGradients(problem, theta, generator),
            lr_forget=lr,
            lr_retain=lr,
            outer_steps=steps,
            after_step=record,
        )
    return pd.DataFrame({"t": range(1, steps + 1), **rows})


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


def variance_interval(var, replicas: int, confidence: float = 0.95):
    """Chi-square interval for a variance over ``replicas`` Gaussian values (exact here:
    theta is Gaussian)."""
    from scipy import stats

    dof, tail = replicas - 1, (1 - confidence) / 2
    var = np.asarray(var, dtype=float)
    return var * dof / stats.chi2.ppf(1 - tail, dof), var * dof / stats.chi2.ppf(tail, dof)


def ratio_interval(ratio, replicas: int, confidence: float = 0.95):
    """F interval for a ratio of two variances, each over ``replicas`` independent
    Gaussian values (the two schemes use independent noise)."""
    from scipy import stats

    dof, tail = replicas - 1, (1 - confidence) / 2
    ratio = np.asarray(ratio, dtype=float)
    return ratio / stats.f.ppf(1 - tail, dof, dof), ratio / stats.f.ppf(tail, dof, dof)


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


# --------------------------------------------------------------------------- figures

SCHEME_COLORS = {"shared": "#404040", "decoupled": "#0173b2"}


def plot_variance(table: pd.DataFrame, sweep: pd.DataFrame, *, title: str):
    """Three panels: Var(theta_r,t) over t for both schemes (MC with its 95% band, exact
    dashed); the ratio decoupled/shared over t; the final ratio against the cross-task
    correlation rho for each tau of ``sweep`` (a ``grid`` over rho x tau)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for scheme, color in SCHEME_COLORS.items():
        col = f"{scheme}_retain"
        ax.plot(table.t, table[col], color=color, label=f"{scheme} (MC)")
        ax.fill_between(
            table.t, table[f"{col}_low"], table[f"{col}_high"], color=color, alpha=0.25, lw=0
        )
        ax.plot(table.t, table[f"{col}_exact"], color=color, ls="--", lw=1, label="exact")
    ax.set(xlabel="outer step t", ylabel="Var(θ_r,t) over replicas", title="Variance of θ")
    ax.legend()
    ax = axes[1]
    ax.plot(table.t, table.ratio_retain, color=SCHEME_COLORS["decoupled"], label="MC")
    ax.fill_between(
        table.t,
        table.ratio_retain_low,
        table.ratio_retain_high,
        color=SCHEME_COLORS["decoupled"],
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
    import matplotlib.pyplot as plt
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
