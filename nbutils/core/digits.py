"""Images to unlearn: scikit-learn's 8x8 digits, a small CNN, and what is measured on it
(NGDiff Appendix D / Table 4; the DualOptim slides' FA, RA, TA, MIA).

The digits (1797 images, 10 classes) ship with scikit-learn: nothing is downloaded. A
seed splits them into train and test; forget and retain sets are cut from the training
images (``class_split``: a sample of one class, as in Appendix D; ``random_split``: a
random share, as in the slides).

Tiny convolutions run far faster on one CPU thread than on two threads that other
processes also want (measured on the project's 2-core machine with other jobs running:
3.6 ms per training step of batch 64 on one thread, 42-128 ms on two), so the CPU work
here runs single-threaded (``cpu_threads``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits as _sklearn_digits
from sklearn.model_selection import train_test_split
from torch import nn

from . import mia


@dataclass(frozen=True)
class Digits:
    """Train and test images (n, 1, 8, 8), pixel values in [0, 1], and labels (n,)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    seed: int

    def to(self, device) -> Digits:
        moved = {k: getattr(self, k).to(device) for k in ("train_images", "train_labels")}
        moved |= {k: getattr(self, k).to(device) for k in ("test_images", "test_labels")}
        return replace(self, **moved)


def load_digits(seed: int, test_fraction: float = 0.25) -> Digits:
    """The 8x8 digits split into train and test, stratified by class, shuffled by ``seed``."""
    bunch = _sklearn_digits()
    images = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=bunch.target, random_state=seed
    )
    train, test = torch.as_tensor(train), torch.as_tensor(test)
    return Digits(images[train], labels[train], images[test], labels[test], seed)


@dataclass(frozen=True)
class Split:
    """Forget and retain sets as indices into the training images.

    ``forget_class`` is the class unlearned in the class scenario (None for a random
    subset); its unsampled training images, if any, are in neither set.
    """

    scenario: str
    forget: torch.Tensor
    retain: torch.Tensor
    forget_class: int | None = None

    def sets(self, data: Digits) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """(images, labels) of F, R and the test set."""
        x, y = data.train_images, data.train_labels
        return {
            "forget": (x[self.forget], y[self.forget]),
            "retain": (x[self.retain], y[self.retain]),
            "test": (data.test_images, data.test_labels),
        }


def class_split(data: Digits, forget_class: int, n_forget: int, seed: int) -> Split:
    """Appendix D: F = ``n_forget`` training images of ``forget_class`` drawn with
    ``seed``; R = every training image of the other classes."""
    labels = data.train_labels.cpu().numpy()
    members = np.flatnonzero(labels == forget_class)
    if not 1 <= n_forget <= len(members):
        raise ValueError(
            f"n_forget must lie in [1, {len(members)}] (training images of class "
            f"{forget_class}), got {n_forget}"
        )
    forget = np.sort(np.random.default_rng(seed).choice(members, n_forget, replace=False))
    retain = np.flatnonzero(labels != forget_class)
    return Split("class", torch.as_tensor(forget), torch.as_tensor(retain), int(forget_class))


def random_split(data: Digits, fraction: float, seed: int) -> Split:
    """The slides' random-subset unlearning: F = a random ``fraction`` of the training
    images (at least one), R = the rest."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    n = len(data.train_labels)
    forget = np.sort(
        np.random.default_rng(seed).choice(n, max(1, round(fraction * n)), replace=False)
    )
    retain = np.setdiff1d(np.arange(n), forget)
    return Split("random", torch.as_tensor(forget), torch.as_tensor(retain))


# --------------------------------------------------------------------------- model


class SmallCNN(nn.Sequential):
    """conv3x3(16) -> ReLU -> pool -> conv3x3(32) -> ReLU -> pool -> 64 -> 10 logits
    (13,706 parameters; no dropout or batch norm, so a gradient depends on the
    parameters and the batch alone)."""

    def __init__(self, n_classes: int = 10):
        super().__init__(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, n_classes),
        )


@contextlib.contextmanager
def cpu_threads(n: int = 1):
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cross_entropy(model, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of a batch (images, labels): the task loss L_R or L_F."""
    images, labels = batch
    return F.cross_entropy(model(images), labels)


def batch_stream(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches (images, labels): a fresh seeded permutation every epoch, batches
    of ``min(batch_size, n)`` (the last of an epoch may be smaller)."""
    n = len(labels)
    if n == 0:
        raise ValueError("cannot draw batches from an empty set")
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator).to(labels.device)
        for start in range(0, n, size):
            rows = order[start : start + size]
            yield images[rows], labels[rows]


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    lr: float = 3e-3,
) -> SmallCNN:
    """A ``SmallCNN`` trained from scratch with Adam for ``epochs`` passes (the
    pretraining recipe of both the original model and RT; seeded init and order)."""
    torch.manual_seed(seed)
    model = SmallCNN().to(images.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = batch_stream(images, labels, batch_size, seed)
    steps = epochs * math.ceil(len(labels) / min(batch_size, len(labels)))
    with cpu_threads(1):
        for _ in range(steps):
            loss = cross_entropy(model, next(batches))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


# --------------------------------------------------------------------------- metrics


@torch.no_grad()
def accuracy(model, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose top logit is their label (NaN for an empty set)."""
    return _accuracy(model(images), labels)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    if len(labels) == 0:
        return math.nan
    return (logits.argmax(dim=1) == labels).double().mean().item()


@torch.no_grad()
def evaluate(model, data: Digits, split: Split, seed: int = 0) -> dict[str, float]:
    """FA, RA, TA and MIA (fractions): ``MIA`` ours (``mia.member_share_of``: loss and
    confidence, balanced by a sample drawn with ``seed``) and ``MIA_entropy`` the
    official DualOptim attack (``mia.entropy_member_share``). With a forgotten class
    also TA on that class (``TA_forgotten``) and on the others (``TA_rest``). One
    forward pass per set."""
    with cpu_threads(1):
        logits = {name: (model(x), y) for name, (x, y) in split.sets(data).items()}
    features = {name: mia.features(*pair) for name, pair in logits.items()}
    out = {
        "FA": _accuracy(*logits["forget"]),
        "RA": _accuracy(*logits["retain"]),
        "TA": _accuracy(*logits["test"]),
        "MIA": mia.member_share_of(features["forget"], features["retain"], features["test"], seed),
        "MIA_entropy": mia.entropy_member_share(
            logits["forget"][0], logits["retain"][0], logits["test"][0]
        ),
    }
    if split.forget_class is not None:
        test_logits, test_labels = logits["test"]
        mask = test_labels == split.forget_class
        out["TA_forgotten"] = _accuracy(test_logits[mask], test_labels[mask])
        out["TA_rest"] = _accuracy(test_logits[~mask], test_labels[~mask])
    return out
