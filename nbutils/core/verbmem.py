"""Verbatim memorization of text passages, MUSE style (NGDiff Eq. 10; NOTES.md, Verbmem).

A probe is a passage's first ``l`` tokens (the prompt) and the ground-truth continuation
(the next 128 tokens). The model continues the prompt greedily for 128 new tokens and
the continuation is scored with ROUGE-L: the paper reports recall, MUSE reports F1
(times 100); both are returned. Probes come from the offline benchmark's biographies,
from a plain-text file (passages separated by blank lines), or from MUSE's own
``verbmem`` split (fields ``prompt`` and ``gt``) through ``datasets``.

The prompt is decoded from its token ids and encoded again for generation; for
byte-level BPE tokenizers this round trip may merge tokens differently at the cut
(the generation then starts from an equivalent text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import Passage
from .metrics import generate, rouge_l_f1, rouge_l_recall

MUSE_HUB = "muse-bench/MUSE-News"


@dataclass(frozen=True)
class Probe:
    prompt: str
    continuation: str


def passage_probes(
    tokenizer, passages, prompt_tokens: int = 32, continuation_tokens: int = 128
) -> list[Probe]:
    """Cut each passage into its first ``prompt_tokens`` tokens and the continuation.
    Passages too short to leave a continuation are skipped."""
    if prompt_tokens < 1 or continuation_tokens < 1:
        raise ValueError("prompt_tokens and continuation_tokens must be positive")
    probes = []
    for passage in passages:
        text = passage.text if isinstance(passage, Passage) else str(passage)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= prompt_tokens:
            continue
        probes.append(
            Probe(
                tokenizer.decode(ids[:prompt_tokens]),
                tokenizer.decode(ids[prompt_tokens : prompt_tokens + continuation_tokens]),
            )
        )
    if not probes:
        raise ValueError(f"no passage is longer than prompt_tokens={prompt_tokens} tokens")
    return probes


def text_file_passages(path: str | Path) -> list[Passage]:
    """Passages of a plain-text file, separated by blank lines."""
    text = Path(path).read_text(encoding="utf-8")
    blocks = [" ".join(b.split()) for b in text.split("\n\n")]
    return [Passage(f"{Path(path).name}:{i}", b) for i, b in enumerate(blocks) if b]


def hub_probes(name: str = MUSE_HUB, config: str = "verbmem", split: str = "forget") -> list[Probe]:
    """MUSE's verbmem probes through ``datasets`` (a hub name, or a local JSON file of
    ``{"prompt", "gt"}`` records)."""
    import datasets  # the [hub] extra

    if Path(name).is_file():
        rows = datasets.load_dataset("json", data_files=str(name), split="train")
    else:
        rows = datasets.load_dataset(name, config, split=split)
    return [Probe(r["prompt"], r["gt"]) for r in rows]


def verbmem(
    model, tokenizer, probes: list[Probe], *, max_new_tokens: int = 128, batch_size: int = 16
) -> dict:
    """Mean ROUGE-L recall and F1 of greedy continuations against the ground truth."""
    outputs = generate(
        model,
        tokenizer,
        [p.prompt for p in probes],
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )
    truths = [p.continuation for p in probes]
    recall, f1 = rouge_l_recall(truths, outputs), rouge_l_f1(truths, outputs)
    return {
        "verbmem_recall": float(np.mean(recall)),
        "verbmem_f1": float(np.mean(f1)),
        "per_probe_recall": recall,
        "generations": outputs,
    }
