"""An activation's own kernels, timed directly: forward + backward at the run's layer shapes.

The profiled breakdown (`breakdown.py`) says how much of a step the profiler attributes to
the activation; this asks the narrower question straight: what do the activation's kernels
cost, alone, on the inputs it really sees? The model runs one batch, forward hooks keep the
input of every call of the activation (each hidden layer; an LSTM's every time step), and
`torch.utils.benchmark.Timer` times one call of all of them, forward and backward
(`torch.autograd.grad`, which allocates like a step's backward and accumulates nowhere).

The same is timed through `identity` (the call's own dispatch and autograd bookkeeping),
a block of ~10 ms of each per round, in alternating order; a sweep times one round per
epoch of every trial (so the rounds spread over the run, as the breakdown's blocks do),
and `kernel_us` is the median over them of (activation − identity).
Timer runs at the trial's thread count (one on CPU by default) and, on CUDA, synchronises
the device around every block, so it measures device time, not launch time. Compiled
modes fuse the activation into its neighbours: this times the eager kernels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

from actbench.activation import Activation, resolve
from actbench.network import Network, activation_modules

BLOCK_SECONDS = 0.01  # one round's block of calls per activation: ~100 calls at MLP shapes


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


def _call(activation: Activation, inputs: list[torch.Tensor]) -> Callable[[], None]:
    """Forward + backward of `activation` on every one of `inputs`: one step's share."""
    module = activation.make().to(inputs[0].device) if inputs else activation.make()
    leaves = [z.clone().requires_grad_(True) for z in inputs]
    grads = [torch.ones_like(z) for z in inputs]

    def run() -> None:
        for z, g in zip(leaves, grads, strict=True):
            torch.autograd.grad(module(z), z, g)

    return run


class KernelTimer:
    """One activation's kernels against identity's, timed a round at a time: one round
    per epoch read (`instruments.py`), between rounds of training, so the rounds spread over
    the run like the breakdown's blocks; `kernel_us` is the median over them. Identity is
    its own null: 0 by definition, nothing is built or timed for it."""

    def __init__(
        self, network: Network, activation: Activation, x: torch.Tensor, threads: int
    ) -> None:
        self.timers: list = []
        self.calls: list[int] = []
        self.rounds = 0
        if activation.name == "identity":
            return
        # torch.utils.benchmark imports cpp_extension, which logs a warning on a CUDA build
        # without a GPU ("No CUDA runtime is found"): a sweep's output is the user's results
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        from torch.utils.benchmark import Timer

        for act in (activation, resolve("identity")):
            model = network.build(act, seed=0).to(x.device)
            inputs = layer_inputs(model, x)
            self.timers.append(
                Timer("run()", globals={"run": _call(act, inputs)}, num_threads=threads)
            )

    def round(self) -> float:
        """µs per step of the activation's kernels over identity's, from one block of each
        (~10 ms; Timer sizes the block once), in alternating order; 0 for identity."""
        if not self.timers:
            return 0.0
        if not self.calls:
            self.calls = [
                max(
                    1, round(BLOCK_SECONDS / t.blocked_autorange(min_run_time=BLOCK_SECONDS).median)
                )
                for t in self.timers
            ]
        order = (0, 1) if self.rounds % 2 == 0 else (1, 0)
        self.rounds += 1
        seconds = {i: self.timers[i].timeit(self.calls[i]).median for i in order}
        return (seconds[0] - seconds[1]) * 1e6
