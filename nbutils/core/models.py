"""Models: the offline tiny GPT-2 and its BPE tokenizer, and real models by name
(``core.targets`` fine-tunes them into targets)."""

from __future__ import annotations

import os

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from .batches import prompt_text
from .data import Benchmark

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EOS, PAD = "<|endoftext|>", "<|pad|>"
TINY_MODEL = "tiny"

# Default offline model: about 1.6 million parameters with a 2048-token vocabulary.
TINY_CONFIG = dict(n_embd=160, n_layer=4, n_head=4, n_positions=256)


def train_tokenizer(texts: list[str], vocab_size: int = 2048) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained with ``tokenizers``, wrapped for ``transformers``.

    Training is deterministic for a given list of texts; padding is on the left.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, pad_token=PAD, padding_side="left"
    )


def benchmark_corpus(benchmark: Benchmark) -> list[str]:
    """Texts a benchmark tokenizer learns from: formatted prompts and every answer."""
    records = benchmark.forget + benchmark.retain
    return [prompt_text(r.question) for r in records] + benchmark.texts()


def build_tiny_model(tokenizer, seed: int = 0, **config) -> GPT2LMHeadModel:
    """A GPT-2-architecture causal LM built from a config (no weights downloaded).

    Dropout is off: the target must memorize, and unlearning gradients should be
    functions of the batch alone.
    """
    settings = {**TINY_CONFIG, **config}
    cfg = GPT2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        **settings,
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(cfg)


def load_pretrained(
    name: str, *, dtype: torch.dtype = torch.float32, trust_remote_code: bool = False
):
    """A real model and its tokenizer by hub name or local path (``AutoModelForCausalLM``).

    Raises ``ValueError`` naming the ``model`` parameter when the name is neither a
    local folder nor reachable on the hub (for example, offline).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            name, dtype=dtype, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise ValueError(
            f"model={name!r}: not a local model folder and not loadable from the Hugging Face "
            f"hub here (no network, or no such model). Use model='tiny' offline, or a local "
            f"path. Cause: {err}"
        ) from err
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return model, tokenizer
