"""Gradient geometry of unlearning (NGDiff Fig. 2, Eq. 7, Lemma 4, Theorem 5).

Every rule is a dynamic scalarization d = a g_R - b g_F (Eq. 5, ``directions``). Eq. 7
asks g_R.d >= 0 >= g_F.d: the step must not climb L_R nor descend L_F to first order.
This module

- draws Fig. 2 in the plane: g_R, g_F and their perpendicular lines, the yellow cone of
  GDiff directions {c g_R - (1 - c) g_F : c in [0, 1]} (all their positive multiples),
  the green region of Eq. 7 and each rule's direction (``draw_fig2``, ``fig2_grid``,
  ``explorer`` for an ipywidgets version);
- checks Eq. 7 for every rule on random high-dimensional pairs generated chunk by
  chunk (``random_sign_checks``), on adversarial pairs through the engine's own
  ``directions.direction`` and ``directions.satisfies_eq7`` (``adversarial_sign_checks``)
  and on the engine's histories of real runs (``history_sign_checks``);
- checks Theorem 5 on real NGDiff steps (``theorem5_visit``, a visit of ``engine.lm.unlearn_lm``).
- measures the notebook's registry claims (``measure_*``, ``CLAIMS_BY_FIGURE``): the
  Eq. 7 shares of NGDiff, IMTL-G and canonical PCGrad are identities (``sanity``);
  GDiff-0.5 leaving Eq. 7 on real steps and Theorem 5 (1) and (2) per NGDiff run are
  ``evidence``.

Rounding (float32): forming d = a g_R - b g_F rounds each entry by about one ulp of
a|g_R,i| + b|g_F,i|, and a float32 inner product of n terms adds O(log n) ulps of
sum |g_i d_i|. So Eq. 7 is checked as g_R.d >= -tol ||g_R|| s and g_F.d <= tol ||g_F|| s
with s = a ||g_R|| + b ||g_F|| (``directions.satisfies_eq7``'s ``d_scale``) and
``TOL32`` below: a violation smaller than that is rounding, not geometry.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import claims
from ..engine import directions
from ..engine.gradients import Grads, dot
from ..engine.methods import method as method_spec
from ..engine.methods import weights as method_weights
from ..engine.probes import directional_many, loss_along
from .style import color, gdiff_color

# 2^-16 = 1.5e-5: 128 float32 ulps (eps = 2^-23) of ||g|| * (a ||g_R|| + b ||g_F||).
TOL32 = 2.0**-16

# The rules of Fig. 2 (as methods.METHODS names) and of the sign checks.
FIG2_METHODS = (
    "GDiff-0.1",
    "GDiff-0.5",
    "GDiff-0.9",
    "LossNorm",
    "PCGrad (paper)",
    "PCGrad",
    "IMTL-G",
    "NGDiff",
)
CHECK_METHODS = (
    "GD",
    "GA",
    "GDiff-0.1",
    "GDiff-0.5",
    "GDiff-0.9",
    "LossNorm",
    "RLW",
    "PCGrad (paper)",
    "PCGrad",
    "IMTL-G",
    "NGDiff",
)


def real_methods(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The rules run on the language model (real steps): every ``CHECK_METHODS`` rule;
    at smoke size four of them; with ``verdicts_only`` those a claim needs (GDiff-0.5's
    steps outside Eq. 7; NGDiff's for Theorem 5)."""
    if verdicts_only:
        return ["GDiff-0.5", "NGDiff"]
    if smoke:
        return ["GDiff-0.5", "PCGrad (paper)", "PCGrad", "NGDiff"]
    return list(CHECK_METHODS)


def eq7_margins(geo: directions.Geometry, w: directions.Weights) -> tuple[float, float]:
    """(g_R.d, g_F.d) divided by ||g|| (a ||g_R|| + b ||g_F||): Eq. 7 holds when the
    first is >= 0 and the second <= 0; both lie in [-1, 1] (Cauchy-Schwarz)."""
    dot_r, dot_f = w.dots(geo)
    scale = w.retain * geo.norm_retain + w.forget * geo.norm_forget
    rel_r = dot_r / (geo.norm_retain * scale) if geo.rr > 0 and scale > 0 else 0.0
    rel_f = dot_f / (geo.norm_forget * scale) if geo.ff > 0 and scale > 0 else 0.0
    return rel_r, rel_f


# --------------------------------------------------------------------------- Fig. 2 in 2-D


