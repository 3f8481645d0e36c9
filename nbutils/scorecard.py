"""The scorecard: every claim of the registry, on several benchmark draws, with intervals.

``python -m nbutils scorecard`` runs the verdict notebooks once per draw (``--seed`` =
the draw: another benchmark, another target, other unlearning and tuning seeds),
collects each figure sidecar's claims (every run's value), and evaluates every claim per
draw (an interval over its seeds) and pooled over the draws (draws as a random effect:
an interval over the draw means; a claim measured on one draw has none there, and says
"one draw": ``claims.evaluate`` with ``over_draws``). A notebook that fails on a draw is
reported as failed there; the other draws are still reported; with ``--collect``
(nothing run, the sidecars taken as they are) a draw whose sidecars are absent is
reported as not run. Written:
``scorecard.json`` (everything), ``scorecard.md`` (the table, grouped by source, sanity
checks apart) and ``scorecard.png`` (claims x draws, coloured by verdict).

The draw that equals the default seed (0) is the collection's default run: its figures
go next to the scorecard (``figures/`` for ``make figures``); the other draws run with
``verdicts_only`` (each notebook skips what no claim needs) and their figures go under
``build/scorecard/draw-<seed>/``.
"""

from __future__ import annotations

import json
import math
import time
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


def draw_dir(draw: int, out: Path, build: Path) -> Path:
    """Where a draw's figures and sidecars go."""
    return out if draw == DEFAULT_DRAW else build / "scorecard" / f"draw-{draw}"


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


def collect(
    draw: int,
    folder: Path,
    stems: list[str],
    failures: dict[str, str],
    absent: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The measurement table of one draw from its sidecars (notebooks in ``failures``
    are skipped: they have no sidecars of this run). A missing sidecar goes into
    ``absent`` when given (``--collect``: the notebook was not run on this draw), else
    into ``failures`` (it ran and wrote nothing)."""
    parts = []
    for stem in stems:
        if stem in failures:
            continue
        for name in catalog.entry(stem).figures:
            sidecar = folder / f"{name}.json"
            if not sidecar.exists():
                (failures if absent is None else absent)[stem] = f"no sidecar {sidecar.name}"
                continue
            data = json.loads(sidecar.read_text())
            seed = data.get("provenance", {}).get("seed")
            if seed != draw:
                failures[stem] = f"{sidecar.name} is of seed {seed}, not of draw {draw}"
                continue
            table = claims.runs_of(data["claims"])
            parts.append(table.assign(draw=draw))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def build(
    per_draw: list[pd.DataFrame],
    ids: list[str],
    draws: list[int],
    failed: dict[int, dict],
    not_run: dict[int, dict] | None = None,
) -> list[dict]:
    """Per claim: its registry fields, the pooled verdict over every draw that measured
    it, and each draw's own verdict (or why it has none: ``failed``, or ``not_run``, each
    draw -> notebook -> reason). ``per_draw``: the ``collect`` tables."""
    not_run = not_run or {}
    filled = [m for m in per_draw if len(m)]
    measurements = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    rows = []
    for claim_id in ids:
        spec = claims.claim(claim_id)
        mine = measurements[measurements["claim"] == claim_id] if len(measurements) else None
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
    """The scorecard table: evidence grouped by source, sanity checks apart."""
    header = "| claim | setting | " + " | ".join(f"draw {d}" for d in draws) + " | pooled |"
    rule = "|---|---|" + "---|" * (len(draws) + 1)
    lines = []
    for kind, title in (
        ("evidence", "Evidence"),
        ("sanity", "Sanity checks (true by construction)"),
    ):
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
    interval, coloured by verdict; sanity checks at the bottom, hatched."""
    import matplotlib.pyplot as plt

    ordered = [r for r in rows if r["kind"] == "evidence"] + [
        r for r in rows if r["kind"] == "sanity"
    ]
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
                    hatch="//" if r["kind"] == "sanity" else None,
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
        "hatched: sanity checks)",
        fontsize=9,
    )
    return fig


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
    data = {
        "draws": draws,
        "failed": failed,
        "not_run": not_run or {},
        "claims": rows,
        "provenance": provenance,
    }
    text = json.dumps(to_jsonable(claims.finite_claims(data)), indent=1, allow_nan=False)
    atomic_write(out / "scorecard.json", lambda tmp: Path(tmp).write_text(text + "\n"))
    atomic_write(out / "scorecard.md", lambda tmp: Path(tmp).write_text(table + "\n"))
    fig = plot(rows, draws)
    atomic_write(
        out / "scorecard.png",
        lambda tmp: fig.savefig(tmp, format="png", dpi=160, bbox_inches="tight"),
    )
    plt.close(fig)
    return table


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


def provenance(started: float, jobs: int, smoke: bool) -> dict:
    return {
        "git_commit": figures.git_commit(),
        "versions": figures.versions(),
        "machine": runtime.machine(),
        "jobs": jobs,
        "smoke": smoke,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
