"""A small residual CNN for actbench: `--model examples/resnet.py:build --dataset mnist`.

A 3x3 stem, then three residual stages (16, 32, 64 channels; the last two halve the
resolution), global average pooling and a linear head: He et al.'s CIFAR ResNet shape,
one block per stage, with batch norm. The activation under test follows every batch norm
and every residual sum, as in the original. MNIST reaches it as N x 1 x 28 x 28.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """act(bn(conv(act(bn(conv(x))))) + shortcut(x)): one basic block."""

    def __init__(self, act, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1, self.act1 = nn.BatchNorm2d(outputs), act()
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2, self.act2 = nn.BatchNorm2d(outputs), act()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(y + self.shortcut(x))


def build(act) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), act(),
        Residual(act, 16, 16, 1),
        Residual(act, 16, 32, 2),
        Residual(act, 32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip
