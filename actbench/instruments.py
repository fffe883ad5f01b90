"""What a trial reads besides its timed steps: the breakdown, its kernels alone, training
health and memory.

Every reading happens between rounds, never inside a timed step. After the validation
pass of a read epoch: one block of the step breakdown on the trial's twin
(`breakdown.py`) and the health probe on the fixed validation rows (`health.py`). An epoch
is read every `READ_STEPS` training steps or so: every second epoch of the default MNIST
sweep (480 steps), every 20th of a 40-step epoch; the first epoch always. A short epoch
would pay a reading many times over; read at every epoch of a default sweep, they held
7 % of its core-seconds (`scripts/sweep_overhead.py`). The kernels alone, timed against
identity's and against a copy of their bytes (`kernels.py`), have a cadence of their own,
twice the readings' (every `KERNEL_STEPS`: every epoch of the default sweep), each round
half as long: one round's multiple of copy scatters by ~30 %, and two rounds are no more
alike for being close in time or in one process (|r| < 0.1 at every lag, in one worker or
two: `kernel_rounds` in results/rerun_check-default-cpu.json), so more, shorter rounds make
the median steadier for the same seconds. The same epochs are read in every trial of a run, so
the trials of a group are still read in the same rounds. Once, when the trial ends: the
bytes autograd saves for backward and the peak of one step (`memory.py`), and its
kernels' time on adversarial inputs over the trained model's real ones
(`kernels.sensitivity`). The trial's own model is only read: the twin trains a copy, and
the probe asks autograd for gradients without touching `.grad`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from actbench import breakdown, health, kernels, memory
from actbench.activation import Activation
from actbench.data import DeviceData
from actbench.plan import Plan
from actbench.records import PROFILE_PARTS
from actbench.step import Step

HEALTH_SUMMARY = ("dead", "saturated", "grad_ratio")
READ_STEPS = 800  # training steps between readings, at least (see above)
KERNEL_STEPS = 400  # training steps between rounds of the kernels alone, at least (see above)


class Instruments:
    """One trial's instruments, built with the trial."""

    def __init__(
        self,
        plan: Plan,
        data: DeviceData,
        activation: Activation,
        model: torch.nn.Module,
        threads: int,
    ) -> None:
        self.plan, self.model = plan, model
        self.activation, self.threads = activation, threads
        self.twin = breakdown.Profiler(
            plan.network, activation, plan.step, data.x_train, data.y_train
        )
        first = data.x_train[: plan.step.batch_size]
        # identity's timer times nothing: its own null, 0 by definition
        self.kernels = kernels.KernelTimer(plan.network, activation, first, threads)
        self.probe = health.Probe(model, plan.step.loss, data.x_val, data.y_val)
        self.blocks: list[dict[str, float]] = []
        self.rounds: list[dict[str, float]] = []  # the kernels' (`kernels.Reading.columns`)
        self.health: list[dict[str, float]] = []
        steps = max(1, data.x_train.shape[0] // plan.step.batch_size)
        self.every = math.ceil(READ_STEPS / steps)  # epochs between readings
        self.kernel_every = math.ceil(KERNEL_STEPS / steps)  # epochs between kernel rounds

    def reads(self, epoch: int) -> bool:
        """Whether `epoch` (1-based) is read: the first, and every `every`-th after it."""
        return (epoch - 1) % self.every == 0

    def times_kernels(self, epoch: int) -> bool:
        """Whether `epoch` (1-based) times a round of the kernels: the first, and every
        `kernel_every`-th after it."""
        return (epoch - 1) % self.kernel_every == 0

    def epoch(self, epoch: int, x: torch.Tensor, y: torch.Tensor, step: Step) -> dict:
        """This epoch's readings (history.csv columns), if any: when it is read, a
        breakdown block on (x, y) from the state of the trial's `step`, how much of that
        state is subnormal and the health probe; when it times the kernels, their round,
        before the rest, so that every round (whichever order it takes its blocks in, as
        `kernels.KernelTimer` alternates) comes after the same work; and the seconds they
        took."""
        start = time.perf_counter()
        readings: dict = {}
        if self.times_kernels(epoch):  # first: every round follows the validation pass
            self.rounds.append(self.kernels.round().columns())
            readings |= self.rounds[-1]
        if self.reads(epoch):
            readings |= self._read(x, y, step)
        if readings:
            readings["probe_seconds"] = time.perf_counter() - start
        return readings

    def _read(self, x: torch.Tensor, y: torch.Tensor, step: Step) -> dict:
        """A breakdown block, the subnormal share and the health probe."""
        parts, health_now = self.twin.block(x, y, step), self.probe.read()
        parts["subnormal_pct"] = 100 * breakdown.subnormal_fraction(step)
        self.blocks.append(parts)
        self.health.append(health_now)
        readings = {f"profile_{p}_us": parts[p] for p in PROFILE_PARTS}
        readings["subnormal_pct"] = parts["subnormal_pct"]
        return readings | {"health": health_now}

    def final(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """The trial's columns: the breakdown's median over blocks, health at the first and
        last epoch read, and memory (per layer in `memory`)."""
        values: dict = {
            f"profile_{p}_us": _median(b[p] for b in self.blocks) for p in PROFILE_PARTS
        }
        values["profile_blocks"] = len(self.blocks)
        values["subnormal_pct"] = _median(b["subnormal_pct"] for b in self.blocks)
        # the multiple: the median of the rounds' (one lost in noise is negative, not left
        # out, so the median is not pushed up); the bandwidth: the bytes over the median time
        values["kernel_us"] = _median(r["kernel_us"] for r in self.rounds)
        values["kernel_copy_x"] = _median(r["kernel_copy_x"] for r in self.rounds)
        # a float always: identity has none (NaN), and a column keeps one dtype
        values["kernel_bytes"] = float(self.kernels.traffic or math.nan)
        kernel_us = values["kernel_us"]
        values["kernel_gbs"] = (
            values["kernel_bytes"] / kernel_us / 1e3 if kernel_us > 0 else math.nan
        )
        inputs = kernels.layer_inputs(self.model, x[: self.plan.step.batch_size])
        values |= kernels.sensitivity(self.activation, inputs, self.threads)
        for key in HEALTH_SUMMARY:
            first, last = (self.health[0], self.health[-1]) if self.health else ({}, {})
            values[f"{key}_first"] = first.get(key, math.nan)
            values[f"{key}_last"] = last.get(key, math.nan)
        batch = self.plan.step.batch_size
        layers = memory.saved_for_backward(self.model, self.plan.step.loss, x[:batch], y[:batch])
        values["memory"] = layers
        values["saved_bytes"] = sum(layer.saved_bytes for layer in layers)
        values["peak_bytes"] = memory.step_peak(self.twin.step, x.device)
        return values


def _median(values) -> float:
    """The median of the values that are numbers (NaN: none)."""
    values = [v for v in values if not math.isnan(v)]
    return float(np.median(values)) if values else math.nan
