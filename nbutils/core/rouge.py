"""ROUGE-L as ``rouge_score.rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)`` scores it.

locuslab/open-unlearning's convention: ``score(target=reference, prediction=generation)``,
sentence-level LCS (not rougeLsum). Tokens as rouge_score 0.1.2's ``tokenize.tokenize``:
lowercased, every run of characters outside [a-z0-9] a separator, tokens longer than 3
characters Porter-stemmed by NLTK's ``PorterStemmer``. The same numbers, cheaper: each
word's stem is cached, each reference's tokens too, and the LCS length is bit-parallel
(Hyyroe 2004, "Bit-parallel LCS-length computation revisited") instead of a Python table.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
VALID_TOKEN = re.compile(r"^[a-z0-9]+$")


class Score(NamedTuple):
    """As rouge_score's: the int 0 in all three when either side has no token."""

    precision: float
    recall: float
    fmeasure: float


NO_TOKENS = Score(precision=0, recall=0, fmeasure=0)


@functools.cache
def _porter():
    """NLTK's stemmer, the one rouge_score builds (importing nltk costs seconds: on first use)."""
    from nltk.stem import porter

    return porter.PorterStemmer()


@functools.lru_cache(maxsize=1 << 16)
def _token(word: str) -> str:
    """``word`` as rouge_score keeps it: stemmed if longer than 3 characters; '' if dropped."""
    stem = _porter().stem(word) if len(word) > 3 else word
    return stem if VALID_TOKEN.match(stem) else ""


def tokenize(text: str) -> list[str]:
    """rouge_score's ``tokenize.tokenize(text, PorterStemmer())``."""
    words = NON_ALPHANUMERIC.sub(" ", text.lower()).split()
    return [t for t in map(_token, words) if t]


@functools.lru_cache(maxsize=4096)
def _reference(text: str) -> tuple[int, dict[str, int]]:
    """A reference's token count and, per token, the bit mask of its positions."""
    positions: dict[str, int] = {}
    tokens = tokenize(text)
    for i, token in enumerate(tokens):
        positions[token] = positions.get(token, 0) | (1 << i)
    return len(tokens), positions


def lcs_length(length: int, positions: dict[str, int], tokens: list[str]) -> int:
    """Length of the longest common subsequence of ``tokens`` and a sequence of ``length``
    tokens whose ``positions`` are given as bit masks (Hyyroe's V' = (V + U) | (V - U))."""
    full = (1 << length) - 1
    v = full
    for token in tokens:
        u = v & positions.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


def rouge_l(reference: str, prediction: str) -> Score:
    """ROUGE-L of ``prediction`` against ``reference``: LCS over each side's token count."""
    length, positions = _reference(reference)
    tokens = tokenize(prediction)
    if not length or not tokens:
        return NO_TOKENS
    lcs = lcs_length(length, positions, tokens)
    precision = lcs / len(tokens)
    recall = lcs / length
    if precision + recall > 0:
        return Score(precision, recall, 2 * precision * recall / (precision + recall))
    return Score(precision, recall, 0.0)
