"""The loss landscape along a direction (NGDiff Sec. 4.1, Eq. 6, Fig. 3, Remark 4.1; GeN).

Along a direction d the task loss is a function of the step size x,

    L(x) := L_w(theta - x d) = L_w(theta) - x g_w.d + (x^2 / 2) d^T H_w d + o(x^2)   (Eq. 6),

the parabola that ``autolr.Parabola`` writes as loss0 - slope x + (curvature / 2) x^2.
This module measures it three ways:

- probes: ``loss_along`` evaluates L at any grid of x, each point formed once from the
  saved theta (theta - x d rounded once; the parameters are restored bit for bit), and
  ``fit_along`` fits a least-squares parabola with its R^2 (Fig. 3);
- exact: ``directional`` gives g.d by autograd and d^T H d by a Hessian-vector product
  (double backward) in the same pass;
- GeN: ``gen_probe_errors`` compares GeN's three-point finite differences (probe size
  eta) with the exact values, showing truncation error (~eta^2) at large eta and
  round-off (~eps / eta, eps / eta^2) at small eta.

Double backward through GPT-2: the default attention of ``transformers`` calls
``torch.nn.functional.scaled_dot_product_attention``, which on CPU (and on CUDA) runs a
fused flash-attention kernel whose backward has no derivative of its own ("derivative
for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented").
``differentiable_attention`` selects SDPA's MATH backend, the same attention written
with differentiable matmul/softmax ops, for the forward passes of a Hessian-vector
product only; the model, its weights and its configuration are untouched, and the
losses agree with the fused kernel's to float rounding.

``walk`` drives ``unlearn.Unlearner`` one step at a time exactly as ``unlearn.run`` does
(same batch streams, same seeds) and lets a callback measure theta_t before each step.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from .autolr import Parabola, fit_parabola, fit_three_point
from .batches import Batch, BatchStream, answer_loss, encode_records
from .gradients import Grads, dot

LossFn = Callable[[], torch.Tensor]


@contextmanager
def differentiable_attention() -> Iterator[None]:
    """Run scaled-dot-product attention on its MATH backend, which supports double
    backward (the fused flash/efficient kernels do not); no effect on models that do
    not use SDPA."""
    with sdpa_kernel([SDPBackend.MATH]):
        yield


# --------------------------------------------------------------------------- probes


def loss_along(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads, xs
) -> np.ndarray:
    """L(x) = loss(theta - x d) for each x in ``xs`` (float64 array of the losses).

    Each probe point is formed once from the saved theta, so no rounding drift builds up
    between probes; afterwards the parameters hold theta again, bit for bit.
    """
    params = list(params)
    saved = [p.detach().clone() for p in params]
    losses = []
    try:
        with torch.no_grad():
            for x in np.asarray(xs, dtype=float):
                for p, p0, v in zip(params, saved, direction):
                    torch.add(p0, v.to(p0.dtype), alpha=-float(x), out=p.data)
                losses.append(float(loss_fn()))
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, saved):
                p.copy_(p0)
    return np.asarray(losses, dtype=float)


def fit_along(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads, xs
) -> tuple[Parabola, np.ndarray]:
    """The least-squares parabola (with R^2) through L(x) = loss(theta - x d) at ``xs``,
    and the probed losses."""
    losses = loss_along(loss_fn, params, direction, xs)
    return fit_parabola(xs, losses), losses


def useful_range(
    loss_fn: LossFn,
    params: Sequence[torch.nn.Parameter],
    direction: Grads,
    eta0: float,
    max_doublings: int = 40,
    bisections: int = 6,
) -> float:
    """The step size at which L(theta - eta d) first climbs back to L(theta): about
    2 eta* for a parabola with positive slope and curvature (Eq. 8: eta* = b / a;
    Q(2 eta*) = Q(0)). Found by doubling from ``eta0`` and then ``bisections`` halvings
    of the last doubling (to 2^-bisections of it, so a grid around it is not up to twice
    too wide). Returns the last size tried when the loss never climbs back within
    ``max_doublings``; ``eta0`` itself when the loss rises at once (the direction does
    not descend this loss)."""
    if not eta0 > 0:
        raise ValueError(f"eta0 must be positive, got {eta0!r}")
    loss0 = loss_along(loss_fn, params, direction, [0.0])[0]

    def climbed(eta: float) -> bool:
        return loss_along(loss_fn, params, direction, [eta])[0] >= loss0

    eta = eta0
    for _ in range(max_doublings):
        if climbed(eta):
            break
        eta *= 2
    else:
        return eta / 2
    if eta == eta0:
        return eta0
    low, high = eta / 2, eta
    for _ in range(bisections):
        middle = (low + high) / 2
        low, high = (low, middle) if climbed(middle) else (middle, high)
    return high


def range_grid(eta_max: float, n: int = 13, low: float = -0.25, high: float = 1.25) -> np.ndarray:
    """``n`` evenly spaced step sizes from ``low * eta_max`` to ``high * eta_max``, with 0
    among them when the spacing allows (Fig. 3's grid around the useful range)."""
    if n < 3:
        raise ValueError(f"a parabola needs at least 3 probe points, got n={n}")
    return np.linspace(low, high, n) * eta_max


# --------------------------------------------------------------------------- exact values


@dataclass(frozen=True)
class Directional:
    """Exact first and second directional derivatives of a loss at theta along d."""

    loss: float
    slope: float  # g . d
    curvature: float  # d^T H d

    @property
    def eta_star(self) -> float:
        """Eq. 8: b / a, NaN without a minimum along -d."""
        return self.slope / self.curvature if self.curvature > 0 else math.nan

    def parabola(self) -> Parabola:
        return Parabola(self.loss, self.slope, self.curvature)


def hessian_vector_product(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], vector: Grads
) -> tuple[float, Grads, Grads]:
    """(loss, g, H v) at the current parameters, by double backward.

    Parameters the loss does not reach get zero gradient and zero H v.
    """
    params = list(params)
    with differentiable_attention():
        loss = loss_fn()
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    reached = [i for i, g in enumerate(grads) if g is not None]
    if not reached:
        zeros = [torch.zeros_like(p) for p in params]
        return loss.detach().item(), zeros, [z.clone() for z in zeros]
    inner = torch.stack([(grads[i] * vector[i].to(grads[i].dtype)).sum() for i in reached]).sum()
    hv_reached = torch.autograd.grad(inner, [params[i] for i in reached], allow_unused=True)
    g_out = [torch.zeros_like(p) for p in params]
    hv_out = [torch.zeros_like(p) for p in params]
    for i, h in zip(reached, hv_reached):
        g_out[i] = grads[i].detach()
        if h is not None:
            hv_out[i] = h.detach()
    return loss.detach().item(), g_out, hv_out


