"""Bytes saved for backward, against a hand count of what each backward keeps."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actbench import activation, memory
from actbench.step import EagerStep

BATCH, IN, HIDDEN, CLASSES = 5, 3, 4, 2
FLOAT = 4  # bytes


def saved(name: str) -> list[memory.LayerBytes]:
    model = nn.Sequential(
        nn.Linear(IN, HIDDEN), activation.resolve(name).make(), nn.Linear(HIDDEN, CLASSES)
    )
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, IN, generator=g)
    y = torch.randint(0, CLASSES, (BATCH,), generator=g)
    return memory.saved_for_backward(model, F.cross_entropy, x, y)


# What each backward keeps (torch's derivatives.yaml): relu, tanh and sigmoid keep their
# output, which the next Linear keeps too (one tensor); elu, gelu and silu keep their input
# (the first Linear's output) and the next Linear keeps their output (two tensors). The
# first Linear keeps the batch and the weights, which exist anyway and are not counted.
# The loss keeps log_softmax's output (BATCH x CLASSES) and nll_loss's total weight (a
# 0-d float).
HIDDEN_TENSOR = BATCH * HIDDEN * FLOAT
LOSS = BATCH * CLASSES * FLOAT + FLOAT
HAND_COUNT = {
    "relu": HIDDEN_TENSOR + LOSS,
    "tanh": HIDDEN_TENSOR + LOSS,
    "sigmoid": HIDDEN_TENSOR + LOSS,
    "elu": 2 * HIDDEN_TENSOR + LOSS,
    "gelu": 2 * HIDDEN_TENSOR + LOSS,
    "silu": 2 * HIDDEN_TENSOR + LOSS,
    "identity": HIDDEN_TENSOR + LOSS,  # the second Linear keeps the first one's output
}


@pytest.mark.parametrize("name", list(HAND_COUNT))
def test_saved_bytes_match_a_hand_count(name):
    layers = saved(name)
    assert sum(layer.saved_bytes for layer in layers) == HAND_COUNT[name]
    loss = [layer for layer in layers if layer.layer == "loss"]
    assert loss and loss[0].saved_bytes == LOSS


def test_a_tensor_two_layers_keep_is_counted_once_at_the_first():
    by_layer = {layer.layer: layer for layer in saved("relu")}
    assert by_layer["1"].kind == "ReLU" and by_layer["1"].saved_bytes == HIDDEN_TENSOR
    assert "2" not in by_layer  # the next Linear keeps relu's output: already counted


def test_an_activation_that_keeps_its_input_holds_a_second_tensor():
    by_layer = {layer.layer: layer.saved_bytes for layer in saved("gelu")}
    assert by_layer["1"] == HIDDEN_TENSOR and by_layer["2"] == HIDDEN_TENSOR


def test_the_peak_of_a_step_holds_at_least_what_it_saves():
    """The forward's saved tensors are all alive when backward starts, and backward adds
    the first layer's weight gradient (IN x HIDDEN floats) to them."""
    model = nn.Sequential(nn.Linear(784, 256), nn.GELU(), nn.Linear(256, 10))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 784, generator=g), torch.randint(0, 10, (400,), generator=g)
    kept = memory.saved_for_backward(model, F.cross_entropy, x[:200], y[:200])
    step = EagerStep(model, "adam", 1e-3, x, y, 200, F.cross_entropy, 0.0)
    step.fetch(x[:200], y[:200])
    step()
    peak = memory.step_peak(step, torch.device("cpu"))
    assert peak >= sum(layer.saved_bytes for layer in kept)
    assert peak >= 784 * 256 * FLOAT
