"""Notebook parameters: what each may be, and validation with messages that name them.

The same specs serve the notebooks' validation cell (``nbutils.setup``) and the
command line, which checks every value before any notebook starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.runtime import DTYPES, device_problem


@dataclass(frozen=True)
class Param:
    """A parameter's type and an optional check returning a problem (or None)."""

    kind: type | tuple[type, ...]
    check: Callable[[Any], str | None] | None = None
    help: str = ""

    def problem(self, value: Any) -> str | None:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            names = " or ".join(k.__name__ for k in kinds)
            return f"must be {names}, got {type(value).__name__} {value!r}"
        return self.check(value) if self.check else None


def at_least(low) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low}, got {v!r}"


def open_interval(low, high) -> Callable[[Any], str | None]:
    return lambda v: None if low < v < high else f"must lie in ({low}, {high}), got {v!r}"


def one_of(*choices) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {list(choices)}, got {v!r}"


OPTIMIZERS = ("adam", "sgd")


def optimizers(required: str | None = None) -> Callable[[Any], str | None]:
    """A non-empty list of distinct optimizer names, each "adam" (the paper's Appendix F.3
    setting) or "sgd" (Algorithm 1 as written); with ``required``, that one among them
    (a notebook whose registry claims are about it)."""

    def check(value) -> str | None:
        if not value:
            return f"must list at least one of {list(OPTIMIZERS)}, got {value!r}"
        unknown = [v for v in value if v not in OPTIMIZERS]
        if unknown:
            return f"must list optimizers among {list(OPTIMIZERS)}, got {unknown!r}"
        if len(set(value)) != len(value):
            return f"must not repeat an optimizer, got {value!r}"
        if required is not None and required not in value:
            return (
                f"must include {required!r} (the setting of this notebook's claims), got {value!r}"
            )
        return None

    return check


def _model(value: str) -> str | None:
    if not value.strip():
        return (
            "must name a model: 'tiny', a hub name such as 'microsoft/phi-1_5', or a local folder"
        )
    return None


def _dataset(value: str) -> str | None:
    if value in ("authors", "tofu") or Path(value).is_dir():
        return None
    return f"must be 'authors', 'tofu' or a local folder of TOFU JSON files, got {value!r}"


def _seeds(value: Any) -> str | None:
    return None if value >= 1 else f"must be at least 1, got {value!r}"


COMMON = {
    "seed": Param(int, at_least(0), "base seed: benchmark, target and first unlearning run"),
    "smoke": Param(bool, None, "shrink everything so the notebook runs in well under a minute"),
    "device": Param(str, device_problem, "'auto', 'cpu' or 'cuda'"),
    "out_dir": Param(str, None, "where figures and sidecars are written"),
    "verdicts_only": Param(
        bool, None, "skip what no claim needs (the scorecard's extra benchmark draws)"
    ),
}

LANGUAGE = {
    "model": Param(str, _model, "'tiny' (offline) or a hub name / local path"),
    "dataset": Param(str, _dataset, "'authors' (offline), 'tofu', or a local TOFU folder"),
    "dtype": Param(str, one_of(*DTYPES), "parameter dtype: float32, or bfloat16/float16 on CUDA"),
    "scale": Param(
        str, one_of("default", "paper"), "'paper': the paper's settings (Phi-1.5, TOFU)"
    ),
}

SEEDS = {"n_seeds": Param(int, _seeds, "independent unlearning runs per method")}

RETUNE = {
    "retune": Param(
        bool,
        None,
        "tune every rate here, on held-out seeds of this draw, instead of reading the table "
        "of tuned rates (figures/tuned_rates.json)",
    )
}


def validate(spec: dict[str, Param], values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check ``values`` against ``spec``: unknown, missing and bad values all raise
    ``ValueError`` naming the parameter and ``where`` (the notebook)."""
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ValueError(
            f"{where} does not declare parameter(s) {unknown}; it declares {sorted(spec)}"
        )
    missing = sorted(set(spec) - set(values))
    if missing:
        raise ValueError(f"{where}: parameter(s) {missing} not given")
    for name, value in values.items():
        problem = spec[name].problem(value)
        if problem:
            raise ValueError(f"{where}: parameter {name}={value!r} {problem}")
    return dict(values)
