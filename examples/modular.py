"""Data for `examples/transformer.py`: `--dataset examples/modular.py:load`.

Every pair (a, b) with a, b in 0..58 as the three tokens `a b =` (`=` is token 59), labelled
(a + b) mod 59: 3 481 examples, a fixed 90 % of them for training (actbench holds its
validation split out of those) and the other 10 % for the test. The test pairs are never
seen in training, so test accuracy measures whether the network learned the rule, not the
table. Made from a fixed seed: the same data on every machine, no download.
"""

from __future__ import annotations

import torch

MODULUS = 59
VOCAB, LENGTH = MODULUS + 1, 3  # the numbers, then "="
TRAIN_FRACTION = 0.9


def load() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    a, b = torch.meshgrid(torch.arange(MODULUS), torch.arange(MODULUS), indexing="ij")
    a, b = a.flatten(), b.flatten()
    x = torch.stack([a, b, torch.full_like(a, MODULUS)], dim=1)
    y = (a + b) % MODULUS
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    cut = int(TRAIN_FRACTION * len(y))
    train, test = order[:cut], order[cut:]
    return {"train": (x[train], y[train]), "test": (x[test], y[test])}