def directional(
    loss_fn: LossFn, params: Sequence[torch.nn.Parameter], direction: Grads
) -> Directional:
    """loss, g.d (autograd) and d^T H d (Hessian-vector product) at theta along d."""
    loss, grads, hv = hessian_vector_product(loss_fn, params, direction)
    return Directional(loss, dot(grads, direction), dot(hv, direction))


def directional_many(
    loss_fns: dict[str, LossFn],
    params: Sequence[torch.nn.Parameter],
    make_direction: Callable[[dict[str, Grads]], Grads],
) -> tuple[Grads, dict[str, Directional]]:
    """Exact derivatives of several losses along a direction formed from their own
    gradients (e.g. NGDiff's d from g_R and g_F): one forward and backward per loss,
    kept for one double backward each. Returns (d, {name: Directional})."""
    params = list(params)
    graphs, grads = {}, {}
    with differentiable_attention():
        for name, loss_fn in loss_fns.items():
            loss = loss_fn()
            g = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
            graphs[name] = (loss, g)
            grads[name] = [
                x.detach() if x is not None else torch.zeros_like(p) for x, p in zip(g, params)
            ]
    d = [v.detach() for v in make_direction({k: [x.clone() for x in v] for k, v in grads.items()})]
    out = {}
    for name, (loss, g) in graphs.items():
        reached = [i for i, x in enumerate(g) if x is not None]
        inner = torch.stack([(g[i] * d[i].to(g[i].dtype)).sum() for i in reached]).sum()
        hv = torch.autograd.grad(inner, [params[i] for i in reached], allow_unused=True)
        curvature = sum(
            float(torch.dot(h.reshape(-1).double(), d[i].reshape(-1).double()))
            for i, h in zip(reached, hv)
            if h is not None
        )
        out[name] = Directional(loss.detach().item(), dot(grads[name], d), curvature)
    return d, out


