"""Unlearning a language model: its batch streams, its evaluation, and its two runs.

``unlearn_lm`` is NGDiff's Algorithm 1 (``unlearner.unlearn``) on a causal LM and a
benchmark; ``alternate_lm`` is the DualOptim slides' Algorithm 1 (``alternator``) on the
same. Both draw batches from ``lm_streams`` (seeded by ``loop.stream_seeds``), so runs
with equal seeds see equal batches whatever the method, and both score the model with
``evaluation`` (``core.metrics.evaluate``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch

from ..core import metrics
from ..core.batches import BatchStream, answer_loss, encode_records
from ..core.data import Benchmark
from .alternator import Alternator, linear_schedule
from .autolr import AutoLR
from .gradients import sq_norm, task_gradient, trainable
from .loop import Run, run_loop, stream_seeds
from .methods import Method, method
from .npo import reference_log_likelihoods
from .optim import make_states
from .unlearner import unlearn


def lm_streams(
    tokenizer,
    benchmark: Benchmark,
    batch_size: int,
    seed: int,
    device,
    max_length: int = 256,
) -> dict[str, BatchStream]:
    """The run's ``retain``, ``forget`` and ``probe`` (retain) batch streams."""
    seeds = stream_seeds(seed)
    pad = tokenizer.pad_token_id
    retain = encode_records(tokenizer, benchmark.retain, max_length)
    forget = encode_records(tokenizer, benchmark.forget, max_length)
    return {
        "retain": BatchStream(retain, batch_size, pad, seeds.retain, device),
        "forget": BatchStream(forget, batch_size, pad, seeds.forget, device),
        "probe": BatchStream(retain, batch_size, pad, seeds.probe, device),
    }


def evaluation(
    tokenizer,
    benchmark: Benchmark,
    *,
    eval_retain: int | None = 100,
    truth_ratio: bool = False,
    max_new_tokens: int = 32,
) -> Callable[..., dict]:
    """``(model, final=True) -> metrics.evaluate(...)`` with the given settings.

    With ``truth_ratio``, Truth Ratio is scored at a *final* evaluation only (``final``
    True: the retain and forget summaries and the per-question forget values
    ``truth_ratio_forget_values`` that forget quality's KS test needs); an intermediate
    evaluation (``final=False``) scores ROUGE and the split losses, which is what a
    curve needs, at a fraction of the cost."""
    return lambda model, final=True: metrics.evaluate(
        model,
        tokenizer,
        benchmark,
        retain_limit=eval_retain,
        truth_ratios=truth_ratio and final,
        truth_ratio_values=truth_ratio and final,
        max_new_tokens=max_new_tokens,
    )


def unlearn_lm(
    target,
    tokenizer,
    benchmark: Benchmark,
    method_name: str | Method = "NGDiff",
    *,
    steps: int = 100,
    lr: float = 0.1,
    optimizer: str | Callable = "sgd",
    autolr: AutoLR | None = None,
    batch_size: int = 16,
    npo_beta: float = 0.1,
    eval_every: int | None = 10,
    eval_retain: int | None = 100,
    truth_ratio: bool = False,
    max_new_tokens: int = 32,
    max_length: int = 256,
    seed: int = 0,
    label: str | None = None,
    visit: Callable | None = None,
    evaluate: bool = True,
    progress: bool = True,
) -> Run:
    """Unlearn F from a copy of ``target`` while keeping R (NGDiff's Algorithm 1).

    History columns, one row per step (the state theta_t before its update): ``step``,
    ``loss_retain``, ``loss_forget`` (batch cross-entropies; ``loss_npo`` for NPO),
    ``grad_norm_retain``, ``grad_norm_forget``, ``cos``, ``implied_c``,
    ``weight_retain``, ``weight_forget``, ``dot_retain_d``, ``dot_forget_d`` (the two
    signs of Eq. 7), ``lr`` (used at this step), ``forward_passes`` (cumulative); with
    AutoLR ``autolr_accepted``, ``eta_star``, ``slope``, ``curvature`` at update steps;
    and at evaluation steps the keys of ``metrics.evaluate``. A last row (``step ==
    steps``) holds the evaluation after the final update; with ``truth_ratio`` only that
    final evaluation scores Truth Ratio (``truth_ratio_retain``, ``truth_ratio_forget``
    and the per-question list ``truth_ratio_forget_values``; ``evaluation``). ``visit(ctx)``
    (``unlearner.StepContext``) measures theta_t before each step (the landscape walks of
    notebooks 01 and 03); ``evaluate=False`` skips every evaluation.
    """
    spec = method(method_name)
    device = next(target.parameters()).device
    streams = lm_streams(tokenizer, benchmark, batch_size, seed, device, max_length)
    reference = (
        reference_log_likelihoods(target, streams["forget"].items, tokenizer.pad_token_id).to(
            device
        )
        if spec.forget_loss == "npo"
        else None
    )
    return unlearn(
        target,
        spec,
        streams,
        steps=steps,
        lr=lr,
        seed=seed,
        optimizer=optimizer,
        autolr=autolr,
        npo_reference=reference,
        npo_beta=npo_beta,
        evaluate=evaluation(
            tokenizer,
            benchmark,
            eval_retain=eval_retain,
            truth_ratio=truth_ratio,
            max_new_tokens=max_new_tokens,
        )
        if evaluate
        else None,
        eval_every=eval_every,
        visit=visit,
        label=label or (method_name if isinstance(method_name, str) else spec.rule),
        progress=progress,
    )


