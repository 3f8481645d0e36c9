"""Digits, splits without leakage, the CNN, the metrics (Gap and Std of the slides),
the learning-rate rule and the unlearning loop on images."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nbutils import claims, stats
from nbutils.core import digits as D
from nbutils.engine import tuning
from nbutils.engine.runs import Config, Protocol
from nbutils.studies.vision import rates as vision_rates
from nbutils.studies.vision import runs as vision_runs
from nbutils.studies.vision import tables as vision_tables
from nbutils.studies.vision import verdicts as vision_verdicts

TINY = Protocol(steps=15, batch_size=32, lr_grid=(0.01, 0.1))
EPOCHS = 8


@pytest.fixture(scope="module")
def digits():
    return D.load_digits(seed=0)


@pytest.fixture(scope="module")
def original(digits):
    """A CNN trained briefly on every training image (about 1 s)."""
    return D.train_classifier(digits.train_images, digits.train_labels, epochs=8, seed=0)


def _keys(images):
    return {x.numpy().tobytes() for x in images}


# --------------------------------------------------------------------------- data


def test_digits_split_is_stratified_seeded_and_disjoint(digits):
    assert digits.train_images.shape[1:] == (1, 8, 8)
    assert len(digits.train_labels) + len(digits.test_labels) == 1797
    assert len(digits.test_labels) == 450  # ceil(0.25 * 1797)
    assert 0.0 <= digits.train_images.min() and digits.train_images.max() <= 1.0
    counts = torch.bincount(digits.test_labels, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46  # each class ~ 180 * 0.25
    assert not _keys(digits.train_images) & _keys(digits.test_images)
    again, other = D.load_digits(seed=0), D.load_digits(seed=1)
    assert torch.equal(again.test_labels, digits.test_labels)
    assert not torch.equal(other.train_images, digits.train_images)


@settings(max_examples=15, deadline=None)
@given(forget_class=st.integers(0, 9), n_forget=st.integers(1, 120), seed=st.integers(0, 99))
def test_class_split_has_no_leakage(digits, forget_class, n_forget, seed):
    split = D.class_split(digits, forget_class, n_forget, seed)
    sets = split.sets(digits)
    forget_x, forget_y = sets["forget"]
    assert len(forget_y) == n_forget and bool((forget_y == forget_class).all())
    assert not bool((sets["retain"][1] == forget_class).any())  # R holds the other classes
    assert len(set(split.forget.tolist())) == n_forget
    # no forget image (by pixels, not only by index) in the retain or the test set
    assert not _keys(forget_x) & _keys(sets["retain"][0])
    assert not _keys(forget_x) & _keys(digits.test_images)
    n_class = int((digits.train_labels == forget_class).sum())
    assert len(split.retain) == len(digits.train_labels) - n_class


def test_class_split_is_seeded_and_checks_its_size(digits):
    a, b = D.class_split(digits, 3, 50, seed=0), D.class_split(digits, 3, 50, seed=0)
    assert torch.equal(a.forget, b.forget)
    assert not torch.equal(a.forget, D.class_split(digits, 3, 50, seed=1).forget)
    with pytest.raises(ValueError, match="n_forget must lie in"):
        D.class_split(digits, 3, 10_000, seed=0)


def test_random_split_takes_a_tenth_and_partitions_train(digits):
    split = D.random_split(digits, 0.1, seed=0)
    n = len(digits.train_labels)
    assert len(split.forget) == round(0.1 * n) and split.forget_class is None
    both = torch.cat([split.forget, split.retain]).sort().values
    assert torch.equal(both, torch.arange(n))
    with pytest.raises(ValueError, match="fraction"):
        D.random_split(digits, 1.0, seed=0)


def test_batch_stream_covers_every_sample_once_per_epoch():
    images, labels = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    stream = D.batch_stream(images, labels, batch_size=4, seed=0)
    epoch = [next(stream) for _ in range(3)]  # 4 + 4 + 2
    assert [len(b[1]) for b in epoch] == [4, 4, 2]
    seen = torch.cat([b[1] for b in epoch])
    assert sorted(seen.tolist()) == list(range(10))
    assert torch.equal(torch.cat([b[0][:, 0] for b in epoch]).long(), seen)  # pairs kept
    again = D.batch_stream(images, labels, batch_size=4, seed=0)
    assert torch.equal(next(again)[1], epoch[0][1])
    small = D.batch_stream(images[:3], labels[:3], batch_size=32, seed=0)
    assert len(next(small)[1]) == 3


# --------------------------------------------------------------------------- model, metrics


def test_cross_entropy_of_a_model_with_zero_logits_is_log10():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    torch.nn.init.zeros_(model[1].weight), torch.nn.init.zeros_(model[1].bias)
    batch = (torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4]))
    assert D.cross_entropy(model, batch).item() == pytest.approx(math.log(10))


def test_accuracy_by_hand():
    class Constant(torch.nn.Module):  # always predicts class 2
        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 2), 10).float()

    labels = torch.tensor([2, 2, 1, 0])
    assert D.accuracy(Constant(), torch.zeros(4, 1, 8, 8), labels) == 0.5
    assert math.isnan(D.accuracy(Constant(), torch.zeros(0, 1, 8, 8), labels[:0]))


def test_cpu_threads_restores_the_count():
    before = torch.get_num_threads()
    with D.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_original_model_learns_and_evaluate_splits_test_accuracy(digits, original):
    assert sum(p.numel() for p in original.parameters()) == 13706
    split = D.class_split(digits, 3, 100, seed=0)
    out = D.evaluate(original, digits, split, seed=0)
    assert out["RA"] > 0.95 and out["FA"] > 0.9 and out["TA"] > 0.9
    in_class = int((digits.test_labels == 3).sum())
    n_test = len(digits.test_labels)
    mixed = (out["TA_forgotten"] * in_class + out["TA_rest"] * (n_test - in_class)) / n_test
    assert mixed == pytest.approx(out["TA"])
    assert 0.0 <= out["MIA"] <= 1.0
    assert set(D.evaluate(original, digits, D.random_split(digits, 0.1, 0))) == set(
        vision_runs.METRICS
    )


# Slides, CIFAR-10 random 10% (FA, RA, TA, MIA as mean, std), with Gap and Std printed.
SLIDES = {
    "RT": ((94.61, 0.46), (100.00, 0.00), (94.25, 0.18), (76.26, 0.54), 0.00, 0.30),
    "FT": ((99.16, 0.10), (99.84, 0.06), (94.10, 0.09), (88.77, 0.38), 4.34, 0.16),
    "SFRon": ((94.67, 3.03), (99.83, 0.13), (93.98, 0.56), (77.80, 5.61), 0.51, 2.33),
    "RL": ((97.19, 0.21), (99.67, 0.08), (94.03, 0.27), (68.19, 0.95), 2.80, 0.38),
    "SCRUB": ((92.88, 0.25), (99.62, 0.10), (93.54, 0.22), (82.78, 0.86), 2.33, 0.36),
}
# (Two rows of that table do not follow the rule: GA's Std and the SFRon+DualOptim row's
# FA difference; they are left out.)


def test_gap_and_std_columns_reproduce_the_slides_table():
    metrics = vision_runs.GAP_METRICS
    means = pd.DataFrame({k: [m for m, _ in v[:4]] for k, v in SLIDES.items()}, index=metrics).T
    stds = pd.DataFrame({k: [s for _, s in v[:4]] for k, v in SLIDES.items()}, index=metrics).T
    gap, std = vision_tables.gap_to_reference(means), vision_tables.std_column(stds)
    for label, row in SLIDES.items():
        assert gap[label] == pytest.approx(row[4], abs=0.006)  # printed to two decimals
        assert std[label] == pytest.approx(row[5], abs=0.006)


def _runs():
    rows = []
    for label, fa, ra in [("RT", (0.0, 0.0), (1.0, 0.8)), ("A", (0.2, 0.0), (0.6, 0.8))]:
        for seed, (f, r) in enumerate(zip(fa, ra)):
            rows.append(dict(scenario="class", label=label, seed=seed, diverged_at=None,
                             FA=f, RA=r, TA=0.5, MIA_entropy=0.0, MIA=0.3))  # fmt: skip
    rows.append(dict(scenario="class", label="A", seed=2, diverged_at=3.0, FA=math.nan))
    return pd.DataFrame(rows)


def test_summarize_by_hand():
    table = vision_tables.summarize(_runs(), "class")
    assert list(table.index) == ["RT", "A"]
    assert table.loc["A", "FA_mean"] == pytest.approx(0.1)
    assert table.loc["A", "RA_std"] == pytest.approx(0.1)  # np.std, ddof 0 (parse_result.py)
    # Gap of A: (|0.1 - 0| + |0.7 - 0.9| + 0 + 0) / 4, with the official MIA
    assert table.loc["A", "Gap"] == pytest.approx(0.3 / 4)
    assert table.loc["RT", "Gap"] == 0.0
    # Std of A: mean over FA, RA, TA, MIA_entropy of np.std: (0.1 + 0.1 + 0 + 0) / 4
    assert table.loc["A", "Std"] == pytest.approx(0.05)
    assert table.loc["A", "runs"] == 3 and table.loc["A", "diverged"] == 1
    shown = vision_tables.formatted(table)
    assert shown.loc["A", "FA"] == "0.100 ± 0.100"
    assert shown.loc["A", "MIA (ours: loss + confidence)"] == "0.300 ± 0.000"
    assert "MIA (official: entropy)" in shown
    claims = vision_tables.table_claims(table)
    assert claims["A"]["FA_mean"] == pytest.approx(0.1) and claims["A"]["Gap"] == pytest.approx(
        0.075
    )
    assert all(math.isfinite(v) for v in claims["A"].values())


def test_summarize_without_rt_has_no_gap():
    runs = _runs()
    table = vision_tables.summarize(runs[runs.label != "RT"], "class")
    assert math.isnan(table.loc["A", "Gap"]) and table.loc["A", "Std"] == pytest.approx(0.05)


def test_gap_uses_the_official_mia_not_ours():
    runs = _runs()
    runs.loc[runs.label == "A", "MIA"] = 1.0  # only our attack moves: Gap unchanged
    assert vision_tables.summarize(runs, "class").loc["A", "Gap"] == pytest.approx(0.3 / 4)
    runs.loc[runs.label == "A", "MIA_entropy"] = 0.4  # the official one adds 0.4 / 4
    assert vision_tables.summarize(runs, "class").loc["A", "Gap"] == pytest.approx(0.7 / 4)


def test_best_retainer_among_forgetting_methods():
    table = vision_tables.summarize(_runs(), "class")
    assert vision_tables.best_retainer(table, ["RT", "A"]) == ("RT", pytest.approx(0.9))
    assert vision_tables.best_retainer(table, ["A"])[0] is None  # A's mean FA 0.1 is not below 0.1
    assert vision_tables.closest_to_reference(table, ["A"]) == ("A", pytest.approx(0.075))


# --------------------------------------------------------------------------- rates


def _table(rows, gap=None):
    table = pd.DataFrame(rows, columns=["lr", "FA", "RA", "diverged_at"])
    if gap is not None:
        table["gap"] = gap
    return table


def test_choose_lr_takes_the_best_retainer_among_rates_that_forget():
    table = _table(
        [
            (0.01, 0.9, 1.0, None),
            (0.1, 0.0, 0.95, None),
            (0.3, 0.02, 0.95, None),
            (1.0, 0.0, 0.99, 5.0),
        ]  # fmt: skip
    )
    lr, rule = vision_rates.choose_lr(table, "class")
    assert lr == 0.1 and "highest RA" in rule  # the tie at 0.95 goes to the smaller rate


def test_choose_lr_without_forgetting_takes_the_lowest_fa():
    table = _table([(0.01, 0.9, 1.0, None), (0.1, 0.4, 0.9, None), (0.3, 0.0, 0.1, 2.0)])
    assert vision_rates.choose_lr(table, "class") == (0.1, "no rate reached FA < 0.1: lowest FA")


def test_choose_lr_random_scenario_takes_the_smallest_gap():
    table = _table([(0.01, 1, 1, None), (0.1, 1, 1, None), (0.3, 1, 1, 2.0)], [0.2, 0.1, 0.0])
    assert vision_rates.choose_lr(table, "random")[0] == 0.1  # the diverged rate is never chosen
    with pytest.raises(ValueError, match="every rate"):
        vision_rates.choose_lr(_table([(0.1, 0, 1, 1.0)], [0.0]), "random")


# --------------------------------------------------------------------------- unlearning


def test_ngdiff_forgets_a_class_and_keeps_the_rest(digits, original):
    split = D.class_split(digits, 3, 100, seed=0)
    run = vision_runs.image_run(original, digits, split, Config("NGDiff", "NGDiff", 0.1), TINY, 0)
    assert math.isnan(run["diverged_at"] or math.nan)
    assert stats.forgets(run["FA"]) and run["RA"] > 0.8
    again = vision_runs.image_run(original, digits, split, Config("NGDiff", "NGDiff", 0.1), TINY, 0)
    assert {k: again[k] for k in vision_runs.METRICS} == {
        k: run[k] for k in vision_runs.METRICS
    }  # same seed
    assert D.evaluate(original, digits, split)["FA"] > 0.9  # the original is untouched


def test_image_steps_run_through_the_engine_loop_and_keep_eq7(digits, original):
    """Lemma 4 on images: every NGDiff step of the one run loop is in Eq. 7's region."""
    from nbutils.engine.unlearner import unlearn

    split = D.class_split(digits, 3, 100, seed=0)
    streams = vision_runs.image_streams(split, digits, TINY.batch_size, 0)
    run = unlearn(original, "NGDiff", streams, steps=TINY.steps, lr=0.1, seed=0,
                  loss=D.cross_entropy)  # fmt: skip
    assert run.diverged_at is None and len(run.history) == TINY.steps
    assert (run.history.dot_retain_d >= 0).all() and (run.history.dot_forget_d <= 0).all()