def pair_2d(angle_deg: float, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """g_R = (1, 0) and g_F at ``angle_deg`` from it with ||g_F|| / ||g_R|| = ``ratio``."""
    angle = math.radians(angle_deg)
    return np.array([1.0, 0.0]), ratio * np.array([math.cos(angle), math.sin(angle)])


def geometry_2d(
    g_r: np.ndarray, g_f: np.ndarray, losses: tuple[float, float] = (0.1, 1.0)
) -> directions.Geometry:
    return directions.Geometry(
        float(g_r @ g_r), float(g_f @ g_f), float(g_r @ g_f), float(losses[0]), float(losses[1])
    )


def direction_2d(
    method: str, g_r: np.ndarray, g_f: np.ndarray, losses: tuple[float, float] = (0.1, 1.0)
) -> np.ndarray:
    """A method's direction d = a g_R - b g_F for 2-D vectors (deterministic rules)."""
    w = method_weights(method, geometry_2d(g_r, g_f, losses))
    return w.retain * g_r - w.forget * g_f


def in_green(g_r: np.ndarray, g_f: np.ndarray, d: np.ndarray, tol: float = 1e-12) -> bool:
    """Eq. 7 for plain vectors: g_R.d >= 0 >= g_F.d, up to ``tol * ||g|| * ||d||``."""
    nd = float(np.linalg.norm(d))
    return bool(
        g_r @ d >= -tol * np.linalg.norm(g_r) * nd and g_f @ d <= tol * np.linalg.norm(g_f) * nd
    )


def clip_halfplane(polygon: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """The part of a convex polygon (k, 2) where normal . x >= 0 (Sutherland-Hodgman)."""
    out = []
    k = len(polygon)
    for i in range(k):
        p, q = polygon[i], polygon[(i + 1) % k]
        sp, sq = float(normal @ p), float(normal @ q)
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            out.append(p + (q - p) * sp / (sp - sq))
    return np.array(out).reshape(-1, 2)


def _square(radius: float) -> np.ndarray:
    return radius * np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def green_polygon(g_r: np.ndarray, g_f: np.ndarray, radius: float) -> np.ndarray:
    """Eq. 7's region {x : g_R.x >= 0, g_F.x <= 0} within the square of half-width
    ``radius`` (a zero gradient imposes no constraint)."""
    poly = _square(radius)
    if np.any(g_r):
        poly = clip_halfplane(poly, g_r)
    if np.any(g_f) and len(poly):
        poly = clip_halfplane(poly, -g_f)
    return poly


def cone_polygon(u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """The cone {a u + b v : a, b >= 0} within the square (empty polygon when u and v
    are anti-parallel: the cone is then a line, drawn separately)."""
    cross = u[0] * v[1] - u[1] * v[0]
    if abs(cross) <= 1e-12 * np.linalg.norm(u) * np.linalg.norm(v):
        return np.zeros((0, 2))
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])  # +90 degrees
    n_u = rot @ u * np.sign(cross)  # perpendicular to u, pointing towards v
    n_v = -(rot @ v) * np.sign(cross)  # perpendicular to v, pointing towards u
    return clip_halfplane(clip_halfplane(_square(radius), n_u), n_v)


def _perpendicular(ax, g: np.ndarray, radius: float, **style) -> None:
    if not np.any(g):
        return
    n = np.array([-g[1], g[0]]) / np.linalg.norm(g) * radius * 1.5
    ax.plot([-n[0], n[0]], [-n[1], n[1]], ls="--", lw=0.9, **style)


def draw_fig2(
    ax,
    g_r: np.ndarray,
    g_f: np.ndarray,
    *,
    methods: Sequence[str] = FIG2_METHODS,
    losses: tuple[float, float] = (0.1, 1.0),
    title: str | None = None,
) -> pd.DataFrame:
    """Fig. 2 on ``ax``: g_R and g_F (true lengths) with their perpendicular lines, the
    yellow GDiff cone, the green Eq. 7 region and each method's direction (drawn with a
    common length: only the direction matters for Eq. 7; a hollow tip marks a direction
    outside the green region). Returns one row per method with its weights and signs."""
    radius = 1.2 * max(np.linalg.norm(g_r), np.linalg.norm(g_f), 1e-12)
    green = green_polygon(g_r, g_f, radius)
    if len(green):
        ax.fill(green[:, 0], green[:, 1], color="#2ca02c", alpha=0.35, lw=0, label="Eq. 7 region")
    cone = cone_polygon(g_r, -g_f, radius)
    if len(cone):
        ax.fill(cone[:, 0], cone[:, 1], color="#ffd92f", alpha=0.4, lw=0, label="GDiff span")
    seg = np.array([c * g_r - (1 - c) * g_f for c in np.linspace(0, 1, 50)])
    ax.plot(seg[:, 0], seg[:, 1], color="#d4a000", lw=1.5)
    _perpendicular(ax, g_r, radius, color="#444444")
    _perpendicular(ax, g_f, radius, color="#8c564b")
    for g, name, col in ((g_r, "$g_R$", "#222222"), (g_f, "$g_F$", "#8c564b")):
        ax.annotate("", xy=g, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=col, lw=2.2))
        ax.text(*(g * 1.08), name, color=col, fontsize=11, ha="center", va="center")
    rows = []
    geo = geometry_2d(g_r, g_f, losses)
    for method in methods:
        w = method_weights(method, geo)
        d = w.retain * g_r - w.forget * g_f
        ok = in_green(g_r, g_f, d)
        tip = d / np.linalg.norm(d) * 0.85 * radius if np.any(d) else d
        col = color(method)
        ax.plot([0, tip[0]], [0, tip[1]], color=col, lw=1.6)
        ax.plot(
            *tip, marker="o", ms=7, color=col, mfc=col if ok else "white", mew=1.6, label=method
        )
        rows.append(
            {
                "method": method,
                "weight_retain": w.retain,
                "weight_forget": w.forget,
                "implied_c": w.implied_c,
                "dot_retain_d": float(g_r @ d),
                "dot_forget_d": float(g_f @ d),
                "in_green": ok,
            }
        )
    ax.set(xlim=(-radius, radius), ylim=(-radius, radius), aspect="equal", xticks=[], yticks=[])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#bbbbbb")
    outside = [r["method"] for r in rows if not r["in_green"]]
    ax.set_title(title or "", fontsize=9)
    note = textwrap.fill("outside Eq. 7: " + (", ".join(outside) if outside else "none"), 44)
    ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=7, va="bottom")
    return pd.DataFrame(rows)


def fig2_grid(
    angles: Sequence[float] = (45, 100, 160),
    ratios: Sequence[float] = (0.2, 1.0, 5.0),
    *,
    losses: tuple[float, float] = (0.1, 1.0),
    methods: Sequence[str] = FIG2_METHODS,
):
    """A grid of Fig. 2 panels: rows are angles between g_R and g_F, columns norm ratios
    ||g_F|| / ||g_R||. Returns (figure, table of every panel's methods)."""
    fig, axes = plt.subplots(
        len(angles), len(ratios), figsize=(3.0 * len(ratios), 3.0 * len(angles)), squeeze=False
    )
    tables = []
    for i, angle in enumerate(angles):
        for j, ratio in enumerate(ratios):
            g_r, g_f = pair_2d(angle, ratio)
            table = draw_fig2(
                axes[i, j],
                g_r,
                g_f,
                methods=methods,
                losses=losses,
                title=f"angle {angle:g}°, $\\|g_F\\|/\\|g_R\\|$ = {ratio:g}",
            )
            tables.append(table.assign(angle=angle, ratio=ratio))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5))
    fig.suptitle(
        "Fig. 2 redrawn: GDiff span (yellow), Eq. 7 region (green; dashed lines are "
        "perpendicular to $g_R$, $g_F$)\nrule directions at a common length; hollow tip = "
        f"outside Eq. 7; IMTL-G coincides with NGDiff; LossNorm at $L_R$={losses[0]:g}, "
        f"$L_F$={losses[1]:g}",
        fontsize=10,
    )
    return fig, pd.concat(tables, ignore_index=True)


