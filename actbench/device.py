"""The one place where a device is chosen and CPU threads are pinned."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from actbench.config import DEVICE_CHOICES as CHOICES
from actbench.errors import ActbenchError

# The timed step's threads on a CPU unless --threads says otherwise. Every parallel operator
# waits for its slowest thread, so at two threads a neighbour holding one core stalls the
# matmuls and not the single-threaded activation kernels, and costs moved 3.6-7.5 % under
# an on/off hog; on one thread 0.4-1.3 % (scripts/noisy_neighbour.py). torch.utils.benchmark's
# Timer defaults to one thread for the same reason.
CPU_STEP_THREADS = 1
# torch's own choice (the physical cores it sees), read before any sweep pins a count
TORCH_DEFAULT_THREADS = torch.get_num_threads()


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
        raise ActbenchError(
            f"{{device}} {spec!r} is not a device; use {CHOICES}", ["device"]
        ) from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ActbenchError(
                f"{{device}} {spec} asked for, but CUDA is not available on this machine",
                ["device"],
            )
        count = torch.cuda.device_count()
        index = 0 if device.index is None else device.index
        if index >= count:
            raise ActbenchError(
                f"{{device}} {spec} asked for, but this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1})",
                ["device"],
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        if not _mps_available():
            raise ActbenchError(
                f"{{device}} {spec} asked for, but MPS is not available on this machine",
                ["device"],
            )
        return torch.device("mps")
    raise ActbenchError(
        f"{{device}}: device type {device.type!r} is not supported; use {CHOICES}", ["device"]
    )


def pin_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count when asked; return the count that is in force."""
    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def pin_affinity(cpus: list[int] | None) -> list[int] | None:
    """Pin this process to `cpus` (Linux); return the affinity in force, None where unknown."""
    if not hasattr(os, "sched_setaffinity"):
        if cpus is not None:
            raise ActbenchError(
                f"{{cpu_affinity}} needs Linux; this is {sys.platform}", ["cpu_affinity"]
            )
        return None
    if cpus is not None:
        allowed = os.sched_getaffinity(0)
        missing = sorted(set(cpus) - allowed)
        if missing:
            raise ActbenchError(
                f"{{cpu_affinity}} names CPU(s) {missing} that this process cannot use "
                f"(available: {','.join(map(str, sorted(allowed)))})",
                ["cpu_affinity"],
            )
        os.sched_setaffinity(0, cpus)
    return sorted(os.sched_getaffinity(0))


def set_deterministic(enabled: bool, device: torch.device) -> None:
    """torch's deterministic algorithms (and the cuBLAS workspace setting CUDA needs for them)."""
    if enabled and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if torch.are_deterministic_algorithms_enabled() != enabled:
        # only when it changes: the setter imports torch._inductor (~1.7 s, 3 % of a sweep)
        torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.benchmark = False if enabled else torch.backends.cudnn.benchmark


def flushing() -> bool:
    """Whether this process flushes subnormal floats to zero now (torch has no getter:
    a subnormal float32 result survives an arithmetic op unless it is flushed)."""
    return bool((torch.full((1,), 1e-38, dtype=torch.float32) * 0.5).item() == 0.0)


def set_flush_denormal(enabled: bool) -> None:
    """Flush subnormals to zero (`--flush-denormal`), or not; refused where the CPU cannot."""
    if not torch.set_flush_denormal(enabled) and enabled:
        raise ActbenchError("{flush_denormal}: this CPU cannot flush denormals", ["flush_denormal"])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def name(device: torch.device) -> str:
    """The hardware behind `device`, in words (GPU model or CPU model)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return cpu_model()


@contextmanager
def state_kept() -> Iterator[None]:
    """Leave torch as it was found: a sweep from a notebook pins threads, affinity and
    cuDNN flags for its own steps, and the user's next cell must not inherit them.
    (The trials themselves train in worker processes; this is the parent's own pinning.)"""
    threads = torch.get_num_threads()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cudnn = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    deterministic = torch.are_deterministic_algorithms_enabled()
    flush = flushing()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if affinity is not None and os.sched_getaffinity(0) != affinity:
            os.sched_setaffinity(0, affinity)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn
        if torch.are_deterministic_algorithms_enabled() != deterministic:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        if flushing() != flush:
            torch.set_flush_denormal(flush)


@dataclass(frozen=True)
class Pinning:
    """Where and how a run's trials execute; recorded in run.json and every trial row."""

    device: torch.device
    device_name: str
    threads: int
    cpu_affinity: str  # "0,1"; "" where the platform cannot tell
    deterministic: bool
    untimed_threads: int = 0  # for the passes nobody times; 0: `threads`

    @contextmanager
    def untimed(self) -> Iterator[None]:
        """Run a pass that is not timed (validation, the test pass) on `untimed_threads`.

        A step timed on one thread keeps its cost steady under a busy neighbour, but the
        validation pass is a row of large matrix multiplies: on one thread it doubled a
        default sweep's overhead. It may use every core the run may use, since no timed
        step runs beside it; the step's own count is back before the next step.
        """
        wider = self.untimed_threads
        if self.device.type != "cpu" or wider <= self.threads:
            yield
            return
        torch.set_num_threads(wider)
        try:
            yield
        finally:
            torch.set_num_threads(self.threads)


def pin(
    spec: str,
    threads: int | None = None,
    cpu_affinity: list[int] | None = None,
    deterministic: bool = False,
    own_cores: bool = True,
    flush_denormal: bool = False,
) -> Pinning:
    """Resolve the device and apply every pin; refuse anything that cannot be honoured.

    `own_cores`: the run has this process's CPUs to itself between timed steps, so its
    untimed passes may use them all (torch's default count, within the affinity). A Ray
    task shares its node with other groups' timed steps and keeps to `threads`.
    `flush_denormal`: subnormals flushed to zero in this process, or not.
    """
    device = resolve(spec)
    if threads is None and device.type == "cpu":
        threads = CPU_STEP_THREADS
    in_force = pin_threads(threads)
    affinity = pin_affinity(cpu_affinity)
    set_deterministic(deterministic, device)
    set_flush_denormal(flush_denormal)
    cores = min(TORCH_DEFAULT_THREADS, len(affinity)) if affinity else TORCH_DEFAULT_THREADS
    return Pinning(
        device=device,
        device_name=name(device),
        threads=in_force,
        cpu_affinity="" if affinity is None else ",".join(map(str, affinity)),
        deterministic=deterministic,
        untimed_threads=max(in_force, cores) if own_cores else in_force,
    )
