"""Membership-inference attacks (the slides' MIA column): ours, logistic regression on
per-sample loss and confidence, and the official one of the DualOptim code
(``entropy_member_share``: logistic regression on the entropy of the softmax).

The attack is fitted, for each model under evaluation, on that model's outputs for
known members (retain-train images) and known non-members (test images), balanced by
subsampling the larger group; its score on the forget set is the share of forget
samples it calls members (a model that never saw F should look like it did on test
data; the original model calls most of F members). Features per sample: the log of
its cross-entropy loss (floored at 1e-12, so a perfectly memorized sample stays
finite) and its confidence, the largest softmax probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

LOSS_FLOOR = 1e-12
FEATURES = ("log_loss", "confidence")


def features(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """(n, 2) array of [log(max(CE loss, 1e-12)), max softmax probability] per sample,
    from logits (n, classes) and integer labels (n,)."""
    logits = logits.detach().double()
    loss = F.cross_entropy(logits, labels.long(), reduction="none").clamp_min(LOSS_FLOOR)
    confidence = logits.softmax(dim=1).max(dim=1).values
    return torch.stack([loss.log(), confidence], dim=1).cpu().numpy()


@torch.no_grad()
def model_features(model, images: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """``features`` of a classifier's logits on (images, labels)."""
    return features(model(images), labels)


@dataclass
class MembershipAttack:
    """A fitted attack: ``predict`` says 1 (member) or 0 (non-member) per sample."""

    classifier: Pipeline

    def predict(self, sample_features: np.ndarray) -> np.ndarray:
        return self.classifier.predict(np.asarray(sample_features))

    def member_share(self, sample_features: np.ndarray) -> float:
        """Share of the samples called members (the MIA column for the forget set)."""
        return float(np.mean(self.predict(sample_features) == 1))

    def balanced_accuracy(self, members: np.ndarray, nonmembers: np.ndarray) -> float:
        """Mean of the true-member and true-non-member rates: 0.5 is chance."""
        return 0.5 * (self.member_share(members) + 1.0 - self.member_share(nonmembers))


def _balance(
    members: np.ndarray, nonmembers: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(members), len(nonmembers))
    if n == 0:
        raise ValueError("the attack needs at least one member and one non-member")
    pick = lambda rows: rows[np.sort(rng.choice(len(rows), n, replace=False))]  # noqa: E731
    return pick(members), pick(nonmembers)


def fit_attack(members: np.ndarray, nonmembers: np.ndarray, seed: int = 0) -> MembershipAttack:
    """Fit standardize + logistic regression to tell ``members`` (label 1) from
    ``nonmembers`` (label 0), feature arrays (n, k); the larger group is subsampled
    (seeded) to the size of the smaller, so that chance is 0.5."""
    members, nonmembers = _balance(
        np.asarray(members), np.asarray(nonmembers), np.random.default_rng(seed)
    )
    x = np.concatenate([members, nonmembers])
    y = np.concatenate([np.ones(len(members), int), np.zeros(len(nonmembers), int)])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return MembershipAttack(classifier.fit(x, y))


def member_share_of(
    forget: np.ndarray, members: np.ndarray, nonmembers: np.ndarray, seed: int = 0
) -> float:
    """MIA on the forget set from feature arrays: fit the attack on ``members``
    (retain-train) vs ``nonmembers`` (test) and return the share of ``forget`` samples
    it calls members."""
    return fit_attack(members, nonmembers, seed).member_share(forget)


def forget_member_share(model, members, nonmembers, forget, seed: int = 0) -> float:
    """``member_share_of`` for a model and three (images, labels) pairs."""
    return member_share_of(
        model_features(model, *forget),
        model_features(model, *members),
        model_features(model, *nonmembers),
        seed,
    )


def softmax_entropy(logits: torch.Tensor) -> np.ndarray:
    """Entropy of the softmax of each row of ``logits`` (n, classes), in nats, as the
    official code's ``entropy`` (0 log 0 = 0)."""
    p = logits.detach().double().softmax(dim=1)
    terms = torch.where(p > 0, p * p.log(), torch.zeros_like(p))
    return (-terms.sum(dim=1)).cpu().numpy()


def entropy_member_share(
    forget_logits: torch.Tensor, retain_logits: torch.Tensor, test_logits: torch.Tensor
) -> float:
    """The official MIA of CityU-MLO/DualOptim (``ImageClassification/evaluation/MIA.py``,
    ``get_membership_attack_prob`` with metrics="entropy"): one feature, the softmax
    entropy; ``LogisticRegression(class_weight="balanced", solver="lbfgs")`` fitted on
    the full retain set (members, 1) against the full test set (non-members, 0); the
    share of forget samples it predicts members (their log prints this share; their
    tables show it times 100)."""
    x = np.concatenate([softmax_entropy(retain_logits), softmax_entropy(test_logits)])
    y = np.concatenate([np.ones(len(retain_logits)), np.zeros(len(test_logits))])
    attack = LogisticRegression(class_weight="balanced", solver="lbfgs")
    attack.fit(x.reshape(-1, 1), y)
    return float(attack.predict(softmax_entropy(forget_logits).reshape(-1, 1)).mean())
