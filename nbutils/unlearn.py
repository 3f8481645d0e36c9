"""The unlearning loop (NGDiff Algorithm 1, generalized to every direction rule).

Per step: L_R and g_R on a fresh retain batch, L_F and g_F on a fresh forget batch,
the direction d of the method's rule, the update direction u of the optimizer (SGD:
u = d; Adam: the Adam step), the learning rate (fixed, or AutoLR every k steps from
probes along u on R), and theta <- theta - lr u. Every step appends a row to the
history; every ``eval_every`` steps, and after the last step, the model is evaluated.

The model is unlearned in a copy (the target stays intact, and serves as NPO's
reference) and kept in eval mode: no dropout, so a gradient is a function of the
parameters and the batch alone. Same seed, same history to the last digit on CPU.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from . import directions, metrics, optim, runtime
from .autolr import AutoLR, probe
from .batches import Batch, BatchStream, answer_loss, encode_records, token_nll
from .data import Benchmark
from .gradients import add_, task_gradient, trainable
from .npo import npo_loss, reference_log_likelihoods

FORGET_LOSSES = ("ce", "npo")


@dataclass(frozen=True)
class Method:
    """A direction rule with its options, and the forget objective.

    ``forget_loss="ce"``: the forget task's gradient is g_F = grad L_F (cross-entropy),
    ascended. ``"npo"``: g_F = -grad L_NPO (Eq. 9), so that d = a g_R - b g_F descends
    L_NPO; the "NPO" baseline is GDiff(0.5) of the two, i.e. NPO on F plus GD on R
    with equal weights (NOTES.md).
    """

    rule: str
    c: float | None = None
    forget_loss: str = "ce"

    def __post_init__(self):
        if self.rule not in directions.RULES:
            raise ValueError(
                f"unknown direction rule {self.rule!r}; known: {', '.join(directions.RULES)}"
            )
        if self.forget_loss not in FORGET_LOSSES:
            raise ValueError(
                f"forget_loss must be one of {FORGET_LOSSES}, got {self.forget_loss!r}"
            )
        if (self.rule == "gdiff") != (self.c is not None):
            raise ValueError("GDiff needs its c, and only GDiff takes one")

    @property
    def options(self) -> dict:
        return {"c": self.c} if self.c is not None else {}


METHODS: dict[str, Method] = {
    "GD": Method("gd"),
    "GA": Method("ga"),
    "GDiff-0.1": Method("gdiff", 0.1),
    "GDiff-0.5": Method("gdiff", 0.5),
    "GDiff-0.7": Method("gdiff", 0.7),
    "GDiff-0.9": Method("gdiff", 0.9),
    "LossNorm": Method("lossnorm"),
    "RLW": Method("rlw"),
    "PCGrad": Method("pcgrad"),
    "IMTL-G": Method("imtlg"),
    "NGDiff": Method("ngdiff"),
    "NPO": Method("gdiff", 0.5, "npo"),
}


def method(name: str | Method) -> Method:
    """A method by its table name (``METHODS``) or as ``GDiff-<c>`` for any c in [0, 1]."""
    if isinstance(name, Method):
        return name
    if name in METHODS:
        return METHODS[name]
    match = re.fullmatch(r"GDiff-([0-9.]+)", name)
    if match:
        return Method("gdiff", float(match.group(1)))
    raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)} or GDiff-<c>")


class UnlearningDiverged(RuntimeError):
    """A loss or gradient became non-finite; ``history`` holds the steps before it."""

    def __init__(self, message: str, step: int, history: pd.DataFrame):
        super().__init__(message)
        self.step, self.history = step, history


@dataclass
class UnlearningRun:
    method: str
    history: pd.DataFrame
    model: torch.nn.Module
    seconds: float

    @property
    def final(self) -> dict:
        """The evaluation after the last step."""
        return self.history.iloc[-1].dropna().to_dict()


class Unlearner:
    """The body of Algorithm 1, one step at a time, for any method.

    ``step(t, batch_r, batch_f)`` computes L_R, g_R, L_F, g_F, the method's direction,
    the optimizer's update direction u, the learning rate (AutoLR when due) and applies
    theta <- theta - lr u. It returns the step's numbers (a history row) and raises
    ``FloatingPointError`` naming what became non-finite.

    ``loss(model, batch)`` is the task loss, the same for R and F: by default the mean
    answer-token cross-entropy of a language model; any scalar loss serves (a
    classifier's cross-entropy, say). NPO needs a language model's sequence
    log-likelihoods and works with the default loss only.
    """

    def __init__(
        self,
        model,
        spec: Method,
        *,
        lr: float,
        optimizer: str = "sgd",
        autolr: AutoLR | None = None,
        npo_reference: torch.Tensor | None = None,
        npo_beta: float = 0.1,
        probes: BatchStream | None = None,
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
        self.params = trainable(model)
        self.optimizer = optim.make(optimizer, self.params)
        self.npo_reference, self.npo_beta, self.probes = npo_reference, npo_beta, probes
        self.generator = torch.Generator().manual_seed(seed)
        self.loss = loss
        self.forward_passes = 0

    def step(self, t: int, batch_r: Batch, batch_f: Batch) -> dict:
        model, params, row = self.model, self.params, {}
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
        d = directions.combine_(w, g_r, g_f)
        del g_f
        u = self.optimizer.update(d)
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


def run(
    target,
    tokenizer,
    benchmark: Benchmark,
    method_name: str | Method = "NGDiff",
    *,
    steps: int = 100,
    lr: float = 0.1,
    optimizer: str = "sgd",
    autolr: AutoLR | None = None,
    batch_size: int = 16,
    npo_beta: float = 0.1,
    eval_every: int | None = 10,
    eval_retain: int | None = 100,
    truth_ratio: bool = False,
    max_new_tokens: int = 32,
    max_length: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> UnlearningRun:
    """Unlearn F from a copy of ``target`` while keeping R; return the run and its history.

    History columns, one row per step (the state theta_t before its update): ``step``,
    ``loss_retain``, ``loss_forget`` (batch cross-entropies; ``loss_npo`` for NPO),
    ``grad_norm_retain``, ``grad_norm_forget``, ``cos``, ``implied_c``,
    ``weight_retain``, ``weight_forget``, ``dot_retain_d``, ``dot_forget_d`` (the two
    signs of Eq. 7), ``lr`` (used at this step), ``forward_passes`` (cumulative); with
    AutoLR ``autolr_accepted``, ``eta_star``, ``slope``, ``curvature`` at update steps;
    and at evaluation steps the keys of ``metrics.evaluate``. A last row (``step ==
    steps``) holds the evaluation after the final update.
    """
    spec = method(method_name)
    label = method_name if isinstance(method_name, str) else spec.rule
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be positive or None, got {eval_every}")

    device = next(target.parameters()).device
    model = copy.deepcopy(target).eval()
    pad = tokenizer.pad_token_id
    forget_items = encode_records(tokenizer, benchmark.forget, max_length)
    retain_items = encode_records(tokenizer, benchmark.retain, max_length)
    retain = BatchStream(retain_items, batch_size, pad, seed * 4 + 1, device)
    forget = BatchStream(forget_items, batch_size, pad, seed * 4 + 2, device)
    unlearner = Unlearner(
        model,
        spec,
        lr=lr,
        optimizer=optimizer,
        autolr=autolr,
        npo_beta=npo_beta,
        npo_reference=(
            reference_log_likelihoods(target, forget_items, pad).to(device)
            if spec.forget_loss == "npo"
            else None
        ),
        probes=BatchStream(retain_items, batch_size, pad, seed * 4 + 3, device),
        seed=seed * 4 + 4,
    )

    def evaluation() -> dict:
        return metrics.evaluate(
            model,
            tokenizer,
            benchmark,
            retain_limit=eval_retain,
            truth_ratios=truth_ratio,
            max_new_tokens=max_new_tokens,
        )

    rows: list[dict] = []
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=label, disable=not progress, leave=False)
    for t in bar:
        row: dict = {"step": t}
        if eval_every is not None and t % eval_every == 0:
            row.update(evaluation())
        try:
            row.update(unlearner.step(t, next(retain), next(forget)))
        except FloatingPointError as err:
            last = (
                {k: rows[-1][k] for k in ("step", "loss_retain", "loss_forget", "lr")}
                if rows
                else "none (first step)"
            )
            raise UnlearningDiverged(
                f"{label}: non-finite {err} at step {t} (lr={unlearner.lr:.3g}); last finite "
                f"values: {last}",
                t,
                pd.DataFrame(rows),
            ) from None
        rows.append(row)
        bar.set_postfix(L_R=f"{row['loss_retain']:.3f}", L_F=f"{row['loss_forget']:.3f}")

    rows.append({"step": steps, **evaluation(), "forward_passes": unlearner.forward_passes})
    return UnlearningRun(label, pd.DataFrame(rows), model, time.perf_counter() - start)