# --------------------------------------------------------------------------- GeN probes


def gen_probe_errors(
    loss_fn: LossFn,
    params: Sequence[torch.nn.Parameter],
    direction: Grads,
    sizes,
    exact: Directional,
) -> pd.DataFrame:
    """GeN's three-point estimates of g.d and d^T H d (``autolr.fit_three_point``) at each
    probe size eta, against ``exact``: columns size, slope, curvature, slope_rel_error,
    curvature_rel_error. The loss at theta is probed with the same forward as the
    others (so that its rounding is the probes' own)."""
    rows = []
    loss0 = loss_along(loss_fn, params, direction, [0.0])[0]
    for eta in np.asarray(sizes, dtype=float):
        loss_plus, loss_minus = loss_along(loss_fn, params, direction, [eta, -eta])
        fit = fit_three_point(float(eta), loss_minus, loss0, loss_plus)
        rows.append(
            {
                "size": float(eta),
                "slope": fit.slope,
                "curvature": fit.curvature,
                "slope_rel_error": abs(fit.slope - exact.slope) / abs(exact.slope),
                "curvature_rel_error": abs(fit.curvature - exact.curvature) / abs(exact.curvature),
            }
        )
    return pd.DataFrame(rows)


def best_probe(errors: pd.DataFrame, column: str) -> tuple[float, float]:
    """(probe size, relative error) where ``column`` is smallest."""
    row = errors.loc[errors[column].idxmin()]
    return float(row["size"]), float(row[column])


# --------------------------------------------------------------------------- stepping


@dataclass
class StepContext:
    """What a ``walk`` callback sees at step t, before the step: theta_t in ``model``."""

    t: int
    model: torch.nn.Module
    params: list[torch.nn.Parameter]
    batch_retain: Batch
    batch_forget: Batch
    lr: float

    def retain_loss(self) -> LossFn:
        return lambda: answer_loss(self.model, self.batch_retain)

    def forget_loss(self) -> LossFn:
        return lambda: answer_loss(self.model, self.batch_forget)


def walk(
    target_model: torch.nn.Module,
    tokenizer,
    bench,
    method: str,
    *,
    lr: float,
    steps: int,
    batch_size: int = 16,
    optimizer: str = "sgd",
    seed: int = 0,
    visit: Callable[[StepContext], dict] | None = None,
    progress=None,
) -> pd.DataFrame:
    """Unlearn step by step as ``unlearn.run`` does (same streams, seeds and engine; no
    AutoLR, no evaluation), calling ``visit(ctx)`` at theta_t before each step.

    Returns one row per step: ``step``, the engine's history columns and what ``visit``
    returned. ``visit`` must leave the parameters as it found them (``loss_along`` and
    ``directional`` do). A non-finite step stops the walk; the rows so far are returned
    with ``diverged`` set on the last one.
    """
    from . import unlearn

    spec = unlearn.method(method)
    if spec.forget_loss != "ce":
        raise ValueError("walk supports cross-entropy forget losses only (not NPO)")
    device = next(target_model.parameters()).device
    model = copy.deepcopy(target_model).eval()
    pad = tokenizer.pad_token_id
    forget_items = encode_records(tokenizer, bench.forget)
    retain_items = encode_records(tokenizer, bench.retain)
    retain = BatchStream(retain_items, batch_size, pad, seed * 4 + 1, device)
    forget = BatchStream(forget_items, batch_size, pad, seed * 4 + 2, device)
    unlearner = unlearn.Unlearner(model, spec, lr=lr, optimizer=optimizer, seed=seed * 4 + 4)
    rows = []
    for t in range(steps):
        batch_r, batch_f = next(retain), next(forget)
        row: dict = {"step": t}
        if visit is not None:
            row.update(visit(StepContext(t, model, unlearner.params, batch_r, batch_f, lr)))
        try:
            row.update(unlearner.step(t, batch_r, batch_f))
        except FloatingPointError:
            row["diverged"] = True
            rows.append(row)
            break
        rows.append(row)
        if progress is not None:
            progress.update(1)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- notebook visits


