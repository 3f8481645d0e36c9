"""A method's rate, tuned on held-out seeds by successive halving; the table of tuned rates.

A ``Request`` asks for one rate: a run (``job(lr, seed) -> executor.Job``) tried over a
grid on ``n_seeds`` held-out seeds (``tuning_seeds``: draw + 1000, + 1001, ...; never an
evaluation seed) and a rule applied to the median over those seeds (by default
``stats.choose_rate``: the highest ROUGE_R among rates that forget, a rate with a
diverged run never chosen; the paper's "manually tuned" rates made reproducible).

``tune(requests)`` answers many requests at once by successive halving: every grid rate
on the first held-out seed, then the better half (``stats.rank_rates``) on every held-out
seed, and the rule on the medians of the rates that reached the second round. Each round
is one batch of the executor, so every core is busy. ``full=True`` runs every rate on
every seed (what halving is measured against).

A request's ``key`` hashes everything that determines its answer except the draw (the
target's setting, the protocol, the grid, the seeds, the rule, the run's code), so every
benchmark draw can read draw 0's answer from ``RateTable`` (``figures/tuned_rates.json``,
written by ``python -m nbutils tune``): the rate becomes part of the method, as the paper
fixes its rates. ``resolve`` reads each request's rate from the table and tunes, saying
why, those that are missing there or were tuned under something else.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import stats
from ..core import paths
from ..core.jsonio import atomic_write, to_jsonable
from .autolr import AutoLR
from .executor import Job, cache_key, execute
from .loop import Run
from .runs import ENGINE_VERSION, Config, Protocol, lm_job

TUNING_SEED_OFFSET = 1000  # tuning runs use draw + 1000, + 1001, ...: never evaluation seeds


def tuning_seeds(draw: int, n: int) -> list[int]:
    """The held-out seeds of a tuning on ``draw``: draw + 1000, draw + 1001, ..."""
    if n < 1:
        raise ValueError(f"tuning needs at least one held-out seed, got {n}")
    return [draw + TUNING_SEED_OFFSET + i for i in range(n)]


def final_numbers(run: Run) -> dict:
    """A tuning run's score: its final evaluation (``diverged_at`` for a diverged run)."""
    return run.final


