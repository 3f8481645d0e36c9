"""Truth Ratio at the final evaluation only (issue 15): a run's intermediate evaluations
score ROUGE and losses, its last one also Truth Ratio and the per-question forget values;
forget quality is TOFU's KS test on those values."""

import math

import numpy as np
import pytest
from scipy import stats

from nbutils.core import metrics
from nbutils.engine import loop
from nbutils.engine import runs as X

CURVES = X.Protocol(
    steps=4,
    batch_size=8,
    eval_every=2,
    eval_retain=10,
    max_new_tokens=8,
    truth_ratio=True,
    lr_grid=(0.1,),
)


def test_run_loop_marks_only_the_evaluation_after_the_last_step_final():
    seen = []
    run = loop.run_loop(
        lambda t: {"x": t},
        6,
        label="count",
        seed=0,
        evaluate=lambda final: seen.append(final) or {"final": final},
        eval_every=4,
    )
    assert seen == [False, False, True]  # before steps 0 and 4, then after step 5
    assert list(run.history.dropna(subset=["final"])["step"]) == [0, 4, 6]


def test_truth_ratio_is_scored_at_the_final_evaluation_only(small_bench, small_target):
    run = X.run_config(small_target, small_bench, X.Config("NGDiff", "NGDiff", 0.1), CURVES, 0)
    history = run.history
    evaluated = history[history["rouge_forget"].notna()]
    assert list(evaluated["step"]) == [0, 2, 4]  # two intermediate, one final
    assert evaluated["truth_ratio_retain"].isna().tolist() == [True, True, False]
    final = run.final
    assert {"truth_ratio_retain", "truth_ratio_forget", "truth_ratio_forget_values"} <= set(final)
    values = np.asarray(final["truth_ratio_forget_values"])
    assert len(values) == len([r for r in small_bench.forget if r.perturbed_answers])
    # the forget summary is mean(min(TR, 1/TR)) of the very values stored
    summary = np.mean(np.minimum(values, 1 / (values + metrics.GUARD)))
    assert final["truth_ratio_forget"] == pytest.approx(summary)
    # the cached copy carries the list too
    again = X.run_config(small_target, small_bench, X.Config("NGDiff", "NGDiff", 0.1), CURVES, 0)
    assert again.from_cache
    assert again.final["truth_ratio_forget_values"] == pytest.approx(list(values))
    # the same run without curves ends at the same final numbers
    once = X.run_config(
        small_target,
        small_bench,
        X.Config("NGDiff", "NGDiff", 0.1),
        X.Protocol(**{**CURVES.__dict__, "eval_every": None}),
        0,
    )
    assert once.final["rouge_forget"] == final["rouge_forget"]
    assert once.final["truth_ratio_retain"] == final["truth_ratio_retain"]


def test_evaluate_target_gives_the_per_question_values(small_bench, small_target):
    numbers = X.evaluate_target(small_target, small_bench, CURVES)
    values = np.array(numbers["truth_ratio_forget_values"])
    assert len(values) == len(small_bench.forget)  # one per forget question
    # the forget summary is TOFU's mean(min(TR, 1/TR)) over exactly these values
    summary = np.minimum(values, 1 / values).mean()
    assert numbers["truth_ratio_forget"] == pytest.approx(summary, rel=1e-6)
    plain = metrics.evaluate(
        small_target.model, small_target.tokenizer, small_bench, retain_limit=10, max_new_tokens=8
    )
    assert "truth_ratio_forget_values" not in plain  # opt-in


def test_forget_quality_is_the_ks_p_value_and_invariant_to_inversion():
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(0, 1, 40), rng.lognormal(0.5, 1, 30)
    assert metrics.forget_quality(a, b) == pytest.approx(stats.ks_2samp(a, b).pvalue)
    # TOFU's exp(L_pert - L_para) is 1/TR: the same test
    assert metrics.forget_quality(1 / a, 1 / b) == pytest.approx(metrics.forget_quality(a, b))
    assert metrics.forget_quality(a, a) == pytest.approx(1.0)
    assert metrics.forget_quality(np.full(20, 1e-6), np.full(20, 0.5)) < 1e-6
    assert math.isnan(metrics.forget_quality([], b))
