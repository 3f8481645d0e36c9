"""Notebook 00's claims: the target memorizes F; the retain-only model is the
over-forgetting reference (its ROUGE_F is not below the forget threshold)."""

import pandas as pd
import pytest

from nbutils import claims, stats
from nbutils.studies import tour


def _verdicts(target: list[float], retain_only: list[float]) -> pd.DataFrame:
    rows = pd.concat(
        [
            tour.claim_measurements(t, r, draw, draw)
            for draw, (t, r) in enumerate(zip(target, retain_only))
        ]
    )
    return claims.evaluate(rows).set_index("id")


def test_claim_measurements_one_row_per_model_and_draw():
    rows = tour.claim_measurements(0.98, 0.5, draw=3, seed=3)
    assert list(rows.claim) == list(tour.CLAIMS)
    assert rows.value.tolist() == pytest.approx([0.98, 0.5])
    assert (rows.draw == 3).all() and (rows.seed == 3).all()


def test_a_target_that_memorizes_holds_and_one_that_does_not_fails():
    holds = _verdicts([0.99, 1.0, 0.995], [0.5, 0.45, 0.55])
    assert holds.loc[tour.MEMORIZES, "verdict"] == "holds"
    assert holds.loc[tour.MEMORIZES, "n_draws"] == 3
    fails = _verdicts([0.7, 0.72, 0.71], [0.5, 0.45, 0.55])
    assert fails.loc[tour.MEMORIZES, "verdict"] == "fails"


def test_retain_only_reference_flips_when_it_forgets_everything():
    """A retain-only model near ROUGE_F 0 would make the success rule its own reading:
    the claim (not below the forget threshold) fails."""
    assert claims.claim(tour.RETAIN_ONLY).threshold == stats.FORGET_BELOW
    holds = _verdicts([1.0, 1.0], [0.5, 0.51])  # two draws: t has 1 degree of freedom
    assert holds.loc[tour.RETAIN_ONLY, "verdict"] == "holds"
    fails = _verdicts([1.0, 1.0], [0.02, 0.021])
    assert fails.loc[tour.RETAIN_ONLY, "verdict"] == "fails"


def test_verdict_table_names_the_setting():
    table = claims.verdict_table(_verdicts([1.0], [0.5]).reset_index())
    assert set(table.index) == set(tour.CLAIMS)
    assert table["setting"].str.contains("no unlearning").all()
