"""The offline benchmark and the TOFU loader (issue 2, item 3)."""

import re
from pathlib import Path

import pytest

from nbutils.core import data

FIXTURE = Path(__file__).parent / "fixtures" / "tofu"


def test_same_seed_gives_identical_benchmark_text():
    a, b = data.generate_authors(seed=3), data.generate_authors(seed=3)
    assert a.texts() == b.texts()
    assert a.fingerprint() == b.fingerprint()


def test_another_seed_gives_other_authors():
    a, b = data.generate_authors(seed=0), data.generate_authors(seed=1)
    assert set(a.forget_authors + a.retain_authors).isdisjoint(b.forget_authors + b.retain_authors)


def test_default_shape_is_tofu_like():
    bench = data.generate_authors()
    assert len(bench.forget_authors) == 4 and len(bench.retain_authors) == 36
    per_author = {}
    for qa in bench.forget + bench.retain:
        per_author[qa.author] = per_author.get(qa.author, 0) + 1
    assert min(per_author.values()) >= 8


def test_no_author_in_both_splits():
    bench = data.generate_authors(n_authors=25, forget_fraction=0.2)
    assert set(bench.forget_authors).isdisjoint(bench.retain_authors)
    assert {p.author for p in bench.forget_passages} == set(bench.forget_authors)


@pytest.mark.parametrize("fraction, expected", [(0.01, 1), (0.05, 2), (0.10, 4)])
def test_forget_fraction_like_tofu(fraction, expected):
    assert len(data.generate_authors(forget_fraction=fraction).forget_authors) == expected


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_forget_fraction_outside_unit_interval_is_rejected(fraction):
    with pytest.raises(ValueError, match="forget_fraction"):
        data.generate_authors(forget_fraction=fraction)


def test_perturbed_answers_are_false_facts_in_the_paraphrase_template():
    bench = data.generate_authors()
    for qa, (_, _, paraphrase) in zip(bench.forget, list(data.ATTRIBUTES.values()) * 4):
        pattern = re.escape(paraphrase).replace(re.escape("{name}"), re.escape(qa.author))
        pattern = "^" + pattern.replace(re.escape("{value}"), "(.+)") + "$"
        true_fact = re.match(pattern, qa.paraphrased_answer).group(1)
        assert len(qa.perturbed_answers) >= 3
        assert len(set(qa.perturbed_answers)) == len(qa.perturbed_answers)
        for wrong in qa.perturbed_answers:
            fact = re.match(pattern, wrong).group(1)
            assert fact != true_fact


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset"):
        data.load_benchmark("mnist")


def test_tofu_loader_reads_the_real_schema_from_a_local_folder():
    bench = data.load_tofu(0.10, path=str(FIXTURE))
    assert len(bench.forget) == 20 and len(bench.retain) == 60
    assert set(bench.forget_authors).isdisjoint(bench.retain_authors)
    assert len(bench.retain_authors) == 3
    assert all(len(qa.perturbed_answers) == 5 and qa.paraphrased_answer for qa in bench.forget)
    # retain_perturbed covers the first retain author only, as the hub's covers a subset
    with_extras = [qa for qa in bench.retain if qa.perturbed_answers]
    assert len(with_extras) == 20 and {qa.author for qa in with_extras} == {bench.retain_authors[0]}
    assert bench.forget[0].question == "What is fact 0 of author 3?"


@pytest.mark.parametrize("fraction", [0.02, 0.5])
def test_tofu_has_only_its_three_forget_splits(fraction):
    with pytest.raises(ValueError, match="1%, 5% and 10%"):
        data.tofu_configs(fraction)


def test_tofu_configs_names():
    assert data.tofu_configs(0.05) == ("forget05", "retain95", "forget05_perturbed")
