"""Algorithm 1 of the DualOptim slides on the tiny language model (notebook 07, part 2)."""

import pandas as pd
import pytest

import nbutils
from nbutils.engine import lm
from nbutils.engine import runs as R
from nbutils.studies import momentum_variance as M

SMALL = dict(batch_size=8, eval_retain=10, max_new_tokens=8)


def test_alternating_run_follows_the_schedule(small_bench, small_target):
    r = M.lm_run(
        small_target,
        small_bench,
        "dualoptim+",
        lr=1e-3,
        budget=7,
        forget_steps=2,
        retain_steps=1,
        eval_every=3,
        **SMALL,
    )
    # budget 7 with T_f + T_r = 3: two outer loops, 6 gradient evaluations
    steps = M.steps_table([r])
    assert list(steps.task) == ["forget", "forget", "retain"] * 2
    assert list(steps.budget) == list(range(1, 7))
    assert list(M.evaluations([r]).budget) == [0, 3, 6]
    assert r.diverged_at is None and set(r.final) >= {"rouge_forget", "rouge_retain"}


def test_same_seed_same_run_and_another_seed_another(small_bench, small_target):
    go = lambda seed: M.lm_run(
        small_target,
        small_bench,
        "alternate",
        lr=1e-3,  # noqa: E731
        budget=6,
        eval_every=None,
        seed=seed,
        **SMALL,
    )
    a, b, c = go(0), go(0), go(1)
    pd.testing.assert_frame_equal(a.history, b.history, check_exact=True)
    assert not a.history.loss.equals(c.history.loss)


def test_forget_steps_ascend_the_forget_loss(small_bench, small_target):
    r = M.lm_run(
        small_target,
        small_bench,
        "alternate",
        lr=0.3,
        optimizer="sgd",
        budget=8,
        retain_steps=0,
        eval_every=None,
        **SMALL,
    )
    steps = M.steps_table([r])
    assert set(steps.task) == {"forget"}
    assert steps.loss.iloc[-1] > 2 * steps.loss.iloc[0]


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 1e-3)])
def test_joint_run_with_shared_state_is_the_engines_ngdiff(
    small_bench, small_target, optimizer, lr
):
    ours = M.lm_run(
        small_target,
        small_bench,
        "alternate",
        joint=True,
        lr=lr,
        optimizer=optimizer,
        budget=8,
        eval_every=4,
        seed=2,
        **SMALL,
    )
    engine = lm.unlearn_lm(
        small_target.model,
        small_target.tokenizer,
        small_bench,
        "NGDiff",
        steps=4,
        lr=lr,
        optimizer=optimizer,
        eval_every=2,
        progress=False,
        seed=2,
        batch_size=8,
        eval_retain=10,
        max_new_tokens=8,
    ).history
    pd.testing.assert_frame_equal(ours.history, engine, check_exact=True)
    assert M.evaluations([ours]).budget.tolist() == [0, 4, 8]


def test_joint_run_with_decoupled_adam_differs(small_bench, small_target):
    go = lambda scheme: M.lm_run(
        small_target,
        small_bench,
        scheme,
        joint=True,  # noqa: E731
        lr=1e-3,
        budget=6,
        eval_every=None,
        **SMALL,
    )
    shared, decoupled = go("alternate"), go("dualoptim")
    first = ["loss_retain", "loss_forget"]
    assert shared.history[first].iloc[0].tolist() == decoupled.history[first].iloc[0].tolist()
    assert shared.final["split_loss_retain"] != decoupled.final["split_loss_retain"]


def test_a_non_finite_loss_stops_the_run(small_bench, small_target):
    r = M.lm_run(
        small_target,
        small_bench,
        "alternate",
        lr=1e9,
        optimizer="sgd",
        budget=40,
        eval_every=None,
        **SMALL,
    )
    assert r.diverged_at is not None and r.diverged_at < 40
    assert r.final == {"diverged_at": r.diverged_at}


def test_evaluations_and_finals_tables(small_bench, small_target):
    ours = M.lm_run(
        small_target, small_bench, "dualoptim", lr=1e-3, budget=4, eval_every=2, label="DO", **SMALL
    )
    config = R.Config("NGDiff", "NGDiff", 0.1)
    protocol = R.Protocol(steps=2, batch_size=8, eval_every=1, eval_retain=10, max_new_tokens=8)
    engine = R.run_config(small_target, small_bench, config, protocol, seed=0, cache=False)
    start = {"rouge_forget": 1.0, "rouge_retain": 1.0}
    long = M.evaluations([ours, engine], start=start)
    assert long.groupby("label").budget.apply(list).to_dict() == {
        "DO": [0, 2, 4],
        "NGDiff": [0, 2, 4],
    }
    assert (long[long.budget == 0].rouge_forget == 1.0).all()
    table = R.finals_table([ours, engine])
    assert list(table.label) == ["DO", "NGDiff"] and table.rouge_retain.notna().all()


def test_std_verdict_compares_each_scheme_with_alternate():
    finals = pd.DataFrame(
        {
            "label": ["Alternate"] * 2 + ["DualOptim"] * 2 + ["DualOptim+"] * 2,
            "rouge_forget": [0.0] * 6,
            "rouge_retain": [0.5, 0.9, 0.7, 0.8, 0.2, 1.0],
            "diverged_at": [None] * 6,
        }
    )
    summary = nbutils.stats.group_stats(finals, "label", M.FINAL_METRICS).set_index("label")
    text = M.std_verdict(summary, n_seeds=2)
    assert "DualOptim reduces" in text and "DualOptim+ does not reduce" in text
    assert "Alternate 0.283" in text  # std of (0.5, 0.9), ddof = 1
