"""How a training step is timed: the clocks, the one place that knows how to time on a device.

A clock brackets each step with `start()`/`stop()` and hands back the epoch's step times
in microseconds from `collect()`, called once per epoch so that the GPU is never
synchronised inside an epoch. The breakdown (`breakdown.py`) times spans that nest inside
a step, so the same clocks also hand out stamps: `now()` takes one, `elapsed_us(start, end)`
reads a span once `sync()` has waited for the device (once per step, never inside it):

- CPU: `time.perf_counter_ns` around the step (the CPU executes it synchronously).
- CUDA: a pair of `torch.cuda.Event(enable_timing=True)` per step, recorded on the stream;
  `collect()` synchronises once and reads `elapsed_time` for each pair.
- MPS: no per-step events are exposed, so the step is synchronised and wall-clocked.
"""

from __future__ import annotations

import time

import numpy as np
import torch


class CpuClock:
    def __init__(self) -> None:
        self._t0 = 0
        self._ns: list[int] = []

    def now(self) -> int:
        return time.perf_counter_ns()

    def sync(self) -> None:
        """Nothing to wait for: the CPU has finished the work when the stamp is taken."""

    @staticmethod
    def elapsed_us(start: int, end: int) -> float:
        return (end - start) / 1e3

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

    def now(self) -> torch.cuda.Event:
        """An event recorded on the stream: a stamp of device time, read after `sync()`."""
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def sync(self) -> None:
        torch.cuda.synchronize(self.device)

    @staticmethod
    def elapsed_us(start: torch.cuda.Event, end: torch.cuda.Event) -> float:
        return start.elapsed_time(end) * 1e3

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

    def now(self) -> int:
        torch.mps.synchronize()
        return time.perf_counter_ns()

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


def overhead_us(device: torch.device, samples: int = 2000) -> float:
    """Median time of an empty timed region, measured exactly the way steps are timed."""
    clock = clock_for(device)
    for _ in range(samples):
        clock.start()
        clock.stop()
    return float(np.median(clock.collect()))
