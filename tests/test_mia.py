"""The membership-inference attack: above chance on a memorizer, at chance on a model
that never saw the data, on synthetic inputs with known answers."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from nbutils.core import mia

N_CLASSES = 10


def _memorized_logits(labels, margin=20.0):
    """Logits of a model that has memorized (input, label): the label's logit is
    ``margin`` above the others (loss ~ 9 e^-20)."""
    logits = torch.zeros(len(labels), N_CLASSES)
    logits[torch.arange(len(labels)), labels] = margin
    return logits


def _unseen_logits(n, generator):
    return torch.randn(n, N_CLASSES, generator=generator)


def test_features_are_log_loss_and_confidence_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    labels = torch.tensor([0, 1])
    out = mia.features(logits, labels)
    # uniform over two classes: loss log 2, confidence 1/2; p = (3/4, 1/4), label 1
    np.testing.assert_allclose(out[0], [math.log(math.log(2)), 0.5], rtol=1e-6)
    np.testing.assert_allclose(out[1], [math.log(math.log(4)), 0.75], rtol=1e-6)


def test_a_perfectly_fitted_sample_keeps_a_finite_feature():
    out = mia.features(torch.tensor([[1000.0, 0.0]]), torch.tensor([0]))
    assert out[0, 0] == pytest.approx(math.log(mia.LOSS_FLOOR)) and out[0, 1] == 1.0


def test_attack_separates_a_memorizing_model_from_unseen_data():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, N_CLASSES, (800,), generator=g)
    members = mia.features(_memorized_logits(labels), labels)
    nonmembers = mia.features(_unseen_logits(800, g), labels)
    attack = mia.fit_attack(members[:400], nonmembers[:400], seed=0)
    assert attack.balanced_accuracy(members[400:], nonmembers[400:]) > 0.95
    assert attack.member_share(members[400:]) > 0.95  # held-out members are called members
    assert attack.member_share(nonmembers[400:]) < 0.05


def test_attack_is_near_chance_when_the_model_never_saw_either_group():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, N_CLASSES, (4000,), generator=g)
    both = mia.features(_unseen_logits(4000, g), labels)  # one distribution for both groups
    members, nonmembers = both[:2000], both[2000:]
    attack = mia.fit_attack(members[:1000], nonmembers[:1000], seed=0)
    # 1000 + 1000 held-out samples: the standard error of a chance accuracy is ~0.011
    assert abs(attack.balanced_accuracy(members[1000:], nonmembers[1000:]) - 0.5) < 0.05


class Memorizer(nn.Module):
    """Returns the memorized label with a large margin for an input it stored, and
    uninformative random logits (fixed per input) for any other input."""

    def __init__(self, images, labels):
        super().__init__()
        self.table = {x.numpy().tobytes(): int(y) for x, y in zip(images, labels)}

    def forward(self, images):
        rows = []
        for x in images:
            key = x.numpy().tobytes()
            if key in self.table:
                rows.append(_memorized_logits(torch.tensor([self.table[key]]))[0])
            else:
                seed = int(np.frombuffer(key, dtype=np.uint8).sum())
                rows.append(torch.randn(N_CLASSES, generator=torch.Generator().manual_seed(seed)))
        return torch.stack(rows)


def _synthetic(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, N_CLASSES, (n,), generator=g)


def test_forget_share_of_a_memorizer_is_high_and_of_a_stranger_is_low():
    retain, test, forget = _synthetic(300, 0), _synthetic(300, 1), _synthetic(100, 2)
    saw_forget = Memorizer(torch.cat([retain[0], forget[0]]), torch.cat([retain[1], forget[1]]))
    assert mia.forget_member_share(saw_forget, retain, test, forget) > 0.95
    never_saw_forget = Memorizer(*retain)  # F looks like test data to it
    assert mia.forget_member_share(never_saw_forget, retain, test, forget) < 0.05


def test_the_attack_balances_members_and_nonmembers():
    members = np.zeros((10, 2)) + [0.0, 1.0]
    nonmembers = np.zeros((1000, 2)) + [5.0, 0.0]
    attack = mia.fit_attack(members, nonmembers, seed=0)
    classes, counts = np.unique(
        attack.predict(np.vstack([members, nonmembers[:10]])), return_counts=True
    )
    assert list(classes) == [0, 1] and list(counts) == [10, 10]
    with pytest.raises(ValueError, match="at least one member"):
        mia.fit_attack(members[:0], nonmembers)


def test_softmax_entropy_by_hand():
    logits = torch.tensor([[0.0, 0.0], [100.0, 0.0]])
    np.testing.assert_allclose(mia.softmax_entropy(logits), [math.log(2), 0.0], atol=1e-12)


def test_entropy_attack_calls_confident_samples_members():
    """The official attack: confident (low-entropy) retain samples are members, unsure
    test samples are not; a confident forget set is called member, an unsure one not."""
    gen = torch.Generator().manual_seed(0)
    confident = lambda n: (
        torch.randn(n, 10, generator=gen) + torch.eye(10)[torch.arange(n) % 10] * 20
    )  # noqa: E731
    unsure = lambda n: torch.randn(n, 10, generator=gen) * 0.1  # noqa: E731
    retain, test = confident(300), unsure(100)  # unbalanced on purpose: class_weight="balanced"
    assert mia.entropy_member_share(confident(50), retain, test) == 1.0
    assert mia.entropy_member_share(unsure(50), retain, test) == 0.0
