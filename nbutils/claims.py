"""The sources' claims, one registry, and their verdicts with intervals over runs.

Every claim of the NGDiff paper and of the DualOptim slides that a notebook tests is one
``Claim``: an id, its source (section, figure, slide), the statement in the source's
words, the quantity measured per run, a threshold and a direction, and its kind:
``evidence`` (data could make it fail) or ``sanity`` (true by construction: an identity,
a counted cost; shown, never counted as evidence).

A notebook measures its claims into a long table, one row per claim and run (``claim``,
``draw``: the benchmark seed, ``seed``: the unlearning seed, ``value``; ``reference`` for
ratio statistics), and ``evaluate`` turns it into verdicts: the claim's statistic over
runs with a 95% interval, and holds / fails / inconclusive by where the interval lies
against the threshold (``stats.verdict``). The interval treats benchmark draws as a
random effect: over several draws it is over the draw means (a mean: the t interval's
form with a quantile calibrated to cover skewed runs too, ``stats.estimate_mean``; a
std ratio: a t interval on the draws' log ratios, ``stats.estimate_std_ratio``); within
one draw it is over the seeds and the verdict is noted "one draw"; one run gives no
interval (inconclusive, and the note says so); exact statistics are their own interval
(``stats.exact_minimum``). ``benchmarks/coverage.py`` shows their coverage. A value of
NaN is a run that has no value (counted in ``n_runs``, not in ``n_finished``); how a
diverged run counts is the measuring code's choice, said in ``quantity``.

``for_sidecar`` writes a figure's own claims with every run's value, so that the
scorecard (``python -m nbutils scorecard``) can pool the same claims over several
benchmark draws and evaluate them again, draws as a random effect.

Also here, the formatting every sidecar shares: ``finite_claims`` (NaN becomes words),
``finite_or`` and ``method_summary``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import stats
from .stats import group_stats

KINDS = ("evidence", "sanity")
ADAM, SGD = "Adam (the paper's F.3 setting)", "SGD (Algorithm 1 as written)"


@dataclass(frozen=True)
class Claim:
    """One claim of a source, as a notebook tests it."""

    id: str
    notebook: str
    source: str
    statement: str
    quantity: str
    threshold: float
    direction: str  # "above", "at_least", "below", "at_most" (stats.verdict)
    kind: str = "evidence"
    setting: str = ""
    statistic: str = "mean"  # STATISTICS key

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.statistic not in STATISTICS:
            raise ValueError(f"claim {self.id}: unknown statistic {self.statistic!r}")
        stats.verdict(0.0, 0.0, self.threshold, self.direction)  # checks the direction


# statistic -> estimator (runs (n, c) finite, the value first; draws (n,); over_draws)
STATISTICS: dict[str, Callable[..., stats.Estimate]] = {
    "mean": stats.estimate_mean,
    "all": stats.exact_minimum,  # "for every ..." over exact (noise-free) units: the smallest
    "std_ratio": stats.estimate_std_ratio,
}


def _c(*args, **kwargs) -> Claim:
    return Claim(*args, **kwargs)


# --------------------------------------------------------------------------- the registry

REGISTRY: dict[str, Claim] = {
    c.id: c
    for c in [
        # 00: the setting
        _c(
            "ngdiff.sec5_1.no_unlearn_memorizes",
            "00_tour",
            "NGDiff Sec. 5.1, Table 1 (No-unlearn row)",
            "the target model fine-tuned on TOFU ('No-unlearn') reproduces the forget set: "
            "Verbmem 1.000",
            "ROUGE-L recall of the target's greedy answers on F (one model per draw)",
            0.95,
            "at_least",
            setting="fine-tuning only (no unlearning step)",
        ),
        _c(
            "ngdiff.sec5_1.retain_only_keeps_answer_form",
            "00_tour",
            "TOFU's retain model (the gold standard of unlearning); NGDiff Table 1's success "
            "rule Verbmem < 0.1",
            "a model fine-tuned on R alone never saw F, yet answers F's questions in form: "
            "its Verbmem is not below Table 1's 0.1, so ROUGE_F near 0 is over-forgetting "
            "(this project's reading of the success rule)",
            "ROUGE-L recall on F of the retain-only model (fine-tuned on R only, one model "
            "per draw)",
            0.1,
            "at_least",
            setting="fine-tuning only (no unlearning step)",
        ),
        # 01: gradient geometry
        _c(
            "ngdiff.lemma4.ngdiff_in_eq7_region",
            "01_gradient_geometry",
            "NGDiff Lemma 4",
            "g_NGDiff satisfies Eq. 7 (g_R.d >= 0 >= g_F.d) for every pair of gradients",
            "share of random, adversarial and real pairs where NGDiff satisfies Eq. 7",
            1.0,
            "at_least",
            kind="sanity",
            statistic="all",
        ),
        _c(
            "ngdiff.lemma4.imtlg_in_eq7_region",
            "01_gradient_geometry",
            "NGDiff Sec. 3.2 (IMTL-G's c_t), Lemma 4",
            "IMTL-G's c_t = g_F.u / (g_F - g_R).u makes d a positive multiple of g_NGDiff, "
            "so Lemma 4 covers it",
            "share of random, adversarial and real pairs where IMTL-G satisfies Eq. 7 "
            "(an identity: shown, not evidence)",
            1.0,
            "at_least",
            kind="sanity",
            statistic="all",
        ),
        _c(
            "ngdiff.sec3_2.pcgrad_canonical_in_eq7_region",
            "01_gradient_geometry",
            "PCGrad (Yu et al. 2020; LibMTL weighting/PCGrad.py), NGDiff Sec. 3.2 item 6",
            "PCGrad projects each conflicting gradient onto the normal plane of the other, "
            "so that the two no longer conflict",
            "share of random, adversarial and real pairs where canonical PCGrad (both "
            "gradients projected) satisfies Eq. 7 (an identity: shown, not evidence)",
            1.0,
            "at_least",
            kind="sanity",
            statistic="all",
        ),
        _c(
            "ngdiff.sec3_2.fig2_ngdiff_in_green",
            "01_gradient_geometry",
            "NGDiff Fig. 2 (caption)",
            "NGDiff always stays within this green area at each iteration",
            "per Fig. 2 panel (angle, norm ratio) in 2-D: 1 when NGDiff's direction lies in "
            "Eq. 7's region (Lemma 4 in the plane: an identity)",
            1.0,
            "at_least",
            kind="sanity",
            statistic="all",
        ),
        _c(
            "ngdiff.sec3_2.gdiff_leaves_eq7_on_real_steps",
            "01_gradient_geometry",
            "NGDiff Sec. 3.2, Fig. 2",
            "a static scalarization (GDiff) can leave the region of Eq. 7, so that a step "
            "raises L_R or lowers L_F",
            "per run of GDiff-0.5 at its tuned rate (SGD): share of its steps outside Eq. 7 "
            "(a diverged run counts the steps it took)",
            0.0,
            "above",
            setting=SGD,
        ),
        _c(
            "ngdiff.thm5.part1_small_step_improves_both",
            "01_gradient_geometry",
            "NGDiff Theorem 5 (1)",
            "along g_NGDiff, a small enough step decreases L_R and increases L_F",
            "per NGDiff run (tuned rate, SGD): share of steps where L_R falls and L_F "
            "rises at eta = 1e-3 on the step's batches",
            0.9,
            "at_least",
            setting=SGD,
        ),
        _c(
            "ngdiff.thm5.part2_curvature_positive",
            "01_gradient_geometry",
            "NGDiff Theorem 5 (2), Remark 4.1",
            "g_NGDiff^T H g_NGDiff > 0 'empirically holds in most iterations'",
            "per NGDiff run (tuned rate, SGD): share of steps where the exact (double "
            "backward) d^T H_R d and d^T H_F d are both positive",
            0.5,
            "above",
            setting=SGD,
        ),
        # 02: the Pareto sweep
        _c(
            "ngdiff.fig1.no_single_c_balances",
            "02_pareto_sweep",
            "NGDiff Sec. 3.1, Fig. 1",
            "balancing retaining and forgetting is difficult: no GDiff(c) both forgets and "
            "keeps the retain set",
            "per seed: the largest ROUGE_R / No-unlearn among the GDiff(c) runs that "
            "forget (ROUGE_F < 0.1; 0 when none does), over the c grid refined where "
            "forgetting flips, all at vanilla GDiff's tuned rate (a diverged run is a "
            "collapse point: ROUGE_F 0, ROUGE_R 0)",
            0.9,
            "below",
            setting=ADAM,
        ),
        _c(
            "ngdiff.fig1.ngdiff_adds_to_gdiff_frontier",
            "02_pareto_sweep",
            "NGDiff Fig. 1",
            "NGDiff (with AutoLR) lies beyond the GDiff(c) frontier",
            "per seed: hypervolume that NGDiff + AutoLR's final point adds to the frontier "
            "of the per-c tuned GDiff(c) sweep (c = 0.1, 0.3, 0.5, 0.7, 0.9, each at its "
            "tuned rate) in ROUGE space (1 - ROUGE_F, ROUGE_R); diverged runs are "
            "collapse points (ROUGE 0), which add nothing",
            0.0,
            "above",
            setting=ADAM,
        ),
        _c(
            "ngdiff.fig1.ngdiff_beats_npo",
            "02_pareto_sweep",
            "NGDiff Fig. 1, Sec. 5.3",
            "NGDiff improves on NPO: comparable forgetting with higher utility",
            "per seed, paired: (1 - ROUGE_F) x ROUGE_R of NGDiff + AutoLR minus that of "
            "NPO (the area each final point dominates in ROUGE space; a diverged run is a "
            "collapse point, area 0)",
            0.0,
            "above",
            setting=ADAM,
        ),
        # 03: the landscape
        _c(
            "ngdiff.fig3.quadratic_in_most_iterations",
            "03_loss_landscape",
            "NGDiff Sec. 4.1, Fig. 3",
            "the quadratic functions in Eq. (6) are well-fitted in most iterations",
            "per NGDiff run (tuned rate, SGD): share of steps whose least-squares parabola "
            "of L_R and of L_F along g_NGDiff both have R^2 >= 0.95",
            0.5,
            "above",
            setting=SGD,
        ),
        _c(
            "ngdiff.remark4_1.fitted_curvature_positive",
            "03_loss_landscape",
            "NGDiff Remark 4.1",
            "the condition g_NGDiff^T H g_NGDiff > 0 empirically holds in most iterations",
            "per NGDiff run (tuned rate, SGD): share of steps where the fitted curvature "
            "of L_R and of L_F along g_NGDiff are both positive",
            0.5,
            "above",
            setting=SGD,
        ),
        _c(
            "ngdiff.fig3.showcase_fit_curvature_positive",
            "03_loss_landscape",
            "NGDiff Fig. 3",
            "L_R and L_F along their own gradients at step 10 are convex parabolas",
            "fitted curvature of L_R and of L_F at the showcase step (a grid built around "
            "the minimum: positive by construction); each row flagged when the fitted eta* "
            "is off the exact one by 2x or more",
            0.0,
            "above",
            kind="sanity",
            statistic="all",
            setting=SGD,
        ),
        _c(
            "gen.three_point_probe_recovers_curvature",
            "03_loss_landscape",
            "GeN (Bu et al. 2024), used by NGDiff Sec. 4.3",
            "two extra forward passes estimate g^T d and d^T H d accurately enough to set "
            "the learning rate",
            "per NGDiff run (tuned rate, SGD), at the showcase step: relative error of "
            "GeN's three-point d^T H_R d at AutoLR's own probe size (the step's rate) "
            "against the exact value (float64 double backward)",
            0.1,
            "below",
            setting=SGD,
        ),
        # 04: learning-rate sensitivity
        *[
            _c(
                f"ngdiff.fig6.gdiff_sensitive_to_rate.{opt}",
                "04_lr_sensitivity",
                "NGDiff Sec. 1, Appendix A, Fig. 6",
                "various learning rates can lead to substantial changes in the ROUGE scores "
                "and loss values even for the same algorithm",
                "per seed: spread (max - min over the fixed rates) of GDiff-0.5's final "
                "ROUGE_R, a diverged run counting ROUGE_R 0",
                0.5,
                "at_least",
                setting=setting,
            )
            for opt, setting in (("adam", ADAM), ("sgd", SGD))
        ],
        *[
            _c(
                f"ngdiff.fig5.autolr_forgets.{opt}",
                "04_lr_sensitivity",
                "NGDiff Sec. 5.4, Fig. 5",
                "with the AutoLR scheduler we observe a steady reduction in the Verbmem "
                "(ROUGE forget close to 0)",
                "per run: final ROUGE_F of NGDiff + AutoLR (plain rule) started from the "
                "middle of the rate grid (the paper's 5e-5 in {1e-5, 5e-5, 1e-4}); a "
                "diverged run has no value",
                0.1,
                "below",
                setting=setting,
            )
            for opt, setting in (("adam", ADAM), ("sgd", SGD))
        ],
        *[
            _c(
                f"ngdiff.fig5.autolr_beats_best_fixed_rate.{opt}",
                "04_lr_sensitivity",
                "NGDiff Sec. 5.4, Fig. 5",
                "the ROUGE retain is 0.747, which is 19.5% higher than the best results "
                "without AutoLR",
                "per seed, paired: final ROUGE_R of NGDiff + AutoLR (plain rule, from the "
                "middle of the grid) minus that of NGDiff at the best fixed rate (tuned on "
                "held-out seeds by the median rule, never on evaluation seeds); a run that "
                "does not forget (ROUGE_F >= 0.1) or diverged counts ROUGE_R 0",
                0.0,
                "above",
                setting=setting,
            )
            for opt, setting in (("adam", ADAM), ("sgd", SGD))
        ],
        # 05: the AutoLR trace
        _c(
            "ngdiff.fig7.forget_gradient_grows",
            "05_autolr_trace",
            "NGDiff Fig. 7, Sec. 4.2",
            "||g_F|| grows during unlearning while ||g_R|| stays small: a rate that suits "
            "the start does not suit the end",
            "per run of NGDiff + AutoLR (plain rule, Adam, from the middle of the grid): "
            "||g_F|| at the last step over ||g_F|| at the first (a diverged run: its last "
            "finished step)",
            10.0,
            "above",
            setting=ADAM,
        ),
        _c(
            "ngdiff.fig7.autolr_rate_rises",
            "05_autolr_trace",
            "NGDiff Fig. 7, Appendix",
            "the automatic learning rate is indeed effective, picking up from 5e-5 to around 2e-4",
            "per run of NGDiff + AutoLR (plain rule, Adam, from the middle of the grid): "
            "final eta over initial eta (a diverged run counts 0)",
            1.0,
            "above",
            setting=ADAM,
        ),
        _c(
            "ngdiff.appc1.autolr_overhead_below_10_percent",
            "05_autolr_trace",
            "NGDiff Appendix C.1",
            "if we update the learning rate every 10 iterations ... the overhead is less "
            "than 10% compared to the regular optimization",
            "per seed: timed seconds per step of NGDiff + AutoLR (plain rule, k = 10) over "
            "those of NGDiff at the same fixed rate (the middle of the grid), minus 1; "
            "paired runs (equal batches, no evaluation, order fixed-AutoLR-AutoLR-fixed)",
            0.1,
            "below",
            setting=ADAM,
        ),
        _c(
            "ngdiff.appc1.autolr_counted_forwards",
            "05_autolr_trace",
            "NGDiff Appendix C.1",
            "3 + 2/10 = 3.2 units of time instead of 3",
            "per seed: forward passes per step of the plain rule with k = 10 minus the "
            "fixed rate's, counted by the engine on the timed runs (2/k by construction)",
            0.2,
            "at_most",
            kind="sanity",
            statistic="all",
            setting=ADAM,
        ),
        # 06: the method comparison
        _c(
            "ngdiff.table1.ngdiff_autolr_forgets",
            "06_method_comparison",
            "NGDiff Table 1, Sec. 5.3",
            "NGDiff remains effective in unlearning F",
            "final ROUGE_F (Verbmem) of NGDiff + AutoLR (a diverged run counts as a collapse: 0)",
            0.1,
            "below",
            setting=ADAM,
        ),
        _c(
            "ngdiff.table1.ngdiff_autolr_keeps_utility",
            "06_method_comparison",
            "NGDiff Table 1, Sec. 5.3",
            "NGDiff remains effective in ... maintaining R across the models",
            "final ROUGE_R / No-unlearn of NGDiff + AutoLR (a diverged run counts 0)",
            0.9,
            "at_least",
            setting=ADAM,
        ),
        _c(
            "ngdiff.table1.gdiff09_fails_to_forget",
            "06_method_comparison",
            "NGDiff Table 1, Sec. 5.3",
            "GDiff-0.9 ... do(es) not unlearn effectively",
            "final ROUGE_F of GDiff-0.9 at its tuned rate (a diverged run counts as a collapse: 0)",
            0.1,
            "at_least",
            setting=ADAM,
        ),
        *[
            _c(
                f"ngdiff.table1.{name}_loses_utility",
                "06_method_comparison",
                "NGDiff Table 1, Sec. 5.3-5.4",
                statement,
                f"final ROUGE_R / No-unlearn of {label} at its tuned rate (a diverged run "
                "counts 0)",
                0.7,
                "below",
                setting=ADAM,
            )
            for name, label, statement in (
                ("gdiff01", "GDiff-0.1", "GDiff-0.1 has close to 0 Utility"),
                ("gdiff05", "GDiff-0.5", "other methods retain only 0 ~ 30% Utility"),
                ("npo", "NPO", "NPO also experiences a significant drop in Utility"),
            )
        ],
        *[
            _c(
                f"ngdiff.table1.ngdiff_autolr_beats_{name}",
                "06_method_comparison",
                "NGDiff Table 1, Sec. 5.4",
                "NGDiff uniquely retains a reasonable Utility ... while other methods "
                "retain only 0 ~ 30% Utility",
                f"per seed, paired: final ROUGE_R / No-unlearn of NGDiff + AutoLR minus "
                f"that of {label} at its tuned rate (a diverged run counts 0)",
                0.0,
                "above",
                setting=ADAM,
            )
            for name, label in (("gdiff05", "GDiff-0.5"), ("npo", "NPO"))
        ],
        _c(
            "ngdiff.table3.autolr_lowers_verbmem",
            "06_method_comparison",
            "NGDiff Table 3, Sec. 5.4",
            "all methods exhibit ... a decrease in Verbmem (with AutoLR)",
            "per seed: mean over the Table 3 methods (GDiff-0.9, 0.5, 0.1, NPO, LossNorm, "
            "NGDiff; none left out) of the paired change in final ROUGE_F with AutoLR "
            "minus without (a diverged run counts as a collapse: 0)",
            0.0,
            "below",
            setting=ADAM,
        ),
        _c(
            "ngdiff.table3.autolr_raises_truth_ratio",
            "06_method_comparison",
            "NGDiff Table 3, Sec. 5.4",
            "all methods exhibit an increase in the TruthRatio metric (with AutoLR)",
            "per seed: mean over the Table 3 methods (GDiff-0.9, 0.5, 0.1, NPO, LossNorm, "
            "NGDiff; none left out) of the paired change in the retain TruthRatio with "
            "AutoLR minus without (a diverged run counts 0, the scale's worst)",
            0.0,
            "above",
            setting=ADAM,
        ),
        _c(
            "ngdiff.fig4.ngdiff_keeps_retain_throughout",
            "06_method_comparison",
            "NGDiff Fig. 4, Sec. 5.3",
            "only NGDiff preserve(s) the model utility above 75% ROUGE score",
            "per run of NGDiff + AutoLR: the lowest ROUGE_R / No-unlearn over its "
            "evaluation steps (every 5 of 40 and the final one; a diverged run counts 0)",
            0.75,
            "at_least",
            setting=ADAM,
        ),
        _c(
            "ngdiff.fig4.gdiff07_forgets",
            "06_method_comparison",
            "NGDiff Fig. 4, Sec. 5.3",
            "GDiff with c=0.5 and c=0.7, and NGDiff are effective in unlearning",
            "final ROUGE_F of GDiff-0.7 at its tuned rate (a diverged run counts as a collapse: 0)",
            0.1,
            "below",
            setting=ADAM,
        ),
        # 07: shared vs decoupled optimizer state
        _c(
            "dualoptim.theorem.decoupled_variance_le_shared",
            "07_momentum_variance",
            "DualOptim slides, Recipe 2, Theorem",
            "for all t, Var(theta_D) <= Var(theta_S) under the assumptions (bounded noise, "
            "same-task correlation <= tau, negligible cross-task correlation, L-smooth)",
            "per distinct setting (a, eta, tau; rho = 0; sigma drops out) of the exact "
            "covariance recursion: 1 when decoupled <= shared at every t for theta_f and "
            "theta_r, 0 otherwise (divergence of either counts as 0)",
            1.0,
            "at_least",
            statistic="all",
            setting="noisy quadratics, SGD momentum (Eq. 1), same (a, eta) for both schemes",
        ),
        _c(
            "dualoptim.theorem.simulated_variance_default",
            "07_momentum_variance",
            "DualOptim slides, Recipe 2 (Eq. 1)",
            "the variance of the model parameters by decoupled momentum is theoretically "
            "guaranteed smaller compared with shared momentum after the same number of "
            "iterations",
            "per simulated replica: theta_r at the last t under decoupled momentum "
            "(value) and under shared momentum (reference, independent replicas); "
            "statistic: np.std of the values over np.std of the references",
            1.0,
            "below",
            statistic="std_ratio",
            setting="noisy quadratics, SGD momentum (Eq. 1), a = 0.9, eta = 0.1, sigma = 1, "
            "tau = rho = 0 (every assumption holds), Monte Carlo",
        ),
        _c(
            "dualoptim.recipe1.forget_gradients_larger",
            "07_momentum_variance",
            "DualOptim slides, Recipe 1",
            "there is a big discrepancy between the gradients on L_f and the ones on L_r",
            "per seed of Alternate (official protocol, its tuned forget rate, the first "
            "schedule: 1:5 by default): median ||grad L_f|| over median ||grad L_r|| "
            "across its updates (norms before clipping; a diverged run: its updates "
            "before it diverged)",
            10.0,
            "above",
            setting="DualOptim's official protocol (Adam), T_f:T_r = 1:5",
        ),
        *[
            _c(
                f"dualoptim.slides.{scheme}_more_stable.{schedule}",
                "07_momentum_variance",
                "DualOptim slides, Recipe 2, Algorithm 1, image tables (Std)",
                "mixing the statistics ... may cause unstable performance; decoupled "
                "optimizer states give a smaller Std over runs",
                f"per seed: the final ROUGE_R of {label} (value) and of Alternate "
                f"(reference), each at its own tuned forget rate, the retain rate fixed "
                f"(official protocol, T_f:T_r = {schedule.replace('to', ':')}; a diverged "
                "run counts 0); statistic: np.std over seeds (ddof 0) of the values over "
                "that of the references"
                + ("; DualOptim+ is this project's construction" if "plus" in scheme else ""),
                1.0,
                "below",
                statistic="std_ratio",
                setting=f"DualOptim's official protocol, {schedule.replace('to', ':')}",
            )
            for scheme, label in (("dualoptim", "DualOptim"), ("dualoptim_plus", "DualOptim+"))
            for schedule in ("1to5", "1to1")
        ],
        # 08: images
        _c(
            "ngdiff.table4.all_methods_forget_the_class",
            "08_vision_unlearning",
            "NGDiff Appendix D, Table 4",
            "all methods successfully reduce the forget accuracy to 0",
            "per seed: the largest final FA over the Table 4 methods at their tuned rates "
            "(class task; a diverged run counts FA 1)",
            0.1,
            "below",
            setting=SGD,
        ),
        _c(
            "ngdiff.table4.ngdiff_highest_retain_accuracy",
            "08_vision_unlearning",
            "NGDiff Appendix D, Table 4",
            "the retaining accuracy of NGDiff remains the highest",
            "per seed, paired: RA of NGDiff (with or without AutoLR, the better) minus the "
            "best RA of the other Table 4 methods, each counted only where its run forgets "
            "(FA < 0.1; else, or diverged, RA 0), class task",
            0.0,
            "above",
            setting=SGD,
        ),
    ]
}


def claim(claim_id: str) -> Claim:
    """A claim by id, with a clear error for an unknown one."""
    if claim_id not in REGISTRY:
        raise KeyError(f"unknown claim id {claim_id!r}; see nbutils.claims.REGISTRY")
    return REGISTRY[claim_id]


def of_notebook(stem: str) -> list[Claim]:
    return [c for c in REGISTRY.values() if c.notebook == stem]


# --------------------------------------------------------------------------- verdicts

MEASUREMENT_COLUMNS = ("claim", "draw", "seed", "value")


def measurement(claim_id: str, draw: int, values, seeds=None, references=None) -> pd.DataFrame:
    """Rows of a measurement table for one claim and one draw: one per run (``values``,
    with its ``seeds``; 0, 1, ... when not given) and, for ratio statistics, the paired
    ``references``."""
    claim(claim_id)
    values = list(values)
    rows = pd.DataFrame(
        {
            "claim": claim_id,
            "draw": draw,
            "seed": list(seeds) if seeds is not None else list(range(len(values))),
            "value": np.asarray(values, dtype=float),
        }
    )
    if references is not None:
        rows["reference"] = np.asarray(list(references), dtype=float)
    return rows


def evaluate(measurements: pd.DataFrame, over_draws: bool = False) -> pd.DataFrame:
    """One row per claim of ``measurements``: the registry's fields, ``value`` (the
    claim's statistic over runs: over several draws, the mean of the draw means, or the
    geometric mean of the draws' std ratios), ``low``/``high`` (its 95% interval, NaN
    where there is none), ``interval`` (the method: a calibrated t over the draw means or
    over one draw's seeds, a t on log std ratios over draws, a calibrated F over one
    draw's seeds, "exact" for exact statistics), ``note`` (what limits the verdict: "one
    draw", "one run: no interval", ...; "" when nothing does), ``n_runs``,
    ``n_finished`` (runs with a value), ``n_draws`` and ``verdict``. With
    ``over_draws`` (the scorecard's pooled column) the interval must cover another
    benchmark draw: a claim measured on one draw has none there (inconclusive, "one
    draw: no interval over draws"). See ``stats.estimate_mean``,
    ``stats.estimate_std_ratio`` and ``stats.exact_minimum``."""
    rows = []
    for claim_id, part in measurements.groupby("claim", sort=False):
        spec = claim(claim_id)
        paired = "reference" in part and part["reference"].notna().any()
        columns = ["value", "reference"] if paired else ["value"]
        table = part[columns].to_numpy(dtype=float)
        finite = np.isfinite(table).all(axis=1)
        draws = part["draw"].to_numpy()
        estimate = STATISTICS[spec.statistic](table[finite], draws[finite], over_draws)
        rows.append(
            {
                **asdict(spec),
                "value": estimate.value,
                "low": estimate.low,
                "high": estimate.high,
                "interval": estimate.interval,
                "note": estimate.note,
                "n_runs": len(part),
                "n_finished": int(finite.sum()),
                "n_draws": int(part["draw"].nunique()),
                "verdict": stats.verdict(
                    estimate.low, estimate.high, spec.threshold, spec.direction
                ),
            }
        )
    return pd.DataFrame(rows)


def threshold_text(direction: str, threshold: float) -> str:
    """A claim's threshold as tables print it, e.g. ``below 0.1``."""
    return f"{direction.replace('_', ' ')} {threshold:g}"


def verdict_table(verdicts: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``evaluate``'s verdicts as every notebook prints them, by claim id: evidence first
    and sanity checks (true by construction, never evidence) apart, each with its kind,
    setting, value and 95% interval, threshold, runs (finished/all), verdict and note
    ("one draw", "one run: no interval", ...)."""

    def number(x) -> str:
        return f"{x:.{digits}g}" if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"

    order = verdicts["kind"].map({"evidence": 0, "sanity": 1}).fillna(2)
    v = verdicts.assign(order=order).sort_values("order", kind="stable")
    return pd.DataFrame(
        {
            "claim": v["id"],
            "kind": v["kind"],
            "setting": v["setting"],
            "value [95% interval]": [
                f"{number(x)} [{number(lo)}, {number(hi)}]"
                for x, lo, hi in zip(v["value"], v["low"], v["high"])
            ],
            "threshold": [threshold_text(d, t) for d, t in zip(v["direction"], v["threshold"])],
            "runs": [f"{f}/{n}" for f, n in zip(v["n_finished"], v["n_runs"])],
            "verdict": v["verdict"],
            "note": v["note"] if "note" in v else "",
        }
    ).set_index("claim")


def for_sidecar(verdicts: pd.DataFrame, measurements: pd.DataFrame, ids: list[str]) -> dict:
    """The claims a figure shows, as its sidecar carries them: per id the verdict row (a
    value without an interval has ``low``/``high`` None, its note says why) and every
    run's value (``runs``), which the scorecard pools over draws."""
    out = {}
    for claim_id in ids:
        row = verdicts[verdicts["id"] == claim_id].iloc[0].to_dict()
        if math.isfinite(row["value"]) and not math.isfinite(row["low"]):
            row["low"] = row["high"] = None  # no interval: the note says why
        runs = measurements[measurements["claim"] == claim_id].drop(columns="claim")
        out[claim_id] = {**row, "runs": runs.to_dict(orient="records")}
    return finite_claims(out)


def runs_of(sidecar_claims: dict) -> pd.DataFrame:
    """The measurement table back from sidecar claims (``for_sidecar``'s ``runs``)."""
    parts = [
        pd.DataFrame(entry["runs"]).assign(claim=claim_id)
        for claim_id, entry in sidecar_claims.items()
        if isinstance(entry, dict) and "runs" in entry and claim_id in REGISTRY
    ]
    if not parts:
        return pd.DataFrame(columns=MEASUREMENT_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    for column in ("value", "reference"):  # a run without a value was written as words
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


# --------------------------------------------------------------------------- formatting

SUMMARY_COLUMNS = {
    "rouge_forget": "rouge_forget",
    "rouge_retain": "rouge_retain",
    "truth_ratio": "truth_ratio_retain",
}


def finite_claims(values: dict) -> dict:
    """Claims for a sidecar: NaN / inf (every run diverged) become a string saying so."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = finite_claims(value)
        elif isinstance(value, list):
            out[key] = [finite_claims(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            out[key] = "not finite (every run diverged)"
        else:
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def finite_or(value, missing: str = "n/a (no finished run)"):
    """A claim value: the float when finite, else a string saying why there is none."""
    value = float(value)
    return value if math.isfinite(value) else missing


def method_summary(finals: pd.DataFrame, labels: list[str]) -> dict:
    """Per method: mean and std (0 for a single finished run) over finished runs of
    ROUGE_F, ROUGE_R and the retain-side Truth Ratio."""
    table = group_stats(finals, "label", list(SUMMARY_COLUMNS.values())).set_index("label")
    return {
        label: {
            **{
                name: float(table.loc[label, f"{col}_mean"])
                for name, col in SUMMARY_COLUMNS.items()
            },
            **{
                f"{name}_std": float(np.nan_to_num(table.loc[label, f"{col}_std"], nan=0.0))
                for name, col in SUMMARY_COLUMNS.items()
            },
        }
        for label in labels
    }
