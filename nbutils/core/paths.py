"""The one place that decides where things live: figures, executed notebooks, caches."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent


def _in_checkout() -> bool:
    return (REPO_DIR / "pyproject.toml").exists() and (REPO_DIR / "notebooks").is_dir()


def notebooks_dir() -> Path:
    return REPO_DIR / "notebooks"


def figures_dir() -> Path:
    """``$NBUTILS_FIGURES``, else the checkout's ``figures/``."""
    return Path(os.environ.get("NBUTILS_FIGURES", REPO_DIR / "figures"))


def rates_file() -> Path:
    """The table of tuned rates: ``$NBUTILS_RATES``, else the checkout's
    ``figures/tuned_rates.json`` (whatever folder figures are written to), else
    ``tuned_rates.json`` in ``figures_dir()``."""
    if "NBUTILS_RATES" in os.environ:
        return Path(os.environ["NBUTILS_RATES"])
    folder = REPO_DIR / "figures" if _in_checkout() else figures_dir()
    return folder / "tuned_rates.json"


def build_dir() -> Path:
    """Executed notebooks go here, never into ``notebooks/``."""
    return Path(os.environ.get("NBUTILS_BUILD", REPO_DIR / "build"))


def cache_dir() -> Path:
    """``$NBUTILS_CACHE``, else ``.cache/`` in the checkout, else ``~/.cache/nbutils``."""
    if "NBUTILS_CACHE" in os.environ:
        return Path(os.environ["NBUTILS_CACHE"])
    if _in_checkout():
        return REPO_DIR / ".cache"
    return Path.home() / ".cache" / "nbutils"
