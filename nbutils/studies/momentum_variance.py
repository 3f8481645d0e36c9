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

from dataclasses import asdict, dataclass, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import claims, stats
from ..core.models import TargetRef, open_target
from ..engine import lm
from ..engine.alternator import Alternator, official_steps, parse_schedule
from ..engine.executor import Job, cached_job, execute
from ..engine.gradients import Grads
from ..engine.loop import Run, run_loop
from ..engine.optim import LABELS, SGD, TASKS, TaskStates, check_task, make_states
from ..engine.runs import ENGINE_VERSION, finals_table
from ..engine.tuning import Request, Tuning
from ..stats import ratio_interval, variance_interval
from .style import color

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


def _replicas(problem, scheme, momentum, lr, steps, replicas, seed):
    """Eq. 1 on ``replicas`` copies of theta: the run (one row per update) and theta at
    the end."""
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
    run, _ = _replicas(problem, scheme, momentum, lr, steps, replicas, seed)
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


THEOREM_CLAIM = "dualoptim.theorem.decoupled_variance_le_shared"
SIMULATED_CLAIM = "dualoptim.theorem.simulated_variance_default"


def measure_theorem(table: pd.DataFrame, draw: int) -> pd.DataFrame:
    """The theorem's claim: one value per distinct setting of a ``theorem_grid`` (its
    ``holds``, 1 or 0; the setting's index as its seed)."""
    return claims.measurement(THEOREM_CLAIM, draw, table["holds"], seeds=range(len(table)))


def final_thetas(
    problem: Quadratics,
    scheme: str,
    *,
    momentum: float,
    lr: float,
    steps: int,
    replicas: int,
    seed: int,
) -> np.ndarray:
    """theta_r at the last t of every replica of ``simulate`` (same seed, same draws)."""
    return _replicas(problem, scheme, momentum, lr, steps, replicas, seed)[1]


def measure_simulated(
    problem: Quadratics,
    *,
    momentum: float,
    lr: float,
    steps: int,
    replicas: int,
    seed: int,
    draw: int,
) -> pd.DataFrame:
    """The theorem by simulation at one setting: per replica, theta_r at the last t under
    decoupled momentum (value) and under shared momentum (reference; independent
    replicas, the draws of ``compare``), for the std ratio."""
    options = dict(momentum=momentum, lr=lr, steps=steps, replicas=replicas)
    decoupled = final_thetas(problem, "decoupled", seed=2 * seed + 1, **options)
    shared = final_thetas(problem, "shared", seed=2 * seed, **options)
    return claims.measurement(SIMULATED_CLAIM, draw, decoupled, references=shared)


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


def lm_job(target, bench, scheme: str, *, seed: int, label: str | None = None, **options) -> Job:
    """``lm_run`` as a cached job of the executor (``options``: its keyword arguments)."""
    spec = {
        "target": target.key,
        "benchmark": bench.fingerprint(),
        "scheme": scheme,
        "options": options,
        "seed": seed,
        "engine": ENGINE_VERSION,
        "device": next(target.model.parameters()).device.type,
    }
    label = label or scheme
    args = (target.ref, bench, scheme, seed, label, options)
    return cached_job(_lm_run_on, args, spec, label, seed)


def _lm_run_on(target: TargetRef, bench, scheme: str, seed: int, label: str, options: dict) -> Run:
    return lm_run(open_target(target), bench, scheme, seed=seed, label=label, **options)


def joint_request(target, bench, scheme: str, grid, draw: int, n_seeds: int, **options) -> Request:
    """The request for a joint scheme's rate (NGDiff + DualOptim) over ``grid``, each
    run evaluated after its last update only (``engine.tuning``)."""
    options = {**options, "joint": True, "eval_every": None}
    return Request(
        f"NGDiff + {LABELS.get(scheme, scheme)} (joint)",
        {"kind": "momentum_lm", "setting": target.setting, "scheme": scheme, "options": options},
        tuple(grid),
        lambda lr, s: lm_job(target, bench, scheme, lr=lr, seed=s, **options),
        n_seeds,
        draw,
    )


