"""Which runs a scorecard pools: draws' folders, complete same-commit sidecars, and every
claim evaluated per draw and pooled over draws."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd

from ... import claims, stats
from .. import catalog

DEFAULT_DRAWS = (0, 1, 2)
DEFAULT_DRAW = 0
# Notebooks the default scorecard runs on more draws than DEFAULT_DRAWS: those of Table 1,
# Table 3 and Fig. 4-6, the paper's headline claims. The count is read from the spreads of
# seven draws with ``stats.draws_to_decide`` (benchmarks/README.md, "How many draws the
# default scorecard runs"): at 11 draws every claim of theirs whose mean lies clear of its
# threshold would decide, Table 1's Adam TruthRatio among them; Table 1's Adam utility
# would need about 21, which two cores cannot afford.
DRAW_COUNTS = {"04_lr_sensitivity": 11, "06_method_comparison": 11}
README_START, README_END = "<!-- scorecard:start -->", "<!-- scorecard:end -->"
VERDICT_COLORS = {
    "holds": "#a6dba0",
    "fails": "#f4a582",
    "inconclusive": "#e0e0e0",
    "failed": "#bababa",
    "not run": "#ffffff",
    "not planned": "#ffffff",
}


DRAWS_FOLDER = "draws"  # beside the scorecard: the sidecars of every draw but the default


def draw_dir(draw: int, out: Path) -> Path:
    """Where a draw's figures and sidecars go: the default draw's in ``out`` (beside the
    scorecard), every other draw's in ``out/draws/draw-<seed>/``."""
    return Path(out) if draw == DEFAULT_DRAW else Path(out) / DRAWS_FOLDER / f"draw-{draw}"


def draws_present(draws: list[int], out: Path, stems: list[str]) -> list[int]:
    """The draws whose folder holds at least one sidecar of the notebooks ``stems``."""
    names = [name for stem in stems for name in catalog.entry(stem).figures]
    return [d for d in draws if any((draw_dir(d, out) / f"{n}.json").exists() for n in names)]


def draw_overrides(draw: int, overrides: dict) -> dict:
    """A draw's notebook parameters: its seed, and for every draw but the default one
    ``verdicts_only`` (skip what no claim needs: the default draw alone makes the
    figures)."""
    extra = {} if draw == DEFAULT_DRAW else {"verdicts_only": True}
    return {**overrides, "seed": draw, **extra}


def check_draws(draws: list[int]) -> list[int]:
    bad = [d for d in draws if d < 0]
    if bad:
        raise ValueError(f"draw seeds must be >= 0, got {bad}")
    if not draws:
        raise ValueError("the scorecard needs at least one draw")
    return list(dict.fromkeys(draws))


def draw_plan(
    stems: list[str], seeds: list[int] | None = None, smoke: bool = False
) -> dict[str, list[int]]:
    """Each notebook's draws: ``seeds`` for every one when given (``--seeds``); else
    ``DEFAULT_DRAWS``, and at full size ``range(DRAW_COUNTS[stem])`` for the notebooks
    listed there, with ``catalog.TOUR`` (which fine-tunes each draw's targets) on every
    draw of any notebook."""
    if seeds is not None or smoke:
        seeds = check_draws(list(DEFAULT_DRAWS) if seeds is None else seeds)
        return {stem: list(seeds) for stem in stems}
    plan = {stem: list(range(DRAW_COUNTS.get(stem, len(DEFAULT_DRAWS)))) for stem in stems}
    if catalog.TOUR in plan:
        plan[catalog.TOUR] = plan_draws(plan)
    return plan


def plan_draws(plan: dict[str, list[int]]) -> list[int]:
    """Every draw of a plan, in order."""
    return sorted({draw for draws in plan.values() for draw in draws})


def plan_text(plan: dict[str, list[int]]) -> str:
    """A plan in words: "draws 0-2" when every notebook runs on the same draws, else
    "each notebook's draws (0-2; 0-10: 04_lr_sensitivity, 06_method_comparison)"."""
    groups: dict[str, list[str]] = {}
    for stem, draws in plan.items():
        groups.setdefault(draws_text(draws), []).append(stem)
    if len(groups) == 1:
        return f"draws {next(iter(groups))}"
    common = max(groups, key=lambda text: len(groups[text]))
    others = [f"{text}: {', '.join(stems)}" for text, stems in groups.items() if text != common]
    return f"each notebook's draws ({common}; {'; '.join(others)})"