@dataclass(frozen=True)
class Request:
    """One rate to tune: ``job(lr, seed)`` is the run at a grid rate and held-out seed;
    ``spec`` says what determines the answer besides the grid, the seeds and the code
    (the target's setting, the method, the protocol, the rule when it is not the
    default). ``score(run)`` turns a run into the numbers ``rank`` and ``choose`` read
    (one row per rate of medians, with ``runs`` and ``diverged`` counts)."""

    name: str
    spec: dict
    grid: tuple[float, ...]
    job: Callable[[float, int], Job]
    n_seeds: int = 3
    draw: int = 0
    rank: Callable[[pd.DataFrame], list[float]] = stats.rank_rates
    choose: Callable[[pd.DataFrame], tuple[float, str]] = stats.choose_rate
    score: Callable[[Run], dict] = final_numbers

    def __post_init__(self):
        if not self.grid:
            raise ValueError(f"{self.name}: the rate grid is empty")
        tuning_seeds(self.draw, self.n_seeds)

    @property
    def seeds(self) -> list[int]:
        return tuning_seeds(self.draw, self.n_seeds)

    @property
    def identity(self) -> dict:
        """What the key hashes: the spec, grid, number of seeds and the run's code."""
        sample = self.job(self.grid[0], self.seeds[0])
        code = cache_key({}, sample.compute)  # the computing module's source and torch
        return {
            **self.spec,
            "grid": list(self.grid),
            "n_seeds": self.n_seeds,
            "engine": ENGINE_VERSION,
            "code": code,
        }

    @property
    def key(self) -> str:
        text = json.dumps(to_jsonable(self.identity), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class Tuning:
    """A request's answer: the rate, the table it was chosen from (one row per grid rate:
    ``lr``, ``runs`` (held-out seeds tried), ``diverged``, the medians), the rule in words,
    every tuning run's numbers (``runs``: lr, seed, ...) and where it came from."""

    name: str
    lr: float
    table: pd.DataFrame
    rule: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "tuned here"


def lm_request(
    target,
    bench,
    method: str,
    protocol: Protocol,
    draw: int,
    *,
    autolr: AutoLR | None = None,
    name: str | None = None,
) -> Request:
    """The request for ``method``'s rate on the language model: ``protocol``'s grid and
    held-out seeds, scored after the last step (``protocol`` as the tuning runs use it)."""
    spec = {
        "kind": "lm",
        "setting": target.setting,
        "method": method,
        "autolr": None if autolr is None else vars(autolr),
        "protocol": vars(protocol) | {"lr_grid": None, "tuning_seeds": None},
    }
    return Request(
        name or f"{method} ({protocol.optimizer})",
        spec,
        tuple(protocol.lr_grid),
        lambda lr, seed: lm_job(target, bench, Config(method, method, lr, autolr), protocol, seed),
        protocol.tuning_seeds,
        draw,
    )


# --------------------------------------------------------------------------- tuning


def _rate_table(runs: pd.DataFrame, grid: Sequence[float]) -> pd.DataFrame:
    """Per grid rate (in grid order): ``runs`` (held-out seeds tried), ``diverged`` and
    the median of every number over its finished runs."""
    runs = runs.assign(diverged_at=runs["diverged_at"].astype(float))
    finished = runs[runs["diverged_at"].isna()].drop(columns=["seed", "diverged_at"])
    medians = finished.groupby("lr").median(numeric_only=True)
    counts = runs.groupby("lr").agg(runs=("seed", "size"), diverged=("diverged_at", "count"))
    table = counts.join(medians).reindex(list(dict.fromkeys(grid))).reset_index()
    return table.rename(columns={"index": "lr"})


def _rows(request: Request, jobs: list[tuple[float, int]], runs: list[Run]) -> list[dict]:
    rows = []
    for (lr, seed), run in zip(jobs, runs):
        numbers = {k: v for k, v in request.score(run).items() if not isinstance(v, list)}
        diverged = numbers.pop("diverged_at", None)  # a score may say so itself (a row)
        diverged = run.diverged_at if diverged is None or pd.isna(diverged) else diverged
        rows.append({**numbers, "lr": lr, "seed": seed, "diverged_at": diverged})
    return rows


def _batch(requests, pairs, desc, progress) -> list[list[Run]]:
    """Every request's (lr, seed) pairs in one batch of the executor."""
    jobs = [r.job(lr, s) for r, mine in zip(requests, pairs) for lr, s in mine]
    done = iter(execute(jobs, desc=desc, progress=progress))
    return [[next(done) for _ in mine] for mine in pairs]


def kept_half(n: int) -> int:
    """Rates of a grid of ``n`` that reach the second round: the better half, rounded up."""
    return math.ceil(n / 2)


def tune(requests: Sequence[Request], *, full: bool = False, progress: bool = True) -> list[Tuning]:
    """Every request's rate, in order, by successive halving (``full``: every rate on
    every seed)."""
    requests = list(requests)
    first = [[(lr, r.seeds[0]) for lr in r.grid] for r in requests]
    if full:
        first = [[(lr, s) for lr in r.grid for s in r.seeds] for r in requests]
    what = "every rate on every held-out seed" if full else "every rate on one held-out seed"
    runs = _batch(requests, first, f"tuning: {what}", progress)
    rows = [_rows(r, p, x) for r, p, x in zip(requests, first, runs)]
    kept = [list(r.grid) for r in requests]
    if not full:
        for i, r in enumerate(requests):
            kept[i] = r.rank(_rate_table(pd.DataFrame(rows[i]), r.grid))[: kept_half(len(r.grid))]
        second = [[(lr, s) for lr in k for s in r.seeds[1:]] for r, k in zip(requests, kept)]
        if any(second):
            more = _batch(requests, second, "tuning: the better half on every seed", progress)
            for i, (r, p, x) in enumerate(zip(requests, second, more)):
                rows[i] += _rows(r, p, x)
    out = []
    for r, mine, k in zip(requests, rows, kept):
        every = pd.DataFrame(mine)
        table = _rate_table(every, r.grid)
        lr, rule = r.choose(table[table["lr"].isin(k)])
        how = (
            f"median over {r.n_seeds} held-out seeds"
            if full or r.n_seeds == 1
            else f"successive halving: every rate on 1 held-out seed, the better {len(k)} of "
            f"{len(r.grid)} on {r.n_seeds}; median over those seeds"
        )
        out.append(Tuning(r.name, lr, table, f"{rule} ({how})", every))
    return out


# --------------------------------------------------------------------------- the table


class RateTable:
    """The committed table of tuned rates: one entry per request key (name, identity,
    rate, rule, the rate table and every tuning run) and the tuning job's provenance."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else paths.rates_file()
        self.entries: dict[str, dict] = {}
        self.provenance: dict = {}
        if self.path.exists():
            stored = json.loads(self.path.read_text())
            self.entries, self.provenance = stored["entries"], stored.get("provenance", {})

    def lookup(self, request: Request) -> tuple[Tuning | None, str]:
        """The recorded answer to ``request``, or None and why there is none."""
        key = request.key
        if key in self.entries:
            entry = self.entries[key]
            commit = self.provenance.get("git_commit", "unknown commit")
            source = f"{self.path.name}: tuned on draw {entry['draw']} at {commit}"
            tuning = Tuning(
                entry["name"],
                entry["lr"],
                pd.DataFrame(entry["table"]),
                entry["rule"],
                pd.DataFrame(entry["runs"]),
                source,
            )
            return tuning, "found"
        same_name = [e for e in self.entries.values() if e["name"] == request.name]
        if not same_name:
            where = self.path if self.path.exists() else f"{self.path} (absent)"
            return None, f"not in the table of tuned rates {where}"
        changed = _differences(same_name[0]["identity"], to_jsonable(request.identity))
        return None, f"the table's entry was tuned under another setting ({', '.join(changed)})"

    def record(self, request: Request, tuning: Tuning) -> None:
        self.entries[request.key] = {
            "name": request.name,
            "draw": request.draw,
            "identity": to_jsonable(request.identity),
            "lr": tuning.lr,
            "rule": tuning.rule,
            "grid": list(request.grid),
            "held_out_seeds": request.seeds,
            "table": to_jsonable(tuning.table),
            "runs": to_jsonable(tuning.runs),
        }

    def save(self, provenance: dict) -> None:
        self.provenance = provenance
        data = {"provenance": provenance, "entries": dict(sorted(self.entries.items()))}
        text = json.dumps(to_jsonable(data), indent=1, allow_nan=False)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text + "\n"))


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """The keys (dotted) whose values differ between two identities."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


def resolve(
    requests: Sequence[Request],
    *,
    retune: bool = False,
    table: RateTable | None = None,
    progress: bool = True,
) -> dict[str, Tuning]:
    """Every request's rate by name: from the table of tuned rates, else tuned here
    (``tune``) after saying why (``retune``: tune them all here)."""
    table = table if table is not None else RateTable()
    found, missing, why = {}, [], {}
    for request in requests:
        tuning, reason = (None, "retune=True") if retune else table.lookup(request)
        if tuning is None:
            missing.append(request)
            why.setdefault(reason, []).append(request.name)
        else:
            found[request.name] = tuning
    for reason, names in why.items():
        seeds = missing[0].seeds
        held_out = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        print(
            f"tuning here (held-out seeds {held_out} of draw {missing[0].draw}) the rates of "
            f"{', '.join(names)}: {reason}",
            file=sys.stderr,
        )
    answers = tune(missing, progress=progress) if missing else []
    tuned = dict(zip((r.name for r in missing), answers))
    return {r.name: found.get(r.name) or tuned[r.name] for r in requests}


SCORE_COLUMNS = {"rouge_forget": "F", "rouge_retain": "R", "FA": "FA", "RA": "RA", "gap": "gap"}


def summary(tunings: dict[str, Tuning]) -> pd.DataFrame:
    """One row per tuning: rate, rule, where it came from, and each grid rate's median
    ROUGE_F / ROUGE_R (or the numbers its rule reads) in a line of text."""
    rows = []
    for name, t in tunings.items():
        columns = [c for c in SCORE_COLUMNS if c in t.table]
        grid = ", ".join(
            f"{r['lr']:g}: "
            + (f"{int(r['diverged'])}/{int(r['runs'])} diverged " if r["diverged"] else "")
            + " ".join(f"{SCORE_COLUMNS[c]} {r[c]:.2f}" for c in columns if pd.notna(r.get(c)))
            + f" ({int(r['runs'])} seeds)"
            for r in t.table.to_dict(orient="records")
        )
        rows.append({"name": name, "lr": t.lr, "rule": t.rule, "source": t.source, "grid": grid})
    return pd.DataFrame(rows).set_index("name")
