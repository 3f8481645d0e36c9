"""The claims registry and its verdicts: every claim well formed, verdicts by hand, the
sidecar round trip the scorecard relies on."""

import math

import numpy as np
import pandas as pd
import pytest

from nbutils import claims
from nbutils.reproduce import catalog


def test_every_claim_is_well_formed_and_names_its_notebook():
    assert len(claims.REGISTRY) == len({c.id for c in claims.REGISTRY.values()})
    for c in claims.REGISTRY.values():
        assert c.notebook in catalog.NOTEBOOKS, c.id
        assert c.statement and c.quantity and c.source, c.id
        assert c.id.split(".")[0] in ("ngdiff", "dualoptim", "gen"), c.id


def test_enough_evidence_and_every_verdict_notebook_contributes():
    evidence = [c for c in claims.REGISTRY.values() if c.kind == "evidence"]
    assert len(evidence) >= 25
    assert {c.notebook for c in evidence} >= set(catalog.NOTEBOOKS) - {"00_tour"}


def test_identities_and_counted_costs_are_sanity_not_evidence():
    assert claims.claim("ngdiff.lemma4.ngdiff_in_eq7_region").kind == "sanity"
    assert claims.claim("ngdiff.appc1.autolr_counted_forwards").kind == "sanity"
    assert claims.claim("ngdiff.appc1.autolr_overhead_below_10_percent").kind == "evidence"


def test_unknown_claim_ids_are_refused():
    with pytest.raises(KeyError, match="unknown claim id"):
        claims.claim("ngdiff.nowhere")
    with pytest.raises(KeyError, match="unknown claim id"):
        claims.measurement("ngdiff.nowhere", 0, [1.0])


def test_evaluate_by_hand_and_a_planted_run_flips_the_verdict():
    forgets = "ngdiff.table1.ngdiff_autolr_forgets.adam"  # ROUGE_F below 0.1
    seeds = [0.01, 0.02, 0.03]  # draw means that coincide: the seeds' spread keeps a width
    good = pd.concat([claims.measurement(forgets, draw, seeds) for draw in (0, 1, 2)])
    row = claims.evaluate(good).iloc[0]
    assert row["value"] == pytest.approx(0.02) and row["verdict"] == "holds"
    assert row["low"] < 0.02 < row["high"]
    assert (row["n_runs"], row["n_finished"], row["n_draws"]) == (9, 9, 3)
    bad = good.assign(value=[0.01, 0.02, 0.03, 0.5, 0.6, 0.4, 0.5, 0.4, 0.6])
    assert claims.evaluate(bad).iloc[0]["verdict"] in ("fails", "inconclusive")
    worse = good.assign(value=good["value"] + 0.5)
    assert claims.evaluate(worse).iloc[0]["verdict"] == "fails"
    flat = good.assign(value=0.5)  # runs of one value: no interval, however far they lie
    assert claims.evaluate(flat).iloc[0]["verdict"] == "inconclusive"
    # ... unless it is an end of the quantity's range (ROUGE_F in [0, 1]): 3 draws at 0
    # give [0, 0.708], which a threshold of 0.1 cannot decide; at 1, [0.292, 1] fails
    assert claims.claim(forgets).bounds == claims.UNIT
    at_zero = claims.evaluate(good.assign(value=0.0)).iloc[0]
    assert (at_zero["low"], at_zero["verdict"]) == (0.0, "inconclusive")
    assert claims.evaluate(good.assign(value=1.0)).iloc[0]["verdict"] == "fails"
    missing = good.assign(value=np.nan)
    row = claims.evaluate(missing).iloc[0]
    assert math.isnan(row["value"]) and row["verdict"] == "inconclusive"
    assert row["n_finished"] == 0


def test_verdict_table_puts_evidence_first_and_writes_what_it_measured():
    sanity = next(c.id for c in claims.REGISTRY.values() if c.kind == "sanity")
    forgets = "ngdiff.table1.ngdiff_autolr_forgets.adam"
    rows = pd.concat(
        [
            claims.measurement(sanity, 0, [1.0, 1.0]),
            claims.measurement(forgets, 0, [0.019, np.nan, 0.021, 0.02]),
        ]
    )
    table = claims.verdict_table(claims.evaluate(rows))
    assert list(table.index) == [forgets, sanity] and table["kind"].tolist() == [
        "evidence",
        "sanity",
    ]
    row = table.loc[forgets]
    # mean 0.02, s = 0.001 over 3 runs: 0.02 -+ q(3) 0.001 / sqrt(3)
    assert row["value [95% interval]"] == "0.02 [0.0121, 0.0279]"
    assert (row["threshold"], row["runs"], row["verdict"]) == ("below 0.1", "3/4", "holds")
    flat = claims.verdict_table(claims.evaluate(rows.assign(value=0.02)))
    assert flat.loc[forgets, "value [95% interval]"] == "0.02 [n/a, n/a]"
    assert flat.loc[forgets, "verdict"] == "inconclusive"
    missing = claims.verdict_table(claims.evaluate(rows.assign(value=np.nan)))
    assert missing.loc[forgets, "value [95% interval]"] == "n/a [n/a, n/a]"


