"""The scorecard: every claim of the registry, on several benchmark draws, with intervals.

``python -m nbutils scorecard`` runs the verdict notebooks once per draw (``--seed`` =
the draw: another benchmark, another target, other unlearning and tuning seeds),
collects each figure sidecar's claims (every run's value), and evaluates every claim per
draw (an interval over its seeds) and pooled over the draws (draws as a random effect:
an interval over the draw means; a claim measured on one draw has none there, and says
"one draw": ``claims.evaluate`` with ``over_draws``). A notebook that fails on a draw is
reported as failed there; the other draws are still reported; with ``--collect``
(nothing run, the sidecars taken as they are) a notebook none of whose sidecars is in the
draw's folder is reported as not run. Written: ``scorecard.json`` (everything),
``scorecard.md`` (the table, grouped by source, sanity checks apart) and
``scorecard.png`` (claims x draws, coloured by verdict).

What is pooled: a notebook's runs on a draw count only when every figure of the notebook
has its sidecar there, readable, of the draw's seed, of the scorecard's size (smoke or
not) and of one commit, and that commit is the one the scorecard rests on (the commit most
notebook-draws record: ``pool_one_commit``). Anything else is reported with the reason and
none of that notebook's runs on that draw is pooled.

Where the sidecars go (``draw_dir``): the default draw's (seed 0) next to the scorecard
(``figures/`` for ``make figures``, where they are the figures); every other draw's, run
with ``verdicts_only`` (each notebook skips what no claim needs), in
``<scorecard folder>/draws/draw-<seed>/`` (``figures/draws/draw-<seed>/``: committed with
the scorecard they support). ``check_release`` says whether such a folder is one clean
release: one commit, not dirty, not smoke, every draw's sidecars present.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from . import catalog, claims, figures, stats
from .core import paths, runtime
from .core.jsonio import atomic_write, to_jsonable

DEFAULT_DRAWS = (0, 1, 2)
DEFAULT_DRAW = 0
README_START, README_END = "<!-- scorecard:start -->", "<!-- scorecard:end -->"
VERDICT_COLORS = {
    "holds": "#a6dba0",
    "fails": "#f4a582",
    "inconclusive": "#e0e0e0",
    "failed": "#bababa",
    "not run": "#ffffff",
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
) -> list[dict]:
    """Per claim: its registry fields, the pooled verdict over every draw that measured
    it, and each draw's own verdict (or why it has none: ``failed``, or ``not_run``, each
    draw -> notebook -> reason). ``per_draw``: the ``collect`` tables, of one commit
    (``pool_one_commit``); runs of a notebook on a draw where it failed or was not run are
    never pooled."""
    not_run = not_run or {}
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
        for draw in draws:
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


def cell_verdict(cell: dict) -> str:
    """The cell's verdict, or "failed" / "not run" where it has none (a claim its notebook
    did not measure on a draw, e.g. an SGD claim under ``verdicts_only``, counts as not
    run)."""
    if "failed" in cell:
        return "failed"
    return "not run" if "not_run" in cell or "not_measured" in cell else cell["verdict"]


def cell_text(cell: dict, digits: int = 3, before_note: str = " ") -> str:
    """A cell as the table writes it: value [interval] verdict, then the note in
    parentheses after ``before_note`` (the plot starts it on a new line)."""
    if "not_run" in cell:
        return "not run"
    if "not_measured" in cell:
        return "not measured"
    if "failed" in cell:
        return f"failed: {cell['failed']}"
    value, low, high = cell["value"], cell["low"], cell["high"]
    note = f"{before_note}({cell['note']})" if cell.get("note") else ""
    if not math.isfinite(value):
        return f"no value ({cell['verdict']}){note}"
    interval = "" if low is None or low == high else f" [{low:.{digits}g}, {high:.{digits}g}]"
    return f"{value:.{digits}g}{interval} {cell['verdict']}{note}"


def markdown(rows: list[dict], draws: list[int]) -> str:
    """The scorecard table: evidence grouped by source, then each other kind of claim
    apart (``claims.KINDS``: exact checks, the collection's own checks, sanity checks)."""
    header = "| claim | setting | " + " | ".join(f"draw {d}" for d in draws) + " | pooled |"
    rule = "|---|---|" + "---|" * (len(draws) + 1)
    lines = []
    for kind, title in claims.KINDS.items():
        chosen = [r for r in rows if r["kind"] == kind]
        if not chosen:
            continue
        lines += [f"**{title}**", "", header, rule]
        for source in dict.fromkeys(r["source"].split(",")[0] for r in chosen):
            for r in (r for r in chosen if r["source"].split(",")[0] == source):
                cells = [cell_text(r["draws"][d]) for d in draws] + [cell_text(r["pooled"])]
                threshold = claims.threshold_text(r["direction"], r["threshold"])
                lines.append(
                    f"| `{r['id']}` ({r['source']}; {threshold}) | {r['setting'] or '-'} | "
                    + " | ".join(cells)
                    + " |"
                )
        lines.append("")
    counts = pd.Series(
        [r["pooled"].get("verdict", "failed") for r in rows if r["kind"] == "evidence"]
    )
    summary = ", ".join(f"{counts.eq(v).sum()} {v}" for v in ("holds", "fails", "inconclusive"))
    summary += f", {counts.eq('failed').sum()} not measured (a notebook failed or was not run)"
    return "\n".join([f"Evidence claims, pooled over draws {draws}: {summary}.", "", *lines])


def plot(rows: list[dict], draws: list[int]):
    """One page: claims (rows) x draws and pooled (columns), each cell the value and
    interval, coloured by verdict; evidence first, every other kind below it, hatched."""
    import matplotlib.pyplot as plt

    ordered = [r for kind in claims.KINDS for r in rows if r["kind"] == kind]
    columns = [*(f"draw {d}" for d in draws), "pooled"]
    fig, ax = plt.subplots(figsize=(4 + 2.3 * len(columns), 0.32 * len(ordered) + 1.5))
    for i, r in enumerate(ordered):
        cells = [r["draws"][d] for d in draws] + [r["pooled"]]
        for j, cell in enumerate(cells):
            verdict = cell_verdict(cell)
            ax.add_patch(
                plt.Rectangle(
                    (j, i),
                    1,
                    1,
                    facecolor=VERDICT_COLORS[verdict],
                    edgecolor="white",
                    hatch=None if r["kind"] == "evidence" else "//",
                )
            )
            text = cell_text(cell, 2, before_note="\n")
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=6)
    ax.set(xlim=(0, len(columns)), ylim=(len(ordered), 0))
    ax.set_xticks([j + 0.5 for j in range(len(columns))], columns)
    ax.set_yticks([i + 0.5 for i in range(len(ordered))], [r["id"] for r in ordered], fontsize=6)
    ax.xaxis.tick_top()
    ax.grid(False)
    ax.set_title(
        "Scorecard: each claim's value, 95% interval and verdict per benchmark draw and "
        "pooled (green holds, red fails, light grey inconclusive, grey failed, white not run; "
        "hatched: not evidence, i.e. exact, own and sanity checks)",
        fontsize=9,
    )
    return fig


