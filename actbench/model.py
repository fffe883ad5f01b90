"""The network under test: the seed article's MLP with a swappable activation."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from actbench.activations import Activation

IN_FEATURES, NUM_CLASSES = 28 * 28, 10


def build_mlp(hidden: tuple[int, ...], activation: Activation, seed: int) -> nn.Sequential:
    """784 -> hidden... -> 10 with `activation` after every hidden layer.

    All Linear layers are created first, from `seed`, and only then the activation modules,
    so for a given seed every activation starts from bit-identical weights (even one with
    parameters of its own, like PReLU). The global RNG is left as it was.
    """
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
