"""One look for every figure: the style, and one label -> colour / marker map.

Every ``plot_*`` of the studies colours a method, scheme or reference model through
``color(label)`` and ``marker(label)``, so a method looks the same in every notebook:
GDiff(c) along a blue ramp (darker for larger c), each other rule its own colour,
``<method>+AutoLR`` and ``<method> (<variant>)`` in their method's colour.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import seaborn as sns

COLORS = {
    "GD": "#7f7f7f",
    "GA": "#8c564b",
    "LossNorm": "#2ca02c",
    "RLW": "#9467bd",
    "PCGrad": "#e377c2",
    "PCGrad (paper)": "#f4a9d6",
    "IMTL-G": "#bcbd22",
    "NGDiff": "#d62728",
    "NGDiff+AutoLR": "#ff7f0e",
    "NPO": "#17becf",
    "No-unlearn": "#7f7f7f",
    "retain-only": "#000000",
    "RT": "#000000",
    "Alternate": "#404040",
    "DualOptim": "#0173b2",
    "DualOptim+": "#de8f05",
    "shared": "#404040",
    "decoupled": "#0173b2",
    "retain": "#7f7f7f",
    "forget": "#8c564b",
}
MARKERS = {
    "LossNorm": "s",
    "RLW": "P",
    "PCGrad": "X",
    "PCGrad (paper)": "x",
    "IMTL-G": "D",
    "NGDiff": "*",
    "NGDiff+AutoLR": "*",
    "NPO": "v",
    "No-unlearn": "^",
    "retain-only": "o",
}
OTHER = "#333333"


def gdiff_color(c: float):
    """GDiff(c) along a blue ramp, darker for larger c."""
    return plt.cm.Blues(0.3 + 0.7 * float(c))


def color(label: str):
    """The colour of a method, scheme or reference model by its label."""
    if label in COLORS:
        return COLORS[label]
    match = re.match(r"GDiff-([0-9.]+)", label)
    if match:
        return gdiff_color(float(match.group(1)))
    base = re.split(r"\+| \(| @ | from ", label)[0].strip()
    return COLORS.get(base, OTHER)


def marker(label: str) -> str:
    return MARKERS.get(label, "o")


def rate_colors(rates: Sequence[float]) -> dict[float, tuple]:
    """One colour per learning rate along viridis (dark = small rate, green = large),
    evenly in the order of the rates, so two figures with the same grid agree."""
    rates = sorted(rates)
    span = max(len(rates) - 1, 1)
    return {lr: plt.cm.viridis(0.88 * i / span) for i, lr in enumerate(rates)}


@dataclass(frozen=True)
class Line:
    """How one curve is drawn: colour, legend text, dash, width."""

    color: object
    text: str
    dash: str = "-"
    width: float = 1.6

    def plot(self, ax, x, y, **kwargs):
        """Draw (x, y) on ``ax`` in this line's colour, dash and width."""
        return ax.plot(x, y, color=self.color, ls=self.dash, lw=self.width, **kwargs)


def signed_step_axes(ax, linthresh: float, ylabel: str, title: str) -> None:
    """A panel of a signed quantity per unlearning step: the zero line that separates the
    signs, a symmetric-log y axis (linear within ``linthresh``), the step t on x."""
    ax.axhline(0, color="black", lw=0.8)
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.set(xlabel="unlearning step t", ylabel=ylabel, title=title)


def set_style() -> None:
    """The collection's figure style (seaborn whitegrid, readable paper fonts)."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.15)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 160,
            "savefig.bbox": "tight",
            "figure.constrained_layout.use": True,
            "legend.frameon": False,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