def test_a_diverging_run_is_recorded_not_raised(digits, original):
    split = D.class_split(digits, 3, 100, seed=0)
    run = vision_runs.image_run(original, digits, split, Config("x", "GDiff-0.5", 1e6), TINY, 0)
    assert run["diverged_at"] is not None and all(math.isnan(run[m]) for m in vision_runs.METRICS)
    assert set(vision_runs.METRICS) == {"FA", "RA", "TA", "MIA", "MIA_entropy"}


def test_autolr_changes_the_rate_every_ten_steps(digits, original):
    split = D.class_split(digits, 3, 100, seed=0)
    config = vision_runs.TABLE4[-1]
    assert config.autolr is not None
    run = vision_runs.image_run(original, digits, split, replace(config, lr=0.01), TINY, 0)
    assert run["final_lr"] != 0.01  # AutoLR moved the rate at step 9


def test_retrain_never_sees_the_forgotten_class(digits):
    split = D.class_split(digits, 3, 100, seed=0)
    run = vision_runs.retrain_run(digits, split, EPOCHS, seed=0)
    assert run["FA"] == 0.0 and run["TA_forgotten"] == 0.0
    assert run["RA"] > 0.9


def test_run_table_has_one_row_per_scenario_method_and_seed(digits, original):
    splits = {"class": D.class_split(digits, 3, 100, 0)}
    configs = {"class": [Config("NGDiff", "NGDiff", 0.1)]}
    runs = vision_runs.run_table(
        original, digits, splits, configs, TINY, [0, 1], EPOCHS, progress=False
    )
    assert list(runs.label) == ["No-unlearn"] * 2 + ["RT"] * 2 + ["NGDiff"] * 2
    quick = vision_runs.run_table(
        original, digits, splits, configs, TINY, [0], EPOCHS, False, retrain=False
    )
    assert list(quick.label) == ["No-unlearn", "NGDiff"]
    assert set(vision_runs.METRICS) <= set(runs.columns) and runs.FA.notna().all()
    assert np.isclose(runs.loc[runs.label == "NGDiff", "lr"], 0.1).all()


