"""The networks under test, each with a swappable activation: the seed article's MLP and
its Keras CNN example.

Every weight layer is created first, from the seed, and only then the activation modules,
so for a given seed every activation starts from bit-identical weights (even one with
parameters of its own, like PReLU). The global RNG is left as it was.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from actbench.activation import Activation

IN_FEATURES, NUM_CLASSES = 28 * 28, 10


def build_mlp(hidden: tuple[int, ...], activation: Activation, seed: int) -> nn.Sequential:
    """784 -> hidden... -> 10 with `activation` after every hidden layer."""
    widths = (IN_FEATURES, *hidden, NUM_CLASSES)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        linears = [nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
    layers: list[nn.Module] = []
    for i, linear in enumerate(linears):
        layers.append(linear)
        if i < len(linears) - 1:
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


MODELS = ("mlp", "cnn")


def build(name: str, hidden: tuple[int, ...], activation: Activation, seed: int) -> nn.Sequential:
    """The model `--model` names; `hidden` applies to the MLP only."""
    if name == "cnn":  # channels-last conv weights: measured 10-20 % faster steps on CPU
        return build_cnn(activation, seed).to(memory_format=torch.channels_last)
    return build_mlp(hidden, activation, seed)


def image_shape(name: str) -> tuple[int, ...]:
    """How one image is laid out for `name`: flat for the MLP, 1x28x28 for the CNN."""
    return (1, 28, 28) if name == "cnn" else (IN_FEATURES,)