def draws_text(draws: list[int]) -> str:
    draws = sorted(draws)
    if len(draws) > 2 and draws == list(range(draws[0], draws[-1] + 1)):
        return f"{draws[0]}-{draws[-1]}"
    return ", ".join(map(str, draws))


def check_claim_ids(ids: list[str] | None) -> list[str]:
    """The claims to report (all by default); an unknown id is an error naming it."""
    if not ids:
        return list(claims.REGISTRY)
    for claim_id in ids:
        claims.claim(claim_id)
    return list(ids)


def notebooks_for(ids: list[str]) -> list[str]:
    """The notebooks that measure ``ids``, in reading order."""
    wanted = {claims.claim(i).notebook for i in ids}
    return [stem for stem in catalog.NOTEBOOKS if stem in wanted]


def read_sidecar(path: Path) -> dict:
    """A sidecar with its ``claims`` and ``provenance``; ValueError saying why it is unusable."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no sidecar {path.name}") from None
    except (OSError, ValueError) as err:
        raise ValueError(f"{path.name} is not readable JSON ({err})") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), dict) for key in ("claims", "provenance")
    ):
        raise ValueError(f"{path.name} has no claims or no provenance")
    return data


def _runs(data: dict, name: str) -> pd.DataFrame:
    try:
        return claims.runs_of(data["claims"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{name}.json has unreadable runs ({err})") from None


def notebook_runs(draw: int, folder: Path, stem: str, smoke: bool = False) -> pd.DataFrame:
    """One notebook's runs on one draw, each with the commit its sidecars record
    (``git_commit``): only when every figure of the notebook has its sidecar in ``folder``,
    readable, of seed ``draw``, of the scorecard's size (``smoke``) and all of one commit;
    else ValueError saying why (none of its runs is pooled)."""
    tables, commits = [], set()
    for name in catalog.entry(stem).figures:
        data = read_sidecar(folder / f"{name}.json")
        origin = data["provenance"]
        if origin.get("seed") != draw:
            raise ValueError(f"{name}.json is of seed {origin.get('seed')}, not of draw {draw}")
        if origin.get("smoke") is not smoke:
            raise ValueError(f"{name}.json has smoke={origin.get('smoke')}, the scorecard {smoke}")
        commits.add(origin.get("git_commit"))
        tables.append(_runs(data, name))
    if len(commits) > 1:
        raise ValueError(
            f"its sidecars are of several commits: {', '.join(sorted(map(str, commits)))}"
        )
    (commit,) = commits
    return pd.concat(tables, ignore_index=True).assign(draw=draw, notebook=stem, git_commit=commit)


def collect(
    draw: int,
    folder: Path,
    stems: list[str],
    failures: dict[str, str],
    absent: dict[str, str] | None = None,
    smoke: bool = False,
) -> pd.DataFrame:
    """The measurement table of one draw from its sidecars in ``folder``, one notebook at a
    time (``notebook_runs``). Notebooks in ``failures`` are skipped (they failed on this
    draw). A notebook none of whose sidecars is there goes into ``absent`` when given
    (``--collect``: it was not run on this draw), else into ``failures``; one whose
    sidecars are partial, unreadable, of another seed, size or of mixed commits goes into
    ``failures`` with the reason, and none of its runs is in the table."""
    parts = []
    for stem in stems:
        if stem in failures:
            continue
        names = catalog.entry(stem).figures
        if absent is not None and not any((folder / f"{n}.json").exists() for n in names):
            absent[stem] = "no sidecar of it on this draw"
            continue
        try:
            parts.append(notebook_runs(draw, folder, stem, smoke))
        except ValueError as err:
            failures[stem] = str(err)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _commit_of_pairs(per_draw: list[pd.DataFrame]) -> dict[tuple[int, str], str | None]:
    """(draw, notebook) -> the commit its runs record."""
    pairs = {}
    for table in per_draw:
        if len(table) and "git_commit" in table:
            for row in table[["draw", "notebook", "git_commit"]].drop_duplicates().itertuples():
                commit = None if pd.isna(row.git_commit) else row.git_commit
                pairs[(int(row.draw), row.notebook)] = commit
    return pairs


def pool_one_commit(
    per_draw: list[pd.DataFrame], failed: dict[int, dict], preferred: str | None = None
) -> tuple[list[pd.DataFrame], str | None]:
    """Keep the runs of one commit: the one the most (draw, notebook) pairs record (on a
    tie, ``preferred`` (the checkout's), else a clean one). Every pair of another commit
    goes into ``failed`` with the reason, its runs dropped. Returns the kept tables and the
    commit (None when nothing was measured)."""
    pairs = _commit_of_pairs(per_draw)
    if not pairs:
        return per_draw, None
    counts = Counter(pairs.values())
    top = max(counts.values())
    tied = [c for c, n in counts.items() if n == top]
    clean = [c for c in tied if c and not c.endswith("+dirty")]
    commit = preferred if preferred in tied else (clean or tied)[0]
    for (draw, stem), other in pairs.items():
        if other != commit:
            failed.setdefault(draw, {})[stem] = f"its sidecars are of commit {other}, not {commit}"
    return [_of_commit(table, commit) for table in per_draw], commit


def _of_commit(table: pd.DataFrame, commit: str | None) -> pd.DataFrame:
    if not len(table) or "git_commit" not in table:
        return table
    mine = table["git_commit"].isna() if commit is None else table["git_commit"] == commit
    return table[mine]


def build(
    per_draw: list[pd.DataFrame],
    ids: list[str],
    draws: list[int],
    failed: dict[int, dict],
    not_run: dict[int, dict] | None = None,
    plan: dict[str, list[int]] | None = None,
) -> list[dict]:
    """Per claim: its registry fields, the pooled verdict over every draw that measured
    it, and each draw's own verdict (or why it has none: ``failed``, or ``not_run``, each
    draw -> notebook -> reason; ``not_planned`` on a draw outside its notebook's draws in
    ``plan``, notebook -> draws, default every draw). ``per_draw``: the ``collect``
    tables, of one commit (``pool_one_commit``); runs of a notebook on a draw where it
    failed or was not run are never pooled."""
    not_run = not_run or {}
    plan = plan or {}
    filled = [m for m in per_draw if len(m)]
    measurements = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    if "git_commit" in measurements and measurements["git_commit"].nunique(dropna=False) > 1:
        raise ValueError("the runs are of several commits: pool_one_commit keeps one")
    rows = []
    for claim_id in ids:
        spec = claims.claim(claim_id)
        mine = measurements[measurements["claim"] == claim_id] if len(measurements) else None
        if mine is not None:  # a failed or not-run notebook-draw contributes no run
            mine = mine[~mine["draw"].isin(_excluded_draws(spec.notebook, failed, not_run))]
        entry = {
            "id": claim_id,
            "source": spec.source,
            "statement": spec.statement,
            "quantity": spec.quantity,
            "kind": spec.kind,
            "setting": spec.setting,
            "threshold": spec.threshold,
            "direction": spec.direction,
            "notebook": spec.notebook,
            "draws": {},
        }
        mine_draws = plan.get(spec.notebook, draws)
        for draw in draws:
            if draw not in mine_draws:
                entry["draws"][draw] = {"not_planned": f"draws {draws_text(mine_draws)} only"}
                continue
            if spec.notebook in failed.get(draw, {}):
                entry["draws"][draw] = {"failed": failed[draw][spec.notebook]}
                continue
            if spec.notebook in not_run.get(draw, {}):
                entry["draws"][draw] = {"not_run": not_run[draw][spec.notebook]}
                continue
            part = mine[mine["draw"] == draw] if mine is not None else None
            if part is None or part.empty:
                entry["draws"][draw] = {"not_measured": "its notebook ran without measuring it"}
                continue
            entry["draws"][draw] = _verdict_fields(claims.evaluate(part).iloc[0], per_draw=True)
        pooled = mine if mine is not None and len(mine) else None
        entry["pooled"] = (
            _verdict_fields(claims.evaluate(pooled, over_draws=True).iloc[0])
            if pooled is not None
            else {"failed": "not measured on any draw"}
        )
        rows.append(entry)
    return rows


def _excluded_draws(stem: str, failed: dict[int, dict], not_run: dict[int, dict]) -> list[int]:
    """The draws on which notebook ``stem`` failed or was not run."""
    return [d for reasons in (failed, not_run) for d, stems in reasons.items() if stem in stems]


def _verdict_fields(row: pd.Series, per_draw: bool = False) -> dict:
    """A cell of the scorecard from an ``evaluate`` row: ``low``/``high`` None where there
    is no interval (the note says why); a draw's own cell leaves out the note "one draw"
    (every draw's cell is one draw)."""
    keys = ("value", "low", "high", "verdict", "interval", "n_runs", "n_finished", "n_draws")
    cell = {k: row[k] for k in keys}
    if not math.isfinite(cell["low"]):
        cell["low"] = cell["high"] = None
    notes = [n for n in row["note"].split("; ") if n and not (per_draw and n == stats.ONE_DRAW)]
    return {**cell, "note": "; ".join(notes)}
