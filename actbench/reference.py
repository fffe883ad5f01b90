"""The reference workload: the machine's own speed, read at every epoch's start.

`compare` divides a run's step times by these readings when two runs executed the same way,
so that a slower machine is not mistaken for slower code. The workload is the run's own
model with the baseline's activation, on a fixed batch of the run's shape (`for_plan`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from actbench.activation import resolve
from actbench.clock import clock_for
from actbench.data import DeviceData
from actbench.plan import Plan


def for_plan(plan: Plan, data: DeviceData, shared: bool = False) -> Reference:
    """The machine-speed reading for a run: its own model with the baseline's activation
    (identity without one), fixed weights, on a fixed batch of the run's shape."""
    model = plan.network.build(plan.baseline or resolve("identity"), seed=0)
    size = min(plan.config.batch_size, data.x_train.shape[0])
    x, y = data.x_train[:size].clone(), data.y_train[:size].clone()
    return Reference(model.to(x.device), x, y, plan.task.loss, shared)


def describe(plan: Plan) -> str:
    """What `for_plan` times, in words, for run.json: two runs' reference readings compare
    only when this matches."""
    name = plan.baseline.name if plan.baseline else "identity"
    return f"{plan.network.describe()}, {name}, batch {plan.config.batch_size}, forward+backward"


class Reference:
    """The machine's own speed, read at the start of every epoch on work of the run's kind.

    Forward and backward of the run's own model (its network and widths, with the
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
