"""Optimizers as maps from a direction to the update direction."""

import pytest
import torch

from nbutils.engine import optim


def test_adam_update_equals_torch_adam():
    gen = torch.Generator().manual_seed(0)
    p_ours = torch.randn(5, generator=gen)
    p_torch = torch.nn.Parameter(p_ours.clone())
    ours = optim.Adam([p_ours])
    reference = torch.optim.Adam([p_torch], lr=0.01)
    for _ in range(4):
        g = torch.randn(5, generator=gen)
        p_ours -= 0.01 * ours.update([g.clone()])[0]
        p_torch.grad = g.clone()
        reference.step()
    torch.testing.assert_close(p_ours, p_torch.detach())


def test_sgd_momentum_recurrence_by_hand():
    sgd = optim.SGD([torch.zeros(1)], momentum=0.5)
    steps = [sgd.update([torch.tensor([g])])[0].item() for g in (1.0, 2.0, 4.0)]
    assert steps == [1.0, 2.5, 5.25]  # m <- 0.5 m + g


def test_plain_sgd_returns_the_direction():
    d = [torch.ones(2)]
    assert optim.SGD(d).update(d) is d


def test_unknown_optimizer_and_bad_momentum():
    with pytest.raises(ValueError, match="optimizer"):
        optim.make("lion", [])
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([], momentum=1.0)