def alternate_lm(
    target,
    tokenizer,
    benchmark: Benchmark,
    scheme: str,
    *,
    lr_forget: float,
    lr_retain: float,
    optimizer: str = "adam",
    steps: int = 80,
    forget_steps: int = 1,
    retain_steps: int = 1,
    batch_size: int = 16,
    eval_every: int | None = 20,
    eval_retain: int | None = 100,
    max_new_tokens: int = 32,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
    warmup_steps: int | None = None,
    seed: int = 0,
    label: str | None = None,
    progress: bool = False,
) -> Run:
    """The DualOptim slides' Algorithm 1 on a copy of ``target``: ``steps`` updates, each
    one gradient evaluation, forget (gradient ascent on L_F) or retain (descent on L_R)
    by the schedule T_f : T_r, with ``scheme``'s optimizer states (``optim.make_states``:
    Alternate, DualOptim, DualOptim+; ``optimizer`` is the pretraining optimizer).
    The official code's extras: ``weight_decay`` (AdamW), ``clip_norm`` (each gradient to
    that norm) and, with ``warmup_steps`` set, the linear schedule (warm-up, then decay
    to 0 at the last update); without it the rates are constant.
    History: one row per update (``task``, batch ``loss`` L_F or L_R, ``grad_norm`` of
    its gradient before clipping, ``lr`` used), evaluations as in ``unlearn_lm``."""
    model = copy.deepcopy(target).eval()
    params = trainable(model)
    device = next(model.parameters()).device
    streams = lm_streams(tokenizer, benchmark, batch_size, seed, device)
    states = make_states(scheme, params, optimizer, weight_decay)

    def gradient(task: str):
        loss = answer_loss(model, next(streams[task]))
        g = task_gradient(loss, params)
        row = {"loss": loss.item(), "grad_norm": math.sqrt(sq_norm(g))}
        if not (math.isfinite(row["grad_norm"]) and math.isfinite(row["loss"])):
            raise FloatingPointError(task)
        return (torch._foreach_neg(g) if task == "forget" else g), row

    alternator = Alternator(
        params,
        states,
        gradient,
        lr_forget=lr_forget,
        lr_retain=lr_retain,
        forget_steps=forget_steps,
        retain_steps=retain_steps,
        schedule=linear_schedule(steps, warmup_steps) if warmup_steps is not None else None,
        clip_norm=clip_norm,
    )
    score = evaluation(tokenizer, benchmark, eval_retain=eval_retain, max_new_tokens=max_new_tokens)
    run = run_loop(
        alternator.step,
        steps,
        label=label or scheme,
        seed=seed,
        model=model,
        evaluate=lambda final: score(model, final),
        eval_every=eval_every,
        progress=progress,
    )
    run.model = model
    return run