def card(
    rows: list[dict],
    draws: list[int],
    failed: dict,
    provenance: dict,
    not_run: dict | None = None,
) -> dict:
    """What ``scorecard.json`` holds, as plain JSON (as it reads back from the file)."""
    data = {
        "draws": draws,
        "failed": failed,
        "not_run": not_run or {},
        "claims": rows,
        "provenance": provenance,
    }
    return json.loads(json.dumps(to_jsonable(claims.finite_claims(data)), allow_nan=False))


def write(
    out: Path,
    rows: list[dict],
    draws: list[int],
    failed: dict,
    provenance: dict,
    not_run: dict | None = None,
):
    """scorecard.json, scorecard.md and scorecard.png into ``out``."""
    import matplotlib.pyplot as plt

    table = markdown(rows, draws)
    text = json.dumps(card(rows, draws, failed, provenance, not_run), indent=1)
    atomic_write(out / "scorecard.json", lambda tmp: Path(tmp).write_text(text + "\n"))
    atomic_write(out / "scorecard.md", lambda tmp: Path(tmp).write_text(table + "\n"))
    fig = plot(rows, draws)
    atomic_write(
        out / "scorecard.png",
        lambda tmp: fig.savefig(tmp, format="png", dpi=160, bbox_inches="tight"),
    )
    plt.close(fig)
    return table


# --------------------------------------------------------------------------- replacing one


def measured_draws(data: dict) -> list[int]:
    """The draws on which a scorecard (``card``) has at least one verdict."""
    return sorted(
        {int(d) for row in data["claims"] for d, cell in row["draws"].items() if "verdict" in cell}
    )


def pooled_runs(data: dict) -> dict[str, int]:
    """Claim id -> the runs its pooled verdict rests on (0 without one)."""
    return {row["id"]: row["pooled"].get("n_runs", 0) for row in data["claims"]}


