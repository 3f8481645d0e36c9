"""Question-answer records as tensors: prompts, answer-only labels, seeded batches.

Prompt template of TOFU's phi format (NOTES.md, "Metrics"): ``Question: {q}\\nAnswer:``
followed by `` {answer}`` and EOS. Prompt and answer are tokenized separately and
concatenated, so generation sees exactly the prompt tokens that training saw.
Sequences are left-padded, with position ids counted from the first real token, so
one layout serves training, scoring and batched generation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from .data import QA

PROMPT_TEMPLATE = "Question: {question}\nAnswer:"


@dataclass(frozen=True)
class Encoded:
    """Token ids of one record: the prompt and the answer (EOS included)."""

    prompt: tuple[int, ...]
    answer: tuple[int, ...]


@dataclass
class Batch:
    """Left-padded token ids; the last ``answer_width`` columns hold every answer."""

    input_ids: torch.Tensor  # (B, T) long
    attention_mask: torch.Tensor  # (B, T) long
    position_ids: torch.Tensor  # (B, T) long
    answer_mask: torch.Tensor  # (B, answer_width) bool: which target tokens are answer tokens
    rows: torch.Tensor | None = None  # (B,) long: indices of the records in their split

    @property
    def answer_width(self) -> int:
        return self.answer_mask.shape[1]

    def to(self, device: torch.device | str) -> Batch:
        """The same batch, every tensor field on ``device``."""
        values = (getattr(self, f.name) for f in fields(self))
        return Batch(*(v.to(device) if v is not None else None for v in values))


def prompt_text(question: str) -> str:
    return PROMPT_TEMPLATE.format(question=question)


def encode(tokenizer, question: str, answer: str, max_length: int = 256) -> Encoded:
    """Tokenize one pair; a long answer is cut so that the whole fits ``max_length``."""
    prompt = tokenizer(prompt_text(question), add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(" " + answer, add_special_tokens=False)["input_ids"]
    room = max_length - len(prompt) - 1
    if room < 1:
        raise ValueError(f"prompt of {len(prompt)} tokens does not fit max_length={max_length}")
    return Encoded(tuple(prompt), tuple(answer_ids[:room]) + (tokenizer.eos_token_id,))


def encode_records(
    tokenizer, records: list[QA] | tuple[QA, ...], max_length: int = 256, answers: str = "answer"
) -> list[Encoded]:
    """Encode records with their ``answer`` (or ``paraphrased_answer``) field."""
    return [encode(tokenizer, r.question, getattr(r, answers), max_length) for r in records]


def collate(items: list[Encoded], pad_id: int, rows: list[int] | None = None) -> Batch:
    """Left-pad a list of encoded records into one batch (``rows``: their indices)."""
    width = max(len(e.answer) for e in items)
    length = max(len(e.prompt) + len(e.answer) for e in items)
    ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), length), dtype=torch.long)
    answer_mask = torch.zeros((len(items), width), dtype=torch.bool)
    for row, e in enumerate(items):
        seq = e.prompt + e.answer
        ids[row, length - len(seq) :] = torch.tensor(seq)
        mask[row, length - len(seq) :] = 1
        answer_mask[row, width - len(e.answer) :] = True
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return Batch(
        ids,
        mask,
        positions,
        answer_mask,
        torch.tensor(rows, dtype=torch.long) if rows is not None else None,
    )


def token_nll(model, batch: Batch) -> torch.Tensor:
    """Per-token negative log-likelihood of the answer tokens, shape (B, answer_width).

    Only the positions that predict answer tokens go through the LM head
    (``logits_to_keep``); entries outside the answer are zero. Half-precision logits are
    upcast to float32; float64 stays float64 (the landscape's round-off reference).
    """
    width = batch.answer_width
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        logits_to_keep=width + 1,
        use_cache=False,
    )
    logits = out.logits[:, :-1]
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()
    targets = batch.input_ids[:, -width:]
    nll = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    ).view_as(targets)
    return nll * batch.answer_mask


def answer_loss(model, batch: Batch) -> torch.Tensor:
    """Mean token cross-entropy over all answer tokens of the batch (L_R, L_F)."""
    return token_nll(model, batch).sum() / batch.answer_mask.sum()


def sequence_nll(model, batch: Batch) -> torch.Tensor:
    """Per-record mean answer-token NLL, shape (B,): answer probability = exp(-this)."""
    return token_nll(model, batch).sum(dim=1) / batch.answer_mask.sum(dim=1)


class BatchStream:
    """Endless seeded batches: each epoch a fresh permutation, every record once.

    ``next()`` returns a collated batch; two streams with equal seeds yield equal
    batches, which makes unlearning runs reproducible to the last digit on CPU.
    """

    def __init__(
        self,
        items: list[Encoded],
        batch_size: int,
        pad_id: int,
        seed: int,
        device: torch.device | str = "cpu",
    ):
        if not items:
            raise ValueError("cannot stream batches from an empty split")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.items, self.pad_id, self.device = items, pad_id, device
        self.batch_size = min(batch_size, len(items))
        self.generator = torch.Generator().manual_seed(seed)
        self._order: list[int] = []

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        if len(self._order) < self.batch_size:
            self._order += torch.randperm(len(self.items), generator=self.generator).tolist()
        take, self._order = self._order[: self.batch_size], self._order[self.batch_size :]
        return collate([self.items[i] for i in take], self.pad_id, take).to(self.device)


def batches(items: list[Encoded], batch_size: int, pad_id: int):
    """Fixed-order batches over ``items`` (for evaluation)."""
    for start in range(0, len(items), batch_size):
        yield collate(items[start : start + batch_size], pad_id)
