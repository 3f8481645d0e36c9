"""One style for every figure, and ``save_figure``: PNG + PDF + a JSON sidecar.

The sidecar ``figures/<name>.json`` holds what a reader needs to trust a figure
without the code: the plotted numbers (``data``), the measured numbers the notebook's
claim rests on (``claims``), the notebook's parameters and the provenance (git
commit, package versions, seed, device, wall time). Every file is written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from . import paths

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

# One colour per method across all notebooks.
METHOD_COLORS = {
    "gd": "#7f7f7f",
    "ga": "#8c564b",
    "gdiff": "#1f77b4",
    "lossnorm": "#2ca02c",
    "rlw": "#9467bd",
    "pcgrad": "#e377c2",
    "imtlg": "#bcbd22",
    "ngdiff": "#d62728",
    "ngdiff+autolr": "#ff7f0e",
    "npo": "#17becf",
    "retrain": "#000000",
}


def set_style() -> None:
    """The collection's figure style (seaborn whitegrid, readable paper fonts)."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.15)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": DPI,
            "savefig.bbox": "tight",
            "figure.constrained_layout.use": True,
            "legend.frameon": False,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def method_color(method: str) -> str:
    base = method.split("(")[0].split("-")[0].lower()
    return METHOD_COLORS.get(method.lower(), METHOD_COLORS.get(base, "#333333"))


def gdiff_color(c: float) -> tuple:
    """GDiff(c) colours along a blue ramp, darker for larger c."""
    return plt.cm.Blues(0.3 + 0.7 * float(c))


# --------------------------------------------------------------------------- sidecar


def to_jsonable(value):
    """Numbers, arrays, tables and tensors as plain JSON (NaN and inf become null)."""
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="list"))
    if isinstance(value, pd.Series):
        return to_jsonable(value.to_list())
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to a JSON sidecar")


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


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
        _atomic_write(written[ext], lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=DPI))
    written["json"] = out / f"{name}.json"
    text = json.dumps(sidecar, indent=1, allow_nan=False)
    _atomic_write(written["json"], lambda tmp: Path(tmp).write_text(text + "\n"))
    return written
