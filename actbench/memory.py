"""What a step holds in memory: the bytes autograd saves for backward, and the step's peak.

Saved for backward (exact, any device): one forward pass and loss of the model runs under
`torch.autograd.graph.saved_tensors_hooks`, which sees every tensor an autograd node keeps
for its backward. Each storage is counted once, over the extent its saved views span: a
tensor that an activation and the next layer both keep (relu's output, saved by relu and
by the next Linear) is one tensor in memory, and is counted so. Storages that existed
before the step (the parameters, the resident batch) are held whether or not a step runs,
so they are not counted. A storage is attributed to the first layer, in forward order,
that saves it (`loss` for the loss); summed over layers it is the total.

Peak (one eager step, zero_grad to optimizer update, above what was allocated before it):
on CUDA the caching allocator's own peak (`torch.cuda.max_memory_allocated`); elsewhere
torch.profiler's memory view (`profile_memory=True`): every operator's net allocation and
every free, in time order, summed, at its highest. That view is at operator granularity (a
temporary an operator allocates and frees inside itself is not seen), so on CPU the peak
is a lower bound that misses only such temporaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from actbench.quiet import native_stderr

LOSS = "loss"


@dataclass(frozen=True)
class LayerBytes:
    """Bytes saved for backward that one layer is the first to keep (a memory.csv row)."""

    layer: str  # the module's name in the model ("1", "0.project") or "loss"
    kind: str  # its class ("ReLU", "Linear"), or "loss"
    saved_bytes: int


def _extent(t: torch.Tensor) -> tuple[int, int, int]:
    """(storage address, first byte, one past the last byte) that tensor `t` spans."""
    size = t.element_size()
    start = t.storage_offset() * size
    if t.numel() == 0:
        return t.untyped_storage().data_ptr(), start, start
    span = sum((n - 1) * s for n, s in zip(t.shape, t.stride(), strict=True)) + 1
    return t.untyped_storage().data_ptr(), start, start + span * size


class _Recorder:
    """Pack hook plus the name of the module whose forward is running."""

    def __init__(self, model: nn.Module, held: set[int]) -> None:
        self.held = held  # storages that existed before the step
        self.current: list[str] = []
        self.extents: dict[int, tuple[int, int]] = {}
        self.first: dict[int, str] = {}  # storage -> the layer that saved it first
        self.kinds = {name: type(m).__name__ for name, m in model.named_modules() if name}
        self.hooks = []
        for name, module in model.named_modules():
            if name and next(module.children(), None) is None:  # leaves: the layers
                self.hooks.append(module.register_forward_pre_hook(self._enter(name)))
                self.hooks.append(module.register_forward_hook(self._leave))

    def _enter(self, name: str) -> Callable:
        def enter(module, inputs) -> None:
            self.current.append(name)

        return enter

    def _leave(self, module, inputs, output) -> None:
        self.current.pop()

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        if not isinstance(t, torch.Tensor) or t.device.type == "meta":
            return t
        storage, start, end = _extent(t)
        if storage in self.held or storage == 0:
            return t
        low, high = self.extents.get(storage, (start, end))
        self.extents[storage] = (min(low, start), max(high, end))
        self.first.setdefault(storage, self.current[-1] if self.current else LOSS)
        return t

    def by_layer(self) -> list[LayerBytes]:
        totals: dict[str, int] = {}
        for storage, layer in self.first.items():
            low, high = self.extents[storage]
            totals[layer] = totals.get(layer, 0) + high - low
        return [LayerBytes(name, self.kinds.get(name, LOSS), n) for name, n in totals.items()]

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()


def _storages(*tensors: torch.Tensor) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in tensors}


def saved_for_backward(
    model: nn.Module,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
) -> list[LayerBytes]:
    """Per layer, the bytes autograd keeps for backward in one step on batch (x, y)."""
    held = _storages(x, y, *model.parameters(), *model.buffers())
    recorder = _Recorder(model, held)
    try:
        with torch.autograd.graph.saved_tensors_hooks(recorder.pack, lambda t: t):
            out = loss(model(x), y)
        del out  # frees the graph and what it saved
    finally:
        recorder.close()
    return recorder.by_layer()


def _cpu_peak(events) -> int:
    """Highest running sum of allocations over a profile's events, in time order: each
    operator's own net allocation, and the frees that happen between operators."""
    changes = [
        (
            e.time_range.start,
            e.cpu_memory_usage if e.name == "[memory]" else e.self_cpu_memory_usage,
        )
        for e in events
    ]
    changes = [(t, n) for t, n in changes if n]
    if not changes:
        return 0
    changes.sort(key=lambda c: c[0])
    return max(0, int(np.cumsum([n for _, n in changes]).max()))


def step_peak(step: Callable[[], torch.Tensor], device: torch.device) -> int:
    """Peak bytes one call of `step` allocates above what was allocated before it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    with native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    return _cpu_peak(prof.events())
