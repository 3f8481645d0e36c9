"""A Phi-1.5-sized model folder made offline, for paper-scale checks on a machine that
cannot reach the Hugging Face hub.

``transformers.PhiConfig()``'s defaults are microsoft/phi-1_5's architecture (vocabulary
51,200, width 2,048, MLP 8,192, 24 layers of 32 heads, half-rotary embeddings): 1.42 B
parameters. The weights are random (seeded), and the tokenizer is this project's
byte-level BPE trained on the dataset's own text, so a run through this folder measures
the paper scale's cost (time, memory) and exercises its code path, not its numbers.

    python benchmarks/phi_offline.py OUT_FOLDER [--tofu tests/fixtures/tofu]
"""

from __future__ import annotations

import argparse

import torch
from transformers import PhiConfig, PhiForCausalLM

from nbutils.core import data, models


def build_phi15(tokenizer, seed: int = 0) -> PhiForCausalLM:
    """Phi-1.5's architecture with random weights; special tokens from ``tokenizer``."""
    config = PhiConfig(
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return PhiForCausalLM(config)


def write_folder(out: str, tofu: str | None = None, vocab_size: int = 4096) -> None:
    """Save the model and a tokenizer trained on the benchmark's text to ``out``."""
    bench = data.load_tofu(path=tofu) if tofu else data.generate_authors()
    tokenizer = models.train_tokenizer(models.benchmark_corpus(bench), vocab_size)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # faster draws
        model = build_phi15(tokenizer)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    print(f"{out}: Phi-1.5 architecture, {n:,} parameters (random weights), vocab {len(tokenizer)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--tofu", help="a local TOFU folder whose text trains the tokenizer")
    args = parser.parse_args()
    write_folder(args.out, args.tofu)


if __name__ == "__main__":
    main()
