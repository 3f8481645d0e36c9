"""NPO (NGDiff Eq. 9) against hand computations."""

import math

import pytest
import torch

from nbutils.core.batches import batches, encode_records
from nbutils.engine import npo


def test_npo_loss_by_hand():
    log_p = torch.tensor([-2.0, -5.0])
    log_ref = torch.tensor([-1.0, -1.0])
    beta = 0.1
    # ratios -1 and -4: -(2/beta) * mean(log sigmoid(0.1), log sigmoid(0.4))
    logsig = lambda x: -math.log1p(math.exp(-x))  # noqa: E731
    expected = -(2 / beta) * (logsig(0.1) + logsig(0.4)) / 2
    assert float(npo.npo_loss(log_p, log_ref, beta)) == pytest.approx(expected, rel=1e-6)


def test_npo_at_the_reference_is_2_log_2_over_beta():
    same = torch.tensor([-3.0, -7.0, -1.0])
    assert float(npo.npo_loss(same, same, 0.5)) == pytest.approx(2 * math.log(2) / 0.5)


def test_npo_gradient_is_a_weighted_log_likelihood_gradient():
    """d L_NPO / d log p_i = 2 sigmoid(beta r_i) / B: gradient ascent on the NLL, weighted
    down as the model moves away from the reference."""
    log_p = torch.tensor([-2.0, -9.0], requires_grad=True)
    log_ref = torch.tensor([-2.0, -1.0])
    npo.npo_loss(log_p, log_ref, 0.2).backward()
    ratio = (log_p - log_ref).detach()
    torch.testing.assert_close(log_p.grad, 2 * torch.sigmoid(0.2 * ratio) / 2)


def test_beta_must_be_positive():
    with pytest.raises(ValueError, match="beta"):
        npo.npo_loss(torch.zeros(1), torch.zeros(1), 0.0)


def test_reference_log_likelihoods_are_summed_answer_log_probs(small_bench, small_target):
    tok = small_target.tokenizer
    items = encode_records(tok, small_bench.forget[:5])
    table = npo.reference_log_likelihoods(small_target.model, items, tok.pad_token_id, batch_size=2)
    batch = next(batches(items, 5, tok.pad_token_id))
    with torch.no_grad():
        direct = npo.answer_log_likelihood(small_target.model, batch)
    torch.testing.assert_close(table, direct, rtol=1e-4, atol=1e-5)
    assert (table <= 0).all()
