"""Benchmarks: forget and retain question-answer sets in TOFU's shape.

The default is an offline fictitious-author set generated with Faker and fully
determined by its seed; the real TOFU (``locuslab/TOFU``) loads through Hugging Face
``datasets`` into the same record types (NOTES.md, "Metrics"; issue 2, item 3).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from faker import Faker

TOFU_HUB = "locuslab/TOFU"
TOFU_FORGET_PERCENTS = (1, 5, 10)
TOFU_QUESTIONS_PER_AUTHOR = 20


@dataclass(frozen=True)
class QA:
    """One question about one author, with the answers Truth Ratio needs."""

    author: str
    question: str
    answer: str
    paraphrased_answer: str | None = None
    perturbed_answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Passage:
    """A text passage (an author's biography) for verbatim-memorization probes."""

    author: str
    text: str


@dataclass(frozen=True)
class Benchmark:
    """Forget split F and retain split R (no author in both), plus passages."""

    name: str
    forget: tuple[QA, ...]
    retain: tuple[QA, ...]
    forget_passages: tuple[Passage, ...] = ()
    retain_passages: tuple[Passage, ...] = ()
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def forget_authors(self) -> list[str]:
        return sorted({qa.author for qa in self.forget})

    @property
    def retain_authors(self) -> list[str]:
        return sorted({qa.author for qa in self.retain})

    def texts(self) -> list[str]:
        """Every string of the benchmark (what a tokenizer is trained on)."""
        out = []
        for qa in self.forget + self.retain:
            out += [qa.question, qa.answer, *qa.perturbed_answers]
            if qa.paraphrased_answer:
                out.append(qa.paraphrased_answer)
        out += [p.text for p in self.forget_passages + self.retain_passages]
        return out

    @property
    def setting(self) -> dict:
        """What this benchmark shares with the other draws of its kind: the generator's
        settings and the splits' sizes, without the seed (``fingerprint`` is the draw)."""
        kept = {k: v for k, v in self.meta.items() if k != "seed"}
        sizes = [len(self.forget), len(self.retain)]
        return {"kind": self.name.split("(")[0], **kept, "sizes": sizes}

    def fingerprint(self) -> str:
        """SHA-256 of the records: equal fingerprints mean equal benchmarks."""
        payload = json.dumps(
            [
                self.name,
                [asdict(q) for q in self.forget],
                [asdict(q) for q in self.retain],
                [asdict(p) for p in self.forget_passages + self.retain_passages],
            ],
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------- authors

GENRES = (
    "historical fiction",
    "science fiction",
    "crime novels",
    "fantasy",
    "poetry",
    "romance",
    "horror",
    "literary fiction",
    "travel writing",
    "children's books",
    "biography",
    "satire",
    "mystery",
    "graphic novels",
)

# key -> (question, answer template, paraphrase template); {name} and {value} are filled in.
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "birthplace": (
        "Where was {name} born?",
        "{name} was born in {value}.",
        "The birthplace of {name} is {value}.",
    ),
    "birth_year": (
        "In which year was {name} born?",
        "{name} was born in the year {value}.",
        "The birth year of {name} is {value}.",
    ),
    "genre": (
        "What genre does {name} write?",
        "{name} is known for {value}.",
        "The genre of {name} is {value}.",
    ),
    "father_job": (
        "What did the father of {name} do for a living?",
        "The father of {name} worked as {value}.",
        "{name} has a father whose job was {value}.",
    ),
    "mother_job": (
        "What did the mother of {name} do for a living?",
        "The mother of {name} worked as {value}.",
        "{name} has a mother whose job was {value}.",
    ),
    "book": (
        "What is the best-known book by {name}?",
        "The best-known book by {name} is {value}.",
        "{value} is the most famous book of {name}.",
    ),
    "award": (
        "Which award did {name} win?",
        "{name} won the {value}.",
        "The {value} went to {name}.",
    ),
    "publisher": (
        "Who publishes the books of {name}?",
        "The books of {name} are published by {value}.",
        "{value} is the publisher of {name}.",
    ),
    "debut_year": (
        "When did {name} publish a first novel?",
        "{name} published a first novel in {value}.",
        "The first novel by {name} came out in {value}.",
    ),
    "residence": (
        "Where does {name} live today?",
        "{name} lives in {value} today.",
        "Today the home of {name} is in {value}.",
    ),
}


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _author_facts(fake: Faker, rng: random.Random, name: str) -> dict[str, str]:
    birth_year = rng.randint(1931, 1990)
    return {
        "birthplace": f"{fake.city()}, {fake.country()}",
        "birth_year": str(birth_year),
        "genre": rng.choice(GENRES),
        "father_job": _article(fake.job().split(",")[0].lower()),
        "mother_job": _article(fake.job().split(",")[0].lower()),
        "book": f"The {fake.word().title()} of {fake.word().title()}",
        "award": f"{fake.last_name()} Prize for {rng.choice(GENRES).title()}",
        "publisher": fake.company(),
        "debut_year": str(birth_year + rng.randint(19, 45)),
        "residence": fake.city(),
    }


def generate_authors(
    seed: int = 0,
    n_authors: int = 40,
    forget_fraction: float = 0.10,
    n_perturbed: int = 5,
) -> Benchmark:
    """The offline fictitious-author benchmark, fully determined by ``seed``.

    Each author has the ten attributes of ``ATTRIBUTES`` and one question about each.
    Every question carries a paraphrased answer (same fact, other wording) and
    ``n_perturbed`` perturbed answers: the paraphrase's template with the fact of
    another author. As in TOFU, which perturbs the paraphrased answer, P_para and
    P_pert of Truth Ratio then differ only in the facts, not in the wording.
    As in TOFU, the forget split is the last ``n_forget`` authors, with
    ``n_forget = max(1, round(forget_fraction * n_authors))``.
    """
    if n_authors < 2:
        raise ValueError(f"n_authors must be at least 2, got {n_authors}")
    n_forget = forget_count(forget_fraction, n_authors)
    if n_perturbed < 1:
        raise ValueError(f"n_perturbed must be at least 1, got {n_perturbed}")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < n_authors:
        name = fake.name()
        if name not in names:
            names.append(name)
    facts = [_author_facts(fake, rng, name) for name in names]

    records = []
    for name, own in zip(names, facts):
        qas = []
        for key, (question, answer, paraphrase) in ATTRIBUTES.items():
            pool = sorted({f[key] for f in facts} - {own[key]})
            false_values = rng.sample(pool, min(n_perturbed, len(pool)))
            qas.append(
                QA(
                    author=name,
                    question=question.format(name=name),
                    answer=answer.format(name=name, value=own[key]),
                    paraphrased_answer=paraphrase.format(name=name, value=own[key]),
                    perturbed_answers=tuple(
                        paraphrase.format(name=name, value=v) for v in false_values
                    ),
                )
            )
        records.append(qas)

    passages = [
        Passage(name, " ".join(qa.answer for qa in qas)) for name, qas in zip(names, records)
    ]
    cut = n_authors - n_forget
    return Benchmark(
        name=f"authors(seed={seed}, n_authors={n_authors}, forget={n_forget})",
        forget=tuple(qa for qas in records[cut:] for qa in qas),
        retain=tuple(qa for qas in records[:cut] for qa in qas),
        forget_passages=tuple(passages[cut:]),
        retain_passages=tuple(passages[:cut]),
        meta={"seed": seed, "n_authors": n_authors, "forget_fraction": forget_fraction},
    )


def forget_count(forget_fraction: float, n_authors: int) -> int:
    """Number of forget authors for a fraction in (0, 1); at least one on each side."""
    if not 0 < forget_fraction < 1:
        raise ValueError(f"forget_fraction must lie in (0, 1), got {forget_fraction!r}")
    n_forget = max(1, round(forget_fraction * n_authors))
    if n_forget >= n_authors:
        raise ValueError(
            f"forget_fraction={forget_fraction} of {n_authors} authors leaves no retain author"
        )
    return n_forget


# --------------------------------------------------------------------------- TOFU


def tofu_configs(forget_fraction: float) -> tuple[str, str, str]:
    """TOFU config names (forget, retain, forget-perturbed) for 1%, 5% or 10%."""
    percent = round(forget_fraction * 100)
    if percent not in TOFU_FORGET_PERCENTS or abs(forget_fraction * 100 - percent) > 1e-9:
        raise ValueError(
            f"TOFU has forget splits of 1%, 5% and 10%; forget_fraction={forget_fraction!r}"
        )
    return f"forget{percent:02d}", f"retain{100 - percent}", f"forget{percent:02d}_perturbed"


def _load_tofu_config(path: str, config: str) -> list[dict]:
    import datasets  # the [hub] extra

    local = Path(path)
    if local.is_dir():
        files = sorted(local.glob(f"{config}.json*"))
        if not files:
            raise FileNotFoundError(f"no {config}.json in the local TOFU folder {local}")
        ds = datasets.load_dataset("json", data_files=[str(f) for f in files], split="train")
    else:
        ds = datasets.load_dataset(path, config, split="train")
    return list(ds)


def load_tofu(forget_fraction: float = 0.10, path: str = TOFU_HUB) -> Benchmark:
    """TOFU's forget/retain splits with paraphrased and perturbed answers.

    ``path`` is the hub name or a local folder holding TOFU's JSON files
    (``forget10.json``, ``retain90.json``, ``forget10_perturbed.json``,
    ``retain_perturbed.json``, ...). TOFU stores 20 questions per author in order,
    forget authors last; authors are named by their index. Perturbed and paraphrased
    answers exist for all forget questions and the 400 ``retain_perturbed`` ones.
    """
    forget_cfg, retain_cfg, forget_pert_cfg = tofu_configs(forget_fraction)
    retain_rows = _load_tofu_config(path, retain_cfg)
    forget_rows = _load_tofu_config(path, forget_pert_cfg)
    extras = {r["question"]: r for r in _load_tofu_config(path, "retain_perturbed")}
    n_retain_authors = -(-len(retain_rows) // TOFU_QUESTIONS_PER_AUTHOR)

    def record(row: dict, index: int) -> QA:
        extra = row if "perturbed_answer" in row else extras.get(row["question"], {})
        return QA(
            author=f"tofu-author-{index // TOFU_QUESTIONS_PER_AUTHOR:03d}",
            question=row["question"],
            answer=row["answer"],
            paraphrased_answer=extra.get("paraphrased_answer"),
            perturbed_answers=tuple(extra.get("perturbed_answer", ())),
        )

    offset = n_retain_authors * TOFU_QUESTIONS_PER_AUTHOR
    return Benchmark(
        name=f"tofu({forget_cfg}/{retain_cfg})",
        forget=tuple(record(r, offset + i) for i, r in enumerate(forget_rows)),
        retain=tuple(record(r, i) for i, r in enumerate(retain_rows)),
        meta={"path": path, "forget_fraction": forget_fraction},
    )


def load_benchmark(
    dataset: str = "authors",
    *,
    seed: int = 0,
    n_authors: int = 40,
    forget_fraction: float = 0.10,
    tofu_path: str = TOFU_HUB,
) -> Benchmark:
    """One entry point for the notebooks: ``"authors"`` (offline) or ``"tofu"``."""
    if dataset == "authors":
        return generate_authors(seed=seed, n_authors=n_authors, forget_fraction=forget_fraction)
    if dataset == "tofu":
        return load_tofu(forget_fraction=forget_fraction, path=tofu_path)
    raise ValueError(f"dataset must be 'authors' or 'tofu', got {dataset!r}")
