"""The networks under test, each with a swappable activation: the seed article's MLP, its
Keras CNN example, and the airline article's LSTM forecaster.

Every weight layer is created first, from the seed, and only then the activation modules,
so for a given seed every activation starts from bit-identical weights (even one with
parameters of its own, like PReLU). The global RNG is left as it was.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from actbench.activation import Activation
from actbench.config import MODELS

__all__ = ["MODELS", "Architecture", "build", "image_shape"]

IN_FEATURES, NUM_CLASSES = 28 * 28, 10


def build_mlp(
    hidden: tuple[int, ...], activation: Activation, seed: int, linear_last: bool = False
) -> nn.Sequential:
    """784 -> hidden... -> 10 with `activation` after every hidden layer; with
    `linear_last`, none after the last hidden layer (the second article's Keras stack,
    Dense(200) -> activation -> Dense(200) -> Dense(10), is `--hidden 200,200`)."""
    widths = (IN_FEATURES, *hidden, NUM_CLASSES)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        linears = [nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
    activated = len(linears) - 1 - int(linear_last)
    layers: list[nn.Module] = []
    for i, linear in enumerate(linears):
        layers.append(linear)
        if i < activated:
            layers.append(activation.make())
    return nn.Sequential(*layers)


def build_cnn(activation: Activation, seed: int) -> nn.Sequential:
    """The Keras example's CNN: Conv 32 3x3 -> MaxPool 2 -> Conv 64 3x3 -> MaxPool 2 ->
    Conv 64 3x3 -> Flatten -> Dense 64 -> Dense 10, `activation` after every conv and the
    hidden dense layer. Input: N x 1 x 28 x 28."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        conv1, conv2, conv3 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 64, 3)
        dense, out = nn.Linear(64 * 3 * 3, 64), nn.Linear(64, NUM_CLASSES)
    act = activation.make
    return nn.Sequential(
        conv1, act(), nn.MaxPool2d(2),
        conv2, act(), nn.MaxPool2d(2),
        conv3, act(), nn.Flatten(),
        dense, act(), out,
    )  # fmt: skip


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


def build_lstm(
    hidden: tuple[int, ...], activation: Activation, seed: int, features: int = 1
) -> nn.Sequential:
    """The airline article's forecaster: stacked LSTM layers of widths `hidden`, then
    Dense(1, linear) on the last step. Input: N x window x features. Weights are drawn
    as `nn.LSTM` draws them, uniform in +-1/sqrt(width)."""
    widths = (features, *hidden)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pairs = []
        for a, b in itertools.pairwise(widths):
            project, recurrent = nn.Linear(a, 4 * b), nn.Linear(b, 4 * b, bias=False)
            for weight in (*project.parameters(), *recurrent.parameters()):
                nn.init.uniform_(weight, -(b**-0.5), b**-0.5)
            pairs.append((project, recurrent))
        out = nn.Linear(hidden[-1], 1)
    layers: list[nn.Module] = [
        LSTMLayer(project, recurrent, activation.make(), sequence=i < len(pairs) - 1)
        for i, (project, recurrent) in enumerate(pairs)
    ]
    return nn.Sequential(*layers, out)


def build(name: str, hidden: tuple[int, ...], activation: Activation, seed: int) -> nn.Sequential:
    """The model `--model` names; `hidden` applies to the MLPs and the LSTM."""
    if name == "cnn":  # channels-last conv weights: measured 10-20 % faster steps on CPU
        return build_cnn(activation, seed).to(memory_format=torch.channels_last)
    if name == "lstm":
        return build_lstm(hidden, activation, seed)
    return build_mlp(hidden, activation, seed, linear_last=name == "mlp-linear-last")


def image_shape(name: str) -> tuple[int, ...]:
    """How one image is laid out for `name`: flat for the MLP, 1x28x28 for the CNN."""
    return (1, 28, 28) if name == "cnn" else (IN_FEATURES,)


@dataclass(frozen=True)
class Architecture:
    """The network a run trains (`--model` and `--hidden`), apart from its activation."""

    name: str
    hidden: tuple[int, ...]

    def build(self, activation: Activation, seed: int) -> nn.Sequential:
        return build(self.name, self.hidden, activation, seed)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return image_shape(self.name)

    def describe(self) -> str:
        """'mlp 100-100-100', 'cnn', 'lstm 6': run.json's words for it."""
        return self.name if self.name == "cnn" else f"{self.name} {'-'.join(map(str, self.hidden))}"
