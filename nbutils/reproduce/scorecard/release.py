"""What a release of figures must be (one clean commit, every draw's sidecars), and what
replacing a scorecard would lose."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ...core import paths
from .. import catalog
from .pooling import DRAWS_FOLDER, draw_dir, read_sidecar


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
    machines = Counter(
        f"{origin['cpu']}, torch {origin.get('torch_build')}"
        for origin in found.values()
        if "cpu" in origin
    )
    if len(machines) > 1:  # each machine fine-tunes its own targets (benchmarks/README.md)
        listed = "; ".join(f"{m} ({n})" for m, n in machines.most_common())
        problems.append(f"sidecars of {len(machines)} machines: {listed}")
    for name, origin in found.items():
        commit = origin.get("git_commit")
        if not commit or str(commit).endswith("+dirty"):
            problems.append(f"{name}: not of a clean commit ({commit})")
        if origin.get("smoke") is not False:
            problems.append(f"{name}: smoke={origin.get('smoke')}")
    return problems


def _draw_problems(folder: Path, data: dict) -> list[str]:
    """Every notebook of the scorecard with every sidecar on each of its draws (its
    ``plan``; a scorecard without one: every draw), of the draw's seed; no draw folder
    the scorecard does not list."""
    problems = []
    stems = [s for s in catalog.NOTEBOOKS if s in {row["notebook"] for row in data["claims"]}]
    plan = data.get("plan") or {}
    wanted = [
        (draw, name)
        for draw in data["draws"]
        for stem in stems
        if draw in plan.get(stem, data["draws"])
        for name in catalog.entry(stem).figures
    ]
    for draw, name in wanted:
        path = draw_dir(draw, folder) / f"{name}.json"
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
    release, one line each: sidecars (and the scorecard) of several commits or machines,
    of a dirty tree or of smoke size; a draw of ``scorecard.json`` without its sidecars (draw 0 in
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
