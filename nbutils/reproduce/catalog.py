"""The notebooks, in reading order: what each reproduces, its figures, its parameters."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.alternator import parse_schedule
from ..engine.optim import SCHEMES
from .params import COMMON, LANGUAGE, RETUNE, SEEDS, Param, at_least, optimizers


@dataclass(frozen=True)
class Entry:
    stem: str
    reproduces: str
    figures: tuple[str, ...]
    params: dict[str, Param]


LM = {**COMMON, **LANGUAGE}
TUNED_LM = {**LM, **RETUNE}  # notebooks whose methods run at tuned rates
PAPER_OPTIMIZERS = Param(
    list,
    optimizers(required="adam"),
    'unlearning optimizers: "adam" (the paper\'s Appendix F.3; the verdicts) and/or "sgd" '
    "(Algorithm 1 as written)",
)


# --------------------------------------------------------------------------- checks of 07


def _positive(value) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _each(check):
    """A non-empty list whose every item passes ``check`` (numbers only)."""

    def problem(values) -> str | None:
        if not values:
            return "must not be empty"
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"must hold numbers, got {value!r}"
            if (issue := check(value)) is not None:
                return f"item {value!r} {issue}"
        return None

    return problem


def _schedules(values) -> str | None:
    """Non-empty, distinct 'T_f:T_r' strings with positive integers."""
    if not values:
        return "must not be empty"
    for value in values:
        try:
            parse_schedule(value)
        except ValueError as error:
            return str(error)
    return None if len(set(values)) == len(values) else f"has a repeated schedule: {values!r}"


def _schemes(values) -> str | None:
    """Known, distinct schemes, Alternate among them (every stability verdict's
    reference)."""
    unknown = [v for v in values if v not in SCHEMES]
    if unknown:
        return f"has unknown scheme(s) {unknown}; known: {list(SCHEMES)}"
    if len(set(values)) != len(values):
        return f"has a repeated scheme: {values!r}"
    if "alternate" not in values:
        return "must include 'alternate' (the reference of every stability verdict)"
    return None


# The notebook that fine-tunes each draw's targets, which the other notebooks load: it
# runs first on every draw (``running.run_queue``, ``scorecard.draw_plan``).
TOUR = "00_tour"

# One entry per notebook, in reading order.
NOTEBOOKS: dict[str, Entry] = {
    e.stem: e
    for e in [
        Entry(
            "00_tour",
            "the setting: benchmark, target, generations (no paper figure)",
            ("tour_answer_loss",),
            {**LM, "n_authors": Param(int, at_least(2), "authors in the benchmark")},
        ),
        Entry(
            "01_gradient_geometry",
            "NGDiff Fig. 2, Lemma 4, Theorem 5",
            ("fig2_geometry", "fig2_sign_checks", "thm5_check"),
            {
                **TUNED_LM,
                **SEEDS,
                "n_pairs": Param(int, at_least(100), "random gradient pairs"),
                "dim": Param(int, at_least(2), "dimension of the random gradients"),
            },
        ),
        Entry(
            "02_pareto_sweep",
            "NGDiff Fig. 1 (Pareto sweep of GDiff over c, MTO rules)",
            ("fig1_pareto",),
            {
                **TUNED_LM,
                **SEEDS,
                "n_c": Param(int, at_least(3), "values of c in [0, 1]"),
                "n_refine": Param(
                    int, at_least(0), "rounds of halving the c grid where forgetting flips"
                ),
                "optimizers": PAPER_OPTIMIZERS,
            },
        ),
        Entry(
            "03_loss_landscape",
            "NGDiff Fig. 3, Eq. 6, Remark 4.1, GeN probes",
            ("fig3_landscape", "fig3_curvature", "gen_probe_error"),
            {
                **TUNED_LM,
                **SEEDS,
                "probe_step": Param(int, at_least(0), "step of Fig. 3's snapshot"),
            },
        ),
        Entry(
            "04_lr_sensitivity",
            "NGDiff Fig. 6 (GDiff) and Fig. 5 (NGDiff vs AutoLR)",
            ("fig6_gdiff_lr", "fig5_ngdiff_lr", "lr_sensitivity_summary"),
            {**TUNED_LM, **SEEDS},
        ),
        Entry(
            "05_autolr_trace",
            "NGDiff Fig. 7 (gradient norms and AutoLR's rate)",
            ("fig7_autolr_trace", "autolr_settings"),
            {**TUNED_LM, **SEEDS},
        ),
        Entry(
            "06_method_comparison",
            "NGDiff Fig. 4, Tables 1 and 3",
            ("fig4_methods", "table1_methods", "table3_autolr"),
            {**TUNED_LM, **SEEDS, "optimizers": PAPER_OPTIMIZERS},
        ),
        Entry(
            "07_momentum_variance",
            "DualOptim slides: Recipe 1, the variance theorem, Alg. 1, DualOptim+",
            ("momentum_grad_norms", "momentum_variance", "momentum_variance_grid", "momentum_lm"),
            {
                **TUNED_LM,
                **SEEDS,
                "n_replicas": Param(int, at_least(10), "simulated replicas"),
                "sim_steps": Param(int, at_least(2), "outer steps t of the simulation"),
                "retain_lr": Param(float, _positive, "DualOptim's fixed retain rate (Adam)"),
                "forget_lrs": Param(
                    list, _each(_positive), "forget rates tuned per scheme (held-out seeds)"
                ),
                "schedules": Param(list, _schedules, "forget:retain steps, 'T_f:T_r' each"),
                "schemes": Param(list, _schemes, "Algorithm 1's optimizer schemes"),
            },
        ),
        Entry(
            "08_vision_unlearning",
            "NGDiff Appendix D / Table 4; DualOptim FA, RA, TA, MIA",
            ("table4_vision",),
            {
                **COMMON,
                **RETUNE,
                **SEEDS,
                "forget_class": Param(
                    int,
                    lambda v: None if 0 <= v <= 9 else f"must be a digit 0-9, got {v!r}",
                    "the digit class a sample of whose images is forgotten",
                ),
                "n_forget": Param(int, at_least(1), "training images of that class to forget"),
                "steps": Param(int, at_least(1), "unlearning steps (SGD, batch 32)"),
            },
        ),
    ]
}


def entry(name: str) -> Entry:
    """Look a notebook up by stem, file name or number prefix (``"00"``)."""
    stem = name.removesuffix(".ipynb").split("/")[-1]
    if stem in NOTEBOOKS:
        return NOTEBOOKS[stem]
    matches = [e for s, e in NOTEBOOKS.items() if s.split("_")[0] == stem]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"unknown notebook {name!r}; known: {', '.join(NOTEBOOKS)}")
