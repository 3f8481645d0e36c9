"""Fig. 2 of NGDiff in the plane: g_R, g_F and their perpendicular lines, the yellow cone
of GDiff directions {c g_R - (1 - c) g_F : c in [0, 1]} (all their positive multiples),
the green region of Eq. 7 (g_R.d >= 0 >= g_F.d) and each rule's direction
(``draw_fig2``, ``fig2_grid``; ``explorer`` for an ipywidgets version).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...engine import directions
from ...engine.methods import weights as method_weights
from ..style import color

# The rules of Fig. 2 (as methods.METHODS names).
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
