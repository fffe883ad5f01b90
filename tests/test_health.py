"""Training health reads back exactly where the answer is known by construction."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actbench import health
from actbench.network import MARK


def batch(rows: int = 64):
    g = torch.Generator().manual_seed(0)
    return torch.randn(rows, 4, generator=g), torch.randint(0, 2, (rows,), generator=g)


def stack(act: type, bias: list[float]) -> nn.Sequential:
    """Linear(4, 3) with zero weights and the given bias, `act`, Linear(3, 2): every row
    reaches the activation with exactly the bias."""
    model = nn.Sequential(nn.Linear(4, 3), act(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor(bias))
    return model


def marked(model: nn.Module, act: type) -> nn.Module:
    """`model` with its `act` modules marked as `Network.build` marks what `act()` made."""
    for module in model.modules():
        if isinstance(module, act):
            setattr(module, MARK, True)
    return model


def read(model: nn.Module, act: type) -> dict[str, float]:
    x, y = batch()
    return health.Probe(marked(model, act), F.cross_entropy, x, y).read()


def test_a_layer_whose_units_are_all_dead_reads_all_dead():
    values = read(stack(nn.ReLU, [-1.0, -2.0, -0.5]), nn.ReLU)
    assert values["dead_1"] == 1.0 and values["saturated_1"] == 1.0
    # no gradient passes relu back, and the last layer's input is all zeros: neither
    # weight gets a gradient (only the last bias would), so the ratio is undefined
    assert values["grad_norm_1"] == 0.0 and values["grad_norm_2"] == 0.0
    assert math.isnan(values["grad_ratio"])


def test_one_dead_unit_of_three():
    values = read(stack(nn.ReLU, [-1.0, 1.0, 2.0]), nn.ReLU)
    assert values["dead_1"] == pytest.approx(1 / 3)
    assert values["saturated_1"] == pytest.approx(1 / 3)  # a third of the entries are 0


def test_a_saturating_sigmoid_stack_is_saturated_not_dead():
    """sigmoid'(±8) = s(1 - s) ≈ 3.4e-4, under 1 % of its largest (1/4), and not 0."""
    values = read(stack(nn.Sigmoid, [8.0, -8.0, 8.0]), nn.Sigmoid)
    assert values["saturated_1"] == 1.0 and values["dead_1"] == 0.0
    values = read(stack(nn.Sigmoid, [0.0, 0.0, 8.0]), nn.Sigmoid)
    assert values["saturated_1"] == pytest.approx(1 / 3)


def test_the_largest_derivative_is_the_textbook_one():
    assert health.largest_derivative(nn.ReLU()) == 1.0
    assert health.largest_derivative(nn.Sigmoid()) == pytest.approx(0.25)
    assert health.largest_derivative(nn.Tanh()) == pytest.approx(1.0)
    # gelu'(x) = Φ(x) + x φ(x), largest at x = √2: Φ(√2) + √2 φ(√2)
    r2 = math.sqrt(2)
    gelu_max = 0.5 * (1 + math.erf(1)) + r2 * math.exp(-1) / math.sqrt(2 * math.pi)
    assert health.largest_derivative(nn.GELU()) == pytest.approx(gelu_max, rel=1e-4)


def test_the_gradient_norms_are_the_losss_own():
    model = stack(nn.Tanh, [0.1, -0.2, 0.3])
    values = read(model, nn.Tanh)
    x, y = batch()
    loss = F.cross_entropy(model(x), y)
    first, last = torch.autograd.grad(loss, [model[0].weight, model[2].weight])
    assert values["grad_norm_1"] == pytest.approx(float(first.norm()))
    assert values["grad_norm_2"] == pytest.approx(float(last.norm()))
    assert values["grad_ratio"] == pytest.approx(float(first.norm() / last.norm()))


def test_reading_leaves_the_model_and_its_gradients_alone():
    model = stack(nn.Tanh, [0.1, -0.2, 0.3])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    read(model, nn.Tanh)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_a_convolutions_units_are_its_channels():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([-1.0, 1.0]))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 2, (8,), generator=g)
    values = health.Probe(marked(model, nn.ReLU), F.cross_entropy, x, y).read()
    assert values["dead_1"] == 0.5  # one channel of two
