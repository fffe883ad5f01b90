"""The one place where a device is chosen and CPU threads are pinned."""

from __future__ import annotations

import torch

from actbench.errors import ActbenchError

CHOICES = "auto|cpu|cuda|cuda:N|mps"


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def resolve(spec: str) -> torch.device:
    """Turn `--device` into a torch.device that really exists here; never fall back silently."""
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise ActbenchError(f"{spec!r} is not a device; use {CHOICES}") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ActbenchError(
                f"--device {spec} asked for, but CUDA is not available on this machine"
            )
        count = torch.cuda.device_count()
        index = 0 if device.index is None else device.index
        if index >= count:
            raise ActbenchError(
                f"--device {spec} asked for, but this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1})"
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        if not _mps_available():
            raise ActbenchError(
                f"--device {spec} asked for, but MPS is not available on this machine"
            )
        return torch.device("mps")
    raise ActbenchError(f"device type {device.type!r} is not supported; use {CHOICES}")


def pin_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count when asked; return the count that is in force."""
    if threads is not None:
        if threads < 1:
            raise ActbenchError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