def test_tuned_configs_give_autolr_the_rate_of_its_method(digits, original):
    splits = {"class": D.class_split(digits, 3, 100, 0), "random": D.random_split(digits, 0.1, 0)}
    configs = [vision_runs.TABLE4[4], vision_runs.TABLE4[5]]  # NGDiff, NGDiff+AutoLR
    requests = vision_rates.tuning_requests(
        original, digits, splits, configs, TINY, draw=0, epochs=EPOCHS
    )
    assert [r.name for r in requests] == ["NGDiff (class)", "NGDiff (random)"]  # no AutoLR
    tuned = dict(zip([r.name for r in requests], tuning.tune(requests, progress=False)))
    chosen, choices = vision_rates.tuned_configs(tuned, splits, configs)
    for scenario in splits:
        plain, auto = chosen[scenario]
        assert plain.lr in TINY.lr_grid and auto.lr == plain.lr and auto.autolr is not None
    assert list(choices.scenario) == ["class", "class", "random", "random"]
    assert choices.rule.iloc[1] == "start at NGDiff's rate"
    assert "Gap" in choices.rule.iloc[2]


# --------------------------------------------------------------------------- claims


def _table4_runs(fa: dict, ra: dict, seeds=(0, 1, 2), diverged=()) -> pd.DataFrame:
    """Class-task finals: per label one FA and RA for every seed, or a tuple of one per
    seed; ``diverged`` lists (label, seed) runs that diverged (metrics NaN)."""

    def of(value, i):
        return value[i] if isinstance(value, tuple) else value

    rows = []
    for label in fa:
        for i, seed in enumerate(seeds):
            gone = (label, seed) in diverged
            fa_, ra_ = (math.nan, math.nan) if gone else (of(fa[label], i), of(ra[label], i))
            rows.append(dict(scenario="class", label=label, seed=seed,
                             diverged_at=3.0 if gone else math.nan, FA=fa_, RA=ra_))  # fmt: skip
    rows.append(
        dict(scenario="random", label="NGDiff", seed=0, diverged_at=math.nan, FA=0.9, RA=0.1)
    )
    return pd.DataFrame(rows)


