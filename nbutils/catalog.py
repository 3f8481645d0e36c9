"""The notebooks, in reading order: what each reproduces, its figures, its parameters."""

from __future__ import annotations

from dataclasses import dataclass

from .params import COMMON, LANGUAGE, Param, at_least


@dataclass(frozen=True)
class Entry:
    stem: str
    reproduces: str
    figures: tuple[str, ...]
    params: dict[str, Param]


NOTEBOOKS: dict[str, Entry] = {
    e.stem: e
    for e in [
        Entry(
            "00_tour",
            "the setting: benchmark, target, generations (no paper figure)",
            ("tour_answer_loss",),
            {
                **COMMON,
                **LANGUAGE,
                "n_authors": Param(int, at_least(2), "authors in the benchmark"),
            },
        ),
    ]
}


def entry(name: str) -> Entry:
    """Look a notebook up by stem, file name or number prefix (``"00"``)."""
    stem = name.removesuffix(".ipynb").split("/")[-1]
    if stem in NOTEBOOKS:
        return NOTEBOOKS[stem]
    matches = [e for s, e in NOTEBOOKS.items() if s.split("_")[0] == stem]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"unknown notebook {name!r}; known: {', '.join(NOTEBOOKS)}")
