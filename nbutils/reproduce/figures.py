"""``save_figure``: a figure as PNG + PDF, and a JSON sidecar beside it.

The sidecar ``figures/<name>.json`` holds what a reader needs to trust a figure
without the code: the plotted numbers (``data``), the measured numbers the notebook's
claim rests on (``claims``), the notebook's parameters and the provenance (git
commit, package versions, seed, device, wall time). Every file is written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from ..core import paths
from ..core.jsonio import atomic_write, to_jsonable

DPI = 160
VERSIONED = (
    "nbutils",
    "torch",
    "transformers",
    "tokenizers",
    "numpy",
    "pandas",
    "matplotlib",
    "rouge-score",
    "scikit-learn",
    "faker",
    "datasets",
)


# What ``make figures`` itself rewrites while it runs: the figures (with the scorecard and
# the other draws' sidecars) and the README's generated scorecard block. A change there
# does not make the code that computes the figures differ from the commit.
GENERATED = ("figures", "README.md")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=paths.REPO_DIR,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()


def git_commit() -> str | None:
    """The checkout's commit, with ``+dirty`` when a tracked file other than the generated
    outputs (``GENERATED``) differs from it; None without git."""
    try:
        commit = _git("rev-parse", "HEAD")
        excluded = [f":(exclude){path}" for path in GENERATED]  # relative to REPO_DIR
        changed = _git("status", "--porcelain", "--untracked-files=no", "--", ":/", *excluded)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if changed else "")


def versions() -> dict[str, str | None]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def save_figure(
    fig,
    name: str,
    *,
    data: dict,
    claims: dict | None = None,
    params: dict | None = None,
    out_dir: str | Path | None = None,
    provenance: dict | None = None,
) -> dict[str, Path]:
    """Write ``<name>.png`` (>= 150 dpi), ``<name>.pdf`` and ``<name>.json``.

    Inside a notebook opened with ``nbutils.setup`` the parameters, output folder and
    provenance come from that session; outside one, pass them. Returns the paths.
    """
    from . import session

    active = session.current()
    if active is not None:
        params = active.params if params is None else params
        out_dir = active.out_dir if out_dir is None else out_dir
        provenance = {**active.provenance(), **(provenance or {})}
    out = Path(out_dir) if out_dir is not None else paths.figures_dir()
    sidecar = {
        "figure": name,
        "notebook": active.notebook if active is not None else None,
        "params": to_jsonable(params or {}),
        "data": to_jsonable(data),
        "claims": to_jsonable(claims or {}),
        "provenance": to_jsonable(
            {
                "git_commit": git_commit(),
                "versions": versions(),
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                **(provenance or {}),
            }
        ),
    }
    written = {}
    for ext in ("png", "pdf"):
        written[ext] = out / f"{name}.{ext}"
        atomic_write(written[ext], lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=DPI))
    written["json"] = out / f"{name}.json"
    text = json.dumps(sidecar, indent=1, allow_nan=False)
    atomic_write(written["json"], lambda tmp: Path(tmp).write_text(text + "\n"))
    return written
