"""The joint step of NGDiff's Algorithm 1, for every direction rule, and ``unlearn``.

Per step: L_R and g_R on a fresh retain batch, L_F and g_F on a fresh forget batch,
the direction d of the method's rule, the update direction u of the optimizer (SGD:
u = d; Adam: the Adam step; decoupled task states: one update per task's part of d),
the learning rate (fixed, or AutoLR every k steps from probes along u on R), and
theta <- theta - lr u.

``unlearn`` runs it on a copy of a model (the target stays intact, and serves as NPO's
reference) kept in eval mode: no dropout, so a gradient is a function of the parameters
and the batch alone. Same seed, same history to the last digit on CPU.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..core import runtime
from ..core.batches import answer_loss, token_nll
from . import directions, optim
from .autolr import AutoLR, probe
from .gradients import Grads, add_, task_gradient, trainable
from .loop import Run, run_loop, stream_seeds
from .methods import Method, method
from .npo import npo_loss


class Unlearner:
    """The body of Algorithm 1, one step at a time, for any method.

    ``step(t)`` takes the step's batches from the ``retain`` and ``forget`` streams,
    computes L_R, g_R, L_F, g_F, the method's direction, the optimizer's update direction
    u, the learning rate (AutoLR when due) and applies theta <- theta - lr u. It returns
    the step's numbers (a history row) and raises ``FloatingPointError`` naming what
    became non-finite. ``batches(t)`` draws step t's batches once: a visit before the
    step sees the very batches the step will use.

    ``optimizer``: "sgd", "adam", or task states (``optim.TaskStates``, one state per
    task: u = update_R(a g_R) + update_F(-b g_F), e.g. NGDiff + DualOptim).
    ``loss(model, batch)`` is the task loss, the same for R and F: by default the mean
    answer-token cross-entropy of a language model; any scalar loss serves (a
    classifier's cross-entropy, say). NPO needs a language model's sequence
    log-likelihoods and works with the default loss only.
    """

    def __init__(
        self,
        model,
        spec: Method,
        retain: Iterator,
        forget: Iterator,
        *,
        lr: float,
        optimizer: str | optim.TaskStates = "sgd",
        autolr: AutoLR | None = None,
        probes: Iterator | None = None,
        npo_reference: torch.Tensor | None = None,
        npo_beta: float = 0.1,
        seed: int = 0,
        loss: Callable = answer_loss,
    ):
        if spec.forget_loss == "npo" and (npo_reference is None or loss is not answer_loss):
            raise ValueError(
                "NPO needs the default language-model loss and the reference "
                "log-likelihoods of the forget records"
            )
        if autolr is not None and autolr.fresh_batch and probes is None:
            raise ValueError("this AutoLR probes on fresh batches: pass a probe stream")
        self.model, self.spec, self.lr, self.autolr = model, spec, lr, autolr
        self.retain, self.forget, self.probes = retain, forget, probes
        self.params = trainable(model)
        if isinstance(optimizer, str):
            optimizer = optim.make(optimizer, self.params)
        elif isinstance(optimizer, optim.TaskStates) and optimizer.is_shared:
            optimizer = optimizer.states["retain"]  # one state: the plain optimizer
        self.optimizer = optimizer
        self.decoupled = isinstance(optimizer, optim.TaskStates)
        self.npo_reference, self.npo_beta = npo_reference, npo_beta
        self.generator = torch.Generator().manual_seed(seed)
        self.loss = loss
        self.forward_passes = 0
        self._drawn: tuple[int, tuple] | None = None

    def batches(self, t: int) -> tuple:
        """(retain batch, forget batch) of step t, drawn from the streams once."""
        if self._drawn is None or self._drawn[0] != t:
            self._drawn = (t, (next(self.retain), next(self.forget)))
        return self._drawn[1]

    def _update(self, w: directions.Weights, g_r: Grads, g_f: Grads) -> Grads:
        """The optimizer's update direction u for d = w.retain g_R - w.forget g_F."""
        if self.decoupled:
            torch._foreach_mul_(g_r, w.retain)
            torch._foreach_mul_(g_f, -w.forget)
            return optim.joint_update(self.optimizer, g_r, g_f)
        return self.optimizer.update(directions.combine_(w, g_r, g_f))

    def step(self, t: int) -> dict:
        model, params, row = self.model, self.params, {}
        batch_r, batch_f = self.batches(t)
        runtime.checkpoint_layers(model)  # evaluation between steps resets the flags
        loss_r = self.loss(model, batch_r)
        g_r = task_gradient(loss_r, params)
        if self.spec.forget_loss == "npo":
            nll_f = token_nll(model, batch_f)
            loss_f = nll_f.sum() / batch_f.answer_mask.sum()
            loss_npo = npo_loss(-nll_f.sum(dim=1), self.npo_reference[batch_f.rows], self.npo_beta)
            g_f = task_gradient(-loss_npo, params)
            row["loss_npo"] = loss_npo.item()
        else:
            loss_f = self.loss(model, batch_f)
            g_f = task_gradient(loss_f, params)
        self.forward_passes += 2
        row.update(loss_retain=loss_r.item(), loss_forget=loss_f.item())
        if not all(math.isfinite(v) for v in row.values()):
            raise FloatingPointError("loss")

        try:
            geo = directions.Geometry.of(g_r, g_f, row["loss_retain"], row["loss_forget"])
        except directions.NonFiniteGradientError as err:
            raise FloatingPointError(f"gradient ({err})") from None
        w = directions.weights(self.spec.rule, geo, self.generator, **self.spec.options)
        dot_r, dot_f = w.dots(geo)
        u = self._update(w, g_r, g_f)
        del g_r, g_f
        row.update(
            grad_norm_retain=geo.norm_retain,
            grad_norm_forget=geo.norm_forget,
            cos=geo.cosine,
            implied_c=w.implied_c,
            weight_retain=w.retain,
            weight_forget=w.forget,
            dot_retain_d=dot_r,
            dot_forget_d=dot_f,
        )

        if self.autolr is not None and self.autolr.due(t):
            fresh = self.autolr.fresh_batch
            probe_batch = next(self.probes) if fresh else batch_r
            fit = probe(
                lambda: self.loss(model, probe_batch).item(),
                params,
                u,
                self.lr,
                None if fresh else row["loss_retain"],
            )
            self.forward_passes += self.autolr.extra_forwards
            self.lr, accepted = self.autolr.next_lr(self.lr, fit)
            row.update(
                autolr_accepted=accepted,
                eta_star=fit.eta_star,
                slope=fit.slope,
                curvature=fit.curvature,
            )
        add_(params, u, -self.lr)
        row.update(lr=self.lr, forward_passes=self.forward_passes)
        return row


@dataclass
class StepContext:
    """What a visit sees at step t, before the step: theta_t in ``model``, and the
    step's own batches."""

    t: int
    model: torch.nn.Module
    params: list[torch.nn.Parameter]
    batch_retain: object
    batch_forget: object
    lr: float
    loss: Callable

    def retain_loss(self) -> Callable[[], torch.Tensor]:
        return lambda: self.loss(self.model, self.batch_retain)

    def forget_loss(self) -> Callable[[], torch.Tensor]:
        return lambda: self.loss(self.model, self.batch_forget)


def unlearn(
    model: torch.nn.Module,
    method_name: str | Method,
    streams: dict[str, Iterator],
    *,
    steps: int,
    lr: float,
    seed: int,
    optimizer: str | Callable = "sgd",
    autolr: AutoLR | None = None,
    loss: Callable = answer_loss,
    npo_reference: torch.Tensor | None = None,
    npo_beta: float = 0.1,
    evaluate: Callable[[torch.nn.Module, bool], dict] | None = None,
    eval_every: int | None = None,
    visit: Callable[[StepContext], dict] | None = None,
    label: str | None = None,
    progress: bool = False,
) -> Run:
    """Unlearn a copy of ``model`` with NGDiff's Algorithm 1 (``run_loop`` of
    ``Unlearner.step``): ``streams`` are the run's ``retain``, ``forget`` and (for
    AutoLR's fresh batches) ``probe`` batch streams, seeded by ``loop.stream_seeds(seed)``;
    the rule's draws (RLW) come from its ``rule`` seed. ``optimizer`` is a name or a
    function of the parameters returning task states. ``evaluate(model, final)`` scores
    the copy (``final``: the evaluation after the last step); ``visit(ctx)`` measures
    theta_t before each step. The returned run keeps the unlearned copy as ``model``."""
    spec = method(method_name)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    copied = copy.deepcopy(model).eval()
    states = optimizer if isinstance(optimizer, str) else optimizer(trainable(copied))
    unlearner = Unlearner(
        copied,
        spec,
        streams["retain"],
        streams["forget"],
        lr=lr,
        optimizer=states,
        autolr=autolr,
        probes=streams.get("probe"),
        npo_reference=npo_reference,
        npo_beta=npo_beta,
        seed=stream_seeds(seed).rule,
        loss=loss,
    )

    def context(t: int) -> dict:
        batch_r, batch_f = unlearner.batches(t)
        ctx = StepContext(t, copied, unlearner.params, batch_r, batch_f, unlearner.lr, loss)
        return visit(ctx)

    run = run_loop(
        unlearner.step,
        steps,
        label=label or str(method_name),
        seed=seed,
        model=copied,
        evaluate=(lambda final: evaluate(copied, final)) if evaluate is not None else None,
        eval_every=eval_every,
        visit=context if visit is not None else None,
        progress=progress,
    )
    run.model = copied
    return run
