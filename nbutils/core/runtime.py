"""The one seeding helper, the one device helper, and the machine facts that a run's
numbers depend on."""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

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


def autocast_forward(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Run ``model.forward`` (and so ``generate``) under ``torch.autocast`` to ``dtype``,
    parameters staying in float32. The wrapper is a bound method, so ``copy.deepcopy``
    rebinds it to the copy: a copied model runs its own weights."""
    import types

    device_type = next(model.parameters()).device.type
    forward = torch.autocast(device_type=device_type, dtype=dtype)(type(model).forward)
    model.forward = types.MethodType(forward, model)
    return model


def gradient_checkpointing(model: torch.nn.Module) -> torch.nn.Module:
    """Turn on ``transformers``' gradient checkpointing (non-reentrant): each layer's
    activations are recomputed in the backward pass instead of stored, trading one more
    forward for memory at paper scale. A model without support is returned as is."""
    if getattr(model, "supports_gradient_checkpointing", False):
        # transformers' newer name (5.2x) first; the older one, which it keeps, otherwise
        enable = getattr(model, "activation_checkpointing_enable", None)
        enable = enable or model.gradient_checkpointing_enable
        enable({"use_reentrant": False})
    return model


def checkpoint_layers(model: torch.nn.Module) -> None:
    """``transformers`` checkpoints a layer only while ``layer.training``; the engine
    unlearns in eval mode (no dropout). Flag the checkpointing layers alone as training
    (the dropout modules below them stay in eval mode). No-op when checkpointing is off."""
    for module in model.modules():
        if getattr(module, "gradient_checkpointing", False):
            module.training = True


def machine() -> dict:
    """What makes a run bit-identical to another: the CPU, the torch build and the number
    of threads torch uses (the same seed gives other numbers at another thread count)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_build": f"{torch.__version__} (CUDA {torch.version.cuda or 'none'})",
        "torch_threads": torch.get_num_threads(),
        "system": f"{platform.system()} {platform.machine()}",
    }
