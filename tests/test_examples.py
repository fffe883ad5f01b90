"""The examples' networks (examples/transformer.py, examples/resnet.py) as actbench sees them."""

from __future__ import annotations

import pytest
import torch

from actbench import activation, memory, usercode
from actbench.network import Network, activation_modules
from actbench.task import Classification

TRANSFORMER = "examples/transformer.py"


def network(spec: str) -> Network:
    return Network(spec, usercode.resolve(spec, "a network factory", "model"))


def tokens(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randint(0, 59, (n, 3)), torch.randint(0, 59, (n,))


@pytest.mark.parametrize("name", ["relu", "gelu"])
def test_the_transformers_saved_bytes_per_activation_equal_a_hand_count(name):
    """4 rows of 3 tokens reach each block's MLP as (4, 3, 4 x 48) float32: relu keeps its
    output for backward, gelu its input, the same count: 4 * 3 * 192 * 4 bytes."""
    model = network(f"{TRANSFORMER}:build").build(activation.resolve(name), seed=0)
    x, y = tokens(4)
    layers = memory.saved_for_backward(model, Classification().loss, x, y)
    by_name = {layer.layer: layer.saved_bytes for layer in layers}
    assert by_name["blocks.0.mlp.act"] == 4 * 3 * 192 * 4
    assert by_name["blocks.1.mlp.act"] == 4 * 3 * 192 * 4


def test_the_gated_variant_has_the_plain_ones_parameter_count():
    """d = 48: the plain MLP's 2 x 48 x 192 weights equal the gated one's 3 x 48 x 128."""
    relu = activation.resolve("relu")
    plain = network(f"{TRANSFORMER}:build").build(relu, seed=0)
    gated = network(f"{TRANSFORMER}:build_gated").build(relu, seed=0)
    count = [sum(p.numel() for p in m.parameters()) for m in (plain, gated)]
    assert count[0] == count[1]
    assert len(activation_modules(plain)) == len(activation_modules(gated)) == 2


def test_the_residual_cnn_marks_an_activation_after_each_norm_and_sum():
    model = network("examples/resnet.py:build").build(activation.resolve("silu"), seed=0)
    assert len(activation_modules(model)) == 1 + 2 * 3  # the stem's, two in each block
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
