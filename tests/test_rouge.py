"""nbutils.core.rouge against hand-worked examples and against rouge_score itself (issue 24).

Equality with ``RougeScorer(["rougeL"], use_stemmer=True)`` is exact: the same floats, and
the int 0 where rouge_score returns it (either side without tokens).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.stem import porter
from rouge_score import rouge_scorer
from rouge_score import tokenize as rouge_tokenize

from nbutils.core import data, metrics, rouge

FIXTURES = Path(__file__).parent / "fixtures"
SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def reference_score(reference: str, prediction: str) -> rouge.Score:
    return rouge.Score(*SCORER.score(target=reference, prediction=prediction)["rougeL"])


def typed(score: rouge.Score) -> list[tuple[type, float]]:
    """A score's values with their types: 0 and 0.0 are equal, but not the same output."""
    return [(type(v), v) for v in score]


def mismatches(pairs: list[tuple[str, str]]) -> list[tuple[str, str, rouge.Score, rouge.Score]]:
    out = []
    for reference, prediction in pairs:
        ours, theirs = rouge.rouge_l(reference, prediction), reference_score(reference, prediction)
        if typed(ours) != typed(theirs):
            out.append((reference, prediction, ours, theirs))
    return out


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Hello, World!", ["hello", "world"]),  # case and punctuation are not tokens
        ("The cats are running", ["the", "cat", "are", "run"]),
        ("She runs; he ran.", ["she", "run", "he", "ran"]),  # "ran": 3 characters, not stemmed
        ("ponies caresses", ["poni", "caress"]),  # Porter's own examples
        ("Born 1984-05-03", ["born", "1984", "05", "03"]),
        ("Café au lait", ["caf", "au", "lait"]),  # é is outside [a-z0-9]: a separator
        ("  tabs\tand\nnewlines  ", ["tab", "and", "newlin"]),
        ("...!?", []),
        ("", []),
    ],
)
def test_tokenize_by_hand(text, tokens):
    assert rouge.tokenize(text) == tokens


@pytest.mark.parametrize(
    "reference, prediction, lcs, n_reference, n_prediction",
    [
        ("the cat sat on the mat", "the cat on the mat", 5, 6, 5),  # LCS drops "sat"
        ("the cat sat on the mat", "mat the on sat cat the", 3, 6, 6),  # "the on the"
        ("a b c d", "d c b a", 1, 4, 4),  # any one token is a longest common subsequence
        ("She runs every day.", "she is running every day", 4, 4, 5),  # runs, running -> run
        ("PARIS, France!!!", "paris france", 2, 2, 2),
        ("a b", "a b c d", 2, 2, 4),
        ("the the the cat", "the cat", 2, 4, 2),
        ("alpha beta", "gamma delta", 0, 2, 2),
    ],
)
def test_rouge_l_by_hand(reference, prediction, lcs, n_reference, n_prediction):
    score = rouge.rouge_l(reference, prediction)
    precision, recall = Fraction(lcs, n_prediction), Fraction(lcs, n_reference)
    f1 = 2 * precision * recall / (precision + recall) if lcs else 0
    assert score == pytest.approx((precision, recall, f1), rel=1e-15, abs=0)
    assert all(isinstance(v, float) for v in score)


@pytest.mark.parametrize(
    "reference, prediction",
    [("one two three", ""), ("", "one two three"), ("", ""), ("one two", "?!..."), ("--", "a")],
)
def test_no_tokens_on_either_side_scores_int_zero(reference, prediction):
    assert typed(rouge.rouge_l(reference, prediction)) == [(int, 0)] * 3


def textbook_lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous_diagonal, row[0] = 0, 0
        for j, y in enumerate(b, 1):
            previous_diagonal, row[j] = (
                row[j],
                previous_diagonal + 1 if x == y else max(row[j], row[j - 1]),
            )
    return row[-1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), max_size=80),  # beyond 64 tokens: more than one word
    st.lists(st.sampled_from("abcde"), max_size=80),
)
def test_bit_parallel_lcs_equals_the_dynamic_program(reference, prediction):
    positions: dict[str, int] = {}
    for i, token in enumerate(reference):
        positions[token] = positions.get(token, 0) | (1 << i)
    assert rouge.lcs_length(len(reference), positions, prediction) == textbook_lcs(
        reference, prediction
    )


# --------------------------------------------------------------------------- fixtures


def test_open_unlearning_fixture_exactly():
    """tests/fixtures/authors/open_unlearning_rouge.json (open-unlearning's own scoring):
    recall and F1 equal, types included, to the fixture and to rouge_score."""
    fixture = json.loads((FIXTURES / "authors" / "open_unlearning_rouge.json").read_text())
    pairs = list(zip(fixture["inputs"]["ground_truths"], fixture["inputs"]["generations"]))
    scores = [rouge.rouge_l(r, p) for r, p in pairs]
    expected = fixture["expected"]
    assert [(type(s.recall), s.recall) for s in scores] == [
        (type(v), v) for v in expected["rougeL_recall"]
    ]
    assert [(type(s.fmeasure), s.fmeasure) for s in scores] == [
        (type(v), v) for v in expected["rougeL_f1"]
    ]
    assert mismatches(pairs) == []