def _norm(grads: Grads) -> float:
    return math.sqrt(
        sum(float(torch.dot(g.reshape(-1).double(), g.reshape(-1).double())) for g in grads)
    )


def _ngdiff(g_retain: Grads, g_forget: Grads) -> Grads:
    from .directions import direction

    return direction("ngdiff", g_retain, g_forget).d


PROBE_SIZES = tuple(np.logspace(-7, 0, 15))  # GeN probe sizes eta: 1e-7 ... 1


class Snapshot:
    """A ``walk`` callback that, at step ``step``, measures Fig. 3 and the GeN probes.

    Fig. 3: L_R(theta - eta g_R) and L_F(theta - eta g_F) on the step's own batches over
    ``n_grid`` step sizes from -0.25 to 1.25 times the useful range (where the loss climbs
    back to L(theta), about 2 eta*), a least-squares parabola with R^2, and the exact
    Eq. 6 parabola (g.g by autograd, g^T H g by double backward).
    GeN: along NGDiff's d, the three-point estimates of g_R.d and d^T H_R d at each probe
    size in ``sizes``, in float32 (the model) and float64 (a copy), against the exact
    float64 values. Results are stored on the object (``fig3``, ``gen``).
    """

    def __init__(self, step: int, sizes=PROBE_SIZES, n_grid: int = 13):
        self.step, self.sizes, self.n_grid = step, np.asarray(sizes, dtype=float), n_grid
        self.fig3: dict = {}
        self.gen: dict = {}

    def __call__(self, ctx: StepContext) -> dict:
        if ctx.t != self.step:
            return {}
        from .gradients import task_gradient

        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}
        grads = {k: task_gradient(f(), ctx.params) for k, f in losses.items()}
        for task, loss_fn in losses.items():
            g = grads[task]
            eta_max = useful_range(loss_fn, ctx.params, g, eta0=1e-4 / max(_norm(g) ** 2, 1e-12))
            etas = range_grid(eta_max, self.n_grid)
            fit, values = fit_along(loss_fn, ctx.params, g, etas)
            self.fig3[task] = {
                "eta": etas,
                "loss": values,
                "fit": fit,
                "exact": directional(loss_fn, ctx.params, g),
            }
        d = _ngdiff(grads["retain"], grads["forget"])
        model64 = copy.deepcopy(ctx.model).double()
        params64 = [p for p in model64.parameters() if p.requires_grad]
        d64 = [v.double() for v in d]
        loss64 = lambda: answer_loss(model64, ctx.batch_retain)  # noqa: E731
        loss32 = lambda: answer_loss(ctx.model, ctx.batch_retain)  # noqa: E731
        exact64 = directional(loss64, params64, d64)
        exact32 = directional(ctx.retain_loss(), ctx.params, d)
        self.gen = {
            "exact64": exact64,
            "exact32": exact32,
            "float32": gen_probe_errors(loss32, ctx.params, d, self.sizes, exact64),
            "float64": gen_probe_errors(loss64, params64, d64, self.sizes, exact64),
            "at_lr": gen_probe_errors(loss32, ctx.params, d, [ctx.lr], exact64),
            "lr": ctx.lr,
        }
        return {"snapshot": True}


