"""Two folders of figure sidecars, value by value: what a regeneration moved.

``python -m nbutils compare BEFORE AFTER`` lists every claim value (or plotted number,
``--part data``) that differs between the sidecars of the same figure in two folders:
the same commit on another CPU, or two commits that should compute the same numbers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

PARTS = ("claims", "data", "params")


def leaves(tree, prefix: str = ""):
    """``(dotted.path, value)`` of every scalar in nested dicts and lists."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, f"{prefix}{key}.")
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaves(value, f"{prefix}{i}.")
    else:
        yield prefix.rstrip("."), tree


def same_value(a, b, rel_tol: float = 0.0) -> bool:
    """Equal, numbers within ``rel_tol`` (bools and text exactly; NaN equals NaN)."""
    numbers = (int, float)
    if (
        isinstance(a, bool)
        or isinstance(b, bool)
        or not (isinstance(a, numbers) and isinstance(b, numbers))
    ):
        return type(a) is type(b) and a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0)


def differences(
    before: str | Path,
    after: str | Path,
    part: str = "claims",
    rel_tol: float = 0.0,
    ignore: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """Every ``part`` value that differs between same-named sidecars of two folders, one
    row each (figure, path, before, after; a value or sidecar missing on one side reads
    ``None`` there), and how many values were compared in all. ``ignore``: a regular
    expression; values whose dotted path it matches (a measured time, say) are left
    out of both."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    try:
        skip = re.compile(ignore) if ignore else None
    except re.error as err:
        raise ValueError(f"--ignore {ignore!r} is not a regular expression ({err})") from None
    folders = [Path(before), Path(after)]
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a folder of sidecars")
    names = sorted({p.name for f in folders for p in f.glob("*.json")})
    rows, compared = [], 0
    for name in names:
        a, b = (_values(f / name, part) for f in folders)
        figure = Path(name).stem
        if a is None or b is None:  # the whole sidecar is on one side only
            sides = {"before": a, "after": b}
            present = {k: None if v is None else "present" for k, v in sides.items()}
            rows.append({"figure": figure, "path": "(sidecar)", **present})
            continue
        keys = sorted(k for k in set(a) | set(b) if skip is None or not skip.search(k))
        compared += len(keys)
        rows += [
            {"figure": figure, "path": k, "before": a.get(k), "after": b.get(k)}
            for k in keys
            if k not in a or k not in b or not same_value(a[k], b[k], rel_tol)
        ]
    return pd.DataFrame(rows, columns=["figure", "path", "before", "after"], dtype=object), compared


def _values(path: Path, part: str) -> dict | None:
    """The ``part`` leaves of one sidecar (None when it is absent); ValueError naming it
    when it cannot be read."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not readable JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a sidecar (a JSON object)")
    return dict(leaves(data.get(part, {})))
