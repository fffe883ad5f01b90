"""Why an activation buys accuracy, read off the run: dead and saturated units, and how the
gradient's size changes from the last layer to the first.

After an epoch read (`instruments.py`: every ~800 steps), after validation and outside
every timed step, a `Probe` runs the model on
a fixed batch of validation rows (the same rows every epoch and for every activation) and
reads, per hidden activation layer (each module of the activation's type, in forward
order; a unit is a feature, or a channel of a convolution):

- `dead_N`: the fraction of its units whose derivative is zero on every row of the batch:
  they pass no gradient at all (relu's classic dead unit);
- `saturated_N`: the fraction of (row, unit) entries where the activation's derivative is
  below 1 % of its largest value (a sigmoid's flat tails, relu's negative side). The
  derivative is taken by autograd from the activation module itself, so any activation,
  built-in or a user's, is read the same way; its largest value is found once on a grid;

and per weight layer (Linear and convolution, in forward order):

- `grad_norm_N`: the norm of the loss's gradient with respect to its weight, on the same
  batch, at the weights the epoch ended with. `grad_ratio` is the first layer's norm over
  the last's: far below 1, the gradient vanishes on its way down (the textbook story of
  sigmoid); the probe shows whether it happened in this run.

`dead` and `saturated` pool the layers (over all hidden units, or entries).

And the share of subnormal numbers (nonzero, below the dtype's smallest normal: slow on
x86 unless flushed) in what the activation reads (`subnormal_in_pct`), what it writes
(`subnormal_out_pct`) and the weights' gradients (`subnormal_grad_pct`), on the same batch:
the weights and optimizer state are counted by `breakdown.subnormal_fraction`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

from actbench.network import activation_modules, weight_layers
from actbench.records import PROBE_ROWS, SATURATION


@functools.cache
def _grid() -> torch.Tensor:
    """[-30, 30] in steps of 0.001, made when first asked: an operator run at import would
    start torch's thread pool in the zygote that workers are forked from (`zygote.py`),
    and a forked worker would hang on its first parallel operator."""
    return torch.linspace(-30.0, 30.0, 60001)


def derivative(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The activation's elementwise derivative at `z`, by autograd through `module`."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        (d,) = torch.autograd.grad(module(z).sum(), z)
    return d


def largest_derivative(module: nn.Module) -> float:
    """The derivative's largest absolute value over [-30, 30]: 1 for relu and tanh, 1/4
    for sigmoid, ≈ 1.13 for gelu."""
    grid = _grid().to(next(module.parameters(), _grid()).device)
    shape = (grid.numel(), 1)  # a batch of rows with one unit: PReLU wants a channel axis
    return float(derivative(module, grid.reshape(shape)).abs().max())


class Probe:
    """Reads the health of `model` on a fixed batch; built once per trial."""

    def __init__(
        self,
        model: nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        self.model, self.loss = model, loss
        self.x, self.y = x[:PROBE_ROWS], y[:PROBE_ROWS]
        self.activations = activation_modules(model)
        self.weights = [
            m.weight
            for m in weight_layers(model)
            if isinstance(getattr(m, "weight", None), nn.Parameter)
        ]
        first = self.activations[0] if self.activations else None
        # identity's "derivative" is 1 everywhere: never dead, never saturated
        self.largest = largest_derivative(first) if first is not None else 1.0

    def read(self) -> dict[str, float]:
        """This epoch's columns: dead_N, saturated_N, grad_norm_N and the pooled values."""
        inputs: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(self.activations))}
        outputs: list[torch.Tensor] = []

        def keep(i: int, args: tuple, out: object) -> None:
            inputs[i].append(args[0].detach())
            if torch.is_tensor(out):
                outputs.append(out.detach())

        hooks = [
            m.register_forward_hook(lambda mod, args, out, i=i: keep(i, args, out))
            for i, m in enumerate(self.activations)
        ]
        try:
            with torch.enable_grad():
                loss = self.loss(self.model(self.x), self.y)
                grads = torch.autograd.grad(loss, self.weights) if self.weights else []
        finally:
            for hook in hooks:
                hook.remove()
        values: dict[str, float] = {}
        dead_units = units = saturated = entries = 0
        for i, module in enumerate(self.activations):
            if not inputs[i]:  # made by act() but never called on this batch
                values[f"dead_{i + 1}"] = values[f"saturated_{i + 1}"] = float("nan")
                continue
            dead, count, flat, size = _read(module, inputs[i], self.largest)
            values[f"dead_{i + 1}"] = dead / count
            values[f"saturated_{i + 1}"] = flat / size
            dead_units, units = dead_units + dead, units + count
            saturated, entries = saturated + flat, entries + size
        norms = [float(g.norm()) for g in grads]
        values |= {f"grad_norm_{j + 1}": n for j, n in enumerate(norms)}
        values["dead"] = dead_units / units if units else 0.0
        values["saturated"] = saturated / entries if entries else 0.0
        values["grad_ratio"] = norms[0] / norms[-1] if norms and norms[-1] > 0 else float("nan")
        values["subnormal_in_pct"] = subnormal_pct([z for zs in inputs.values() for z in zs])
        values["subnormal_out_pct"] = subnormal_pct(outputs)
        values["subnormal_grad_pct"] = subnormal_pct(list(grads))
        return values


def subnormal_pct(tensors: list[torch.Tensor]) -> float:
    """% of the floating-point values of `tensors` that are subnormal; NaN for none."""
    count = total = 0
    for t in tensors:
        if t.is_floating_point() and t.numel():
            tiny = torch.finfo(t.dtype).tiny
            count += int(((t != 0) & (t.abs() < tiny)).sum())
            total += t.numel()
    return 100 * count / total if total else float("nan")


def _read(
    module: nn.Module, calls: list[torch.Tensor], largest: float
) -> tuple[int, int, int, int]:
    """(dead units, units, saturated entries, entries) of one activation module over its
    calls on the batch. Calls of one shape (an LSTM's time steps) pool into the same units;
    a module called at several shapes (one `act()` reused at two widths) counts each
    call's units apart."""
    shapes = {tuple(z.shape) for z in calls}
    groups = [calls] if len(shapes) == 1 else [[z] for z in calls]
    dead = count = flat = size = 0
    for group in groups:
        d = torch.stack([derivative(module, z) for z in group])  # calls x rows x ...
        axis = 2 if d.dim() >= 5 else d.dim() - 1  # a feature map's channels, else features
        per_unit = d.movedim(axis, 0).reshape(d.shape[axis], -1)  # units x everything else
        dead += int((per_unit == 0).all(dim=1).sum())
        count += per_unit.shape[0]
        flat += int((d.abs() < SATURATION * largest).sum())
        size += d.numel()
    return dead, count, flat, size
