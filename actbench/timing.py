"""How a training step is timed, and how step times become statistics.

A clock brackets each step with `start()`/`stop()` and hands back the epoch's step times
in microseconds from `collect()`, called once per epoch so that the GPU is never
synchronised inside an epoch:

- CPU: `time.perf_counter_ns` around the step (the CPU executes it synchronously).
- CUDA: a pair of `torch.cuda.Event(enable_timing=True)` per step, recorded on the stream;
  `collect()` synchronises once and reads `elapsed_time` for each pair.
- MPS: no per-step events are exposed, so the step is synchronised and wall-clocked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


class CpuClock:
    def __init__(self) -> None:
        self._t0 = 0
        self._ns: list[int] = []

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> None:
        self._ns.append(time.perf_counter_ns() - self._t0)

    def collect(self) -> np.ndarray:
        out = np.asarray(self._ns, dtype=np.float64) / 1e3
        self._ns.clear()
        return out


class CudaClock:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._pairs: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self._pool: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self._next = 0

    def start(self) -> None:
        if self._next == len(self._pool):  # events are reused epoch after epoch
            self._pool.append(
                (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            )
        pair = self._pool[self._next]
        self._next += 1
        pair[0].record()
        self._pairs.append(pair)

    def stop(self) -> None:
        self._pairs[-1][1].record()

    def collect(self) -> np.ndarray:
        torch.cuda.synchronize(self.device)
        out = np.asarray([a.elapsed_time(b) * 1e3 for a, b in self._pairs], dtype=np.float64)
        self._pairs.clear()
        self._next = 0
        return out


class SyncClock(CpuClock):
    """Wall clock around a synchronised step, for backends without usable timing events."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device = device

    def start(self) -> None:
        torch.mps.synchronize()
        super().start()

    def stop(self) -> None:
        torch.mps.synchronize()
        super().stop()


Clock = CpuClock | CudaClock | SyncClock


def clock_for(device: torch.device) -> Clock:
    if device.type == "cuda":
        return CudaClock(device)
    if device.type == "mps":
        return SyncClock(device)
    return CpuClock()


def method(device: torch.device) -> str:
    """How steps on `device` are timed, in words, for run.json and the README."""
    return {
        "cuda": "torch.cuda.Event pairs, read once per epoch",
        "mps": "perf_counter_ns around a synchronised step",
    }.get(device.type, "time.perf_counter_ns around the step")


class Reference:
    """The machine's own speed, read at the start of every epoch on work of the run's kind.

    Forward and backward of the run's own model (its architecture and widths, with the
    baseline's activation and fixed weights) on a fixed batch of the run's shape: the same
    kernels, shapes and threading as the steps under test, but identical in every epoch and
    every run of that configuration. On a shared machine a noisy neighbour can slow a whole
    run by tens of percent; `compare` divides this out when two runs executed the same way
    (same host, device, threads and reference), so that a change in the machine is not
    mistaken for a change in the code.
    """

    REPS = 3  # median of 3: enough for a per-epoch speed reading, ~1 % of an epoch

    def __init__(
        self,
        model: torch.nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        shared: bool = False,
    ) -> None:
        self.model, self.x, self.y, self.loss, self.shared = model, x, y, loss, shared
        self._epoch, self._reading = 0, float("nan")
        self.clock = clock_for(x.device)

    def measure_us(self) -> float:
        for _ in range(self.REPS):
            self.clock.start()
            self.model.zero_grad(set_to_none=True)
            self.loss(self.model(self.x), self.y).backward()
            self.clock.stop()
        return float(np.median(self.clock.collect()))

    def at_epoch(self, epoch: int) -> float:
        """The reading for the start of `epoch`. A reference `shared` by the trials of an
        interleaved group is read once per epoch, by the first of them to start it: they all
        start every epoch in the same round, so one reading describes the machine for each
        of them, at a fifth of the cost for five trials."""
        if not self.shared or epoch != self._epoch:
            self._epoch, self._reading = epoch, self.measure_us()
        return self._reading


def overhead_us(device: torch.device, samples: int = 2000) -> float:
    """Median time of an empty timed region, measured exactly the way steps are timed."""
    clock = clock_for(device)
    for _ in range(samples):
        clock.start()
        clock.stop()
    return float(np.median(clock.collect()))


# What torch.utils.benchmark and pyperf warn about: a wide spread, or a tail of steps many
# times the median that pulls the mean far above it (a neighbour, a page fault storm, ...).
SPREAD_LIMIT = 0.10  # IQR / median
SLOW_FACTOR = 5.0  # a step this many times the median belongs to the tail
MEAN_LIMIT = 1.25  # mean / median


def disturbance(median: float, p25: float, p75: float, mean: float, slow_steps: float = 0) -> str:
    """Why a trial's step times should not be read at face value ('' when nothing is off)."""
    if not median > 0:
        return ""
    reasons = []
    if (p75 - p25) / median >= SPREAD_LIMIT:
        reasons.append(f"IQR {100 * (p75 - p25) / median:.0f}% of median")
    if mean / median >= MEAN_LIMIT:
        tail = f", {int(slow_steps)} steps > {SLOW_FACTOR:g}× median" if slow_steps else ""
        reasons.append(f"mean {mean / median:.2f}× median{tail}")
    return "; ".join(reasons)


@dataclass(frozen=True)
class StepStats:
    """Summary of one trial's step times (µs), warm-up already removed."""

    median: float
    p25: float
    p75: float
    mean: float
    std: float
    n: int
    slow_steps: int = 0  # steps over SLOW_FACTOR x the median

    @classmethod
    def of(cls, samples_us: np.ndarray) -> StepStats:
        s = np.asarray(samples_us, dtype=np.float64)
        if s.size == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, nan, 0)
        p25, median, p75 = np.percentile(s, [25, 50, 75])
        slow = int(np.count_nonzero(s > SLOW_FACTOR * median))
        return cls(
            float(median), float(p25), float(p75), float(s.mean()), float(s.std()), s.size, slow
        )
