"""Plain JSON for sidecars and caches: ``to_jsonable``, atomic writes, and ``computing``,
which lets one process compute a cache entry while others that want it wait."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


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
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place:
    a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _stale(lock: Path, max_age: float) -> bool:
    """A lock whose process is gone (or that is older than ``max_age`` seconds)."""
    try:
        pid = int(lock.read_text() or 0)
        age = time.time() - lock.stat().st_mtime
    except (OSError, ValueError):
        return False  # just being written, or just removed: look again
    if age > max_age:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


LOCK_MAX_AGE = 6 * 3600  # seconds after which any lock counts as abandoned


def _lock(target: Path) -> Path:
    return target.with_name(target.name + ".lock")


def try_lock(target: Path, max_age: float = LOCK_MAX_AGE) -> bool:
    """Take ``target``'s lock (``target + ".lock"``, created exclusively, holding this
    process's id) unless a live process holds it; a lock whose process died, or older
    than ``max_age`` seconds, is taken over. True when this process now holds it."""
    lock = _lock(target)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _stale(lock, max_age):
                lock.unlink(missing_ok=True)
                continue
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True


def unlock(target: Path) -> None:
    _lock(target).unlink(missing_ok=True)


def locked_by_another(target: Path, max_age: float = LOCK_MAX_AGE) -> bool:
    """Whether a live process (not this one) holds ``target``'s lock."""
    lock = _lock(target)
    try:
        pid = int(lock.read_text() or 0)
    except (OSError, ValueError):
        return False
    return pid != os.getpid() and not _stale(lock, max_age)


@contextmanager
def computing(target: Path, poll: float = 0.5, max_age: float = LOCK_MAX_AGE) -> Iterator[bool]:
    """One process computes what ``target`` (a cache file or folder) will hold; the others
    wait for it instead of computing it again (notebooks run in parallel share targets).

    Yields True to the process that holds the lock (``try_lock``): it should compute and
    write ``target``. Yields False when ``target`` exists, already or after waiting: read
    it."""
    while True:
        if target.exists():
            mine = False
            break
        if not try_lock(target, max_age):
            time.sleep(poll)
            continue
        mine = not target.exists()  # written between the look and the lock: read it
        if not mine:
            unlock(target)
        break
    try:
        yield mine
    finally:
        if mine:
            unlock(target)
