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


def test_adamw_decays_matrices_not_biases_by_default():
    """Decoupled weight decay as torch's AdamW: theta <- theta (1 - lr wd) - lr u, with
    biases and LayerNorm weights (1-D) left out, as Hugging Face's Trainer groups them."""
    matrix, bias = torch.ones(2, 3), torch.ones(3)
    adam = optim.Adam([matrix, bias], weight_decay=0.1)
    u = adam.update([torch.zeros(2, 3), torch.zeros(3)])
    torch.testing.assert_close(u[0], 0.1 * matrix)
    torch.testing.assert_close(u[1], torch.zeros(3))
    reference = torch.nn.Parameter(torch.ones(2, 3))
    torch_adamw = torch.optim.AdamW([reference], lr=0.01, weight_decay=0.1)
    mine = torch.ones(2, 3)
    ours = optim.Adam([mine], weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        g = torch.randn(2, 3, generator=gen)
        reference.grad = g.clone()
        torch_adamw.step()
        mine.sub_(0.01 * ours.update([g])[0])
    torch.testing.assert_close(mine, reference.detach(), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.Adam([matrix], weight_decay=-1.0)


def test_clip_scales_to_the_global_norm_as_torch_does():
    from nbutils.engine.gradients import clip_

    grads = [torch.tensor([3.0]), torch.tensor([[4.0]])]
    reference = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1, 1))]
    for p, g in zip(reference, grads):
        p.grad = g.clone()
    assert clip_(grads, 1.0) == pytest.approx(5.0)
    torch.nn.utils.clip_grad_norm_(reference, 1.0)
    for p, g in zip(reference, grads):
        torch.testing.assert_close(g, p.grad)
    small = [torch.tensor([0.3])]
    clip_(small, 1.0)
    assert small[0].item() == pytest.approx(0.3)  # below the norm: untouched
