"""Algorithm 1 of the DualOptim slides on the tiny language model (notebook 07, part 2)."""

import numpy as np
import pandas as pd
import pytest

from nbutils.engine import lm, tuning
from nbutils.engine import runs as R
from nbutils.engine.loop import Run
from nbutils.engine.optim import LABELS
from nbutils.studies.momentum import language_model, official_protocol, verdicts

SMALL = dict(batch_size=8, eval_retain=10, max_new_tokens=8)


def test_alternating_run_follows_the_schedule(small_bench, small_target):
    r = language_model.lm_run(
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
    steps = language_model.steps_table([r])
    assert list(steps.task) == ["forget", "forget", "retain"] * 2
    assert list(steps.budget) == list(range(1, 7))
    assert list(language_model.evaluations([r]).budget) == [0, 3, 6]
    assert r.diverged_at is None and set(r.final) >= {"rouge_forget", "rouge_retain"}


def test_same_seed_same_run_and_another_seed_another(small_bench, small_target):
    go = lambda seed: language_model.lm_run(
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
    r = language_model.lm_run(
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
    steps = language_model.steps_table([r])
    assert set(steps.task) == {"forget"}
    assert steps.loss.iloc[-1] > 2 * steps.loss.iloc[0]


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 1e-3)])
def test_joint_run_with_shared_state_is_the_engines_ngdiff(
    small_bench, small_target, optimizer, lr
):
    ours = language_model.lm_run(
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
    assert language_model.evaluations([ours]).budget.tolist() == [0, 4, 8]


def test_joint_run_with_decoupled_adam_differs(small_bench, small_target):
    go = lambda scheme: language_model.lm_run(
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
    r = language_model.lm_run(
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
    ours = language_model.lm_run(
        small_target, small_bench, "dualoptim", lr=1e-3, budget=4, eval_every=2, label="DO", **SMALL
    )
    config = R.Config("NGDiff", "NGDiff", 0.1)
    protocol = R.Protocol(steps=2, batch_size=8, eval_every=1, eval_retain=10, max_new_tokens=8)
    engine = R.run_config(small_target, small_bench, config, protocol, seed=0, cache=False)
    start = {"rouge_forget": 1.0, "rouge_retain": 1.0}
    long = language_model.evaluations([ours, engine], start=start)
    assert long.groupby("label").budget.apply(list).to_dict() == {
        "DO": [0, 2, 4],
        "NGDiff": [0, 2, 4],
    }
    assert (long[long.budget == 0].rouge_forget == 1.0).all()
    table = R.finals_table([ours, engine])
    assert list(table.label) == ["DO", "NGDiff"] and table.rouge_retain.notna().all()


# ------------------------------------------------------------------ the official protocol

OFFICIAL = dict(batch_size=8, epochs=2, eval_retain=10, max_new_tokens=8)


def test_official_run_follows_the_official_protocol(
    small_bench, small_target, tmp_path, monkeypatch
):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path))  # not a run another test computed
    from nbutils.engine.alternator import linear_schedule, official_steps

    protocol = official_protocol.Official(schedule="1:5", retain_lr=1e-3, **OFFICIAL)
    steps, warmup = protocol.steps(small_bench)
    assert (steps, warmup) == official_steps(10, 90, 8, 1, 5, 2) == (24, 12)
    r = official_protocol.official_run(
        small_target, small_bench, "dualoptim", 3e-3, protocol, 0, evaluations=2
    )
    updates = r.history[r.history.task.notna()]
    assert list(updates.task[:7]) == ["forget"] + ["retain"] * 5 + ["forget"]
    factor = linear_schedule(steps, warmup)
    rates = {"forget": 3e-3, "retain": 1e-3}
    expected = [rates[task] * factor(t) for t, task in zip(updates.step, updates.task)]
    np.testing.assert_allclose(updates.lr, expected, rtol=1e-12)
    assert updates.lr.iloc[0] == 0.0 and (updates.grad_norm > 0).all()  # warm-up from 0
    assert language_model.evaluations([r]).budget.tolist() == [0, 12, 24]
    assert r.config == {
        "scheme": "dualoptim",
        "schedule": "1:5",
        "forget_lr": 3e-3,
        "retain_lr": 1e-3,
        "optimizer": "adam",
    }
    again = official_protocol.official_run(
        small_target, small_bench, "dualoptim", 3e-3, protocol, 0, evaluations=2
    )
    assert again.from_cache and not r.from_cache
    pd.testing.assert_frame_equal(again.history, r.history, check_dtype=False)
    other = official_protocol.official_run(
        small_target, small_bench, "alternate", 3e-3, protocol, 0
    )
    assert not other.from_cache and list(language_model.evaluations([other]).budget) == [24]


def test_official_protocol_checks_its_fields():
    with pytest.raises(ValueError, match="schedule"):
        official_protocol.Official(schedule="1:0")
    with pytest.raises(ValueError, match="retain_lr"):
        official_protocol.Official(retain_lr=0.0)
    assert official_protocol.smoke_rates([1e-2, 1e-4, 1e-3]) == (1e-3,)
    assert official_protocol.smoke_rates([1e-3, 3e-3, 1e-2, 3e-2]) == (1e-2,)


def test_run_official_tunes_each_scheme_and_schedule(small_bench, small_target):
    from nbutils import claims

    options = dict(retain_lr=1e-3, **{**OFFICIAL, "epochs": 1})
    requests = official_protocol.official_requests(
        small_target,
        small_bench,
        ["alternate", "dualoptim"],
        ["1:5", "1:1"],
        forget_lrs=[1e-3, 1e-2],
        draw=0,
        n_seeds=1,
        **options,
    )
    tuned = dict(zip([r.name for r in requests], tuning.tune(requests, progress=False)))
    results = official_protocol.run_official(
        small_target,
        small_bench,
        ["alternate", "dualoptim"],
        ["1:5", "1:1"],
        tuned,
        seeds=[0, 1],
        **options,
    )
    assert set(results.tunings) == {
        (k, s) for k in ("alternate", "dualoptim") for s in ("1:5", "1:1")
    }
    assert all(set(t.runs.seed) == {1000} for t in results.tunings.values())  # held out
    finals = results.finals
    assert len(finals) == 8 and set(finals.schedule) == {"1:5", "1:1"}
    for (scheme, schedule), chosen in results.tunings.items():
        mine = finals[(finals.scheme == scheme) & (finals.schedule == schedule)]
        assert set(mine.forget_lr) == {chosen.lr} and set(mine.retain_lr) == {1e-3}
    assert results.rates().shape == (2, 2)
    rows = verdicts.measure_stability(finals, draw=0)
    assert set(rows.claim) == {
        "dualoptim.slides.dualoptim_more_stable.1to5",
        "dualoptim.slides.dualoptim_more_stable.1to1",
    }
    assert rows.reference.notna().all() and len(claims.evaluate(rows)) == 2
    settings = verdicts.stability_settings(results, 1e-3)
    assert "T_f:T_r = 1:5" in settings["dualoptim.slides.dualoptim_more_stable.1to5"]
    assert (
        f"DualOptim {results.tunings['dualoptim', '1:5'].lr:g}"
        in settings["dualoptim.slides.dualoptim_more_stable.1to5"]
    )


def test_unified_sgd_runs_use_one_rate_for_both_tasks(small_bench, small_target):
    protocol = official_protocol.Official(
        schedule="1:1", retain_lr=1e-3, **{**OFFICIAL, "epochs": 1}
    )
    request = official_protocol.unified_rate_request(
        small_target,
        small_bench,
        official_protocol.sgd_protocol(protocol),
        [0.1],
        draw=0,
        n_seeds=1,
    )
    [unified] = tuning.tune([request], progress=False)
    runs = official_protocol.unified_sgd_runs(small_target, small_bench, protocol, unified, [0])
    assert unified.lr == 0.1 and runs[0].config["forget_lr"] == runs[0].config["retain_lr"] == 0.1
    assert runs[0].config["optimizer"] == "sgd"


def planted_finals(alternate, dualoptim, schedule="1:5", diverged=()):
    """A finals table by hand: Alternate's and DualOptim's final ROUGE_R per seed."""
    rows = []
    for scheme, values in (("alternate", alternate), ("dualoptim", dualoptim)):
        for seed, value in enumerate(values):
            gone = (scheme, seed) in diverged
            rows.append(
                {
                    "scheme": scheme,
                    "label": LABELS[scheme],
                    "schedule": schedule,
                    "forget_lr": 1e-3,
                    "seed": seed,
                    "diverged_at": 3 if gone else None,
                    "rouge_forget": None if gone else 0.05,
                    "rouge_retain": None if gone else value,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("schedule", ["1:5", "1:1"])
def test_stability_claim_holds_and_a_planted_spread_flips_it(schedule):
    from nbutils import claims

    wide, narrow = [0.1, 0.9, 0.2, 0.8, 0.5], [0.50, 0.52, 0.49, 0.51, 0.50]
    claim_id = verdicts.stability_claim("dualoptim", schedule)
    verdict = lambda finals: claims.evaluate(verdicts.measure_stability(finals, 0)).iloc[0]  # noqa: E731
    row = verdict(planted_finals(wide, narrow, schedule))
    assert row["id"] == claim_id and row["verdict"] == "holds"
    assert row["value"] == pytest.approx(np.std(narrow) / np.std(wide))
    assert verdict(planted_finals(narrow, wide, schedule))["verdict"] == "fails"
    # a diverged DualOptim run counts ROUGE_R 0: its spread grows past Alternate's ...
    gone = planted_finals(wide, narrow, schedule, diverged={("dualoptim", 2)})
    rows = verdicts.measure_stability(gone, 0)
    assert rows.set_index("seed").value[2] == 0.0
    row = verdict(gone)
    assert row["value"] == pytest.approx(np.std([0.50, 0.52, 0.0, 0.51, 0.50]) / np.std(wide))
    # ... but one collapse in five decides nothing: the third of the resamples that miss
    # seed 2 keep DualOptim's narrow spread, those that draw it twice exceed Alternate's
    assert row["low"] < 0.1 and row["high"] > 1 and row["verdict"] == "inconclusive"


@pytest.mark.parametrize("schedule", ["1:5", "1:1"])
def test_stability_claim_fails_when_half_of_dualoptims_runs_diverge(schedule):
    """Ten seeds, DualOptim's even ones diverged (ROUGE_R 0) and its others at 0.5:
    np.std 0.25 against Alternate's 0.01, a ratio of 25; a resample misses every
    collapse (or draws nothing else) with probability 2 / 2^10, far below 2.5%."""
    from nbutils import claims

    alternate, dualoptim = [0.49, 0.51] * 5, [0.5] * 10
    collapsed = {("dualoptim", seed) for seed in range(0, 10, 2)}
    rows = verdicts.measure_stability(planted_finals(alternate, dualoptim, schedule, collapsed), 0)
    row = claims.evaluate(rows).iloc[0]
    assert row["value"] == pytest.approx(25.0)
    assert row["low"] > 1 and row["verdict"] == "fails"


def test_stability_claim_ids_and_plus_scheme():
    assert verdicts.stability_claim("dualoptim+", "1:1") == (
        "dualoptim.slides.dualoptim_plus_more_stable.1to1"
    )
    assert verdicts.stability_claim("alternate", "1:5") is None
    assert verdicts.stability_claim("dualoptim", "2:3") is None  # no registry entry: not measured
    finals = planted_finals([0.1, 0.9], [0.5, 0.6], schedule="2:3")
    assert verdicts.measure_stability(finals, 0).empty


def run_with_norms(seed, forget, retain, diverged_at=None):
    history = pd.DataFrame(
        {
            "step": range(len(forget) + len(retain)),
            "task": ["forget"] * len(forget) + ["retain"] * len(retain),
            "grad_norm": list(forget) + list(retain),
        }
    )
    return Run("Alternate", seed, history, 0.0, diverged_at)


def test_recipe1_claim_by_hand_and_a_planted_run_flips_it():
    from nbutils import claims

    # the forget norms shift by seed (+s): runs that all gave one ratio would get no interval
    big = [run_with_norms(s, [20.0 + s, 40.0 + s, 30.0 + s], [1.0, 2.0, 3.0]) for s in range(4)]
    table = verdicts.gradient_norm_ratios(big)
    # by hand: median 30 + s over median 2
    assert table.ratio.tolist() == [15.0, 15.5, 16.0, 16.5]
    assert claims.evaluate(verdicts.measure_recipe1(big, 0)).iloc[0]["verdict"] == "holds"
    small = [
        run_with_norms(s, [2.0 + s / 10, 4.0 + s / 10, 3.0 + s / 10], [1.0, 2.0, 3.0])
        for s in range(4)
    ]
    assert claims.evaluate(verdicts.measure_recipe1(small, 0)).iloc[0]["verdict"] == "fails"
    # a run without retain updates has no ratio: counted, not finished
    rows = verdicts.measure_recipe1([*big, run_with_norms(9, [5.0], [], diverged_at=1)], 0)
    row = claims.evaluate(rows).iloc[0]
    assert (row["n_runs"], row["n_finished"]) == (5, 4)


def test_std_table_uses_ddof_0_and_counts_diverged_runs():
    finals = planted_finals([0.2, 0.4], [0.5, 0.5], diverged={("dualoptim", 1)})
    table = verdicts.std_table(finals)
    assert table.loc[("1:5", "Alternate"), "rouge_retain_std"] == pytest.approx(0.1)
    assert table.loc[("1:5", "DualOptim"), "rouge_retain_std"] == pytest.approx(0.25)
    assert table.loc[("1:5", "DualOptim"), "diverged"] == 1


def test_verdict_table_names_each_setting():
    from nbutils import claims

    rows = verdicts.measure_stability(planted_finals([0.1, 0.9, 0.3], [0.5, 0.6, 0.55]), 0)
    evaluated = claims.evaluate(rows)
    named = verdicts.with_settings(evaluated, {rows.claim.iloc[0]: "official, 1:5, rates 1e-3"})
    table = claims.verdict_table(named)
    assert table.loc[rows.claim.iloc[0], "setting"] == "official, 1:5, rates 1e-3"
    assert table.loc[rows.claim.iloc[0], "runs"] == "3/3"
    assert verdicts.stability_ids(named) == [rows.claim.iloc[0]]