LABELS = [c.label for c in vision_runs.TABLE4]


def test_all_methods_forget_measures_the_worst_fa_per_seed_and_flips():
    fa = {label: 0.0 for label in LABELS} | {"GDiff-0.9": (0.02, 0.025, 0.03)}
    runs = _table4_runs(fa, {label: 0.9 for label in LABELS})
    rows = vision_verdicts.measure_all_forget(runs, draw=4)
    assert list(rows.seed) == [0, 1, 2] and (rows.draw == 4).all()
    assert rows.value.tolist() == pytest.approx([0.02, 0.025, 0.03])
    # 0.025 -+ q(3) 0.005 / sqrt(3) = 0.025 -+ 0.039, below 0.1: holds
    row = claims.evaluate(rows).iloc[0]
    assert row["high"] == pytest.approx(0.0644, abs=1e-4) and row["verdict"] == "holds"
    # GDiff-0.9 keeps the class on every seed (FA 0.55, 0.6, 0.65: 0.6 -+ 0.39): fails
    failing = _table4_runs(fa | {"GDiff-0.9": (0.55, 0.6, 0.65)}, {label: 0.9 for label in LABELS})
    assert (
        claims.evaluate(vision_verdicts.measure_all_forget(failing, 4)).iloc[0]["verdict"]
        == "fails"
    )
    # a diverged run is a collapse (FA 0, RA 0): GDiff-0.9's FA stays the worst elsewhere
    broken = _table4_runs(fa, {label: 0.9 for label in LABELS}, diverged=[("GDiff-0.9", 1)])
    assert vision_verdicts.measure_all_forget(broken, 0).value.tolist() == pytest.approx(
        [0.02, 0.0, 0.03]
    )


