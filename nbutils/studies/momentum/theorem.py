"""The slides' theorem (Recipe 2): with decoupled momentum Var(theta_t) is at most its
value with shared momentum, at every t (Eq. 1 on ``quadratics.Quadratics``).

``exact_variance`` is the closed form (the covariance recursion of Eq. 1's linear
updates), ``growth_factor`` whether a scheme diverges; ``compare`` sets the simulation
(``quadratics.simulate``, exact chi-square / F intervals) against it at one setting,
``grid`` at many; ``theorem_grid`` checks the theorem exactly at every distinct setting
where its assumptions hold.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ...engine.optim import TASKS
from ...stats import ratio_interval, variance_interval
from .quadratics import MOMENTUM_SCHEMES, Quadratics, simulate

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


def grid_settings(problem: Quadratics, axes: dict[str, list], *, momentum: float, lr: float):
    """Every combination of ``axes`` as (setting, problem, options): ``momentum`` and
    ``lr`` go to the optimizer's options, any other name to a field of ``Quadratics``."""
    from itertools import product

    for values in product(*axes.values()):
        setting = dict(zip(axes, values))
        options = {"momentum": momentum, "lr": lr}
        options.update({k: v for k, v in setting.items() if k in options})
        here = replace(problem, **{k: v for k, v in setting.items() if k not in options})
        yield setting, here, options


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
    from tqdm.auto import tqdm

    rows = []
    settings = list(grid_settings(problem, axes, momentum=momentum, lr=lr))
    for setting, here, options in tqdm(settings, desc="simulations", disable=not progress):
        table = compare(
            here,
            steps=steps,
            replicas=replicas,
            seed=seed,
            confidence=confidence,
            **options,
        )
        last = table.iloc[-1]
        growth = {
            f"growth_{scheme}": growth_factor(here, scheme, **options)
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


THEOREM_AXES = ("momentum", "lr", "tau")  # what can change the ratio (rho = 0; sigma drops out)
TOLERANCE = 1e-9  # relative: decoupled <= shared up to rounding (equal at t = 1, and at a = 0)


def theorem_grid(
    problem: Quadratics,
    axes: dict[str, list],
    *,
    momentum: float = 0.9,
    lr: float = 0.1,
    steps: int,
) -> pd.DataFrame:
    """The theorem at every DISTINCT setting where its assumptions hold, by the exact
    covariance recursion (``exact_variance``): ``axes`` over ``momentum``, ``lr`` and
    ``tau`` only (rho = 0 as the slides assume; sigma scales both variances by sigma^2,
    so the ratio does not depend on it and a sigma axis would repeat settings; repeated
    values are dropped). One row per setting: both schemes' growth factors and whether
    each diverges (factor above 1), ``ratio_final`` (Var_D / Var_S of theta_r at the
    last t), ``ratio_max`` (the largest Var_D / Var_S over t and over theta_f, theta_r),
    ``every_t`` (decoupled <= shared at every t for both) and ``holds``: 1 when
    ``every_t`` and neither scheme diverges, else 0 (divergence counts as failure)."""

    extra = sorted(set(axes) - set(THEOREM_AXES))
    if extra:
        raise ValueError(
            f"the theorem's grid varies {list(THEOREM_AXES)} only, got {extra}: rho != 0 "
            "breaks its assumption (see the rho sweep) and sigma drops out of the ratio"
        )
    problem = replace(problem, rho=0.0)
    distinct = {name: list(dict.fromkeys(v)) for name, v in axes.items()}
    rows = []
    for setting, here, options in grid_settings(problem, distinct, momentum=momentum, lr=lr):
        exact = {
            scheme: exact_variance(here, scheme, steps=steps, **options)
            for scheme in MOMENTUM_SCHEMES
        }
        growth = {s: growth_factor(here, s, **options) for s in MOMENTUM_SCHEMES}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratios = {
                which: exact["decoupled"][f"var_{which}"] / exact["shared"][f"var_{which}"]
                for which in TASKS
            }
            below = all(
                (
                    exact["decoupled"][f"var_{w}"] <= exact["shared"][f"var_{w}"] * (1 + TOLERANCE)
                ).all()
                for w in TASKS
            )
        diverges = {s: bool(g > 1) for s, g in growth.items()}
        rows.append(
            {
                **setting,
                **{f"growth_{s}": g for s, g in growth.items()},
                **{f"diverges_{s}": d for s, d in diverges.items()},
                "ratio_final": float(ratios["retain"].iloc[-1]),
                "ratio_max": float(
                    np.nanmax(np.concatenate([r.to_numpy() for r in ratios.values()]))
                ),
                "every_t": bool(below),
                "holds": int(below and not any(diverges.values())),
            }
        )
    return pd.DataFrame(rows)