def test_exact_statistics_have_no_interval_and_std_ratios_pair_runs():
    theorem = "dualoptim.theorem.decoupled_variance_le_shared"
    row = claims.evaluate(claims.measurement(theorem, 0, [1, 1, 0, 1])).iloc[0]
    assert (row["value"], row["low"], row["high"], row["verdict"]) == (0, 0, 0, "fails")
    stable = "dualoptim.slides.dualoptim_more_stable.1to5"
    # DualOptim's finals vary half as much as Alternate's: ratio 0.5
    rows = claims.measurement(stable, 0, [0.5, 0.6, 0.7], references=[0.4, 0.6, 0.8])
    assert claims.evaluate(rows).iloc[0]["value"] == pytest.approx(0.5)


def test_sidecar_round_trip_pools_draws():
    ids = ["ngdiff.table1.ngdiff_autolr_forgets.adam", "ngdiff.table1.gdiff09_fails_to_forget.adam"]
    measurements = pd.concat(
        [
            claims.measurement(ids[0], 0, [0.01, 0.011], seeds=[0, 1]),
            claims.measurement(ids[1], 0, [0.9, math.nan], seeds=[0, 1]),
        ]
    )
    sidecar = claims.for_sidecar(claims.evaluate(measurements), measurements, ids)
    assert sidecar[ids[0]]["verdict"] == "holds" and len(sidecar[ids[1]]["runs"]) == 2
    # one finished run: no interval (None in the sidecar), and the note says why
    assert sidecar[ids[1]]["low"] is None and sidecar[ids[1]]["high"] is None
    assert sidecar[ids[1]]["note"] == "one run: no interval; one draw"
    back = claims.runs_of({**sidecar, "n_seeds": 2})
    pd.testing.assert_frame_equal(
        claims.evaluate(back)[["id", "value", "n_runs", "n_finished"]],
        claims.evaluate(measurements)[["id", "value", "n_runs", "n_finished"]],
    )


def test_a_claim_measured_on_one_draw_says_so_and_one_run_says_it_has_no_interval():
    forgets = "ngdiff.table1.ngdiff_autolr_forgets.adam"
    memorizes = "ngdiff.sec5_1.no_unlearn_memorizes"  # one fine-tuned model per draw
    rows = pd.concat(
        [
            claims.measurement(forgets, 0, [0.01, 0.012, 0.011]),
            claims.measurement(memorizes, 0, [1.0]),
        ]
    )
    verdicts = claims.evaluate(rows).set_index("id")
    assert verdicts.loc[forgets, "verdict"] == "holds"
    assert verdicts.loc[forgets, "interval"] == "calibrated t, 3 seeds"
    assert verdicts.loc[memorizes, "verdict"] == "inconclusive"
    table = claims.verdict_table(verdicts.reset_index())
    assert table.loc[forgets, "note"] == "one draw"
    assert table.loc[memorizes, "note"] == "one run: no interval; one draw"
    assert table.loc[memorizes, "value [95% interval]"] == "1 [n/a, n/a]"
    # an interval that must cover another benchmark draw: none from one draw
    pooled = claims.evaluate(rows, over_draws=True).set_index("id")
    assert pooled.loc[forgets, "verdict"] == "inconclusive"
    assert pooled.loc[forgets, "note"] == "one draw: no interval over draws"
    # three draws of one run each: an interval over the draws, no note
    three = pd.concat([claims.measurement(memorizes, d, [v]) for d, v in enumerate([1, 0.995, 1])])
    row = claims.evaluate(three, over_draws=True).iloc[0]
    assert row["interval"] == "calibrated t, 3 draw means" and row["note"] == ""
    assert row["verdict"] == "holds"  # at least 0.95: 0.9983 -+ 13.6 x 0.0029 / sqrt(3)


def test_finite_claims_turns_nan_into_words_with_the_entrys_own_reason():
    sidecar = {
        "ratio": {"value": math.inf, "low": math.nan, "note": "the reference does not vary"},
        "plain": {"value": np.float64(0.25), "runs": [{"value": math.nan}]},
    }
    out = claims.finite_claims(sidecar)
    assert out["ratio"]["value"] == "not finite (the reference does not vary)"
    assert out["ratio"]["low"] == "not finite (the reference does not vary)"
    assert out["plain"]["value"] == 0.25 and type(out["plain"]["value"]) is float
    assert out["plain"]["runs"] == [{"value": "not finite"}]  # no note: no reason made up