def run_all(target, bench, configs: dict[str, dict], seeds, **options) -> list[Run]:
    """Every labelled config (``lm_run``'s keyword arguments: scheme, lr, ...) with every
    seed, in one batch of the executor."""
    jobs = [
        lm_job(target, bench, label=label, seed=seed, **{**options, **config})
        for label, config in configs.items()
        for seed in seeds
    ]
    return execute(jobs, desc="alternating runs")


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
        config = r.config if isinstance(r.config, dict) else {}
        parts.append(table.assign(label=r.label, seed=r.seed, schedule=config.get("schedule")))
    columns = [
        "label",
        "schedule",
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


# --------------------------------------------------------------------------- official protocol

OFFICIAL_EPOCHS = 5  # LLM/scripts/tofu/dualoptim.sh: num_epochs=5
OFFICIAL_WEIGHT_DECAY = 0.01  # LLM/config/phi1-5_tofu.yaml: weight_decay
OFFICIAL_CLIP_NORM = 1.0  # Hugging Face TrainingArguments' max_grad_norm (not overridden)
STABILITY_SCHEMES = {"dualoptim": "dualoptim", "dualoptim+": "dualoptim_plus"}  # -> claim id
REGISTERED_SCHEDULES = {"1:5": "1to5", "1:1": "1to1"}
RECIPE1_CLAIM = "dualoptim.recipe1.forget_gradients_larger"


def stability_claim(scheme: str, schedule: str) -> str | None:
    """The registry id of ``scheme``'s stability verdict at ``schedule`` (None when the
    registry has none: Alternate itself, or a schedule other than 1:5 and 1:1)."""
    if scheme not in STABILITY_SCHEMES or schedule not in REGISTERED_SCHEDULES:
        return None
    return (
        f"dualoptim.slides.{STABILITY_SCHEMES[scheme]}_more_stable.{REGISTERED_SCHEDULES[schedule]}"
    )


@dataclass(frozen=True)
class Official:
    """DualOptim's official language-model protocol (CityU-MLO/DualOptim, ``LLM/``) at the
    tiny model's scale: T_f forget steps then T_r retain steps (``schedule``), a run of
    ``epochs`` epochs over F counted as the official code counts them
    (``alternator.official_steps``), a linear schedule warmed up over the first epoch,
    each gradient clipped to norm ``clip_norm``, decoupled weight decay, per-task Adam
    states with their own bias correction (``optim.make_states``), the retain rate
    fixed at ``retain_lr`` and the forget rate each scheme's own (tuned).
    ``optimizer``: the pretraining optimizer (retain steps; Alternate's only one)."""

    schedule: str = "1:5"
    retain_lr: float = 1e-3
    epochs: int = OFFICIAL_EPOCHS
    batch_size: int = 16
    weight_decay: float = OFFICIAL_WEIGHT_DECAY
    clip_norm: float = OFFICIAL_CLIP_NORM
    optimizer: str = "adam"
    eval_retain: int | None = 100
    max_new_tokens: int = 32

    def __post_init__(self):
        parse_schedule(self.schedule)
        if not self.retain_lr > 0:
            raise ValueError(f"retain_lr must be > 0, got {self.retain_lr!r}")

    @property
    def ratio(self) -> tuple[int, int]:
        return parse_schedule(self.schedule)

    def steps(self, bench) -> tuple[int, int]:
        """(updates, warm-up updates) of a run on ``bench``."""
        return official_steps(
            len(bench.forget), len(bench.retain), self.batch_size, *self.ratio, self.epochs
        )


def official_job(
    target,
    bench,
    scheme: str,
    forget_lr: float,
    protocol: Official,
    seed: int,
    *,
    evaluations: int | None = None,
    cache: bool = True,
) -> Job:
    """One run of Algorithm 1 under the official protocol (``engine.lm.alternate_lm``) as
    a cached job of the executor. ``evaluations``: about that many evaluations during the
    run (None: after the last update only). The run's ``config`` holds scheme, schedule
    and both rates."""
    steps, _ = protocol.steps(bench)
    eval_every = -(-steps // evaluations) if evaluations else None
    config = {
        "scheme": scheme,
        "schedule": protocol.schedule,
        "forget_lr": forget_lr,
        "retain_lr": protocol.retain_lr,
        "optimizer": protocol.optimizer,
    }
    spec = {
        "target": target.key,
        "benchmark": bench.fingerprint(),
        "official": asdict(protocol),
        **config,
        "seed": seed,
        "eval_every": eval_every,
        "engine": ENGINE_VERSION,
        "device": next(target.model.parameters()).device.type,
    }
    args = (target.ref, bench, scheme, forget_lr, protocol, seed, eval_every)
    label = LABELS.get(scheme, scheme)
    return cached_job(_official_run_on, args, spec, label, seed, config, cache)


def _official_run_on(
    target: TargetRef, bench, scheme, forget_lr, protocol: Official, seed, eval_every
) -> Run:
    opened = open_target(target)
    steps, warmup = protocol.steps(bench)
    forget_steps, retain_steps = protocol.ratio
    return lm.alternate_lm(
        opened.model,
        opened.tokenizer,
        bench,
        scheme,
        lr_forget=forget_lr,
        lr_retain=protocol.retain_lr,
        optimizer=protocol.optimizer,
        steps=steps,
        forget_steps=forget_steps,
        retain_steps=retain_steps,
        batch_size=protocol.batch_size,
        eval_every=eval_every,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
        weight_decay=protocol.weight_decay,
        clip_norm=protocol.clip_norm,
        warmup_steps=warmup,
        seed=seed,
        label=LABELS.get(scheme, scheme),
    )


def official_run(target, bench, scheme, forget_lr, protocol: Official, seed, **options) -> Run:
    """One ``official_job`` computed (or read from the run cache)."""
    job = official_job(target, bench, scheme, forget_lr, protocol, seed, **options)
    return execute([job], progress=False)[0]


def forget_rate_request(
    target, bench, scheme: str, protocol: Official, forget_lrs, draw: int, n_seeds: int
) -> Request:
    """The request for ``scheme``'s forget rate from ``forget_lrs`` with the retain rate
    fixed: the project's rule (``stats.choose_rate``: the highest ROUGE_R among rates
    whose median ROUGE_F is below 0.1; a rate with a diverged run is never chosen) on
    ``n_seeds`` held-out seeds, each run evaluated after its last update only."""
    return Request(
        f"{LABELS.get(scheme, scheme)} {protocol.schedule}",
        {"kind": "official", "setting": target.setting, "scheme": scheme, **asdict(protocol)},
        tuple(forget_lrs),
        lambda lr, s: official_job(target, bench, scheme, lr, protocol, s),
        n_seeds,
        draw,
    )


def unified_rate_request(target, bench, protocol: Official, rates, draw: int, n_seeds: int):
    """The request for one rate for both tasks of Alternate (the unified rate of SGD that
    Recipe 1 argues against), tuned as ``forget_rate_request`` tunes a forget rate."""
    return Request(
        f"Alternate ({protocol.optimizer}, one rate) {protocol.schedule}",
        {"kind": "official_unified", "setting": target.setting, **asdict(protocol)},
        tuple(rates),
        lambda lr, s: official_job(
            target, bench, "alternate", lr, replace(protocol, retain_lr=lr), s
        ),
        n_seeds,
        draw,
    )


@dataclass
class OfficialResults:
    """The official comparison: per (scheme, schedule) its ``Tuning`` and its runs."""

    tunings: dict[tuple[str, str], Tuning]
    runs: list[Run]

    @property
    def finals(self) -> pd.DataFrame:
        """One row per run: ``scheme``, ``label``, ``schedule``, ``forget_lr``,
        ``retain_lr``, ``seed``, ``diverged_at`` and the final evaluation."""
        rows = [
            {
                **r.config,
                "label": r.label,
                "seed": r.seed,
                "diverged_at": r.diverged_at,
                **{k: v for k, v in r.final.items() if k != "step"},
            }
            for r in self.runs
        ]
        table = pd.DataFrame(rows)
        for column in ("diverged_at", *FINAL_METRICS):  # present even if every run diverged
            if column not in table:
                table[column] = np.nan
        return table

    def rates(self) -> pd.DataFrame:
        """The tuned forget rate of each scheme (rows) per schedule (columns)."""
        table = pd.DataFrame(
            [
                {"scheme": LABELS.get(k, k), "schedule": sched, "forget_lr": t.lr}
                for (k, sched), t in self.tunings.items()
            ]
        )
        return table.pivot(index="scheme", columns="schedule", values="forget_lr")


def official_requests(
    target, bench, schemes, schedules, *, retain_lr, forget_lrs, draw, n_seeds, **protocol
) -> list[Request]:
    """Every scheme's forget-rate request at every schedule (``forget_rate_request``)."""
    return [
        forget_rate_request(
            target,
            bench,
            scheme,
            Official(schedule=schedule, retain_lr=retain_lr, **protocol),
            forget_lrs,
            draw,
            n_seeds,
        )
        for schedule in schedules
        for scheme in schemes
    ]


def run_official(
    target,
    bench,
    schemes,
    schedules,
    tunings: dict,
    *,
    retain_lr: float,
    seeds,
    evaluations: int | None = None,
    **protocol,
) -> OfficialResults:
    """Every scheme at every schedule under the official protocol, at its tuned forget
    rate (``tunings``: request name -> ``engine.tuning.Tuning``, from
    ``official_requests``), one run per evaluation seed, in one batch of the executor
    (``evaluations`` during each run: see ``official_job``). ``protocol``: further
    ``Official`` fields."""
    chosen, jobs = {}, []
    for schedule in schedules:
        official = Official(schedule=schedule, retain_lr=retain_lr, **protocol)
        for scheme in schemes:
            tuning = tunings[f"{LABELS.get(scheme, scheme)} {schedule}"]
            chosen[scheme, schedule] = tuning
            jobs += [
                official_job(target, bench, scheme, tuning.lr, official, s, evaluations=evaluations)
                for s in seeds
            ]
    return OfficialResults(chosen, execute(jobs, desc="official runs"))


def official_settings(protocol, smoke: bool) -> dict:
    """``Official``'s fields that follow the session's protocol (batch, evaluation) and
    size (two epochs at smoke size)."""
    return dict(
        batch_size=protocol.batch_size,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
        epochs=2 if smoke else OFFICIAL_EPOCHS,
    )


def joint_settings(protocol) -> dict:
    """NGDiff's runs of Part 3 at the project's budget: ``protocol.steps`` steps of two
    gradients each (``lm_run``'s options)."""
    return dict(
        budget=2 * protocol.steps,
        batch_size=protocol.batch_size,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
    )


def smoke_rates(forget_lrs) -> tuple[float, ...]:
    """The forget rates tried at smoke size: one, the upper middle of the grid."""
    rates = sorted(forget_lrs)
    return (rates[len(rates) // 2],)


def sgd_protocol(protocol: Official) -> Official:
    """Recipe 1's SGD panel: Alternate with SGD under the official protocol."""
    return replace(protocol, optimizer="sgd")


def unified_sgd_runs(target, bench, protocol: Official, tuning, seeds) -> list[Run]:
    """Alternate with SGD and one rate for both tasks (Recipe 1's SGD panel) at
    ``tuning``'s rate (``unified_rate_request`` on ``sgd_protocol(protocol)``), one run
    per seed."""
    at = replace(sgd_protocol(protocol), retain_lr=tuning.lr)
    jobs = [official_job(target, bench, "alternate", tuning.lr, at, s) for s in seeds]
    return execute(jobs, desc="SGD runs")


# --------------------------------------------------------------------------- claims


def final_rouge_retain(finals: pd.DataFrame) -> pd.Series:
    """Final ROUGE_R per run; a diverged run counts 0 (a destroyed model)."""
    value = finals["rouge_retain"] if "rouge_retain" in finals else pd.Series(np.nan, finals.index)
    return value.where(finals["diverged_at"].isna(), 0.0).astype(float)


def measure_stability(finals: pd.DataFrame, draw: int) -> pd.DataFrame:
    """The stability verdicts (one per scheme and registered schedule): per seed the
    scheme's final ROUGE_R (value) and Alternate's at the same seed and schedule
    (reference); a diverged run counts 0 (``final_rouge_retain``). Claim statistic:
    np.std over seeds (ddof 0) of the values over that of the references."""
    table = finals.assign(value=final_rouge_retain(finals))
    parts = []
    for schedule, part in table.groupby("schedule", sort=False):
        reference = part[part.scheme == "alternate"].set_index("seed")["value"]
        for scheme, own in part.groupby("scheme", sort=False):
            claim_id = stability_claim(scheme, schedule)
            if claim_id is None or reference.empty:
                continue
            own = own.set_index("seed")["value"]
            seeds = [s for s in own.index if s in reference.index]
            parts.append(
                claims.measurement(
                    claim_id, draw, own[seeds], seeds=seeds, references=reference[seeds]
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def gradient_norm_ratios(runs) -> pd.DataFrame:
    """Per run (``label``, ``seed``): median ||grad L_f|| over median ||grad L_r|| across
    its forget and retain updates (norms before clipping; a diverged run: its updates
    before it diverged; NaN without an update of either task)."""
    rows = []
    for r in runs:
        steps = r.history[r.history["task"].notna()] if "task" in r.history else r.history
        by = steps.groupby("task").grad_norm.median() if len(steps) else pd.Series(dtype=float)
        ratio = by.get("forget", np.nan) / by.get("retain", np.nan)
        rows.append({"label": r.label, "seed": r.seed, "ratio": float(ratio)})
    return pd.DataFrame(rows, columns=["label", "seed", "ratio"])


def measure_recipe1(runs, draw: int) -> pd.DataFrame:
    """Recipe 1's gap, one value per run (``gradient_norm_ratios``) of the given runs
    (Alternate under the official protocol)."""
    table = gradient_norm_ratios(runs)
    return claims.measurement(RECIPE1_CLAIM, draw, table["ratio"], seeds=table["seed"])


def stability_ids(verdicts: pd.DataFrame) -> list[str]:
    """The stability claims among ``verdicts`` (those this run measured)."""
    return [i for i in verdicts["id"] if i.startswith("dualoptim.slides.")]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(claims.MEASUREMENT_COLUMNS))


def stability_settings(results: OfficialResults, retain_lr: float) -> dict[str, str]:
    """Per stability claim measured: its setting in words (protocol, schedule, both
    schemes' tuned forget rates, the retain rate)."""
    out = {}
    for (scheme, schedule), tuning in results.tunings.items():
        claim_id = stability_claim(scheme, schedule)
        reference = results.tunings.get(("alternate", schedule))
        if claim_id is None or reference is None:
            continue
        out[claim_id] = (
            f"official protocol (Adam, clip 1.0, linear schedule, wd 0.01), "
            f"T_f:T_r = {schedule}, retain rate {retain_lr:g}; tuned forget rates: "
            f"{LABELS[scheme]} {tuning.lr:g}, Alternate {reference.lr:g}"
        )
    return out


def with_settings(verdicts: pd.DataFrame, settings: dict[str, str]) -> pd.DataFrame:
    """``verdicts`` whose ``setting`` names this run's setting where ``settings`` has one
    (the registry's setting otherwise)."""
    out = verdicts.copy()
    for claim_id, text in settings.items():
        out.loc[out["id"] == claim_id, "setting"] = text
    return out


def std_table(finals: pd.DataFrame) -> pd.DataFrame:
    """The slides' "Std" per scheme and schedule: mean and np.std over seeds (ddof 0, as
    DualOptim's parse_result.py) of the final ROUGE_F and ROUGE_R (a diverged run
    counts ROUGE_R 0 and is counted in ``diverged``), with the tuned forget rate."""
    table = finals.assign(rouge_retain=final_rouge_retain(finals))
    rows = []
    for (schedule, scheme), part in table.groupby(["schedule", "scheme"], sort=False):
        rows.append(
            {
                "schedule": schedule,
                "scheme": LABELS.get(scheme, scheme),
                "forget_lr": part["forget_lr"].iloc[0],
                "rouge_forget_mean": part["rouge_forget"].mean(),
                "rouge_forget_std": part["rouge_forget"].std(ddof=0),
                "rouge_retain_mean": part["rouge_retain"].mean(),
                "rouge_retain_std": part["rouge_retain"].std(ddof=0),
                "runs": len(part),
                "diverged": int(part["diverged_at"].notna().sum()),
            }
        )
    return pd.DataFrame(rows).set_index(["schedule", "scheme"])


# --------------------------------------------------------------------------- figures


def plot_variance(table: pd.DataFrame, sweep: pd.DataFrame | None, *, title: str):
    """Three panels: Var(theta_r,t) over t for both schemes (MC with its 95% band, exact
    dashed); the ratio decoupled/shared over t; the final ratio against the cross-task
    correlation rho for each tau of ``sweep`` (a ``grid`` over rho x tau; None: the
    panel says it was skipped)."""
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
    if sweep is None:
        ax.text(0.5, 0.5, "ρ sweep skipped (verdicts_only)", ha="center", va="center")
        ax.set_axis_off()
        fig.suptitle(title)
        return fig
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


def plot_theorem_grid(table: pd.DataFrame, *, title: str):
    """The theorem at every distinct setting of a ``theorem_grid``: one heatmap per
    temporal correlation tau, momentum a (rows) by step size eta (columns), coloured by
    the largest exact Var_decoupled / Var_shared over t (theta_f and theta_r); a cell
    where the theorem fails (decoupled above shared at some t, or a scheme diverging)
    is framed red and says why."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    taus = sorted(table.tau.unique())
    fig, axes = plt.subplots(1, len(taus), squeeze=False, figsize=(3.9 * len(taus) + 1, 3.6))
    norm = LogNorm(0.25, 4)
    image = None
    for ax, tau in zip(axes[0], taus):
        part = table[table.tau == tau]
        ratio, holds, div_s, div_d = (
            part.pivot(index="momentum", columns="lr", values=column)
            for column in ("ratio_max", "holds", "diverges_shared", "diverges_decoupled")
        )
        shown = ratio.where(~(div_s.astype(bool) | div_d.astype(bool))).clip(0.25, 4)
        image = ax.imshow(shown.to_numpy(dtype=float), cmap="RdBu_r", norm=norm, aspect="auto")
        for (r, c), value in np.ndenumerate(ratio.to_numpy(dtype=float)):
            s_div, d_div = bool(div_s.iloc[r, c]), bool(div_d.iloc[r, c])
            if s_div or d_div:
                text = "both div." if s_div and d_div else "S div." if s_div else "D div."
            else:
                text = f"{value:.2f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=8)
            if not holds.iloc[r, c]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="#c00000", lw=2))
        ax.set_xticks(range(len(ratio.columns)), [f"{v:g}" for v in ratio.columns])
        ax.set_yticks(range(len(ratio.index)), [f"{v:g}" for v in ratio.index])
        ax.set(xlabel="step size η (L = 1)", ylabel="momentum a", title=f"τ = {tau:g}, ρ = 0")
        ax.grid(False)
    fig.colorbar(
        image, ax=axes, label="max over t of Var_decoupled / Var_shared (exact)", shrink=0.85
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


def _curves(ax, long: pd.DataFrame, x_label: str):
    """ROUGE_R (solid) and ROUGE_F (dotted) over ``budget`` per label: mean over seeds,
    band +-1 std (``stats.bands``)."""
    for metric, dash in (("rouge_retain", None), ("rouge_forget", ":")):
        band = stats.bands(long, metric, by="label", x="budget")
        for label, part in band.groupby("label", sort=False):
            look = line_style(label)
            ls = dash or look["ls"]
            name = label if metric == "rouge_retain" else None
            ax.plot(
                part["budget"],
                part["mean"],
                marker="o",
                ms=3,
                label=name,
                color=look["color"],
                ls=ls,
            )
            ax.fill_between(
                part["budget"], part["low"], part["high"], color=look["color"], alpha=0.12, lw=0
            )
    ax.set(xlabel=x_label, ylabel="ROUGE-L recall (R solid, F dotted)", ylim=(-0.03, 1.03))
    ax.legend(loc="center right", fontsize=8)


def _finals(ax, finals: pd.DataFrame, rates: dict | None = None):
    """Final ROUGE_F against ROUGE_R per run and label; a diverged run is an x at 0.
    The legend gives np.std over seeds (ddof 0) of ROUGE_R (and the tuned rate)."""
    for label, part in finals.groupby("label", sort=False):
        look = line_style(label)
        diverged = part["diverged_at"].notna()
        r = final_rouge_retain(part)
        f = part["rouge_forget"] if "rouge_forget" in part else pd.Series(np.nan, part.index)
        rate = f", lr_f {rates[label]:g}" if rates and label in rates else ""
        ax.scatter(
            f[~diverged],
            r[~diverged],
            color=look["color"],
            s=28,
            alpha=0.8,
            label=f"{label}{rate}: std_R {r.std(ddof=0):.3f}",
        )
        if diverged.any():
            ax.scatter(np.zeros(diverged.sum()), r[diverged], color=look["color"], marker="x")
    ax.axvline(stats.FORGET_BELOW, color="grey", lw=0.8, ls="--")
    ax.set(
        xlabel="final ROUGE_F (left of dashed: forgets)",
        ylabel="final ROUGE_R",
        xlim=(-0.03, 1.03),
        ylim=(-0.03, 1.03),
    )
    ax.legend(loc="lower right", fontsize=8)


def plot_official(
    long: pd.DataFrame,
    finals: pd.DataFrame,
    *,
    title: str,
    rates: dict[str, dict[str, float]] | None = None,
    ngdiff: tuple[pd.DataFrame, pd.DataFrame] | None = None,
):
    """One column per schedule (``schedule`` of ``long`` and ``finals``): ROUGE over the
    run's updates per scheme (``_curves``), and each run's final ROUGE_F against ROUGE_R
    (``_finals``; ``rates``: per schedule, label -> tuned forget rate). ``ngdiff``:
    (long, finals) of the NGDiff runs beyond both sources, a column of their own (over
    gradient evaluations)."""
    schedules = list(dict.fromkeys(finals["schedule"]))
    columns = len(schedules) + (ngdiff is not None)
    fig, axes = plt.subplots(2, columns, figsize=(5.6 * columns, 8.4), squeeze=False)
    for j, schedule in enumerate(schedules):
        _curves(axes[0, j], long[long["schedule"] == schedule], "updates (one batch of 16 each)")
        axes[0, j].set_title(f"T_f:T_r = {schedule}: mean over seeds, band ±1 std")
        _finals(axes[1, j], finals[finals["schedule"] == schedule], (rates or {}).get(schedule))
        axes[1, j].set_title(f"T_f:T_r = {schedule}: each seed's final model")
    if ngdiff is not None:
        curves, ends = ngdiff
        _curves(axes[0, -1], curves, "gradient evaluations (two per step)")
        axes[0, -1].set_title("Beyond both sources: NGDiff")
        _finals(axes[1, -1], ends)
        axes[1, -1].set_title("NGDiff: each seed's final model")
    fig.suptitle(title)
    return fig