def explorer_panel(
    angle: float,
    log10_ratio: float,
    losses: tuple[float, float] = (0.1, 1.0),
    methods: Sequence[str] = FIG2_METHODS,
) -> tuple[plt.Figure, list[str]]:
    """One Fig. 2 panel at an angle between g_R and g_F and a norm ratio
    ||g_F|| / ||g_R|| = 10**log10_ratio, and its Eq. 7 verdict as text: one line naming
    the methods outside Eq. 7 (``outside Eq. 7: ...`` or ``outside Eq. 7: none``), then
    one line per method saying which side fails (from ``draw_fig2``'s table)."""
    ratio = 10.0**log10_ratio
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    g_r, g_f = pair_2d(angle, ratio)
    table = draw_fig2(
        ax,
        g_r,
        g_f,
        methods=methods,
        losses=losses,
        title=f"angle {angle:.0f}°, $\\|g_F\\|/\\|g_R\\|$ = {ratio:.3g}",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    outside = list(table.loc[~table.in_green, "method"])
    lines = [
        f"angle {angle:.0f}°, ||g_F||/||g_R|| = {ratio:.3g}: "
        f"outside Eq. 7: {', '.join(outside) if outside else 'none'}"
    ]
    for row in table.itertuples():
        fails = []
        if not row.in_green and row.dot_retain_d < 0:
            fails.append("g_R·d < 0, the step raises L_R")
        if not row.in_green and row.dot_forget_d > 0:
            fails.append("g_F·d > 0, the step lowers L_F")
        verdict = f"outside ({'; '.join(fails)})" if fails else "inside"
        lines.append(f"  {row.method}: {verdict}")
    return fig, lines


def explorer(losses: tuple[float, float] = (0.1, 1.0), methods: Sequence[str] = FIG2_METHODS):
    """An ipywidgets version of one Fig. 2 panel (``explorer_panel``): sliders for the
    angle between g_R and g_F and log10 of the norm ratio, the panel and its Eq. 7
    verdict below them. The sliders redraw when released (a redraw takes a while on a
    busy CPU). The panel is put into the Output widget's contents directly, never
    captured from a running cell, so a batch run (papermill) draws the initial state and
    does not hang (capturing Output widgets can stall nbclient: jupyter/nbclient#312).
    Returns the widget (None without ipywidgets)."""
    try:
        import ipywidgets as widgets
        from IPython.display import Image
    except ImportError:
        return None

    slider = dict(continuous_update=False)
    angle = widgets.FloatSlider(
        value=100.0, min=0.0, max=180.0, step=1.0, description="angle °", **slider
    )
    log10_ratio = widgets.FloatSlider(
        value=0.5, min=-2.0, max=2.0, step=0.05, description="log10 ratio", **slider
    )
    out = widgets.Output()

    def render(_change=None) -> None:
        fig, lines = explorer_panel(angle.value, log10_ratio.value, losses, methods)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        out.outputs = ()
        out.append_display_data(Image(data=png.getvalue(), format="png"))
        out.append_stdout("\n".join(lines) + "\n")

    angle.observe(render, names="value")
    log10_ratio.observe(render, names="value")
    render()
    return widgets.VBox([angle, log10_ratio, out])


# --------------------------------------------------------------------------- random pairs


@dataclass(frozen=True)
class PairSpec:
    """How random pairs are drawn: cos(g_R, g_F) ~ U[-1, 1]; log10 ||g_F||/||g_R||,
    log10 ||g_R|| and log10 of each loss (LossNorm) uniform on the given ranges."""

    log10_ratio: tuple[float, float] = (-6.0, 6.0)
    log10_norm_retain: tuple[float, float] = (-3.0, 3.0)
    log10_loss: tuple[float, float] = (-2.0, 1.0)


def chunk_rows(dim: int, budget_bytes: int = 2**25, itemsize: int = 4) -> int:
    """Pairs per chunk so that one (chunk, dim) array takes about ``budget_bytes``."""
    return max(1, budget_bytes // (dim * itemsize))


@dataclass(frozen=True)
class ChunkBuffers:
    """The four (rows, dim) arrays a chunk of random pairs needs: g_R, g_F and two
    scratch arrays (w and a product while a chunk is drawn; d and a product while it
    is checked). Allocated once and reused chunk after chunk: a fresh set of
    chunk-sized temporaries per chunk (16 of them, each just under glibc's 32 MiB
    ceiling for mmap'd blocks at the default budget, so they came from the heap)
    interleaved with the small objects a chunk's checks keep fragmented the heap, and
    notebook 01's 10^4 pairs in R^10^5 grew past 13 GB resident."""

    g_r: torch.Tensor
    g_f: torch.Tensor
    work: torch.Tensor
    spare: torch.Tensor

    @classmethod
    def allocate(cls, rows: int, dim: int, dtype: torch.dtype = torch.float32) -> ChunkBuffers:
        return cls(*(torch.empty(rows, dim, dtype=dtype) for _ in range(4)))

    def rows(self, m: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The first ``m`` rows of each buffer (contiguous views)."""
        return self.g_r[:m], self.g_f[:m], self.work[:m], self.spare[:m]


def random_pair_chunks(
    n_pairs: int,
    dim: int,
    seed: int,
    spec: PairSpec = PairSpec(),
    dtype: torch.dtype = torch.float32,
    chunk: int | None = None,
    buffers: ChunkBuffers | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, pd.DataFrame]]:
    """Random gradient pairs in R^dim, ``chunk`` at a time: (g_R, g_F, their draws).

    g_R = ||g_R|| u and g_F = ||g_F|| (cos u + sin w), with u uniform on the sphere and w
    a unit vector orthogonal to u, so cos(g_R, g_F) is the drawn cosine (to rounding)
    whatever the dimension (random directions in high dimension are nearly orthogonal).
    Only one chunk of pairs is in memory at a time. With ``buffers`` (at least ``chunk``
    rows) every chunk is drawn into them: the yielded g_R, g_F are views that the next
    chunk overwrites. Without, each chunk gets its own arrays. The values are the same.
    """
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    chunk = chunk or chunk_rows(dim)
    for start in range(0, n_pairs, chunk):
        m = min(chunk, n_pairs - start)
        cos = rng.uniform(-1.0, 1.0, m)
        ratio = 10.0 ** rng.uniform(*spec.log10_ratio, m)
        norm_r = 10.0 ** rng.uniform(*spec.log10_norm_retain, m)
        loss_r, loss_f = 10.0 ** rng.uniform(*spec.log10_loss, (2, m))
        u, g_f, w, tmp = (buffers or ChunkBuffers.allocate(m, dim, dtype)).rows(m)
        torch.randn(m, dim, generator=gen, dtype=dtype, out=u)
        u /= torch.linalg.vector_norm(u, dim=1, keepdim=True)
        torch.randn(m, dim, generator=gen, dtype=dtype, out=w)
        w -= torch.mul(torch.mul(w, u, out=tmp).sum(dim=1, keepdim=True), u, out=tmp)
        w /= torch.linalg.vector_norm(w, dim=1, keepdim=True)
        sin = np.sqrt(np.clip(1.0 - cos**2, 0.0, None))
        col = lambda x: torch.as_tensor(x, dtype=dtype).unsqueeze(1)  # noqa: E731
        torch.mul(col(norm_r * ratio * cos), u, out=g_f)
        g_f += torch.mul(col(norm_r * ratio * sin), w, out=tmp)
        g_r = u.mul_(col(norm_r))
        draws = pd.DataFrame(
            {
                "pair": np.arange(start, start + m),
                "cos": cos,
                "log10_ratio": np.log10(ratio),
                "norm_retain": norm_r,
                "loss_retain": loss_r,
                "loss_forget": loss_f,
            }
        )
        yield g_r, g_f, draws


FORMED = ("NGDiff", "IMTL-G", "PCGrad")  # rules whose margins vanish for parallel pairs: d formed


def check_batch(
    g_r: torch.Tensor,
    g_f: torch.Tensor,
    draws: pd.DataFrame,
    methods: Sequence[str] = CHECK_METHODS,
    generator: torch.Generator | None = None,
    tol: float = TOL32,
    formed: Sequence[str] = FORMED,
    buffers: ChunkBuffers | None = None,
) -> pd.DataFrame:
    """Eq. 7 for every method on a batch of pairs (rows of g_r, g_f), in their dtype.

    The Gram scalars ||g_R||^2, ||g_F||^2, g_R.g_F are reduced in the batch's dtype (as
    the engine does per tensor) and handed to the rule in float64. For most methods the
    signs then come from the Gram scalars, g_R.d = a ||g_R||^2 - b g_R.g_F, exactly as
    the engine records ``dot_retain_d`` (their failures are geometric, far above
    rounding). For the methods in ``formed`` (Lemma 4's, whose margins vanish for
    parallel pairs) d = a g_R - b g_F is formed in the batch's dtype and g_R.d, g_F.d
    are its inner products in that dtype: the full float32 rounding. One row per
    (pair, method): ``holds`` (Eq. 7 up to ``tol``), ``retain_ok``, ``forget_ok``, the
    margins g.d / (||g|| s) with s = a ||g_R|| + b ||g_F||, and ``d_formed``.
    The products and d are formed in ``buffers``' two scratch arrays (``work``,
    ``spare``; not its g_R, g_F, which may be the inputs), else in two fresh ones.
    """
    m = len(g_r)
    if buffers is None:
        d, tmp = torch.empty_like(g_r), torch.empty_like(g_r)
    else:
        _, _, d, tmp = buffers.rows(m)
    rr = torch.linalg.vector_norm(g_r, dim=1).double().square().numpy()
    ff = torch.linalg.vector_norm(g_f, dim=1).double().square().numpy()
    rf = torch.mul(g_r, g_f, out=tmp).sum(dim=1).double().numpy()
    loss_r, loss_f = draws["loss_retain"].to_numpy(), draws["loss_forget"].to_numpy()
    geos = [
        directions.Geometry(float(rr[i]), float(ff[i]), float(rf[i]), loss_r[i], loss_f[i])
        for i in range(len(rr))
    ]
    out = []
    nr, nf = np.sqrt(rr), np.sqrt(ff)
    col = lambda x: torch.as_tensor(x, dtype=g_r.dtype).unsqueeze(1)  # noqa: E731
    for method in methods:
        ws = [method_weights(method, geo, generator) for geo in geos]
        a = np.array([w.retain for w in ws])
        b = np.array([w.forget for w in ws])
        if method in formed:
            torch.mul(col(a), g_r, out=d)
            d -= torch.mul(col(b), g_f, out=tmp)
            dot_r = torch.mul(g_r, d, out=tmp).sum(dim=1).double().numpy()
            dot_f = torch.mul(g_f, d, out=tmp).sum(dim=1).double().numpy()
        else:
            dot_r, dot_f = a * rr - b * rf, a * rf - b * ff
        scale = a * nr + b * nf
        with np.errstate(invalid="ignore", divide="ignore"):
            rel_r = np.where(nr * scale > 0, dot_r / (nr * scale), 0.0)
            rel_f = np.where(nf * scale > 0, dot_f / (nf * scale), 0.0)
        retain_ok, forget_ok = rel_r >= -tol, rel_f <= tol
        out.append(
            pd.DataFrame(
                {
                    "pair": draws["pair"].to_numpy(),
                    "method": method,
                    "implied_c": a / (a + b),
                    "margin_retain": rel_r,
                    "margin_forget": rel_f,
                    "retain_ok": retain_ok,
                    "forget_ok": forget_ok,
                    "holds": retain_ok & forget_ok,
                    "d_formed": method in formed,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def random_sign_checks(
    n_pairs: int,
    dim: int,
    seed: int,
    *,
    methods: Sequence[str] = CHECK_METHODS,
    spec: PairSpec = PairSpec(),
    tol: float = TOL32,
    progress: bool = True,
    chunk: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eq. 7 for every method over ``n_pairs`` random float32 pairs in R^dim, chunk by
    chunk (``chunk_rows(dim)`` pairs unless ``chunk`` is given), all drawn and checked
    in one ``ChunkBuffers``. Returns (checks: one row per pair and method, draws: one
    row per pair)."""
    from tqdm.auto import tqdm

    generator = torch.Generator().manual_seed(seed + 1)  # RLW's draws
    chunk = chunk or chunk_rows(dim)
    buffers = ChunkBuffers.allocate(min(chunk, n_pairs), dim)
    checks, draws_all = [], []
    bar = tqdm(total=n_pairs, desc="random pairs", disable=not progress, leave=True)
    chunks = random_pair_chunks(n_pairs, dim, seed, spec, chunk=chunk, buffers=buffers)
    for g_r, g_f, draws in chunks:
        checks.append(check_batch(g_r, g_f, draws, methods, generator, tol, buffers=buffers))
        draws_all.append(draws)
        bar.update(len(draws))
    bar.close()
    return pd.concat(checks, ignore_index=True), pd.concat(draws_all, ignore_index=True)


# --------------------------------------------------------------------------- adversarial


def _split(v: torch.Tensor) -> Grads:
    """A flat vector as tensors of several shapes, like a model's parameters."""
    n = v.numel()
    cuts = [0, n // 7, n // 3, (2 * n) // 3, n]
    pieces = [v[a:b] for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    return [p.reshape(-1, 1).clone() if i % 2 else p.clone() for i, p in enumerate(pieces)]


def _rotate(r: torch.Tensor, noise: torch.Tensor, angle: float) -> torch.Tensor:
    """A vector at ``angle`` (radians) from r, with r's norm (float64)."""
    u = r / r.norm()
    w = noise - (noise @ u) * u
    w = w / w.norm()
    return r.norm() * (math.cos(angle) * u + math.sin(angle) * w)


ADVERSARIAL_CASES = (
    "identical (g_F = g_R)",
    "parallel (g_F = 4 g_R)",
    "anti-parallel (g_F = -g_R/2)",
    "near-parallel (1e-3 rad)",
    "near-parallel (1e-6 rad)",
    "near-anti-parallel (1e-6 rad)",
    "orthogonal",
    "ratio 1e-8",
    "ratio 1e+8",
    "near-parallel, ratio 1e+6",
    "near-anti-parallel, ratio 1e-6",
    "tiny norms (1e-12)",
    "huge norms (1e+12)",
    "g_R = 0",
    "g_F = 0",
)


def adversarial_pair(case: str, dim: int, seed: int) -> tuple[Grads, Grads]:
    """One float32 pair (as lists of tensors) of a named adversarial case."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(dim, generator=gen, dtype=torch.float64)
    noise = torch.randn(dim, generator=gen, dtype=torch.float64)
    angle = float(torch.rand(1, generator=gen, dtype=torch.float64)) * math.pi
    f64 = {
        "identical (g_F = g_R)": lambda: r.clone(),
        "parallel (g_F = 4 g_R)": lambda: 4.0 * r,
        "anti-parallel (g_F = -g_R/2)": lambda: -0.5 * r,
        "near-parallel (1e-3 rad)": lambda: _rotate(r, noise, 1e-3),
        "near-parallel (1e-6 rad)": lambda: _rotate(r, noise, 1e-6),
        "near-anti-parallel (1e-6 rad)": lambda: -_rotate(r, noise, 1e-6),
        "orthogonal": lambda: _rotate(r, noise, math.pi / 2),
        "ratio 1e-8": lambda: 1e-8 * _rotate(r, noise, angle),
        "ratio 1e+8": lambda: 1e8 * _rotate(r, noise, angle),
        "near-parallel, ratio 1e+6": lambda: 1e6 * _rotate(r, noise, 1e-4),
        "near-anti-parallel, ratio 1e-6": lambda: -1e-6 * _rotate(r, noise, 1e-4),
        "tiny norms (1e-12)": lambda: _rotate(r, noise, angle),
        "huge norms (1e+12)": lambda: _rotate(r, noise, angle),
        "g_R = 0": lambda: noise.clone(),
        "g_F = 0": lambda: torch.zeros(dim, dtype=torch.float64),
    }
    if case not in f64:
        raise ValueError(f"unknown adversarial case {case!r}; known: {', '.join(f64)}")
    f = f64[case]()
    scale = {"tiny norms (1e-12)": 1e-12, "huge norms (1e+12)": 1e12}.get(case, 1.0)
    if case == "g_R = 0":
        r, f = torch.zeros(dim, dtype=torch.float64), f / f.norm()
    else:  # scale both so that ||g_R|| = scale; the angle and the ratio are kept
        r, f = r * (scale / r.norm()), f * (scale / r.norm())
    return _split(r.float()), _split(f.float())


def adversarial_sign_checks(
    dim: int,
    seed: int,
    *,
    instances: int = 5,
    cases: Sequence[str] = ADVERSARIAL_CASES,
    methods: Sequence[str] = CHECK_METHODS,
    losses: tuple[float, float] = (0.1, 1.0),
    tol: float = TOL32,
) -> pd.DataFrame:
    """Eq. 7 for every method on adversarial float32 pairs, through the engine's own
    ``directions.direction`` and ``directions.satisfies_eq7`` (d_scale = a ||g_R|| +
    b ||g_F||). A rule that raises (no direction exists) is recorded, not counted."""
    generator = torch.Generator().manual_seed(seed + 2)
    rows = []
    for case in cases:
        for k in range(instances):
            g_r, g_f = adversarial_pair(case, dim, seed * 1000 + k)
            geo = directions.Geometry.of(g_r, g_f, *losses)
            for method in methods:
                spec = method_spec(method)
                row = {"case": case, "instance": k, "method": method, "cos": geo.cosine}
                try:
                    out = directions.direction(
                        spec.rule,
                        g_r,
                        g_f,
                        loss_retain=losses[0],
                        loss_forget=losses[1],
                        generator=generator,
                        **spec.options,
                    )
                except directions.ZeroGradientError:
                    rows.append({**row, "holds": None, "raised": True})
                    continue
                w = out.weights
                scale = w.retain * geo.norm_retain + w.forget * geo.norm_forget
                rel_r, rel_f = _margins(g_r, g_f, out.d, geo, scale)
                rows.append(
                    {
                        **row,
                        "holds": directions.satisfies_eq7(g_r, g_f, out.d, tol, d_scale=scale),
                        "retain_ok": rel_r >= -tol,
                        "forget_ok": rel_f <= tol,
                        "margin_retain": rel_r,
                        "margin_forget": rel_f,
                        "raised": False,
                    }
                )
    return pd.DataFrame(rows)


def _margins(g_r, g_f, d, geo, scale) -> tuple[float, float]:
    rel_r = dot(g_r, d) / (geo.norm_retain * scale) if geo.rr > 0 and scale > 0 else 0.0
    rel_f = dot(g_f, d) / (geo.norm_forget * scale) if geo.ff > 0 and scale > 0 else 0.0
    return rel_r, rel_f


# --------------------------------------------------------------------------- real runs


def history_sign_checks(history: pd.DataFrame, tol: float = TOL32) -> pd.DataFrame:
    """Eq. 7 at every step of engine histories (columns ``dot_retain_d``,
    ``dot_forget_d``, ``weight_*``, ``grad_norm_*``), with the same tolerance as the
    random checks. Rows without a step (final evaluations) are dropped."""
    h = history.dropna(subset=["dot_retain_d", "dot_forget_d"]).copy()
    nr, nf = h["grad_norm_retain"], h["grad_norm_forget"]
    scale = h["weight_retain"] * nr + h["weight_forget"] * nf
    h["margin_retain"] = (h["dot_retain_d"] / (nr * scale)).where(nr * scale > 0, 0.0)
    h["margin_forget"] = (h["dot_forget_d"] / (nf * scale)).where(nf * scale > 0, 0.0)
    h["retain_ok"] = h["margin_retain"] >= -tol
    h["forget_ok"] = h["margin_forget"] <= tol
    h["holds"] = h["retain_ok"] & h["forget_ok"]
    return h


def shares(checks: pd.DataFrame, by: str = "method", order: Sequence[str] | None = None):
    """Per group: share of cases where Eq. 7 holds and where each side fails, and the
    number of cases (rows with ``holds`` missing, i.e. no direction, are left out)."""
    c = checks.dropna(subset=["holds"])
    table = c.groupby(by).agg(
        eq7_share=("holds", "mean"),
        retain_side_fails=("retain_ok", lambda s: 1.0 - s.mean()),
        forget_side_fails=("forget_ok", lambda s: 1.0 - s.mean()),
        cases=("holds", "size"),
    )
    return table.reindex(order) if order is not None else table


def gdiff_boundary(c: float, log10_ratio: np.ndarray) -> np.ndarray:
    """The largest cos(g_R, g_F) at which GDiff(c) satisfies Eq. 7, for ratio
    rho = ||g_F|| / ||g_R||: c ||g_R||^2 >= (1-c) g_R.g_F  and  c g_R.g_F <= (1-c) ||g_F||^2,
    i.e. cos <= min(c / ((1-c) rho), (1-c) rho / c)."""
    rho = 10.0 ** np.asarray(log10_ratio, dtype=float)
    return np.minimum(c / ((1 - c) * rho), (1 - c) * rho / c)


# --------------------------------------------------------------------------- Theorem 5


def theorem5_visit(etas: Sequence[float]):
    """A visit (``engine.lm.unlearn_lm(..., visit=...)``) checking Theorem 5 at theta_t
    along the NGDiff direction d of the step's own batches: the exact g_R.d, g_F.d, d^T H_R d and
    d^T H_F d (double backward), and the measured changes
    L_w(theta - eta d) - L_w(theta) for each eta in ``etas`` and for the step's rate."""

    def visit(ctx) -> dict:
        losses = {"retain": ctx.retain_loss(), "forget": ctx.forget_loss()}

        def ngdiff(grads: dict) -> Grads:
            return directions.direction("ngdiff", grads["retain"], grads["forget"]).d

        d, exact = directional_many(losses, ctx.params, ngdiff)
        row = {}
        sizes = [*etas, ctx.lr]
        for task, loss_fn in losses.items():
            row[f"slope_{task}"] = exact[task].slope
            row[f"curvature_{task}"] = exact[task].curvature
            values = loss_along(loss_fn, ctx.params, d, [0.0, *sizes])
            for name, change in zip([*map(_eta_name, etas), "lr"], values[1:] - values[0]):
                row[f"change_{task}_{name}"] = float(change)
        return row

    return visit


def _eta_name(eta: float) -> str:
    return f"{eta:g}"


def theorem5_summary(steps: pd.DataFrame, etas: Sequence[float]) -> dict:
    """Shares over steps: L_R decreases and L_F increases along -eta d (each eta and the
    step's own rate); the curvature condition of part (2) fails; the rate used lies
    below part (2)'s bound 2 g_R.d / d^T H_R d (where that bound exists)."""
    out = {"steps": int(len(steps))}
    for name in [*map(_eta_name, etas), "lr"]:
        both = (steps[f"change_retain_{name}"] < 0) & (steps[f"change_forget_{name}"] > 0)
        out[f"share_both_{name}"] = float(both.mean())
        out[f"share_retain_down_{name}"] = float((steps[f"change_retain_{name}"] < 0).mean())
        out[f"share_forget_up_{name}"] = float((steps[f"change_forget_{name}"] > 0).mean())
    fails = (steps["curvature_retain"] <= 0) | (steps["curvature_forget"] <= 0)
    out["share_curvature_condition_fails"] = float(fails.mean())
    out["share_retain_curvature_nonpositive"] = float((steps["curvature_retain"] <= 0).mean())
    out["share_forget_curvature_nonpositive"] = float((steps["curvature_forget"] <= 0).mean())
    # part (2)'s guarantee for L_R at the rate used: positive curvature and lr < bound
    bound = (
        2 * steps["slope_retain"] / steps["curvature_retain"].where(steps["curvature_retain"] > 0)
    )
    out["share_lr_below_bound"] = float((steps["lr"] < bound).mean())
    out["share_slope_signs_eq7"] = float(
        ((steps["slope_retain"] >= 0) & (steps["slope_forget"] <= 0)).mean()
    )
    return out


# --------------------------------------------------------------------------- claims

FIG2_IN_GREEN = "ngdiff.sec3_2.fig2_ngdiff_in_green"
LEMMA4 = "ngdiff.lemma4.ngdiff_in_eq7_region"
IMTLG_IDENTITY = "ngdiff.lemma4.imtlg_in_eq7_region"
PCGRAD_IDENTITY = "ngdiff.sec3_2.pcgrad_canonical_in_eq7_region"
GDIFF_LEAVES = "ngdiff.sec3_2.gdiff_leaves_eq7_on_real_steps"
THM5_PART1 = "ngdiff.thm5.part1_small_step_improves_both"
THM5_PART2 = "ngdiff.thm5.part2_curvature_positive"
# Rules for which Eq. 7 is an identity (Cauchy-Schwarz): their shares are sanity claims.
IDENTITIES = {"NGDiff": LEMMA4, "IMTL-G": IMTLG_IDENTITY, "PCGrad": PCGRAD_IDENTITY}
CLAIMS_BY_FIGURE = {
    "fig2_geometry": (FIG2_IN_GREEN,),
    "fig2_sign_checks": (GDIFF_LEAVES, LEMMA4, IMTLG_IDENTITY, PCGRAD_IDENTITY),
    "thm5_check": (THM5_PART1, THM5_PART2),
}
THM5_ETA = 1e-3  # part (1)'s "small enough" step


def measure_fig2_panels(panels: pd.DataFrame, draw: int, method: str = "NGDiff") -> pd.DataFrame:
    """Fig. 2's caption, per 2-D panel (``fig2_grid``'s table): 1 when ``method``'s
    direction is in Eq. 7's region, else 0; column ``unit`` names the panel."""
    rows = panels[panels["method"] == method]
    out = claims.measurement(
        FIG2_IN_GREEN, draw, rows["in_green"].astype(float), seeds=[draw] * len(rows)
    )
    out["unit"] = [f"angle {a:g}, ratio {r:g}" for a, r in zip(rows["angle"], rows["ratio"])]
    return out


def measure_identity(
    method: str,
    draw: int,
    random_checks: pd.DataFrame | None = None,
    adversarial: pd.DataFrame | None = None,
    real: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The Eq. 7 identity of ``method`` (one of ``IDENTITIES``): one row per unit, the
    share of its cases where Eq. 7 holds: all random pairs (``random_sign_checks``),
    all adversarial pairs (``adversarial_sign_checks``; a rule that raised has no
    case) and each real run (``history_sign_checks`` with ``label`` and ``seed``).
    Column ``unit`` says which; random and adversarial units carry ``seed``."""
    parts = []
    for unit, table in (("random pairs", random_checks), ("adversarial pairs", adversarial)):
        if table is None:
            continue
        mine = table[table["method"] == method].dropna(subset=["holds"])
        if len(mine):
            rows = claims.measurement(
                IDENTITIES[method], draw, [mine["holds"].astype(float).mean()], seeds=[seed]
            )
            parts.append(rows.assign(unit=unit))
    if real is not None and len(real[real["label"] == method]):
        share = real[real["label"] == method].groupby("seed")["holds"].mean()
        rows = claims.measurement(
            IDENTITIES[method], draw, share.to_numpy(), seeds=share.index.tolist()
        )
        parts.append(rows.assign(unit="real run"))
    return pd.concat(parts, ignore_index=True)


def measure_gdiff_leaves(real: pd.DataFrame, draw: int, label: str = "GDiff-0.5") -> pd.DataFrame:
    """Sec. 3.2's "a static scalarization can leave Eq. 7", on real steps: per run of
    ``label`` (``history_sign_checks`` rows with ``label`` and ``seed``), the share of
    its steps outside Eq. 7 (a diverged run counts the steps it took); column ``unit``
    as ``measure_identity``'s."""
    rows = real[real["label"] == label]
    outside = 1.0 - rows.groupby("seed")["holds"].mean()
    out = claims.measurement(GDIFF_LEAVES, draw, outside.to_numpy(), seeds=outside.index.tolist())
    return out.assign(unit="real run")


def measure_theorem5(walks: pd.DataFrame, draw: int, eta: float = THM5_ETA) -> pd.DataFrame:
    """Theorem 5 per NGDiff run (``theorem5_visit`` rows with ``seed``): part (1), the
    share of steps where L_R falls and L_F rises along -eta d; part (2), the share of
    steps where the exact d^T H_R d and d^T H_F d are both positive."""
    name = _eta_name(eta)
    steps = walks.dropna(subset=[f"change_retain_{name}", "curvature_retain"])
    both = (steps[f"change_retain_{name}"] < 0) & (steps[f"change_forget_{name}"] > 0)
    convex = (steps["curvature_retain"] > 0) & (steps["curvature_forget"] > 0)
    part1 = both.groupby(steps["seed"]).mean()
    part2 = convex.groupby(steps["seed"]).mean()
    return pd.concat(
        [
            claims.measurement(THM5_PART1, draw, part1.to_numpy(), seeds=part1.index.tolist()),
            claims.measurement(THM5_PART2, draw, part2.to_numpy(), seeds=part2.index.tolist()),
        ],
        ignore_index=True,
    )


# --------------------------------------------------------------------------- figures


def plot_sign_checks(
    table: pd.DataFrame,
    random_checks: pd.DataFrame,
    draws: pd.DataFrame,
    *,
    map_method: str = "GDiff-0.5",
    max_points: int = 4000,
    seeds_note: str = "",
    identities: Sequence[str] = tuple(IDENTITIES),
):
    """Two panels: (a) share of cases satisfying Eq. 7 per method for the random,
    adversarial and real columns of ``table`` (index: methods), the rules in
    ``identities`` (Eq. 7 by Cauchy-Schwarz: sanity, not evidence) marked in their tick
    labels; (b) the random pairs in the (cos, log10 ratio) plane, coloured by whether
    ``map_method`` satisfies Eq. 7, with the closed-form GDiff(c) boundaries."""
    fig, (ax, ax_map) = plt.subplots(1, 2, figsize=(13, 4.6), width_ratios=[1.5, 1])
    columns = [c for c in ("random", "adversarial", "real") if c in table]
    x = np.arange(len(table))
    width = 0.8 / len(columns)
    hatches = {"random": "", "adversarial": "//", "real": ".."}
    for k, column in enumerate(columns):
        ax.bar(
            x + (k - (len(columns) - 1) / 2) * width,
            table[column],
            width,
            color=[color(m) for m in table.index],
            edgecolor="black",
            hatch=hatches[column],
            label=column,
        )
    ticks = [f"{m} (identity)" if m in identities else m for m in table.index]
    ax.set_xticks(x, ticks, rotation=35, ha="right")
    ax.set(ylim=(0, 1.16), ylabel="share of cases with $g_R\\cdot d \\geq 0 \\geq g_F\\cdot d$")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_title("(a) Eq. 7 satisfied, per rule" + (f" ({seeds_note})" if seeds_note else ""))
    legend_bars = [
        plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", hatch=hatches[c])
        for c in columns
    ]
    ax.legend(legend_bars, columns, loc="upper center", ncol=len(columns), fontsize="small")

    merged = random_checks[random_checks.method == map_method].merge(draws, on="pair")
    if len(merged) > max_points:
        merged = merged.sample(max_points, random_state=0)
    for holds, style in ((True, dict(color="#bbbbbb", s=4)), (False, dict(color="#d62728", s=6))):
        part = merged[merged.holds == holds]
        ax_map.scatter(
            part.cos,
            part.log10_ratio,
            label=f"{map_method}: {'holds' if holds else 'violates'} Eq. 7",
            **style,
        )
    lr_axis = np.linspace(draws.log10_ratio.min(), draws.log10_ratio.max(), 400)
    for c in (0.1, 0.5, 0.9):
        ax_map.plot(
            np.clip(gdiff_boundary(c, lr_axis), -1, 1),
            lr_axis,
            color=gdiff_color(c),
            lw=1.6,
            label=f"GDiff-{c:g} boundary",
        )
    ax_map.set(
        xlabel="cos($g_R$, $g_F$)",
        ylabel="log$_{10}$ $\\|g_F\\| / \\|g_R\\|$",
        title=f"(b) {len(merged)} random pairs: where {map_method} leaves Eq. 7",
        xlim=(-1, 1),
    )
    ax_map.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, markerscale=2
    )
    ax_map.text(
        -0.97,
        ax_map.get_ylim()[1],
        "GDiff(c) satisfies Eq. 7 left of its line",
        fontsize=8,
        va="top",
    )
    return fig


def plot_theorem5(steps: pd.DataFrame, etas: Sequence[float], seeds_note: str = ""):
    """Three panels over the steps of NGDiff runs: the measured change of L_R and of L_F
    along -eta d for each eta (and the step's own rate), and the exact curvatures
    d^T H_R d, d^T H_F d. Symmetric-log axes; the zero line separates the signs."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    names = [*map(_eta_name, etas), "lr"]
    palette = plt.cm.viridis(np.linspace(0, 0.9, len(names)))
    for ax, task, want in zip(axes[:2], ("retain", "forget"), ("< 0", "> 0")):
        for name, col in zip(names, palette):
            label = f"$\\eta$ = {name}" if name != "lr" else "$\\eta$ = the step's rate"
            ax.scatter(steps["step"], steps[f"change_{task}_{name}"], s=8, color=col, label=label)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-6)
        sym = "R" if task == "retain" else "F"
        ax.set(
            xlabel="unlearning step t",
            ylabel=f"$L_{sym}(\\theta_t - \\eta d) - L_{sym}(\\theta_t)$ (nats/token)",
            title=f"$L_{sym}$ change along NGDiff d (want {want})",
        )
    axes[0].legend(fontsize=7, loc="best")
    ax = axes[2]
    for task, marker in (("retain", "o"), ("forget", "s")):
        sym = "R" if task == "retain" else "F"
        ax.scatter(
            steps["step"], steps[f"curvature_{task}"], s=10, marker=marker, label=f"$d^T H_{sym} d$"
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set(
        xlabel="unlearning step t",
        ylabel="exact curvature (double backward)",
        title="Theorem 5 (2): curvature along d (want > 0)",
    )
    ax.legend(fontsize=8)
    if seeds_note:
        fig.suptitle(f"Theorem 5 on real NGDiff steps ({seeds_note})", fontsize=11)
    return fig
