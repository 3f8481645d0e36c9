"""The configs of NGDiff's Figs. 5 and 6: GDiff-0.5 and NGDiff at every fixed rate of a
grid, NGDiff + AutoLR from the grid's smallest rate, its middle (the paper's 5e-5 in
{1e-5, 5e-5, 1e-4}), the tuned rate and the largest."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ...engine.autolr import AutoLR
from ...engine.runs import Config, Protocol

METRICS = ("rouge_forget", "rouge_retain")
OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD"}
FIXED_RULES = ("GDiff-0.5", "NGDiff")  # Fig. 6 (vanilla GDiff) and Fig. 5 (NGDiff)
AUTOLR_RULE = "NGDiff+AutoLR"

# AutoLR's starting rates: role -> (colour, dash); the middle one is the paper's
AUTOLR_STARTS = {
    "smallest": ("#fdae6b", ":"),
    "middle": ("#ff7f0e", "-"),
    "tuned": ("#a63603", "--"),
    "largest": ("#e6550d", "-."),
}


def middle_rate(rates: Sequence[float]) -> float:
    """The middle of a rate grid (the paper's 5e-5 in {1e-5, 5e-5, 1e-4}): the median
    rate of an odd grid, the geometric mean of the two middle rates of an even one
    (rounded to 3 significant digits), e.g. 3e-4 for the smoke grid {3e-5, 3e-3}."""
    rates = sorted(rates)
    if not rates:
        raise ValueError("an empty rate grid has no middle")
    n = len(rates)
    if n % 2:
        return float(rates[n // 2])
    return float(f"{math.sqrt(rates[n // 2 - 1] * rates[n // 2]):.3g}")


def autolr_starts(rates: Sequence[float], tuned: float) -> dict[str, float]:
    """AutoLR's starting rates by role: the grid's smallest, its middle, the tuned rate
    (the best fixed rate, chosen on held-out seeds) and the largest."""
    rates = sorted(rates)
    return {
        "smallest": float(rates[0]),
        "middle": middle_rate(rates),
        "tuned": float(tuned),
        "largest": float(rates[-1]),
    }


def start_roles(starts: dict[str, float]) -> dict[float, list[str]]:
    """Starting rate -> its roles (a rate may be both the middle and the tuned one)."""
    out: dict[float, list[str]] = {}
    for role, lr in starts.items():
        out.setdefault(lr, []).append(role)
    return out


def retain_advantage(retain: float, best: float) -> dict[str, float]:
    """How much higher ``retain`` (AutoLR's mean final ROUGE_R) is than ``best`` (the best
    fixed rate's): absolute difference and relative difference in percent (the paper's
    "19.5% higher" reads as relative: 0.747 against about 0.625)."""
    difference = retain - best
    relative = 100 * difference / best if best > 0 else math.inf
    return {"absolute": float(difference), "relative_percent": float(relative)}


def autolr_period(protocol: Protocol, period: int = 10) -> int:
    """AutoLR's period k: the paper's 10, or half the steps when a run is shorter than
    three periods (smoke size), so that AutoLR acts at least once."""
    return period if protocol.steps >= 3 * period else max(1, protocol.steps // 2)


def fixed_label(method: str, lr: float) -> str:
    return f"{method} @ {lr:g}"


def autolr_label(lr: float) -> str:
    return f"{AUTOLR_RULE} from {lr:g}"


def autolr_roles(smoke: bool) -> tuple[str, ...]:
    """AutoLR's starts drawn: all four; at smoke size (a grid of two rates, the tuned one
    among them) the middle and the tuned rate only."""
    return ("middle", "tuned") if smoke else tuple(AUTOLR_STARTS)


def sensitivity_configs(
    rates: Sequence[float],
    autolr: AutoLR,
    starts: dict[str, float],
    verdicts_only: bool = False,
) -> list[Config]:
    """GDiff-0.5 and NGDiff at every fixed rate, and NGDiff + AutoLR from every start of
    ``starts`` (Figs. 5 and 6). ``verdicts_only``: only what the claims need: GDiff-0.5
    at every rate, NGDiff at the tuned rate, AutoLR from the middle (``starts`` must
    have the roles "middle" and "tuned")."""
    rates = sorted(rates)
    if verdicts_only:
        return [
            *(Config(fixed_label("GDiff-0.5", lr), "GDiff-0.5", lr) for lr in rates),
            Config(fixed_label("NGDiff", starts["tuned"]), "NGDiff", starts["tuned"]),
            Config(autolr_label(starts["middle"]), "NGDiff", starts["middle"], autolr),
        ]
    configs = [Config(fixed_label(m, lr), m, lr) for m in FIXED_RULES for lr in rates]
    return configs + [Config(autolr_label(lr), "NGDiff", lr, autolr) for lr in start_roles(starts)]
