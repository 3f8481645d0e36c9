"""Metrics on inputs whose answers are known by hand (issue 2, item 5)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nbutils.core import batches, metrics


@pytest.mark.parametrize(
    "reference, prediction, recall",
    [
        ("the cat sat on the mat", "the cat on the mat", 5 / 6),  # LCS drops "sat"
        ("a b c d", "d c b a", 1 / 4),  # any one token is a longest common subsequence
        ("Hello, World!", "hello world", 1.0),  # case and punctuation are not tokens
        ("cats running", "cat run", 1.0),  # Porter stemming: cats->cat, running->run
        ("a b", "a b c d", 1.0),  # recall ignores extra predicted tokens
        ("one two three", "", 0.0),
    ],
)
def test_rouge_l_recall_by_hand(reference, prediction, recall):
    assert metrics.rouge_l_recall([reference], [prediction]) == [pytest.approx(recall)]


def test_rouge_l_f1_by_hand():
    # recall 1, precision 2/4 -> F1 = 2 * 1 * 0.5 / 1.5
    assert metrics.rouge_l_f1(["a b"], ["a b c d"]) == [pytest.approx(2 / 3)]


def test_rouge_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="references"):
        metrics.rouge_l_recall(["a"], [])


def test_random_guess_loss_is_log_vocabulary():
    assert metrics.random_guess_loss(2048) == pytest.approx(math.log(2048))
    with pytest.raises(ValueError):
        metrics.random_guess_loss(1)


class UnigramLM(torch.nn.Module):
    """Predicts the same distribution softmax(bias) at every position."""

    def __init__(self, bias):
        super().__init__()
        self.bias = torch.nn.Parameter(bias)

    def forward(self, input_ids, logits_to_keep=0, **_):
        width = logits_to_keep or input_ids.shape[1]
        return SimpleNamespace(logits=self.bias.expand(input_ids.shape[0], width, -1))


def _hand_nll(tokenizer, bias, question, answer):
    ids = list(batches.encode(tokenizer, question, answer).answer)
    return float(-torch.log_softmax(bias, -1)[ids].mean())


def test_truth_ratio_matches_hand_computation(small_bench, small_target):
    tok = small_target.tokenizer
    bias = torch.randn(len(tok), generator=torch.Generator().manual_seed(0))
    records = small_bench.retain[:6]
    tr = metrics.truth_ratio(UnigramLM(bias), tok, records)
    expected = []
    for r in records:
        para = _hand_nll(tok, bias, r.question, r.paraphrased_answer)
        pert = np.mean([_hand_nll(tok, bias, r.question, a) for a in r.perturbed_answers])
        expected.append(math.exp(para - pert))  # P_pert / P_para
    np.testing.assert_allclose(tr.values, expected, rtol=1e-5)
    assert tr.retain_score == pytest.approx(
        np.mean(np.maximum(0, 1 - np.array(expected))), rel=1e-5
    )
    assert tr.forget_score == pytest.approx(
        np.mean(np.minimum(expected, 1 / np.array(expected))), rel=1e-5
    )


def test_truth_ratio_favours_a_model_that_prefers_the_true_fact(small_bench, small_target):
    tok = small_target.tokenizer
    record = small_bench.retain[0]
    bias = torch.zeros(len(tok))
    uniform = metrics.truth_ratio(UnigramLM(bias), tok, [record])
    true_only = set(batches.encode(tok, record.question, record.paraphrased_answer).answer)
    for wrong in record.perturbed_answers:
        true_only -= set(batches.encode(tok, record.question, wrong).answer)
    bias[list(true_only)] = 5.0
    informed = metrics.truth_ratio(UnigramLM(bias), tok, [record])
    assert uniform.values[0] == pytest.approx(1.0)  # every token has probability 1/V
    assert informed.values[0] < uniform.values[0]
    assert informed.retain_score > uniform.retain_score


def test_truth_ratio_needs_perturbed_answers(small_target):
    from nbutils.core.data import QA

    with pytest.raises(ValueError, match="perturbed"):
        metrics.truth_ratio(small_target.model, small_target.tokenizer, [QA("a", "q?", "x.")])


def test_left_padding_does_not_change_answer_loss(small_bench, small_target):
    records = small_bench.retain[:8]
    q, a = [r.question for r in records], [r.answer for r in records]
    together = metrics.mean_nll(small_target.model, small_target.tokenizer, q, a)
    alone = [
        metrics.mean_nll(small_target.model, small_target.tokenizer, [x], [y])[0]
        for x, y in zip(q, a)
    ]
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-6)


def test_batched_generation_equals_one_at_a_time(small_bench, small_target):
    records = small_bench.forget[:6]
    together = metrics.answer_questions(small_target.model, small_target.tokenizer, records)
    alone = [
        metrics.answer_questions(small_target.model, small_target.tokenizer, [r])[0]
        for r in records
    ]
    assert together == alone


def test_split_loss_weights_every_answer_token_equally(small_bench, small_target):
    model, tok = small_target.model, small_target.tokenizer
    records = small_bench.retain[:5]
    per_record = metrics.mean_nll(
        model, tok, [r.question for r in records], [r.answer for r in records]
    )
    lengths = [len(batches.encode(tok, r.question, r.answer).answer) for r in records]
    expected = np.average(per_record, weights=lengths)
    assert metrics.split_loss(model, tok, records, batch_size=2) == pytest.approx(
        expected, rel=1e-5
    )


def test_target_answers_its_training_questions(small_bench, small_target):
    scores = metrics.evaluate(small_target.model, small_target.tokenizer, small_bench)
    assert scores["rouge_forget"] > 0.8 and scores["rouge_retain"] > 0.8
    assert 0 <= scores["truth_ratio_retain"] <= 1 and 0 < scores["truth_ratio_forget"] <= 1
