"""A small pre-norm transformer for actbench: `--model examples/transformer.py:build`.

It reads `a b =` and answers (a + b) mod 59 (`examples/modular.py`), the task of the
grokking papers (Power et al., 2022; Nanda et al., 2023). Two blocks of pre-norm
attention and an MLP, whose nonlinearity is the activation under test: `act()` returns a
fresh module of the trial's activation, wherever the factory puts it. A linear MLP
(identity) leaves the network little to compute a remainder with, so the task shows what
a nonlinearity buys.

- `build`: the MLP is Linear(d, 4d) -> act -> Linear(4d, d), as in GPT-2.
- `build_gated`: a gated MLP, act(x W1) * (x W3) -> W2 (SwiGLU with silu, GEGLU with gelu),
  its hidden width chosen so that both have the same number of parameters (4d·d·2 =
  3·d·h with h = 8d/3: d = 48 gives h = 128 exactly).
- `SquaredReLU`: relu(x)², the activation of Primer (So et al., 2021), defined here as a
  user's own: `--activations examples/transformer.py:SquaredReLU`.
"""

from __future__ import annotations

import torch
from torch import nn

MODULUS, VOCAB, LENGTH = 59, 60, 3  # examples/modular.py's: tokens 0..58 and "=", 3 a row
WIDTH, HEADS, BLOCKS = 48, 4, 2


class SquaredReLU(nn.Module):
    """relu(x)²: Primer's activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x).square()


class MLP(nn.Module):
    def __init__(self, act, width: int) -> None:
        super().__init__()
        self.up, self.act = nn.Linear(width, 4 * width, bias=False), act()
        self.down = nn.Linear(4 * width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))


class GatedMLP(nn.Module):
    def __init__(self, act, width: int) -> None:
        super().__init__()
        hidden = 8 * width // 3
        self.gate, self.act = nn.Linear(width, hidden, bias=False), act()
        self.value = nn.Linear(width, hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.gate(x)) * self.value(x))


class Block(nn.Module):
    """x + attention(norm(x)), then x + mlp(norm(x)): the pre-norm residual block."""

    def __init__(self, mlp: nn.Module, width: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, HEADS, batch_first=True)
        self.mlp = mlp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attention(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """Token and position embeddings, the blocks, a final norm, and a head on the last
    position (the `=`): (N, LENGTH) integer tokens in, (N, MODULUS) logits out."""

    def __init__(self, act, gated: bool = False, width: int = WIDTH) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, width)
        self.positions = nn.Parameter(torch.randn(LENGTH, width) * 0.02)
        kind = GatedMLP if gated else MLP
        self.blocks = nn.Sequential(*(Block(kind(act, width), width) for _ in range(BLOCKS)))
        self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, MODULUS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.blocks(self.tokens(x) + self.positions))[:, -1])


def build(act) -> nn.Module:
    return Transformer(act)


def build_gated(act) -> nn.Module:
    return Transformer(act, gated=True)
