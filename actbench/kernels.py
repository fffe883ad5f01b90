"""An activation's own kernels, timed directly: forward + backward at the run's layer shapes.

The profiled breakdown (`breakdown.py`) says how much of a step the profiler attributes to
the activation; this asks the narrower question straight: what do the activation's kernels
cost, alone, on the inputs it really sees? The model runs one batch, forward hooks keep the
input of every call of the activation (each hidden layer; an LSTM's every time step), and
`torch.utils.benchmark.Timer` times one call of all of them, forward and backward
(`torch.autograd.grad`, which allocates like a step's backward and accumulates nowhere).

The same is timed through `identity` (the call's own dispatch and autograd bookkeeping),
a block of ~5 ms of each per round, in alternating order; a sweep times a round every few
hundred steps of every trial (`instruments.py`), so the rounds spread over the run, and
`kernel_us` is the median over them of (activation − identity). In the same rounds, a
copy of the bytes that forward + backward moves (`floor.py`) is timed against a copy of
nothing: `kernel_copy_x` is the kernels' time as a multiple of that floor (1: at the
memory's speed; far above: bound by arithmetic or the code path) and `kernel_gbs` the
bandwidth they reach, both per round, the trial's the median over its rounds (the run's,
over every round of every seed: `summary.py`). Once a trial,
`sensitivity` times the kernels on adversarial inputs of the same shapes against the
pre-activations they really see.
Timer runs at the trial's thread count (one on CPU by default) and, on CUDA, synchronises
the device around every block, so it measures device time, not launch time. Compiled
modes fuse the activation into its neighbours: this times the eager kernels.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from actbench import floor
from actbench.activation import Activation, resolve
from actbench.network import Network, activation_modules

BLOCK_SECONDS = 0.005  # one round's block of calls per timer: ~25 relu calls at MLP shapes
SENSITIVITY_SECONDS = 0.001  # a block of the input-range check, once per trial
SENSITIVITY_PASSES = 11  # its blocks of each range, interleaved: a spell of noise is outvoted


def layer_inputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every call of the model's activation modules on batch `x`, in order."""
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach().clone()))
        for m in activation_modules(model)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def forward_backward(activation: Activation, inputs: list[torch.Tensor]) -> Callable[[], None]:
    """Forward + backward of `activation` on every one of `inputs`: one step's share."""
    module = activation.make().to(inputs[0].device) if inputs else activation.make()
    leaves = [z.clone().requires_grad_(True) for z in inputs]
    grads = [torch.ones_like(z) for z in inputs]

    def run() -> None:
        for z, g in zip(leaves, grads, strict=True):
            torch.autograd.grad(module(z), z, g)

    return run


@dataclass(frozen=True)
class Reading:
    """One round: the kernels over identity's (µs per step), the copy of the same bytes over
    a copy of nothing, and what follows from them: the multiple (NaN where the copy is not
    above 0; negative where the kernels' net time is lost in noise, kept so that a median
    over rounds is not pushed up) and the bandwidth (NaN where the kernels' is not above 0)."""

    kernel_us: float
    floor_us: float
    traffic: int  # bytes the activation's forward + backward moves at the least (`floor.py`)

    @property
    def copy_x(self) -> float:
        return self.kernel_us / self.floor_us if self.floor_us > 0 else math.nan

    @property
    def gbs(self) -> float:
        return self.traffic / self.kernel_us / 1e3 if self.kernel_us > 0 else math.nan

    def columns(self) -> dict[str, float]:
        return {"kernel_us": self.kernel_us, "kernel_copy_x": self.copy_x, "kernel_gbs": self.gbs}


NOTHING = Reading(0.0, math.nan, 0)  # identity's: its own null


