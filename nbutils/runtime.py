"""The one seeding helper and the one device helper."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot be used here, or None."""
    if device == "auto":
        return None
    try:
        torch.device(device)
    except RuntimeError:
        return "is not a torch device: use 'auto', 'cpu' or 'cuda'"
    if device.startswith("cuda") and not torch.cuda.is_available():
        return (
            f"asks for CUDA, which is not available on this machine "
            f"(torch {torch.__version__}); use device='auto' or 'cpu'"
        )
    return None


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present; ``"cuda"`` without CUDA is a clear error."""
    problem = device_problem(device)
    if problem:
        raise ValueError(f"device={device!r} {problem}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """Parameter dtype by name; half precision only on CUDA."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if dtype != "float32" and device.type != "cuda":
        raise ValueError(f"dtype={dtype!r} needs device='cuda'; the CPU path runs in float32")
    return DTYPES[dtype]
