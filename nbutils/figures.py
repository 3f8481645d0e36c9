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

from .core import paths
from .core.jsonio import atomic_write, to_jsonable

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


def git_commit() -> str | None:
    """The checkout's commit, with ``+dirty`` when tracked files differ from it."""
    try:
        run = lambda *a: subprocess.run(
            ["git", *a],
            cwd=paths.REPO_DIR,
            capture_output=True,  # noqa: E731
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


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