def ngdiff_fit_visit(xs) -> Callable[[StepContext], dict]:
    """A ``walk`` callback: at theta_t, on the step's batches, fit parabolas to L_R and
    L_F along -x d for x in ``xs``, with d the NGDiff direction of the step's gradients
    (Eq. 6, Remark 4.1): columns ``r2_<task>``, ``slope_<task>``, ``curvature_<task>``."""
    xs = np.asarray(xs, dtype=float)

    def visit(ctx: StepContext) -> dict:
        from .gradients import task_gradient

        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}
        grads = {k: task_gradient(f(), ctx.params) for k, f in losses.items()}
        d = _ngdiff(grads["retain"], grads["forget"])
        row = {}
        for task, loss_fn in losses.items():
            fit, _ = fit_along(loss_fn, ctx.params, d, xs)
            row.update(
                {
                    f"r2_{task}": fit.r2,
                    f"slope_{task}": fit.slope,
                    f"curvature_{task}": fit.curvature,
                }
            )
        return row

    return visit


# --------------------------------------------------------------------------- summaries


def curvature_summary(fits: pd.DataFrame, tasks=("retain", "forget")) -> dict:
    """Median R^2, share of R^2 >= 0.95 and share of positive fitted curvature per task,
    from columns ``r2_<task>`` and ``curvature_<task>``."""
    out = {}
    for task in tasks:
        r2 = fits[f"r2_{task}"].to_numpy(float)
        curv = fits[f"curvature_{task}"].to_numpy(float)
        out[f"median_r2_{task}"] = float(np.median(r2))
        out[f"share_r2_ge_095_{task}"] = float(np.mean(r2 >= 0.95))
        out[f"share_positive_curvature_{task}"] = float(np.mean(curv > 0))
    return out


__all__ = [
    "PROBE_SIZES",
    "Directional",
    "Snapshot",
    "directional_many",
    "ngdiff_fit_visit",
    "plot_curvature",
    "plot_fig3",
    "plot_probe_errors",
    "StepContext",
    "best_probe",
    "curvature_summary",
    "differentiable_attention",
    "directional",
    "fit_along",
    "gen_probe_errors",
    "hessian_vector_product",
    "loss_along",
    "range_grid",
    "useful_range",
    "walk",
]


# --------------------------------------------------------------------------- figures


