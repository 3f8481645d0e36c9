"""A notebook's session: validated parameters, seed, device, output folder, clock.

A notebook's validation cell calls ``setup(notebook, **parameters)``; afterwards
``save_figure`` takes the parameters, output folder and provenance from it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..core.runtime import machine, resolve_device, resolve_dtype, seed_everything
from ..engine.executor import LEDGER
from ..studies.style import set_style
from . import catalog
from .params import validate
from .presets import expand_scale

_ACTIVE: Session | None = None


@dataclass
class Session:
    notebook: str
    params: dict
    device: torch.device
    out_dir: Path
    started: float = field(default_factory=time.perf_counter)

    @property
    def seed(self) -> int:
        return self.params["seed"]

    @property
    def smoke(self) -> bool:
        return self.params["smoke"]

    def elapsed(self) -> float:
        """Seconds since ``setup``."""
        return time.perf_counter() - self.started

    def provenance(self) -> dict:
        return {
            "seed": self.seed,
            "smoke": self.smoke,
            "device": str(self.device),
            "wall_time_s": round(self.elapsed(), 2),
            "peak_rss_mb": peak_rss_mb(),
            "runs": LEDGER.as_dict(),  # runs computed / read from the cache, and their cost cold
            **machine(),
            "cuda_device": torch.cuda.get_device_name(0) if self.device.type == "cuda" else None,
            "cuda_peak_memory_mb": (
                round(torch.cuda.max_memory_allocated() / 2**20, 1)
                if self.device.type == "cuda"
                else None
            ),
        }


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MiB (for a notebook: its kernel's);
    None where ``resource`` is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def setup(notebook: str, **params) -> Session:
    """Validate a notebook's parameters against its catalog entry, expand ``scale="paper"``
    (presets.expand_scale), then seed, pick the device, set the figure style and open the
    session. On the CPU the kernel computes at one torch thread, as every run does
    (``engine.executor``), so no number depends on the machine's cores. Raises
    ``ValueError`` naming the bad parameter."""
    global _ACTIVE
    entry = catalog.entry(notebook)
    values = validate(entry.params, params, where=f"notebook {entry.stem}")
    device = resolve_device(values["device"])
    values = expand_scale(values, device.type)
    if "dtype" in values:
        resolve_dtype(values["dtype"], device)  # half precision only on CUDA
    if device.type == "cpu":  # every number at one thread; the executor uses the cores
        torch.set_num_threads(1)
    seed_everything(values["seed"])
    set_style()
    _ACTIVE = Session(entry.stem, values, device, Path(values["out_dir"]).expanduser().resolve())
    return _ACTIVE


def current() -> Session | None:
    """The open session, if a notebook called ``setup``."""
    return _ACTIVE
