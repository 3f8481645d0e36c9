"""Evaluation metrics: ROUGE-L recall of greedy answers, Truth Ratio, losses.

Conventions of locuslab/open-unlearning as summarized in NOTES.md ("Metrics"):
``RougeScorer(["rougeL"], use_stemmer=True)`` (its numbers, computed by ``rouge.py``),
recall of the generation against the reference; generation greedy, KV-cached, batched
with left padding, answer only, cut at EOS, special tokens skipped, stripped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import rouge
from .batches import (
    Encoded,
    batches,
    collate,
    encode,
    encode_records,
    prompt_text,
    sequence_nll,
    token_nll,
)
from .data import QA


def _rouge_l(references: list[str], predictions: list[str]) -> list[rouge.Score]:
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    return [rouge.rouge_l(r, p) for r, p in zip(references, predictions)]


def rouge_l_recall(references: list[str], predictions: list[str]) -> list[float]:
    """ROUGE-L recall of each prediction against its reference (LCS / reference length)."""
    return [score.recall for score in _rouge_l(references, predictions)]


def rouge_l_f1(references: list[str], predictions: list[str]) -> list[float]:
    """ROUGE-L F1 (MUSE reports this, times 100)."""
    return [score.fmeasure for score in _rouge_l(references, predictions)]


@torch.no_grad()
def generate(
    model, tokenizer, prompts: list[str], *, max_new_tokens: int = 48, batch_size: int = 64
) -> list[str]:
    """Greedy continuations of ``prompts`` (prompt stripped, cut at EOS, stripped)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = [
        Encoded(tuple(tokenizer(p, add_special_tokens=False)["input_ids"]), ()) for p in prompts
    ]
    out: list[str] = []
    for start in range(0, len(encoded), batch_size):
        batch = collate(encoded[start : start + batch_size], tokenizer.pad_token_id).to(device)
        generated = model.generate(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            use_cache=True,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        new = generated[:, batch.input_ids.shape[1] :]
        out += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    model.train(was_training)
    return out


def answer_questions(
    model,
    tokenizer,
    records: list[QA] | tuple[QA, ...],
    *,
    max_new_tokens: int = 48,
    batch_size: int = 64,
) -> list[str]:
    """Greedy answers to the records' questions, in the training prompt format."""
    return generate(
        model,
        tokenizer,
        [prompt_text(r.question) for r in records],
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )


def qa_rouge(model, tokenizer, records, *, max_new_tokens: int = 48, batch_size: int = 64) -> float:
    """Mean ROUGE-L recall of greedy answers against the reference answers."""
    answers = answer_questions(
        model, tokenizer, records, max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    return float(np.mean(rouge_l_recall([r.answer for r in records], answers)))


@torch.no_grad()
def mean_nll(
    model,
    tokenizer,
    questions: list[str],
    answers: list[str],
    *,
    max_length: int = 256,
    batch_size: int = 64,
) -> np.ndarray:
    """Per-pair mean answer-token NLL (EOS included): answer probability = exp(-nll)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    items = [encode(tokenizer, q, a, max_length) for q, a in zip(questions, answers)]
    values = [
        sequence_nll(model, b.to(device)).float().cpu()
        for b in batches(items, batch_size, tokenizer.pad_token_id)
    ]
    model.train(was_training)
    return torch.cat(values).numpy()


@torch.no_grad()
def split_loss(model, tokenizer, records, *, max_length: int = 256, batch_size: int = 64) -> float:
    """Mean token cross-entropy over all answer tokens of a split (the L_F, L_R of Fig. 1)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for b in batches(
        encode_records(tokenizer, records, max_length), batch_size, tokenizer.pad_token_id
    ):
        b = b.to(device)
        total += float(token_nll(model, b).sum())
        count += int(b.answer_mask.sum())
    model.train(was_training)
    return total / count


GUARD = 1e-10  # open-unlearning's guard against dividing by a vanishing probability


@dataclass(frozen=True)
class TruthRatio:
    """Per-question truth ratios TR = P_pert / (P_para + 1e-10) and their TOFU summaries,
    as open-unlearning computes them (``src/evals/metrics/memorization.py``,
    ``truth_ratio``; tests/fixtures/authors)."""

    values: np.ndarray

    @property
    def retain_score(self) -> float:
        """mean(max(0, 1 - TR)): higher is better on the retain side."""
        return float(np.mean(np.maximum(0.0, 1.0 - self.values)))

    @property
    def forget_score(self) -> float:
        """mean(min(TR, 1/(TR + 1e-10))): closer to 1 means the model cannot tell true
        from false."""
        return float(np.mean(np.minimum(self.values, 1.0 / (self.values + GUARD))))


def truth_ratio_from_nll(para_nll, pert_nll_mean) -> TruthRatio:
    """Truth ratios from per-question mean NLLs: of the paraphrased answer (P_para =
    exp(-para_nll)) and the average over the perturbed answers of their mean NLLs
    (P_pert = exp(-pert_nll_mean), the geometric mean of their probabilities).

    With open-unlearning's guard, TR = P_pert / (P_para + 1e-10): on a healthy model
    (probabilities 0.1-0.9) it changes nothing beyond 1e-8; on a collapsed one (mean NLL
    15-30 nats) the guard dominates and pulls TR towards 0, as in their numbers.
    """
    correct = np.exp(-np.asarray(para_nll, dtype=float))
    wrong = np.exp(-np.asarray(pert_nll_mean, dtype=float))
    return TruthRatio(wrong / (correct + GUARD))


def truth_ratio(
    model, tokenizer, records, *, max_length: int = 256, batch_size: int = 64
) -> TruthRatio:
    """Truth Ratio over the records that have perturbed answers (NOTES.md;
    ``truth_ratio_from_nll``): P_para = exp(-mean NLL of the paraphrased answer) (the
    answer itself where no paraphrase exists); P_pert = geometric mean of the perturbed
    answers' probabilities = exp(-average of their mean NLLs).
    """
    usable = [r for r in records if r.perturbed_answers]
    if not usable:
        raise ValueError("no record has perturbed answers: Truth Ratio is undefined")
    para = mean_nll(
        model,
        tokenizer,
        [r.question for r in usable],
        [r.paraphrased_answer or r.answer for r in usable],
        max_length=max_length,
        batch_size=batch_size,
    )
    questions = [r.question for r in usable for _ in r.perturbed_answers]
    perturbed = mean_nll(
        model,
        tokenizer,
        questions,
        [a for r in usable for a in r.perturbed_answers],
        max_length=max_length,
        batch_size=batch_size,
    )
    owner = np.repeat(np.arange(len(usable)), [len(r.perturbed_answers) for r in usable])
    pert_mean = np.bincount(owner, weights=perturbed) / np.bincount(owner)
    return truth_ratio_from_nll(para, pert_mean)


def random_guess_loss(vocab_size: int) -> float:
    """Cross-entropy of a uniform guess over the vocabulary: log V (grey line, Fig. 1)."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
    return math.log(vocab_size)


def author_losses(model, tokenizer, benchmark, *, batch_size: int = 64):
    """Mean answer NLL per author in benchmark order (retain authors, then forget ones):
    a DataFrame with columns author, split, loss."""
    import pandas as pd

    rows = [
        (r.author, split, r.question, r.answer)
        for split, records in (("retain", benchmark.retain), ("forget", benchmark.forget))
        for r in records
    ]
    nll = mean_nll(
        model, tokenizer, [r[2] for r in rows], [r[3] for r in rows], batch_size=batch_size
    )
    table = pd.DataFrame(
        {"author": [r[0] for r in rows], "split": [r[1] for r in rows], "loss": nll}
    )
    return table.groupby(["author", "split"], sort=False, as_index=False)["loss"].mean()


def evaluate(
    model,
    tokenizer,
    benchmark,
    *,
    retain_limit: int | None = None,
    truth_ratios: bool = True,
    truth_ratio_values: bool = False,
    max_new_tokens: int = 48,
) -> dict:
    """The standard numbers of a model on a benchmark.

    ``rouge_forget`` (Verbmem on QA data), ``rouge_retain`` (Utility), ``split_loss_forget``,
    ``split_loss_retain`` and, with ``truth_ratios``, ``truth_ratio_retain`` (TOFU's retain
    summary) and ``truth_ratio_forget``; with ``truth_ratio_values`` as well,
    ``truth_ratio_forget_values``: the per-question TR on F (a list, in F's order), the
    sample that TOFU's forget quality compares with the retain-only model's
    (``forget_quality``). ``retain_limit`` scores the first N retain questions only
    (TOFU scores a 400-question subset of its retain set).
    """
    retain = benchmark.retain[:retain_limit] if retain_limit else benchmark.retain
    out = {
        "rouge_forget": qa_rouge(model, tokenizer, benchmark.forget, max_new_tokens=max_new_tokens),
        "rouge_retain": qa_rouge(model, tokenizer, retain, max_new_tokens=max_new_tokens),
        "split_loss_forget": split_loss(model, tokenizer, benchmark.forget),
        "split_loss_retain": split_loss(model, tokenizer, retain),
    }
    if truth_ratios:
        out["truth_ratio_retain"] = truth_ratio(model, tokenizer, retain).retain_score
        forget = truth_ratio(model, tokenizer, benchmark.forget)
        out["truth_ratio_forget"] = forget.forget_score
        if truth_ratio_values:
            out["truth_ratio_forget_values"] = [float(v) for v in forget.values]
    return out


def forget_quality(values, retain_only_values) -> float:
    """TOFU's forget quality: the p-value of the two-sample KS test
    (``scipy.stats.ks_2samp``) between the per-question forget-side truth ratios of an
    unlearned model and those of the retain-only model (NOTES.md, Metrics). High (near
    1): F looks to the model as it looks to one that never saw it; low: it does not,
    whether from remembering F or from over-forgetting it. TOFU compares exp(L_pert -
    L_para) = 1/TR, open-unlearning the TR values: the KS statistic is the same, since
    1/x is monotone on both samples. NaN when either sample is empty."""
    from scipy import stats

    a = np.asarray(values, dtype=float)
    b = np.asarray(retain_only_values, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not (a.size and b.size):
        return math.nan
    return float(stats.ks_2samp(a, b).pvalue)