class KernelTimer:
    """One activation's kernels against identity's, and a copy of the same bytes against a
    copy of nothing, timed a round at a time, every few hundred steps (`instruments.py`),
    between rounds of training, so the rounds spread over the run. Identity is its own
    null: 0 by definition, nothing is built or timed for it.

    Each side is net of its own null, made of the same calls: the activation's over
    identity's (the Python call, `autograd.grad` and its bookkeeping, which a step never
    pays for an activation), the copy's over a one-byte copy per call (its dispatch). So
    `kernel_copy_x` compares the work of each and not their calling overheads; what the
    activation's own two operators cost to dispatch stays in it, as a step pays it."""

    def __init__(
        self, network: Network, activation: Activation, x: torch.Tensor, threads: int
    ) -> None:
        self.timers: list = []
        self.calls: list[int] = []
        self.rounds, self.traffic = 0, 0
        if activation.name == "identity":
            return
        acts = (activation, resolve("identity"))
        inputs = [layer_inputs(network.build(act, seed=0).to(x.device), x) for act in acts]
        sizes = [floor.traffic(activation.make().to(x.device), z) for z in inputs[0]]
        self.traffic = sum(sizes)
        runs = [forward_backward(act, z) for act, z in zip(acts, inputs, strict=True)]
        runs.append(floor.copier(floor.copy_buffers(sizes, x.device)))
        runs.append(floor.copier(floor.copy_buffers([2] * len(sizes), x.device)))
        self.timers = [timer(run, threads) for run in runs]

    def round(self) -> Reading:
        """One block of each (~5 ms; Timer sizes the blocks once) in alternating order:
        the kernels over identity's, the copy over the null copy."""
        if not self.timers:
            return NOTHING
        if not self.calls:
            self.calls = [calls_for(t, BLOCK_SECONDS) for t in self.timers]
        order = range(len(self.timers))
        order = order if self.rounds % 2 == 0 else reversed(order)
        self.rounds += 1
        s = {i: self.timers[i].timeit(self.calls[i]).median * 1e6 for i in order}
        return Reading(s[0] - s[1], s[2] - s[3], self.traffic)


def timer(run: Callable[[], None], threads: int):
    """A `torch.utils.benchmark.Timer` of `run()` at `threads`."""
    # torch.utils.benchmark imports cpp_extension, which logs a warning on a CUDA build
    # without a GPU ("No CUDA runtime is found"): a sweep's output is the user's results
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils.benchmark import Timer

    return Timer("run()", globals={"run": run}, num_threads=threads)


def calls_for(t, seconds: float) -> int:
    """Calls of timer `t` that take about `seconds`, from blocks of 1, 10, 100 ... calls until
    one lasts a tenth of that. `blocked_autorange` sizes its blocks until the timer's own
    overhead is 1e-4 of one and then measures for `seconds`: 30-240 ms per timer here, a
    sweep's first reading of each trial paid it four times, for a count that only needs to
    be about right."""
    number = 1
    t.timeit(1)  # the first call allocates and fills dispatch caches: not a call's time
    while True:
        per_call = t.timeit(number).median
        if per_call * number >= seconds / 10 or number >= 10**6:
            return max(1, round(seconds / per_call))
        number *= 10


def sensitivity(
    activation: Activation, inputs: list[torch.Tensor], threads: int
) -> dict[str, float]:
    """How much longer the kernels take on each adversarial range (`floor.RANGES`) than on
    `inputs`, the pre-activations they really see: a ratio per range (`sensitive_negative`,
    ...), NaN for identity. Whole calls, not net of identity's: at a small layer the net
    time is a few µs, and a ratio of two such differences is noise (it even goes below 0);
    a whole call understates a slow path rather than invent one. Short blocks (~1 ms each,
    `SENSITIVITY_PASSES` passes in alternating order, the median of each): a 2x change
    shows, 10 % would not."""
    names = [f"sensitive_{r}" for r in floor.RANGES]
    if activation.name == "identity" or not inputs:
        return dict.fromkeys(names, math.nan)
    sets = [inputs] + [[floor.ranged(z, r) for z in inputs] for r in floor.RANGES]
    timers = [timer(forward_backward(activation, zs), threads) for zs in sets]
    calls = calls_for(timers[0], SENSITIVITY_SECONDS)  # sized once: the same calls in each
    seconds: list[list[float]] = [[] for _ in timers]
    for p in range(SENSITIVITY_PASSES):
        for i in range(len(timers)) if p % 2 == 0 else reversed(range(len(timers))):
            seconds[i].append(timers[i].timeit(calls).median)
    real, *ranged = (statistics.median(s) for s in seconds)
    return {name: t / real for name, t in zip(names, ranged, strict=True)}
