"""An activation's own kernels, timed directly: forward + backward at the run's layer shapes.

The profiled breakdown (`breakdown.py`) says how much of a step the profiler attributes to
the activation; this asks the narrower question straight: what do the activation's kernels
cost, alone, on the inputs it really sees? The model runs one batch, forward hooks keep the
input of every call of the activation (each hidden layer; an LSTM's every time step), and
`torch.utils.benchmark.Timer` times one call of all of them, forward and backward
(`torch.autograd.grad`, which allocates like a step's backward and accumulates nowhere).

The same is timed through `identity` (the call's own dispatch and autograd bookkeeping),
and the rounds (a block of ~10 ms each) interleave every activation with it in a shuffled
order, as the sweep's own rounds do; `kernel_us` is the median over rounds of (activation −
identity) per round.
Timer runs at the trial's thread count (one on CPU by default) and, on CUDA, synchronises
the device around every block, so it measures device time, not launch time. Compiled
modes fuse the activation into its neighbours: this times the eager kernels.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from actbench.activation import Activation, resolve
from actbench.model import Architecture

ROUNDS = 7
BLOCK_SECONDS = 0.01  # one round's block of calls per activation: ~100 calls at MLP shapes


def layer_inputs(model: nn.Module, activation_type: type, x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every call of the model's activation modules on batch `x`, in order."""
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach().clone()))
        for m in model.modules()
        if isinstance(m, activation_type)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _call(activation: Activation, inputs: list[torch.Tensor]) -> Callable[[], None]:
    """Forward + backward of `activation` on every one of `inputs`: one step's share."""
    module = activation.make().to(inputs[0].device) if inputs else activation.make()
    leaves = [z.clone().requires_grad_(True) for z in inputs]
    grads = [torch.ones_like(z) for z in inputs]

    def run() -> None:
        for z, g in zip(leaves, grads, strict=True):
            torch.autograd.grad(module(z), z, g)

    return run


def measure(
    architecture: Architecture,
    activations: Sequence[Activation],
    x: torch.Tensor,
    threads: int,
    seed: int = 0,
) -> dict[str, float]:
    """µs per step of each activation's own kernels over identity's, at `x`'s batch."""
    # torch.utils.benchmark imports cpp_extension, which logs a warning on a CUDA build
    # without a GPU ("No CUDA runtime is found"): a sweep's output is the user's results
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils.benchmark import Timer

    null = resolve("identity")
    timers: dict[str, Timer] = {}
    for act in [null, *activations]:
        model = architecture.build(act, seed=0).to(x.device)
        inputs = layer_inputs(model, type(act.make()), x)
        timers[act.name] = Timer("run()", globals={"run": _call(act, inputs)}, num_threads=threads)
    # Timer sizes a block once (blocked_autorange); the rounds then time blocks of that size
    calls = {
        name: max(1, round(BLOCK_SECONDS / t.blocked_autorange(min_run_time=BLOCK_SECONDS).median))
        for name, t in timers.items()
    }
    per_round: dict[str, list[float]] = {name: [] for name in timers}
    order = list(timers)
    shuffle = random.Random(seed)
    for _ in range(ROUNDS):
        shuffle.shuffle(order)
        for name in order:
            per_round[name].append(timers[name].timeit(calls[name]).median)
    base = np.array(per_round[null.name])
    return {
        act.name: float(np.median(np.array(per_round[act.name]) - base)) * 1e6
        for act in activations
    }