def plot_fig3(snapshot: Snapshot, note: str = ""):
    """Fig. 3: markers L_R(theta - eta g_R), L_F(theta - eta g_F); the least-squares
    parabola (solid, R^2 in the panel) and Eq. 6 with the exact derivatives (dashed)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, task in zip(axes, ("retain", "forget")):
        sym = "R" if task == "retain" else "F"
        part = snapshot.fig3[task]
        etas, fit, exact = part["eta"], part["fit"], part["exact"]
        fine = np.linspace(etas.min(), etas.max(), 200)
        ax.plot(etas, part["loss"], "o", color="black", label="measured")
        ax.plot(fine, fit(fine), color="#d62728", label="least-squares quadratic")
        ax.plot(fine, exact.parabola()(fine), "--", color="#1f77b4", label="Eq. 6, exact g, H")
        ax.set(
            xlabel="learning rate $\\eta$",
            ylabel=f"$L_{sym}(\\theta_t - \\eta g_{sym})$ (nats/token)",
            title=f"$L_{sym}$ along $-g_{sym}$ at step {snapshot.step}",
            ylim=(min(part["loss"].min(), fit(fine).min()) * 0.9 - 1e-3, part["loss"].max() * 1.15),
        )
        ax.text(
            0.5,
            0.95,
            f"$R^2$ = {fit.r2:.4f}\nfitted $\\eta^*$ = {fit.eta_star:.3g}, "
            f"exact $\\eta^*$ = {exact.eta_star:.3g}",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9,
        )
        ax.legend(loc="lower left", fontsize=8)
    if note:
        fig.suptitle(note, fontsize=10)
    return fig


def plot_curvature(fits: pd.DataFrame, note: str = ""):
    """Across steps: (a) the distribution (ECDF) of R^2 of the fits along g_NGDiff for
    L_R and L_F, per rule of the trajectory; (b) the fitted curvature d^T H d per step."""
    import matplotlib.pyplot as plt

    from .geometry import color

    fig, (ax, ax_c) = plt.subplots(1, 2, figsize=(12, 4.3))
    for label, part in fits.groupby("label", sort=False):
        for task, ls in (("retain", "-"), ("forget", "--")):
            r2 = np.sort(part[f"r2_{task}"].to_numpy())
            ax.step(
                r2,
                np.arange(1, len(r2) + 1) / len(r2),
                where="post",
                ls=ls,
                color=color(label),
                label=f"{label}, $L_{'R' if task == 'retain' else 'F'}$",
            )
            ax_c.scatter(
                part["step"],
                part[f"curvature_{task}"],
                s=9,
                marker="o" if task == "retain" else "s",
                color=color(label),
                alpha=0.7,
                label=f"{label}, $d^T H_{'R' if task == 'retain' else 'F'} d$",
            )
    ax.axvline(0.95, color="grey", lw=0.8, ls=":")
    ax.set(
        xlabel="$R^2$ of the quadratic fit along $-\\eta\\, g_{NGDiff}$",
        ylabel="share of steps with $R^2$ at most x",
        title="(a) how quadratic the losses are, every step",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax_c.axhline(0, color="black", lw=0.8)
    ax_c.set_yscale("symlog", linthresh=1e-2)
    ax_c.set(
        xlabel="unlearning step t",
        ylabel="fitted curvature $d^T H d$ (symlog)",
        title="(b) Remark 4.1: curvature along $g_{NGDiff}$ (want > 0)",
    )
    ax_c.legend(fontsize=7, ncol=2)
    if note:
        fig.suptitle(note, fontsize=10)
    return fig


def plot_probe_errors(gen: dict, note: str = ""):
    """GeN's relative error against the probe size eta (log-log), for g_R.d and d^T H_R d,
    in float32 and float64, with the slopes of truncation (eta^2) and round-off
    (eps/eta, eps/eta^2) and the learning rate AutoLR would probe at."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.3), sharey=True)
    for ax, quantity, power, name in (
        (axes[0], "slope", 1, "$g_R \\cdot d$"),
        (axes[1], "curvature", 2, "$d^T H_R d$"),
    ):
        for dtype, style in (("float32", "o-"), ("float64", "s--")):
            errors = gen[dtype]
            ax.loglog(errors["size"], errors[f"{quantity}_rel_error"], style, label=dtype)
        sizes = gen["float32"]["size"].to_numpy()
        e32 = gen["float32"][f"{quantity}_rel_error"].to_numpy()
        anchor = int(np.argmin(e32))
        ax.loglog(
            sizes,
            e32[anchor] * (sizes / sizes[anchor]) ** 2,
            ":",
            color="grey",
            label="$\\propto \\eta^2$ (truncation)",
        )
        ax.loglog(
            sizes,
            e32[anchor] * (sizes[anchor] / sizes) ** power,
            "-.",
            color="grey",
            label=f"$\\propto \\epsilon/\\eta^{power}$ (round-off)",
        )
        ax.axvline(gen["lr"], color="#ff7f0e", lw=1, label=f"AutoLR probe = lr {gen['lr']:g}")
        ax.set(
            xlabel="probe size $\\eta$",
            title=f"GeN's estimate of {name}",
            ylim=(max(1e-14, np.nanmin(gen["float64"][f"{quantity}_rel_error"]) / 10), 1e3),
        )
        ax.legend(fontsize=7, loc="upper center")
    axes[0].set_ylabel("relative error vs exact (double backward, float64)")
    if note:
        fig.suptitle(note, fontsize=10)
    return fig
