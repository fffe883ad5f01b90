"""Where a training step's time goes: a short profiled block of steps, by part of the step.

The timed steps are never profiled: after a trial has trained, a fresh copy of its model
(same activation, same shapes) runs `WARMUP` steps and then `STEPS` steps under
`torch.profiler`, and every operator's self time is attributed to one part:

- `activation`: the activation's kernels, forward and backward;
- `matmul`: the linear and convolution layers, forward and backward;
- `loss`: the task's loss (cross-entropy, mean squared error), forward and backward;
- `optimizer`: the parameter update;
- `other`: everything else (zeroing gradients, pooling, an LSTM's sigmoid gates and cell
  arithmetic, autograd's own bookkeeping).

Times are operator self times under the profiler, which adds a few µs per operator: read
the parts against each other and across activations, not as the step's µs/step.

Forward operators are attributed by the labelled region (`record_function`, opened and
closed by hooks on every leaf module, so any model's layers are labelled) they ran in;
backward operators by the autograd sequence number that ties each backward node to the
forward operator that created it. The block is an eager step even in `compile` or
`cuda-graph` mode, whose fused kernels mix the parts. On CUDA the kernels' device time is
attributed; elsewhere the operators' CPU self time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

from actbench.activation import Activation
from actbench.model import Architecture
from actbench.records import PROFILE_PARTS, PROFILE_STEPS
from actbench.step import EagerStep, StepSettings

WARMUP, STEPS = 3, PROFILE_STEPS
BACKWARD = "autograd::engine::evaluate_function: "
STEP = "actbench-step"  # one profiled step (a name outside the "actbench." part labels)
LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class LabelledStep(EagerStep):
    """The eager step, with every leaf module's forward inside a labelled region."""

    def __init__(self, *args, activation_type: type, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open: list[record_function] = []
        for module in self.model.modules():
            if next(module.children(), None) is not None:
                continue  # a container: its leaves are labelled, its own arithmetic is other
            label = (
                "actbench.activation"
                if isinstance(module, activation_type)
                else "actbench.matmul"
                if isinstance(module, LAYERS)
                else "actbench.other"
            )
            module.register_forward_pre_hook(self._opener(label))
            module.register_forward_hook(self._close)

    def _opener(self, label: str):
        def open_region(module, inputs) -> None:
            region = record_function(label)
            region.__enter__()
            self._open.append(region)

        return open_region

    def _close(self, module, inputs, output) -> None:
        self._open.pop().__exit__(None, None, None)

    def __call__(self) -> torch.Tensor:
        with record_function("actbench.other"):
            self.flat.grad.zero_()
        h = self.model(self.xb)
        with record_function("actbench.loss"):
            loss = self.loss(h, self.yb)
        loss.backward()
        with record_function("actbench.optimizer"):
            self.update()
        return loss


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Kineto prints start/stop lines (and, on a CUDA build without a GPU, an error) to the
    process's stderr from C++; a user asked for a table, not for those."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _self_us(event, on_cuda: bool) -> float:
    return event.self_device_time_total if on_cuda else event.self_cpu_time_total


def attribute(events, on_cuda: bool = False) -> dict[str, float]:
    """Median self time (µs) per part over the profiled steps, from the profiler's events.

    Each step is one `actbench.step` region; an operator belongs to the step that started
    last before it (backward may run on another thread). A median per part keeps a step
    that a neighbour slowed from skewing the breakdown.
    """
    per_step: list[dict[str, float]] = []
    part_of_sequence: dict[int, str] = {}  # forward operator's sequence number -> its part
    part_of_event: dict[int, str] = {}
    forward: set[int] = set()  # events inside a labelled forward region
    for event in sorted(events, key=lambda e: e.time_range.start):  # parents first
        if event.name == STEP:
            per_step.append(dict.fromkeys(PROFILE_PARTS, 0.0))
            continue
        parent = None if event.cpu_parent is None else id(event.cpu_parent)
        if event.name.startswith("actbench."):
            part = event.name.removeprefix("actbench.")
            forward.add(id(event))
        elif parent in part_of_event:
            part = part_of_event[parent]
            if parent in forward:
                forward.add(id(event))
        elif event.name.startswith(BACKWARD):
            part = part_of_sequence.get(event.sequence_nr, "other")
        else:
            part = "other"
        part_of_event[id(event)] = part
        if id(event) in forward and event.sequence_nr >= 0:
            part_of_sequence.setdefault(event.sequence_nr, part)
        if per_step and not event.name.startswith("actbench."):  # a label's own time is
            per_step[-1][part] += _self_us(event, on_cuda)  # the profiler's, not the step's
    if not per_step:
        return dict.fromkeys(PROFILE_PARTS, float("nan"))
    return {part: float(np.median([s[part] for s in per_step])) for part in PROFILE_PARTS}


def measure(
    architecture: Architecture,
    activation: Activation,
    settings: StepSettings,
    x: torch.Tensor,
    y: torch.Tensor,
) -> dict[str, float]:
    """µs per step in each part of an eager step of `activation`'s model (median of STEPS)."""
    model = architecture.build(activation, seed=0).to(x.device)
    s, batch_size = settings, settings.batch_size
    step = LabelledStep(
        model, s.optimizer, s.lr, x, y, batch_size, s.loss, s.momentum,
        activation_type=type(activation.make()),
    )  # fmt: skip
    step.fetch(x[:batch_size], y[:batch_size])
    for _ in range(WARMUP):
        step()
    on_cuda = x.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    with _quiet_native_stderr(), profile(activities=activities) as prof:
        for _ in range(STEPS):
            with record_function(STEP):
                step()
        if on_cuda:
            torch.cuda.synchronize(x.device)
    return attribute(prof.events(), on_cuda)
