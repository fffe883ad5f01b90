"""The networks actbench ships, as factories of the kind a user hands over (`network.py`):
the seed article's MLP, its Keras CNN example, and the airline article's LSTM forecaster.

Each takes `act` (a call returns a fresh activation module) and its own options, and is
registered by name (`--model`), as timm's `create_model` finds its networks; `builtin`
binds the options and returns the `Network` every layer reads. The weights are drawn from
the RNG `Network.build` seeded, in the order they were before factories: the committed
results' networks are the same networks.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import torch
from torch import nn

from actbench.activation import Activation
from actbench.config import MODELS
from actbench.network import Network

__all__ = ["MODELS", "build_cnn", "build_lstm", "build_mlp", "builtin", "image_shape"]

IN_FEATURES, NUM_CLASSES = 28 * 28, 10
Act = Callable[[], nn.Module]


def mlp(
    act: Act, hidden: tuple[int, ...] = (100, 100, 100), linear_last: bool = False
) -> nn.Module:
    """784 -> hidden... -> 10 with `act()` after every hidden layer; with `linear_last`,
    none after the last hidden layer (the second article's Keras stack,
    Dense(200) -> activation -> Dense(200) -> Dense(10), is `--hidden 200,200`)."""
    widths = (IN_FEATURES, *hidden, NUM_CLASSES)
    linears = [nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
    activated = len(linears) - 1 - int(linear_last)
    layers: list[nn.Module] = []
    for i, linear in enumerate(linears):
        layers.append(linear)
        if i < activated:
            layers.append(act())
    return nn.Sequential(*layers)


def cnn(act: Act) -> nn.Module:
    """The Keras example's CNN: Conv 32 3x3 -> MaxPool 2 -> Conv 64 3x3 -> MaxPool 2 ->
    Conv 64 3x3 -> Flatten -> Dense 64 -> Dense 10, `act()` after every conv and the
    hidden dense layer. Input: N x 1 x 28 x 28; channels-last weights (measured 10-20 %
    faster steps on CPU)."""
    conv1, conv2, conv3 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 64, 3)
    dense, out = nn.Linear(64 * 3 * 3, 64), nn.Linear(64, NUM_CLASSES)
    return nn.Sequential(
        conv1, act(), nn.MaxPool2d(2),
        conv2, act(), nn.MaxPool2d(2),
        conv3, act(), nn.Flatten(),
        dense, act(), out,
    ).to(memory_format=torch.channels_last)  # fmt: skip


class LSTMLayer(nn.Module):
    """One LSTM layer over a (N, T, features) sequence, with a swappable cell activation.

    The swept activation is the cell's candidate and output nonlinearity (Keras'
    `activation`, tanh in a standard LSTM); the input, forget and output gates stay sigmoid.
    `nn.LSTM` cannot change that nonlinearity, so the recurrence is written out: the input
    projection of every time step is one matrix multiply before the loop, and each step is
    one recurrent multiply, one sigmoid over the three gates and the cell update. Eager
    mode pays Python dispatch per step; `--mode compile` turns the unrolled loop into a few
    fused kernels (see docs/performance.md for the measured difference).
    """

    def __init__(
        self, project: nn.Linear, recurrent: nn.Linear, activation: nn.Module, sequence: bool
    ) -> None:
        super().__init__()
        self.project, self.recurrent, self.activation = project, recurrent, activation
        self.hidden = recurrent.in_features
        self.sequence = sequence  # return every step's output (for a layer above), or the last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = self.project(x)  # (N, T, 4H): every time step's input term at once
        H, outputs = self.hidden, []
        h = c = None
        for t in range(inputs.shape[1]):
            z = inputs[:, t] if h is None else inputs[:, t] + self.recurrent(h)
            i, f, o = torch.sigmoid(z[:, : 3 * H]).chunk(3, dim=1)
            candidate = self.activation(z[:, 3 * H :])
            c = i * candidate if c is None else f * c + i * candidate  # zero initial state
            h = o * self.activation(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1) if self.sequence else h


def lstm(act: Act, hidden: tuple[int, ...] = (6,), features: int = 1) -> nn.Module:
    """The airline article's forecaster: stacked LSTM layers of widths `hidden`, then
    Dense(1, linear) on the last step. Input: N x window x features. Weights are drawn
    as `nn.LSTM` draws them, uniform in +-1/sqrt(width)."""
    widths = (features, *hidden)
    pairs = []
    for a, b in itertools.pairwise(widths):
        project, recurrent = nn.Linear(a, 4 * b), nn.Linear(b, 4 * b, bias=False)
        for weight in (*project.parameters(), *recurrent.parameters()):
            nn.init.uniform_(weight, -(b**-0.5), b**-0.5)
        pairs.append((project, recurrent))
    out = nn.Linear(hidden[-1], 1)
    layers: list[nn.Module] = [
        LSTMLayer(project, recurrent, act(), sequence=i < len(pairs) - 1)
        for i, (project, recurrent) in enumerate(pairs)
    ]
    return nn.Sequential(*layers, out)


def image_shape(name: str) -> tuple[int, ...]:
    """How one image is laid out for `--model name`: flat for the MLPs, 1x28x28 for the
    CNN and for a user's factory (which flattens it itself if it wants)."""
    return (IN_FEATURES,) if name in ("mlp", "mlp-linear-last") else (1, 28, 28)


def builtin(name: str, hidden: tuple[int, ...] | None) -> Network:
    """The built-in network `--model name` with `--hidden` bound (the CNN has no widths)."""
    if name == "cnn":
        return Network("cnn", cnn, "cnn", image_shape(name), builtin=True)
    hidden = tuple(hidden or ())
    factory = (
        functools.partial(lstm, hidden=hidden)
        if name == "lstm"
        else functools.partial(mlp, hidden=hidden, linear_last=name == "mlp-linear-last")
    )
    words = f"{name} {'-'.join(map(str, hidden))}"
    return Network(name, factory, words, image_shape(name), builtin=True)


def build_mlp(
    hidden: tuple[int, ...], activation: Activation, seed: int, linear_last: bool = False
) -> nn.Module:
    """The MLP for `activation` at `seed` (scripts and tests build it directly)."""
    return builtin("mlp-linear-last" if linear_last else "mlp", hidden).build(activation, seed)


def build_cnn(activation: Activation, seed: int) -> nn.Module:
    return builtin("cnn", None).build(activation, seed)


def build_lstm(hidden: tuple[int, ...], activation: Activation, seed: int) -> nn.Module:
    return builtin("lstm", hidden).build(activation, seed)