def _examples(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def losses(old: dict, new: dict) -> list[str]:
    """What replacing scorecard ``old`` by ``new`` (both as ``card`` returns them) loses:
    draws measured, claims' pooled runs, full size. Nothing when ``old`` is a smoke
    scorecard and ``new`` is not."""
    old_smoke = old.get("provenance", {}).get("smoke")
    new_smoke = new.get("provenance", {}).get("smoke")
    if old_smoke and not new_smoke:
        return []
    lost = []
    if new_smoke and not old_smoke:
        lost.append("a full-size scorecard (the new one is smoke size)")
    gone = sorted(set(measured_draws(old)) - set(measured_draws(new)))
    if gone:
        lost.append(f"draw(s) {', '.join(map(str, gone))} (measured there, not here)")
    before, after = pooled_runs(old), pooled_runs(new)
    fewer = [f"{c} {n} -> {after.get(c, 0)}" for c, n in before.items() if after.get(c, 0) < n]
    if fewer:
        lost.append(f"pooled runs of {len(fewer)} claim(s) ({_examples(fewer)})")
    return lost


def foreseen_losses(old: dict, draws: list[int], ids: list[str]) -> list[str]:
    """What a scorecard of ``draws`` and claims ``ids`` would lose against ``old`` whatever
    its runs give: draws measured there but not asked for, claims not asked for."""
    lost = []
    gone = [d for d in measured_draws(old) if d not in draws]
    if gone:
        lost.append(f"draw(s) {', '.join(map(str, gone))} (measured there, not asked for)")
    dropped = [row["id"] for row in old["claims"] if row["id"] not in ids]
    if dropped:
        lost.append(f"{len(dropped)} claim(s) not asked for ({_examples(dropped)})")
    return lost


def read_card(path: Path) -> dict | None:
    """An existing ``scorecard.json`` (None when there is none); ValueError naming it when
    it cannot be read."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        measured_draws(data), pooled_runs(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: not a readable scorecard ({err})") from None
    return data


def update_readme(table: str, readme: Path | None = None) -> bool:
    """Put the generated table between the README's scorecard markers (False when the
    README has none)."""
    readme = readme or paths.REPO_DIR / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}")
    return True


def provenance(started: float, jobs: int, smoke: bool, commit: str | None = None) -> dict:
    """The scorecard's provenance: ``git_commit`` the commit of the sidecars it pools
    (``pool_one_commit``), ``scorecard_git_commit`` the checkout's when it was written."""
    return {
        "git_commit": commit,
        "scorecard_git_commit": figures.git_commit(),
        "versions": figures.versions(),
        "machine": runtime.machine(),
        "jobs": jobs,
        "smoke": smoke,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------- a release


def _provenances(folder: Path, problems: list[str]) -> dict[str, dict]:
    """Name (relative to ``folder``'s parent) -> provenance of every sidecar of the release:
    ``folder/*.json`` with a provenance and every ``folder/draws/*/*.json``."""
    found = {}
    paths_ = sorted(folder.glob("*.json")) + sorted(folder.glob(f"{DRAWS_FOLDER}/*/*.json"))
    for path in paths_:
        name = str(path.relative_to(folder.parent))
        try:
            origin = json.loads(path.read_text()).get("provenance")
        except (OSError, ValueError, AttributeError) as err:
            problems.append(f"{name}: not readable JSON ({err})")
            continue
        if isinstance(origin, dict):
            found[name] = origin
        elif path.parent != folder:
            problems.append(f"{name}: no provenance")
    return found


def _provenance_problems(found: dict[str, dict]) -> list[str]:
    problems = []
    commits = Counter(origin.get("git_commit") for origin in found.values())
    if len(commits) > 1:
        listed = ", ".join(f"{c} ({n})" for c, n in commits.most_common())
        problems.append(f"sidecars of {len(commits)} commits: {listed}")
    for name, origin in found.items():
        commit = origin.get("git_commit")
        if not commit or str(commit).endswith("+dirty"):
            problems.append(f"{name}: not of a clean commit ({commit})")
        if origin.get("smoke") is not False:
            problems.append(f"{name}: smoke={origin.get('smoke')}")
    return problems


def _draw_problems(folder: Path, data: dict) -> list[str]:
    """Every draw of the scorecard with every sidecar of its notebooks, of its seed; no
    draw folder the scorecard does not list."""
    problems = []
    stems = [s for s in catalog.NOTEBOOKS if s in {row["notebook"] for row in data["claims"]}]
    for draw in data["draws"]:
        where = draw_dir(draw, folder)
        for name in (n for stem in stems for n in catalog.entry(stem).figures):
            path = where / f"{name}.json"
            label = path.relative_to(folder.parent)
            if not path.exists():
                problems.append(f"draw {draw}: {label} missing")
                continue
            try:
                seed = read_sidecar(path)["provenance"].get("seed")
            except ValueError as err:
                problems.append(f"draw {draw}: {label}: {err}")
                continue
            if seed != draw:
                problems.append(f"draw {draw}: {label} is of seed {seed}")
    listed = {draw_dir(d, folder) for d in data["draws"]}
    problems += [
        f"{path.relative_to(folder.parent)}: not a draw of scorecard.json"
        for path in sorted((folder / DRAWS_FOLDER).glob("draw-*"))
        if path not in listed
    ]
    return problems


def check_release(folder: Path | None = None) -> list[str]:
    """What keeps ``folder`` (default: the repository's ``figures/``) from being one clean
    release, one line each: sidecars (and the scorecard) of several commits, of a dirty
    tree or of smoke size; a draw of ``scorecard.json`` without its sidecars (draw 0 in
    ``folder``, the others in ``folder/draws/draw-<seed>/``). Empty when it is one."""
    folder = Path(folder) if folder is not None else paths.REPO_DIR / "figures"
    problems: list[str] = []
    found = _provenances(folder, problems)
    problems += _provenance_problems(found)
    try:
        data = read_card(folder / "scorecard.json")
    except ValueError as err:
        return [*problems, str(err)]
    if data is None:
        return [*problems, f"{folder / 'scorecard.json'}: missing"]
    return problems + _draw_problems(folder, data)
