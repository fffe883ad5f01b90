"""Where a training step's time goes, by part of the step, timed by hooks in short blocks.

The timed steps are never instrumented: each trial has a twin (`Profiler`: a copy of its
model with its own optimizer) that runs a block of `STEPS` steps after the validation of
every epoch read (`instruments.py`), so every trial of a group (the baseline included) is
measured in the same stretches of time, over the whole run, and the trial's median over
its blocks comes with an interval. Each part of a step is timed where it runs:

- forward: a pre- and a post-hook on every leaf module time its `forward`;
- backward: the post-hook walks the autograd nodes the module's forward created (from its
  output's `grad_fn` back to its inputs') and puts a pre-hook and a hook on each node, so
  each node's backward is timed and charged to the module that created it;
- the loss (forward and its nodes) and the optimizer's update are timed around their calls.

Before each block the twin takes the trial's weights and, where both are eager steps, its
optimizer state, so it computes on the numbers the timed steps compute on. That can
matter: a relu unit that died passes exactly zero gradient, Adam's first moment for its
weights then decays by 0.9 a step through the subnormal range, where x86 arithmetic is
slow (`subnormal_fraction` measures how much of the state is subnormal).

Parts: `activation` (the activation modules), `matmul` (Linear and convolution layers,
their weights' gradient accumulation included), `loss`, `optimizer`, and `other`: the rest
of the step (zeroing gradients, pooling, an LSTM's gates and cell arithmetic, autograd's
engine between nodes, and the hooks' own ≈ 1 µs calls), so the parts sum to the block's
step time. The stamps are the clock's that times the steps (`clock.py`): on CPU
`perf_counter_ns`; on CUDA a CUDA event, so the parts are device time; on MPS a wall
clock after a synchronisation.

Why not torch.profiler: on this project's 2-core machine its per-operator bookkeeping
(≈ 10 µs an operator, varying from block to block) landed in the operators' own times,
and the same Linear layers read 0.8–1.9 ms per step from one block to the next. The hooks
cost a fixed ≈ 1 µs a call, outside the parts they bracket. The block is an eager step even
in `compile` or `cuda-graph` mode, whose fused kernels mix the parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from actbench import health
from actbench.activation import Activation
from actbench.clock import clock_for
from actbench.network import Network, activation_modules, weight_layers
from actbench.records import PROFILE_PARTS, PROFILE_STEPS
from actbench.step import EagerStep, Step, StepSettings

WARMUP, STEPS = 2, PROFILE_STEPS


class _Stamps:
    """Opening and closing stamps per part, read once a block ends. The stamps are the
    device's clock's (`clock.clock_for`), so a part is timed as a step is: wall time on the
    CPU, device time on CUDA, a synchronised wall clock on MPS."""

    def __init__(self, device: torch.device) -> None:
        self.clock = clock_for(device)
        self.now = self.clock.now  # bound once: the hooks call it on every module
        self.pairs: list[tuple[str, object, object]] = []

    def add(self, part: str, start: object) -> None:
        self.pairs.append((part, start, self.now()))

    def totals(self) -> dict[str, float]:
        """µs per part since the last call."""
        self.clock.sync()
        out = dict.fromkeys((*PROFILE_PARTS, "step"), 0.0)
        for part, start, end in self.pairs:
            out[part] += self.clock.elapsed_us(start, end)
        self.pairs.clear()
        return out


def _created_by(output: torch.Tensor, inputs: tuple) -> list:
    """The autograd nodes between `output` and the module's `inputs`: its own backward."""
    stop = {t.grad_fn for t in inputs if isinstance(t, torch.Tensor) and t.grad_fn is not None}
    nodes, todo, seen = [], [output.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in stop or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        todo.extend(n for n, _ in node.next_functions)
    return nodes


class TimedStep(EagerStep):
    """The eager step, with every leaf module's forward and backward timed into its part."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stamps = _Stamps(self.flat.device)
        self._open: list[object] = []
        self.claimed: set = set()
        acts = {id(m) for m in activation_modules(self.model)}
        weights = {id(m) for m in weight_layers(self.model)}
        inside = {id(c) for m in activation_modules(self.model) for c in m.modules() if c is not m}
        for module in self.model.modules():
            if id(module) in inside:
                continue  # part of an activation module, timed as its part
            if id(module) not in acts and next(module.children(), None) is not None:
                continue  # a container: its leaves are timed, its own arithmetic is other
            part = (
                "activation"
                if id(module) in acts
                else "matmul"
                if id(module) in weights
                else "other"
            )
            module.register_forward_pre_hook(self._opener())
            module.register_forward_hook(self._closer(part))

    def _opener(self) -> Callable:
        def open_forward(module, inputs) -> None:
            self._open.append(self.stamps.now())

        return open_forward

    def _closer(self, part: str) -> Callable:
        def close_forward(module, inputs, output) -> None:
            self.stamps.add(part, self._open.pop())
            if isinstance(output, torch.Tensor) and output.grad_fn is not None:
                self._time_backward(_created_by(output, inputs), part)

        return close_forward

    def _time_backward(self, nodes: list, part: str) -> None:
        for node in nodes:
            if node in self.claimed:
                continue
            self.claimed.add(node)
            opened: list[object] = []
            node.register_prehook(lambda grads, opened=opened: opened.append(self.stamps.now()))
            node.register_hook(
                lambda g_in, g_out, opened=opened, part=part: self.stamps.add(part, opened.pop())
            )

    def __call__(self) -> torch.Tensor:
        self.claimed = set()
        start = self.stamps.now()
        self.flat.grad.zero_()
        h = self.model(self.xb)
        opened = self.stamps.now()
        loss = self.loss(h, self.yb)
        self.stamps.add("loss", opened)
        self._time_backward(_created_by(loss, (h,)), "loss")
        loss.backward()
        opened = self.stamps.now()
        self.update()
        self.stamps.add("optimizer", opened)
        self.stamps.add("step", start)
        return loss


class Profiler:
    """A trial's timed twin: a copy of its model, with its own optimizer, that runs a
    short block of timed steps whenever the trial asks (after an epoch read, between rounds)."""

    def __init__(
        self,
        network: Network,
        activation: Activation,
        settings: StepSettings,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        model = network.build(activation, seed=0).to(x.device)
        s = settings
        self.step = TimedStep(
            model, s.optimizer, s.lr, x, y, s.batch_size, s.loss, s.momentum,
        )  # fmt: skip
        self.batch_size = s.batch_size
        self.warmup = WARMUP  # the first block warms the twin up; later ones refresh caches

    def follow(self, source: Step) -> None:
        """Take `source`'s weights, and its optimizer state when it is an eager step too."""
        with torch.no_grad():
            self.step.model.load_state_dict(source.model.state_dict())
            if not isinstance(source, EagerStep):
                return
            theirs = source.optimizer.state.get(source.flat, {})
            ours = self.step.optimizer.state[self.step.flat]
            for key, value in theirs.items():
                if torch.is_tensor(value) and torch.is_tensor(ours.get(key)):
                    ours[key].copy_(value)  # in place: the bound update holds these tensors
                else:
                    ours[key] = value.clone() if torch.is_tensor(value) else value

    def block(
        self, x: torch.Tensor, y: torch.Tensor, source: Step | None = None
    ) -> dict[str, float]:
        """µs per step in each part: the median over STEPS steps on a batch of (x, y),
        starting from `source`'s weights and optimizer state when given."""
        self.step.fetch(x[: self.batch_size], y[: self.batch_size])
        for _ in range(self.warmup):
            self.step()
        self.warmup = 1
        if source is not None:
            self.follow(source)
        self.step.stamps.totals()
        steps = []
        for _ in range(STEPS):
            self.step()
            steps.append(self.step.stamps.totals())
        return parts_of(steps)


def parts_of(steps: list[dict[str, float]]) -> dict[str, float]:
    """Median µs per part over steps, `other` being the step's time the parts leave."""
    for s in steps:
        s["other"] += s.pop("step", 0.0) - sum(s[p] for p in PROFILE_PARTS)
    return {part: float(np.median([s[part] for s in steps])) for part in PROFILE_PARTS}


def subnormal_fraction(step: Step) -> float:
    """The fraction of the step's parameters and optimizer state that is subnormal: nonzero
    and below the dtype's smallest normal number, where x86 arithmetic is slow."""
    groups = step.optimizer.param_groups
    tensors = [p.detach() for group in groups for p in group["params"]]
    for state in step.optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v) and v.is_floating_point()]
    shares = health.subnormal_pct([t for t in tensors if t.numel() > 1])  # not step counts
    return 0.0 if math.isnan(shares) else shares / 100
