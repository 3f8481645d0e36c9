"""The slides' setting for the variance theorem, simulated: Eq. 1 on noisy quadratics.

Recipe 2's claim is about theta's variance under Eq. 1 (heavy-ball momentum, m <- a m + g,
theta <- theta - eta m) when forget and retain updates alternate as in Algorithm 1 with
T_f = T_r = 1 (``engine.alternator``). ``Quadratics`` is the one-dimensional problem,
``momentum_states`` the shared or decoupled buffer, ``replicate`` many independent
replicas of theta, ``simulate`` their variance at every outer step t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ...engine.alternator import Alternator
from ...engine.gradients import Grads
from ...engine.loop import Run, run_loop
from ...engine.optim import SGD, TASKS, TaskStates, check_task


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


def replicate(
    problem: Quadratics,
    scheme: str,
    *,
    momentum: float,
    lr: float,
    steps: int,
    replicas: int,
    seed: int = 0,
) -> tuple[Run, np.ndarray]:
    """Eq. 1 on ``replicas`` independent copies of theta (float64), ``steps`` outer steps:
    the run (one row per update: ``task``, ``var`` and ``mean`` of theta over replicas)
    and every replica's theta_r at the last t."""
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
    return run, theta.numpy().copy()


def simulate(problem: Quadratics, scheme: str, *, steps: int, **options) -> pd.DataFrame:
    """``replicate``'s run (``options``: its momentum, lr, replicas, seed) as one row per
    t = 1..steps: ``var_forget`` = Var(theta_f,t) after the forget update,
    ``var_retain`` = Var(theta_r,t) after the retain update (variance over replicas,
    ddof=1), ``mean_retain``. A diverged run gives inf/NaN."""
    run, _ = replicate(problem, scheme, steps=steps, **options)
    by_task = {task: part.reset_index(drop=True) for task, part in run.history.groupby("task")}
    return pd.DataFrame(
        {
            "t": range(1, steps + 1),
            "var_forget": by_task["forget"]["var"],
            "var_retain": by_task["retain"]["var"],
            "mean_retain": by_task["retain"]["mean"],
        }
    )