# the pairs of test_metrics.test_rouge_l_recall_by_hand
METRICS_PAIRS = [
    ("the cat sat on the mat", "the cat on the mat"),
    ("a b c d", "d c b a"),
    ("Hello, World!", "hello world"),
    ("cats running", "cat run"),
    ("a b", "a b c d"),
    ("one two three", ""),
]


def test_metrics_hand_pairs_equal_rouge_score():
    assert mismatches(METRICS_PAIRS) == []


def test_tofu_fixture_answers_equal_rouge_score():
    """Answers against paraphrased and perturbed answers of tests/fixtures/tofu."""
    tofu = FIXTURES / "tofu"
    rows = [json.loads(line) for line in (tofu / "forget10_perturbed.json").open()]
    pairs = [
        (row["answer"], other)
        for row in rows
        for other in [row["paraphrased_answer"], *row["perturbed_answer"]]
    ]
    assert pairs and mismatches(pairs + [(p, r) for r, p in pairs]) == []


# --------------------------------------------------------------------------- generated


def perturbations(text: str, rng: random.Random) -> list[str]:
    """What a half-unlearned model might answer: words dropped, shuffled, repeated or cut
    off, case and punctuation changed."""
    words = text.split()
    shuffled = rng.sample(words, len(words))
    dropped = [w for w in words if rng.random() > 0.3]
    i = rng.randrange(len(words))
    repeated = words[: i + 1] + words[i:] + words[i:]
    return [
        " ".join(dropped),
        " ".join(shuffled),
        " ".join(repeated),
        " ".join(words[: rng.randrange(len(words) + 1)]),
        text.upper(),
        text.lower().replace(" ", ", ").replace(".", "!!"),
        "".join(c for c in text if c.isalnum() or c == " "),
        text.replace(" ", "-"),
        " ".join(rng.choice(words) for _ in range(rng.randrange(1, 3 * len(words)))),
    ]


@pytest.fixture(scope="module")
def generated_pairs() -> list[tuple[str, str]]:
    """About 7,000 pairs from a 20-author benchmark (seed 3): each answer against its
    paraphrase, its perturbed answers, perturbations of itself, and the next record's
    answer; and the reverse of each."""
    bench = data.generate_authors(seed=3, n_authors=20)
    records = bench.forget + bench.retain
    rng = random.Random(0)
    pairs = []
    for record, following in zip(records, records[1:] + records[:1]):
        predictions = [
            record.answer,
            record.paraphrased_answer,
            *record.perturbed_answers,
            *perturbations(record.answer, rng),
            following.answer,
        ]
        pairs += [(record.answer, p) for p in predictions]
    return pairs + [(p, r) for r, p in pairs]


def test_generated_pairs_equal_rouge_score(generated_pairs):
    assert len(generated_pairs) > 5000
    assert mismatches(generated_pairs) == []


def test_metrics_use_it(generated_pairs):
    references, predictions = map(list, zip(*generated_pairs[:500]))
    theirs = [reference_score(r, p) for r, p in generated_pairs[:500]]
    assert metrics.rouge_l_recall(references, predictions) == [s.recall for s in theirs]
    assert metrics.rouge_l_f1(references, predictions) == [s.fmeasure for s in theirs]


def test_metrics_reject_unequal_lengths():
    for score in (metrics.rouge_l_recall, metrics.rouge_l_f1):
        with pytest.raises(ValueError, match="2 references but 1 predictions"):
            score(["a", "b"], ["a"])


WORDS = [
    "run", "runs", "running", "ran", "cat", "cats", "caresses", "ponies", "generalization",
    "The", "THE", "a", "I", "is", "was", "Paris", "1984", "3rd", "e-mail", "don't",
    "İstanbul", "Straße", "Kelvin", "ﬁle", "naïve", "ΣΊΣΥΦΟΣ",
]  # fmt: skip
TEXT = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(WORDS), st.text(max_size=8)),
        st.sampled_from([" ", "  ", ", ", ". ", "-", "\n", "\t", "!?", ""]),
    ),
    max_size=20,
).map(lambda parts: "".join(word + separator for word, separator in parts))


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_random_text_equals_rouge_score(reference, prediction):
    assert rouge.tokenize(reference) == rouge_tokenize.tokenize(reference, porter.PorterStemmer())
    assert mismatches([(reference, prediction), (prediction, reference)]) == []


def test_importing_it_imports_neither_nltk_nor_rouge_score():
    """A notebook whose runs are all cached never scores ROUGE: it should not import nltk
    (seconds). The module alone, in a fresh interpreter."""
    script = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rouge", {str(Path(rouge.__file__))!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert "nltk" not in sys.modules and "rouge_score" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", script], check=True)