def test_ngdiff_highest_ra_is_paired_per_seed_counts_only_forgetting_runs_and_flips():
    fa = {label: 0.0 for label in LABELS} | {"GDiff-0.9": 0.5}
    ngdiff_ra = (0.947, 0.95, 0.953)
    ra = {label: 0.7 for label in LABELS} | {"NGDiff+AutoLR": ngdiff_ra, "GDiff-0.9": 0.99}
    rows = vision_verdicts.measure_ngdiff_highest_ra(_table4_runs(fa, ra), draw=0)
    # GDiff-0.9 does not forget: its RA 0.99 does not count; 0.947 - 0.7, ...
    assert rows.value.tolist() == pytest.approx([0.247, 0.25, 0.253])
    # 0.25 -+ q(3) 0.003 / sqrt(3) = 0.25 -+ 0.0236, above 0: holds
    row = claims.evaluate(rows).iloc[0]
    assert row["low"] == pytest.approx(0.2264, abs=1e-4) and row["verdict"] == "holds"
    # LossNorm forgets and keeps more of R than either NGDiff: the claim fails
    # (-0.043, -0.04, -0.037: -0.04 -+ 0.0236, at most -0.0164)
    losing = _table4_runs(fa, ra | {"LossNorm": 0.99})
    row = claims.evaluate(vision_verdicts.measure_ngdiff_highest_ra(losing, 0)).iloc[0]
    assert row["value"] == pytest.approx(-0.04) and row["verdict"] == "fails"
    # an NGDiff run that does not forget counts RA 0
    keeps = _table4_runs(fa | {"NGDiff": 0.5, "NGDiff+AutoLR": 0.5}, ra)
    assert vision_verdicts.measure_ngdiff_highest_ra(keeps, 0).value.tolist() == pytest.approx(
        [-0.7] * 3
    )
    both = vision_verdicts.claim_measurements(_table4_runs(fa, ra), 0)
    assert set(both.claim) == set(vision_verdicts.CLAIMS) and len(both) == 6


def test_verdict_table_names_the_setting():
    runs = _table4_runs(dict.fromkeys(LABELS, 0.0), dict.fromkeys(LABELS, 0.9))
    rows = vision_verdicts.claim_measurements(runs, 0)
    table = claims.verdict_table(claims.evaluate(rows))
    assert (
        set(table.index) == set(vision_verdicts.CLAIMS)
        and table["setting"].str.contains("SGD").all()
    )
