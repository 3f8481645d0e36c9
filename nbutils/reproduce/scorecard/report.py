"""The scorecard written: cells as text, the Markdown table, the page of cells, the JSON,
the README's block, provenance."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd

from ... import claims
from ...core import paths, runtime
from ...core.jsonio import atomic_write, to_jsonable
from .. import figures
from .pooling import README_END, README_START, VERDICT_COLORS, draws_text, plan_text


def cell_verdict(cell: dict) -> str:
    """The cell's verdict, or "failed" / "not run" / "not planned" where it has none (a
    claim its notebook did not measure on a draw, e.g. an SGD claim under
    ``verdicts_only``, counts as not run; a draw outside its notebook's draws is not
    planned)."""
    if "failed" in cell:
        return "failed"
    if "not_planned" in cell:
        return "not planned"
    return "not run" if "not_run" in cell or "not_measured" in cell else cell["verdict"]


def cell_text(cell: dict, digits: int = 3, before_note: str = " ") -> str:
    """A cell as the table writes it: value [interval] verdict, then the note in
    parentheses after ``before_note`` (the plot starts it on a new line)."""
    if "not_run" in cell:
        return "not run"
    if "not_planned" in cell:
        return "-"
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


def markdown(rows: list[dict], draws: list[int], plan: dict[str, list[int]] | None = None) -> str:
    """The scorecard table: evidence grouped by source, then each other kind of claim
    apart (``claims.KINDS``: exact checks, the collection's own checks, sanity checks).
    ``plan`` (notebook -> draws; default every notebook on ``draws``) is said in the first
    line; a draw outside a claim's notebook's draws is "-"."""
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
    pooled_over = plan_text(plan) if plan else f"draws {draws_text(draws)}"
    return "\n".join([f"Evidence claims, pooled over {pooled_over}: {summary}.", "", *lines])


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
        "pooled (green holds, red fails, light grey inconclusive, grey failed, white not run, "
        "'-' not among its notebook's draws;\nhatched: not evidence, i.e. exact, own and "
        "sanity checks)",
        fontsize=9,
    )
    return fig


def card(
    rows: list[dict],
    draws: list[int],
    failed: dict,
    provenance: dict,
    not_run: dict | None = None,
    plan: dict[str, list[int]] | None = None,
) -> dict:
    """What ``scorecard.json`` holds, as plain JSON (as it reads back from the file):
    ``plan`` is each notebook's draws (default: every draw)."""
    data = {
        "draws": draws,
        "plan": plan or {stem: list(draws) for stem in dict.fromkeys(r["notebook"] for r in rows)},
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
    plan: dict[str, list[int]] | None = None,
):
    """scorecard.json, scorecard.md and scorecard.png into ``out``."""
    import matplotlib.pyplot as plt

    table = markdown(rows, draws, plan)
    text = json.dumps(card(rows, draws, failed, provenance, not_run, plan), indent=1)
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
