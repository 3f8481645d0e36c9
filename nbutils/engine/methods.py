"""Unlearning methods by name: a direction rule with its options and the forget objective."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import directions

FORGET_LOSSES = ("ce", "npo")


@dataclass(frozen=True)
class Method:
    """A direction rule with its options, and the forget objective.

    ``forget_loss="ce"``: the forget task's gradient is g_F = grad L_F (cross-entropy),
    ascended. ``"npo"``: g_F = -grad L_NPO (Eq. 9), so that d = a g_R - b g_F descends
    L_NPO; the "NPO" baseline is GDiff(0.5) of the two, i.e. NPO on F plus GD on R
    with equal weights (NOTES.md).
    """

    rule: str
    c: float | None = None
    forget_loss: str = "ce"

    def __post_init__(self):
        if self.rule not in directions.RULES:
            raise ValueError(
                f"unknown direction rule {self.rule!r}; known: {', '.join(directions.RULES)}"
            )
        if self.forget_loss not in FORGET_LOSSES:
            raise ValueError(
                f"forget_loss must be one of {FORGET_LOSSES}, got {self.forget_loss!r}"
            )
        if (self.rule == "gdiff") != (self.c is not None):
            raise ValueError("GDiff needs its c, and only GDiff takes one")

    @property
    def options(self) -> dict:
        return {"c": self.c} if self.c is not None else {}


# Step sizes against other code: GDiff-c is the paper's c g_R - (1 - c) g_F, so GDiff-0.5's
# step is HALF of open-unlearning's GradDiff step (retain + forget terms with weight 1
# each) at the same rate, and our NPO baseline (GDiff-0.5 of the NPO and retain
# gradients) likewise halves both terms of open-unlearning's NPO. Double our rate to
# compare with theirs; rates compare directly with the NGDiff paper's.
METHODS: dict[str, Method] = {
    "GD": Method("gd"),
    "GA": Method("ga"),
    "GDiff-0.1": Method("gdiff", 0.1),
    "GDiff-0.5": Method("gdiff", 0.5),
    "GDiff-0.7": Method("gdiff", 0.7),
    "GDiff-0.9": Method("gdiff", 0.9),
    "LossNorm": Method("lossnorm"),
    "RLW": Method("rlw"),
    "PCGrad": Method("pcgrad"),
    "PCGrad (paper)": Method("pcgrad_paper"),
    "IMTL-G": Method("imtlg"),
    "NGDiff": Method("ngdiff"),
    "NPO": Method("gdiff", 0.5, "npo"),
}


def method(name: str | Method) -> Method:
    """A method by its table name (``METHODS``) or as ``GDiff-<c>`` for any c in [0, 1]."""
    if isinstance(name, Method):
        return name
    if name in METHODS:
        return METHODS[name]
    match = re.fullmatch(r"GDiff-([0-9.]+)", name)
    if match:
        return Method("gdiff", float(match.group(1)))
    raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)} or GDiff-<c>")


def weights(name: str | Method, geo: directions.Geometry, generator=None) -> directions.Weights:
    """The weights (a, b) of d = a g_R - b g_F that a named method gives."""
    spec = method(name)
    return directions.weights(spec.rule, geo, generator, **spec.options)
