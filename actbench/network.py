"""The network a run trains, built by a factory: the built-in ones (`model.py`) and a user's
(`--model FILE.py:NAME`, `model=callable`) take the same path.

A factory gets one argument, `act`; calling `act()` returns a fresh module of the trial's
activation, placed wherever the factory wants. `Network.build` seeds the RNG before calling
the factory and creates every activation module on an RNG of its own, so for a given seed
every activation's network starts from bit-identical weights, whatever order the factory
builds in; the global RNG is left as it was. The modules `act()` made are marked, so the
breakdown, the kernels, the saved bytes and the health probe find the activation wherever
it sits, and the measuring code cannot tell a built-in network from a user's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from actbench.activation import Activation
from actbench.errors import ActbenchError, first_line

MARK = "_actbench_activation"  # set on every module `act()` made
Factory = Callable[[Callable[[], nn.Module]], nn.Module]


def activation_modules(model: nn.Module) -> list[nn.Module]:
    """The modules the factory's `act()` made, in the model's order."""
    return [m for m in model.modules() if getattr(m, MARK, False)]


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The modules holding parameters of their own that are not the activation's: the
    layers whose time is the breakdown's matmul part and whose gradients health reads."""
    inside = {id(p) for m in activation_modules(model) for p in m.parameters()}
    return [
        m
        for m in model.modules()
        if not getattr(m, MARK, False)
        and any(id(p) not in inside for p in m.parameters(recurse=False))
    ]


@dataclass(frozen=True)
class Network:
    """A factory and what the run calls it; everything a sweep needs of its network."""

    name: str  # 'mlp', 'examples/transformer.py:build'
    factory: Factory = field(repr=False, compare=False)
    words: str = ""  # run.json's description: 'mlp 100-100-100', 'cnn', the spec
    image_shape: tuple[int, ...] = (1, 28, 28)  # how an image dataset lays out one image
    builtin: bool = False

    def build(self, activation: Activation, seed: int) -> nn.Module:
        """The network for `activation` at `seed`; refused in one line if the factory does
        not return a module or never calls `act()`."""
        made: list[nn.Module] = []

        def act() -> nn.Module:
            with torch.random.fork_rng(devices=[]):  # never a draw from the weights' stream
                module = activation.make()
            setattr(module, MARK, True)
            made.append(module)
            return module

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            try:
                model = self.factory(act)
            except ActbenchError:
                raise
            except Exception as exc:
                raise ActbenchError(
                    f"{{model}} {self.name} failed to build with {activation.name}: "
                    f"{first_line(exc)}",
                    ["model"],
                ) from None
        if not isinstance(model, nn.Module):
            raise ActbenchError(
                f"{{model}} {self.name} returned {type(model).__name__}, not a torch.nn.Module",
                ["model"],
            )
        if not made:
            raise ActbenchError(
                f"{{model}} {self.name} never calls act(), so no activation is under test",
                ["model"],
            )
        return model

    def describe(self) -> str:
        return self.words or self.name


def _own_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters by name (under every name a shared module has), without those of the
    activation's modules. Buffers are left out: a cache or running statistic may hold
    anything before the first step."""
    named = model.named_modules(remove_duplicate=False)
    skip = tuple(f"{name}." for name, m in named if name and getattr(m, MARK, False))
    return {
        k: p.detach()
        for k, p in model.named_parameters(remove_duplicate=False)
        if not k.startswith(skip)
    }


def first_difference(a: nn.Module, b: nn.Module) -> str | None:
    """The first parameter (not an activation's own) that differs between two builds, or
    None when they are bit-identical."""
    sa, sb = _own_state(a), _own_state(b)
    for key in [*sa, *(k for k in sb if k not in sa)]:
        if key not in sa or key not in sb:
            return key
    for key, value in sa.items():
        other = sb[key]
        if value.shape != other.shape or not torch.allclose(
            value, other, rtol=0.0, atol=0.0, equal_nan=True
        ):
            return key
    return None


def check_same_start(
    network: Network, activations: Sequence[Activation], seed: int
) -> list[nn.Module]:
    """Refuse a factory whose networks would start from different weights: twice for the
    first activation (deterministic for a seed), then once for every other one. Returns
    each activation's build, for the checks that follow."""
    first = network.build(activations[0], seed)
    again = network.build(activations[0], seed)
    key = first_difference(first, again)
    if key is not None:
        raise ActbenchError(
            f"{{model}} {network.name} is not deterministic for a seed: two builds with "
            f"{activations[0].name} at seed {seed} differ in {key} (draw weights from torch's "
            "global RNG, which actbench seeds)",
            ["model"],
        )
    built = [first]
    for activation in activations[1:]:
        built.append(network.build(activation, seed))
        key = first_difference(first, built[-1])
        if key is not None:
            raise ActbenchError(
                f"{{model}} {network.name} builds different weights for {activations[0].name} "
                f"and {activation.name} at seed {seed}: {key} differs (a parameter outside "
                "the activation's modules must not depend on the activation)",
                ["model"],
            )
    return built


def shape_summary(model: nn.Module) -> dict[str, object]:
    """run.json's account of a network: parameter count and each parameter's shape."""
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "shapes": {k: list(p.shape) for k, p in model.named_parameters()},
    }
